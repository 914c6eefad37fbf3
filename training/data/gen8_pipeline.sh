#!/bin/sh
# Gen 8 (training/data/gen8_decision_rule.md): bright block, realdata with gen 6 mining + pseudo, train 40 min, export.
set -e
cd /work/main
python - <<'PY'
import subprocess, sys
sys.path.insert(0, '.')
from training.config import load_params, HardSet
from training.datasets import hard_cmd, write_backgrounds, backgrounds_file
sp = load_params('runs/params_gen8.yaml').synth
h = sp.hard[-1]
print(write_backgrounds(backgrounds_file(h.modalities), h.modalities), 'bright backgrounds', flush=True)
cmd = hard_cmd(sp, h, sp.train_n + sum(x.n for x in sp.hard[:-1]), __import__('pathlib').Path('data/synth/train'))
print(' '.join(cmd), flush=True)
subprocess.run(cmd, check=True)
PY
MEDANON_PARAMS=runs/params_gen8.yaml python -m training.realdata
MEDANON_PARAMS=runs/params_gen8.yaml python -m training.train
echo TRAINED
