"""Offline switches for the training tools, in one place.

Ultralytics, MLflow and DVC all try to reach the network (settings sync, font download, telemetry, update
checks). Hospital CI machines and this project's rule "nothing downloads at run time" forbid that, so every
training entry point calls :func:`setup_offline` BEFORE importing ultralytics/mlflow.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
YOLO_DIR = ROOT / ".yolo"

# Fonts ultralytics may use for plot labels; any TTF stops its Arial.ttf download attempt.
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
)

_ENV = {
    "YOLO_OFFLINE": "1",
    "YOLO_VERBOSE": "True",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "DVC_NO_ANALYTICS": "1",
    "OMP_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "TORCHVISION_WARN_WHEN_EXTENSION_LOADING_FAILS": "1",
}


def _matplotlib_font() -> str | None:
    """DejaVuSans shipped inside matplotlib's wheel: present wherever the train extra is installed."""
    try:
        import matplotlib  # noqa: PLC0415 - optional

        p = Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf/DejaVuSans.ttf"
        return str(p) if p.exists() else None
    except ImportError:
        return None


def setup_offline(threads: int = 2) -> Path:
    """Set the offline environment and return YOLO_CONFIG_DIR. Idempotent; call before importing ultralytics."""
    for k, v in _ENV.items():
        os.environ.setdefault(k, v)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # ultralytics sets 1 when unset: be explicit
    cfg = Path(os.environ.setdefault("YOLO_CONFIG_DIR", str(YOLO_DIR)))
    ul = cfg / "Ultralytics"
    ul.mkdir(parents=True, exist_ok=True)
    arial = ul / "Arial.ttf"
    if not arial.exists():
        font = next((f for f in _FONT_CANDIDATES if Path(f).exists()), None) or _matplotlib_font()
        if font is None:
            raise RuntimeError("no TTF font found to stand in for Arial.ttf (install fonts-dejavu-core)")
        shutil.copyfile(font, arial)
        shutil.copyfile(font, ul / "Arial.Unicode.ttf")
    return cfg


def configure_ultralytics() -> None:
    """Turn off ultralytics' own network/logging integrations (we log to MLflow ourselves)."""
    setup_offline()
    from ultralytics.utils import SETTINGS  # noqa: PLC0415 - import only after the env is set

    SETTINGS.update(
        {"sync": False, "mlflow": False, "dvc": False, "clearml": False, "comet": False, "wandb": False,
         "tensorboard": False, "raytune": False, "vscode_msg": False, "openvino_msg": False,
         "runs_dir": str(ROOT / "runs"), "weights_dir": str(YOLO_DIR / "weights"),
         "datasets_dir": str(ROOT / "data")}
    )


def set_torch_threads(threads: int = 2) -> None:
    """Torch intra-op threads: the machine has 2 cores shared with everything else."""
    import torch  # noqa: PLC0415

    torch.set_num_threads(threads)
