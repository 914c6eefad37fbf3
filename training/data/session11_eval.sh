#!/bin/sh
# Session 11 rule (training/data/session11_second_look_rule.md): the gen 8 model with three second-look
# backgrounds, each on real dev and synthetic dev 9501. Variants are sidecar copies under runs/s11/<name>/.
set -e
cd "$(dirname "$0")/../.."
for v in gauss:gauss:3.0 median:median:3.0 median5:median:5.0; do
  name=${v%%:*}; rest=${v#*:}; kind=${rest%%:*}; gain=${rest#*:}
  mkdir -p runs/s11/$name
  cp models/text_detector.onnx runs/s11/$name/text_detector.onnx
  python - "$kind" "$gain" "runs/s11/$name/text_detector.json" <<'PY'
import json, sys
d = json.load(open("models/text_detector.json"))
d["settings"]["second_look"].update(background=sys.argv[1], gain=float(sys.argv[2]))
json.dump(d, open(sys.argv[3], "w"), indent=1)
PY
  python -m training.evaluate --data data/synth/dev_heldout_9501 --model runs/s11/$name/text_detector.onnx \
    --out runs/s11/synth9501_$name.json --no-mlflow
  python benchmarks/real_pixels.py --split dev --no-baseline --model runs/s11/$name/text_detector.onnx \
    --out runs/s11/real_$name.txt
done
echo ALL-DONE
