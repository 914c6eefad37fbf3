"""Device templates: regions where one device model always writes text, blanked on every file of that device.

An extra net on top of the detector, never instead of it. A template is data (YAML, one file per device, in
``OUTPUT.audit/templates/`` unless ``--templates`` says otherwise) proposed by the review station from consistent
detections and reviewer boxes, and applied only once a person accepted it (``status: accepted``).

The device key is Manufacturer + ManufacturerModelName + Rows x Columns, read from the ORIGINAL header (before
de-identification): the same model at another frame size has another layout. Format::

    device: {manufacturer: SIEMENS, model: S2000, rows: 768, columns: 1024}
    key: SIEMENS|S2000|768x1024
    status: proposed | accepted | rejected
    files: 23                  # released files of this device the proposal was learned from
    regions:
      - box: [x0, y0, x1, y1]  # pixels, x1/y1 exclusive
        support: 22            # files with text there
        source: detector       # or reviewer
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from inference.errors import ConfigError

STATUSES = ("proposed", "accepted", "rejected")
# One extra box: (frame, x0, y0, x1, y1); frame -1 = every frame (static text, device templates)
ExtraBox = tuple[int, int, int, int, int]


class TemplateError(ConfigError):
    """A template file that does not follow the documented format (never silently ignored)."""


def device_of(ds: Dataset) -> dict[str, Any]:
    """The device description used for grouping: manufacturer, model and frame size (no personal data)."""
    return {"manufacturer": str(ds.get("Manufacturer", "") or "").strip(),
            "model": str(ds.get("ManufacturerModelName", "") or "").strip(),
            "rows": int(ds.get("Rows", 0) or 0), "columns": int(ds.get("Columns", 0) or 0)}


def device_key(device: dict[str, Any]) -> str:
    size = f"{device.get('rows')}x{device.get('columns')}"
    return f"{device.get('manufacturer') or '?'}|{device.get('model') or '?'}|{size}"


def template_path(folder: Path, key: str) -> Path:
    """A file name safe on every file system, unique per key (the readable part may collide, the hash does not)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:80].strip("_") or "device"
    return Path(folder) / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.yaml"


def _box(value: Any, where: str) -> list[int]:
    if not (isinstance(value, (list, tuple)) and len(value) == 4):
        raise TemplateError(f"{where}: box must be [x0, y0, x1, y1]")
    try:
        x0, y0, x1, y1 = (int(v) for v in value)
    except (TypeError, ValueError) as e:
        raise TemplateError(f"{where}: box values must be integers") from e
    if x1 <= x0 or y1 <= y0 or min(x0, y0) < 0:
        raise TemplateError(f"{where}: empty or negative box {value}")
    return [x0, y0, x1, y1]


def read_template(path: Path) -> dict[str, Any]:
    import yaml
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise TemplateError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict) or "key" not in data or data.get("status") not in STATUSES:
        raise TemplateError(f"{path}: needs 'key' and 'status' ({'/'.join(STATUSES)})")
    regions = data.get("regions") or []
    if not isinstance(regions, list):
        raise TemplateError(f"{path}: regions must be a list")
    data["regions"] = [{**r, "box": _box(r.get("box") if isinstance(r, dict) else None, f"{path} region {i}")}
                       for i, r in enumerate(regions)]
    return data


def write_template(path: Path, data: dict[str, Any]) -> None:
    import yaml

    from inference.outputs import write_atomic
    write_atomic(Path(path), yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8"))


def all_templates(folder: Path | None) -> list[tuple[Path, dict[str, Any]]]:
    if folder is None or not Path(folder).is_dir():
        return []
    return [(p, read_template(p)) for p in sorted(Path(folder).glob("*.yaml"))]


def accepted_boxes(folder: Path | None, key: str) -> list[ExtraBox]:
    """The accepted template regions of one device as every-frame extra boxes (empty when none)."""
    out: list[ExtraBox] = []
    for _, t in all_templates(folder):
        if t["key"] == key and t["status"] == "accepted":
            out += [(-1, *r["box"]) for r in t["regions"]]
    return out


def accepted_digest(folder: Path | None) -> str:
    """Identifies the accepted templates, for the run fingerprint: accepting one re-processes the files."""
    h = hashlib.sha256()
    for _, t in all_templates(folder):
        if t["status"] == "accepted":
            h.update(repr((t["key"], [r["box"] for r in t["regions"]])).encode())
    return h.hexdigest()[:12]


def extra_rects(extra: tuple[ExtraBox, ...] | list[ExtraBox], n_frames: int, rows: int, cols: int) -> list[np.ndarray]:
    """Per frame, the extra boxes (a person drew them) for that frame or for every frame, clipped to the frame."""
    out = []
    for index in range(n_frames):
        a = np.asarray([b[1:] for b in extra if b[0] in (-1, index)], dtype=np.int64).reshape(-1, 4)
        a[:, [0, 2]] = np.clip(a[:, [0, 2]], 0, cols)
        a[:, [1, 3]] = np.clip(a[:, [1, 3]], 0, rows)
        out.append(a[(a[:, 2] > a[:, 0]) & (a[:, 3] > a[:, 1])])
    return out


def add_extra_boxes(planned: list[np.ndarray], drawn: list[np.ndarray]) -> list[np.ndarray]:
    """The per-frame rects plus that frame's extra rects (extra_rects())."""
    return [np.unique(np.concatenate([np.asarray(r, np.int64).reshape(-1, 4), d]), axis=0) if len(d) else r
            for r, d in zip(planned, drawn, strict=True)]
