#!/bin/sh
# Session 11, second decision (training/data/session11_second_look_rule.md): median5 + grow_line on real dev and
# synthetic dev 9501.
set -e
cd "$(dirname "$0")/../.."
name=median5_line
mkdir -p runs/s11/$name
cp models/text_detector.onnx runs/s11/$name/text_detector.onnx
python - "runs/s11/$name/text_detector.json" <<'PY'
import json, sys
d = json.load(open("models/text_detector.json"))
d["settings"]["second_look"].update(background="median", gain=5.0)
d["settings"]["grow_line"] = True
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
python benchmarks/real_pixels.py --split dev --no-baseline --model runs/s11/$name/text_detector.onnx --out runs/s11/real_$name.txt
python -m training.evaluate --data data/synth/dev_heldout_9501 --model runs/s11/$name/text_detector.onnx \
  --out runs/s11/synth9501_$name.json --no-mlflow
echo ALL-DONE
