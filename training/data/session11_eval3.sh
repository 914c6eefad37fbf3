#!/bin/sh
# Session 11, fifth decision (training/data/session11_second_look_rule.md): median5 with a cheaper second look.
set -e
cd "$(dirname "$0")/../.."
for v in slack:slack:1.3 reach6:reach:6.0; do
  name=${v%%:*}; rest=${v#*:}; key=${rest%%:*}; val=${rest#*:}
  mkdir -p runs/s11/$name
  cp models/text_detector.onnx runs/s11/$name/text_detector.onnx
  python - "$key" "$val" "runs/s11/$name/text_detector.json" <<'PY'
import json, sys
d = json.load(open("models/text_detector.json"))
d["settings"]["second_look"][sys.argv[1]] = float(sys.argv[2])
json.dump(d, open(sys.argv[3], "w"), indent=1)
PY
  python benchmarks/real_pixels.py --split dev --no-baseline --model runs/s11/$name/text_detector.onnx --out runs/s11/real_$name.txt
  python -m training.evaluate --data data/synth/dev_heldout_9501 --model runs/s11/$name/text_detector.onnx \
    --out runs/s11/synth9501_$name.json --no-mlflow
done
echo ALL-DONE
