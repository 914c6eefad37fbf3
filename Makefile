# The two set-up commands of the README. Every install step lives in scripts/install.sh.
PY ?= python3
export YOLO_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true DVC_NO_ANALYTICS=1 NO_ALBUMENTATIONS_UPDATE=1

.PHONY: demo test install-runtime install-all

install-runtime:
	bash scripts/install.sh runtime

install-all:
	bash scripts/install.sh all

# Install, then anonymise the bundled samples: out/demo (anonymised), out/demo.audit, out/demo.quarantine
demo: install-runtime
	rm -rf out/demo out/demo.audit out/demo.quarantine
	MEDANON_KEY=demo-key-not-secret-0123456789 $(PY) -m inference.run samples out/demo --format dicom,jpg,mp4 || test $$? -eq 3
	@echo "Anonymised files: out/demo/   audit trail: out/demo.audit/   quarantine: out/demo.quarantine/"

# Install everything (system packages, training extras), lint and type-check (pyproject.toml [tool.ruff],
# [tool.mypy]), then run the whole test suite
test: install-all
	$(PY) -m ruff check inference setup.py
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider
