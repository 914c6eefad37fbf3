"""Walk the OUTPUT tree written by the pipeline (the layout is fixed in inference/outputs.py):

    OUTPUT/dicom/<patient>/<study>/<series>/<sop>.dcm
    OUTPUT/jpg/<patient>/<study>/<series>/<sop>_f0001.jpg      (file frame numbers are 1-based, rows 0-based)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

TMP_MARK = ".medanon-tmp"     # half-written files of an interrupted run (see inference/outputs.py)
_JPG_NAME = re.compile(r"^(?P<sop>.+)_f(?P<frame>\d{4,})\.jpg$")


@dataclass(frozen=True)
class JpegFile:
    path: Path
    relpath: str          # relative to OUTPUT, '/' separated
    instance_uid: str
    frame: int            # 0-based

    def dicom_path(self, output: Path) -> Path:
        """The DICOM the JPEG was exported from: same folders under dicom/, same SOP Instance UID."""
        parts = Path(self.relpath).parts          # ('jpg', patient, study, series, name)
        return output.joinpath("dicom", *parts[1:-1], f"{self.instance_uid}.dcm")


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and TMP_MARK not in path.name


def iter_dicom_files(output: Path) -> Iterator[Path]:
    """Every finished .dcm under OUTPUT/dicom, in a stable order."""
    root = output / "dicom"
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*.dcm")):
        if path.is_file() and _visible(path):
            yield path


def iter_jpeg_files(output: Path) -> Iterator[JpegFile]:
    """Every finished JPEG frame under OUTPUT/jpg; names that do not follow the layout raise (not silently skipped)."""
    root = output / "jpg"
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*.jpg")):
        if not (path.is_file() and _visible(path)):
            continue
        m = _JPG_NAME.match(path.name)
        if m is None:
            raise ValueError(f"JPEG name does not follow <sop>_f<frame>.jpg: {path}")
        yield JpegFile(path=path, relpath=path.relative_to(output).as_posix(),
                       instance_uid=m["sop"], frame=int(m["frame"]) - 1)
