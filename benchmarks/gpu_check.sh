#!/usr/bin/env bash
# GPU device check (run on a CUDA machine from the repository root; about 5 minutes):
#   1. install the gpu extra (onnxruntime-gpu instead of the CPU wheel) and Ray;
#   2. prove the detector session runs on CUDAExecutionProvider;
#   3. detector frames/s on 640x480 frames at batch 1, 8, 32 (GPU) and batch 1 (CPU), and the GPU-hours for
#      500 M frames at the measured rate;
#   4. the pipeline end to end on synthetic ultrasound files: local engine and Ray with GPU actors, and whether
#      the outputs equal a CPU run's (GPU kernels may round differently: reported, not assumed);
#   5. benchmarks/bench_scale.py with GPU actors when the shared samples are present.
# Everything goes to ${OUT:-/tmp/gpu_check} (report.txt); nothing outside the repository is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
exec > >(tee "$OUT/report.txt") 2>&1
export RAY_USAGE_STATS_ENABLED=0 MEDANON_KEY=${MEDANON_KEY:-gpu-check-key-3c5e7a9b1d2f4a6c8e0b}
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no GPU visible"; exit 1; }

if ! $PY -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())" 2>/dev/null; then
  bash scripts/install.sh runtime >/dev/null
  bash scripts/install.sh gpu
fi
$PY -c "import ray" 2>/dev/null || $PY -m pip install -q "ray==2.60.0"

$PY - "$OUT" <<'PYEOF'
import sys, time, statistics
from pathlib import Path
import numpy as np, cv2
import onnxruntime as ort
sys.path.insert(0, ".")
from inference.detect import TextDetector

out = Path(sys.argv[1])
print("onnxruntime", ort.__version__, ort.get_available_providers())
gpu = TextDetector(providers=["CUDAExecutionProvider", "CPUExecutionProvider"], threads=2, batch=32)
assert gpu.session.get_providers()[0] == "CUDAExecutionProvider", gpu.session.get_providers()
cpu = TextDetector(providers=["CPUExecutionProvider"], threads=2, batch=1)
rng = np.random.default_rng(0)
frames = []
for i in range(64):  # 640x480 ultrasound-like frames with device text
    f = (rng.normal(40, 20, (480, 640)).clip(0, 255)).astype(np.uint8)
    cv2.putText(f, f"ZEMAITYTE G. 48705120{i:03d}", (20, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 230, 1)
    cv2.putText(f, "2024-01-12 10:15:00", (440, 470), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 220, 1)
    frames.append(np.repeat(f[:, :, None], 3, axis=2))

def fps(det, batch, n):
    det.batch = batch
    det.detect_tiles(frames[:batch])  # warm-up (CUDA kernels, memory arena)
    ts = []
    for _ in range(3):
        t = time.perf_counter(); det.detect_tiles(frames[:n]); ts.append(time.perf_counter() - t)
    return n / statistics.median(ts)

rates = {f"gpu batch {b}": fps(gpu, b, 64) for b in (1, 8, 32)}
rates["cpu batch 1 (2 threads)"] = fps(cpu, 1, 16)
for k, v in rates.items():
    print(f"model frames/s {k:24s} {v:8.1f}")
# whole detector per frame (two scale passes + second look) on the GPU, batch 1 (one tile per pass at 640x480)
gpu.batch = 1
gray = [f[:, :, 0] for f in frames[:16]]
gpu.detect(gray[0]); t = time.perf_counter()
for g in gray: gpu.detect(g)
full = len(gray) / (time.perf_counter() - t)
print(f"detect() frames/s on GPU (whole detector)  {full:8.1f}")
best = max(v for k, v in rates.items() if k.startswith("gpu"))
for label, rate in (("model only, best batch", best), ("whole detector", full)):
    print(f"GPU-hours for 500 M frames ({label}): {500e6 / rate / 3600:,.0f}")
same = all(np.array_equal(a[:, :4].round(1), b[:, :4].round(1)) for a, b in
           zip(TextDetector(providers=["CUDAExecutionProvider"], batch=1).detect_tiles(frames[:8]), cpu.detect_tiles(frames[:8])))
print("GPU boxes equal CPU boxes (0.1 px):", same)

# synthetic multi-frame ultrasound files for the pipeline run
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
src = out / "in"; src.mkdir(exist_ok=True)
for i in range(20):
    ds = Dataset(); ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"; ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Zemaityte^Gabija", f"4870512{i:04d}", "US"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 480, 640, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = 8
    ds.PixelData = np.stack([f[:, :, 0] for f in frames[i:i + 8]]).tobytes()
    ds.save_as(src / f"us{i:02d}.dcm", enforce_file_format=True)
print("wrote", len(list(src.iterdir())), "synthetic 8-frame ultrasound files")
PYEOF

run() {  # python -m inference.run on the synthetic files; exit 3 (something quarantined) is a result, not a failure
  local t0=$SECONDS rc=0
  "$PY" -m inference.run "$OUT/in" "$@" --quiet 2>"$OUT/last.err" || rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then tail -20 "$OUT/last.err"; exit $rc; fi
  grep -E "files found|written|quarantined|speed" "$OUT/last.err" | tr '\n' ' '; echo " ($((SECONDS - t0)) s wall)"
}
echo "pipeline, local engine, 1 worker on the GPU:"; run "$OUT/o-gpu"
echo "pipeline, Ray, 4 actors sharing the GPU (0.25 each):"; run "$OUT/o-ray" --engine ray --workers 4 --ray-gpus 0.25
echo "pipeline, local engine on CPU only (CUDA hidden):"; CUDA_VISIBLE_DEVICES="" run "$OUT/o-cpu" --workers 2
$PY - "$OUT" <<'PYEOF'
import sys, hashlib
from pathlib import Path
out = Path(sys.argv[1])
def digest(root): return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.dcm"))}
g, r, c = digest(out / "o-gpu"), digest(out / "o-ray"), digest(out / "o-cpu")
print(f"outputs: GPU local == GPU Ray: {g == r};  GPU == CPU: {sum(g[k] == c.get(k) for k in g)}/{len(g)} files identical")
PYEOF
if [ -d ../shared/data/dicom ]; then
  $PY benchmarks/bench_scale.py --files 100 --ray-gpus 0.25 --out "$OUT/bench_scale_gpu.txt"
else
  echo "bench_scale skipped: ../shared/data/dicom not on this machine"
fi
echo "report: $OUT/report.txt"
