#!/usr/bin/env bash
# One place for every install step of medanon (CI runs on a clean machine: nothing may be assumed).
# Usage: scripts/install.sh [runtime|dev|train|gpu|all]   (gpu: on a CUDA machine only, not part of all)   (default: dev = runtime + test tools + system packages)
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-dev}
PY=${PYTHON:-python3}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

apt_install() {  # install Debian packages only when missing (fast on a warm machine)
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

system_packages() {
  apt_install dicom3tools dcmtk orthanc orthanc-dicomweb postgresql \
    tesseract-ocr tesseract-ocr-lit tesseract-ocr-eng \
    fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-noto-mono fonts-freefont-ttf \
    fonts-terminus fonts-terminus-otb fonts-jetbrains-mono fonts-dejavu-extra fonts-urw-base35 \
    fonts-lato fonts-roboto-unhinted fonts-open-sans fonts-inter fonts-manrope fonts-mplus fonts-firacode \
    fonts-hack fonts-dosis fonts-comfortaa fonts-jura \
    patchelf curl \
    chromium chromium-driver  # curl: scripts/orthanc.sh readiness check; chromium: audit HTML report screenshot
  # test; chromium-driver (+ pip selenium, the dev extra): the review station browser test (tests/test_review_browser.py)
  # dcmtk: dcmdjpeg decodes the JPEG DCT files pydicom's plugins cannot (12-bit extended, progressive).
  # postgresql: the catalogue tests start a throw-away server (tests/postgres_fixture.py); no service is used.
  # Fonts (2nd-4th lines): synth draws from every font that covers Lithuanian; the 3rd and 4th lines bring real
  # Thin/ExtraLight/Light weights (gen 5's hard examples, models/MODEL_CARD.md).
}

runtime() {
  $PY -m pip install -q -c scripts/constraints.txt -e .
}

dev() {
  system_packages
  $PY -m pip install -q -c scripts/constraints.txt -e '.[dev,qa,storage,ray]'  # ray: --engine ray and its tests
}

gpu() {
  # onnxruntime and onnxruntime-gpu install the same module: remove the CPU wheel or the GPU one is shadowed
  $PY -m pip uninstall -q -y onnxruntime || true
  $PY -m pip install -q -c scripts/constraints.txt -e '.[gpu,ray]'
  $PY -m pip uninstall -q -y onnxruntime || true  # -e . pulls the CPU wheel back as a dependency
  $PY -m pip install -q --force-reinstall --no-deps onnxruntime-gpu==1.31.1
}

train() {
  # torch: the preinstalled CPU wheel; torchvision: the only wheel is a CUDA build, patched below to load on CPU.
  $PY -m pip install -q torch==2.13.0
  $PY -m pip install -q --no-deps torchvision==0.28.0 ultralytics==8.4.190
  $PY -m pip install -q -c scripts/constraints.txt -e '.[train]'
  bash scripts/torchvision_cpu_stub.sh
}

case "$WHAT" in
  runtime) runtime ;;
  dev) runtime; dev ;;
  train) runtime; train ;;
  gpu) runtime; gpu ;;
  all) runtime; dev; train ;;
  *) echo "usage: $0 [runtime|dev|train|gpu|all]" >&2; exit 2 ;;
esac
