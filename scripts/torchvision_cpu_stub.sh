#!/usr/bin/env bash
# torchvision 0.28.0 exists only as a CUDA build; its _C.so needs libc10_cuda/libtorch_cuda.
# Give it stub libraries (abort if ever called) so torchvision.ops.nms works with the CPU torch.
set -euo pipefail
PY=${PYTHON:-python3}
if $PY -c "import torch,torchvision;from torchvision.ops import nms;nms(torch.zeros(1,4),torch.ones(1),.5)" 2>/dev/null; then
  exit 0
fi
# find the package WITHOUT importing it: the unpatched torchvision fails at import time
SP=$($PY -c 'import importlib.util as u,os;print(os.path.dirname(os.path.dirname(u.find_spec("torchvision").origin)))')
TL=$SP/torchvision.libs
mkdir -p "$TL"
TMP=$(mktemp -d)
{ echo '#include <stdio.h>'; echo '#include <stdlib.h>'
  for s in _ZN2at4cuda26getCurrentDevicePropertiesEv _ZN3c104cuda14ExchangeDeviceEa _ZN3c104cuda14MaybeSetDeviceEa _ZN3c104cuda14current_deviceEv _ZN3c104cuda17getStreamFromPoolEba _ZN3c104cuda17getStreamFromPoolEia _ZN3c104cuda20getCurrentCUDAStreamEa _ZN3c104cuda20getDefaultCUDAStreamEa _ZN3c104cuda20setCurrentCUDAStreamENS0_10CUDAStreamE _ZN3c104cuda29c10_cuda_check_implementationEiPKcS2_jb _ZN3c104cuda9GetDeviceEPa _ZN3c104cuda9SetDeviceEab _ZNK3c104cuda10CUDAStream11synchronizeEv _ZNK3c104cuda10CUDAStream5queryEv _ZNK3c104cuda10CUDAStream6streamEv; do
    echo "void $s(void){fputs(\"CUDA stub called: $s\\n\",stderr);abort();}"; done
  echo 'signed char _ZN3c104cuda12device_countEv(void){return 0;}'
  echo 'void* _ZN3c104cuda20CUDACachingAllocator9allocatorE = 0;'; } > "$TMP/c10_cuda_stub.c"
gcc -shared -fPIC -O2 -Wl,-soname,libc10_cuda.so -o "$TL/libc10_cuda.so" "$TMP/c10_cuda_stub.c"
echo 'void tv_stub(void){}' | gcc -shared -fPIC -x c -Wl,-soname,libtorch_cuda.so -o "$TL/libtorch_cuda.so" -
CR=$(cd "$TL" && ls libcudart.*.so.13 2>/dev/null | head -1 || true)
[ -n "$CR" ] && ln -sf "$CR" "$TL/libcudart.so.13"
patchelf --set-rpath '$ORIGIN/../torchvision.libs:$ORIGIN/../torch/lib' "$SP/torchvision/_C.so"
$PY -c "import torch,torchvision;from torchvision.ops import nms;print('torchvision ops ok:',nms(torch.tensor([[0,0,10,10.],[1,1,11,11]]),torch.tensor([.9,.8]),.5).tolist())"
