"""Ground-truth metrics: recall per item and per character, over-redaction, on labelled planted images."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from audit_fixtures import make_set, redact  # noqa: E402

from inference.audit.frames import native_frames  # noqa: E402
from inference.audit.groundtruth import compare, findings_from, load_items  # noqa: E402


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return make_set(tmp_path_factory.mktemp("audit_gt"), 3, seed=11)   # one US (RGB), one CT (16 bit), one DX


def metrics(case, mode: str, tweak=None):
    before = native_frames(pydicom.dcmread(case.path))
    out = redact(case, mode)
    if tweak is not None:
        tweak(out)
    return compare(before, native_frames(out), load_items(case.gt_path))


@pytest.mark.parametrize("i", [0, 1, 2])
def test_correct_redaction_scores_full_recall_and_no_over_redaction(cases, i):
    m = metrics(cases[i], "correct")
    d = m.as_dict()
    assert m.phi_items == 6 and d["instance_recall"] == 1.0 and d["char_recall"] == 1.0
    assert d["over_redaction_outside"] == 0.0 and d["over_redaction_nonphi_text"] == 0.0
    assert findings_from(m) == []


@pytest.mark.parametrize("i", [0, 1, 2])
def test_half_redaction_leaves_every_item_and_about_half_the_characters(cases, i):
    d = metrics(cases[i], "half_box").as_dict()
    assert d["instance_recall"] == 0.0
    assert 0.2 < d["char_recall"] < 0.8


def test_no_redaction_scores_zero_and_gives_regions(cases):
    m = metrics(cases[0], "no_pixels")
    assert m.as_dict()["char_recall"] == 0.0
    found = findings_from(m)
    assert len(found) == 6 and all(f.region is not None and f.region.frame == 0 for f in found)


def test_blanking_elsewhere_counts_as_over_redaction(cases):
    def blank_middle(ds):
        arr = ds.pixel_array.copy()
        rows, cols = arr.shape[:2]
        arr[rows // 3: rows // 3 * 2, cols // 3: cols // 3 * 2] = 0   # texture, no text there
        ds.PixelData = np.ascontiguousarray(arr).tobytes()

    d = metrics(cases[1], "correct", blank_middle).as_dict()
    assert d["instance_recall"] == 1.0
    assert 0.03 < d["over_redaction_outside"] < 0.2


def test_geometry_change_is_refused(cases):
    before = native_frames(pydicom.dcmread(cases[2].path))
    with pytest.raises(ValueError, match="do not match"):
        compare(before, before[:, :-1], load_items(cases[2].gt_path))
