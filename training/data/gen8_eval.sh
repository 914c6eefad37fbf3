#!/bin/sh
# Gen 8 rule (training/data/gen8_decision_rule.md): export, then (a) real dev and (b) synthetic dev 9501 for gen 6
# and gen 8 on the same code, then (c) the blind 9901 set for both (reported only).
set -e
cd /work/main
mkdir -p runs/gen8_export runs/gen8_eval
MEDANON_PARAMS=runs/params_gen8_export.yaml python -m training.export --params runs/params_gen8_export.yaml --weights runs/gen8/weights/best.pt
G8=runs/gen8_export/text_detector.onnx
python benchmarks/real_pixels.py --split dev --no-baseline --model $G8 --out runs/gen8_eval/real_gen8.txt
python benchmarks/real_pixels.py --split dev --no-baseline --out runs/gen8_eval/real_gen6.txt
python -m training.evaluate --data data/synth/dev_heldout_9501 --model $G8 --out runs/gen8_eval/synth9501_gen8.json --no-mlflow
python -m training.evaluate --data data/synth/dev_heldout_9501 --out runs/gen8_eval/synth9501_gen6.json --no-mlflow
echo DEV-DONE
python -m training.evaluate --data data/synth/blind_9901 --model $G8 --out runs/gen8_eval/blind9901_gen8.json --no-mlflow
python -m training.evaluate --data data/synth/blind_9901 --out runs/gen8_eval/blind9901_gen6.json --no-mlflow
echo ALL-DONE
