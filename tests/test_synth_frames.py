"""Clean frames: procedural generators and public samples without burned-in text."""
import csv
import random

import numpy as np
import pytest

from synth.frames import GENERATORS, cine_frames, make_frame
from synth.samples import INVENTORY, clean_samples, sample_frame

from conftest import require_shared


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_generator_shape_and_range(kind):
    f = make_frame(kind, np.random.default_rng(1), 300, 200)
    assert f.shape[:2] == (200, 300) and f.dtype == np.float32
    assert np.isfinite(f).all() and f.min() >= 0 and f.max() <= 255 and f.std() > 5
    g = make_frame(kind, np.random.default_rng(1), 300, 200)
    assert np.array_equal(f, g)
    frames = cine_frames(f, np.random.default_rng(2), 3)
    assert len(frames) == 3 and not np.array_equal(frames[0], frames[1])


def test_unknown_generator():
    with pytest.raises(ValueError):
        make_frame("xray3d", np.random.default_rng(1), 10, 10)


def test_samples_are_reviewed_text_free():
    with require_shared(INVENTORY).open(newline="", encoding="utf-8") as f:
        verdict = {r["path"]: r["burned_in_text_visual"] for r in csv.DictReader(f)}
    paths = clean_samples(("US", "CR", "XA", "RF"))
    assert paths
    for p in paths:
        assert verdict[p.relative_to(INVENTORY.parent).as_posix()] == "NO"
    img = sample_frame(random.Random(3), 320, 240, ("XA",))
    assert img.shape[:2] == (240, 320) and img.max() > img.min()
    assert sample_frame(random.Random(3), 32, 32, ("NO_SUCH_MODALITY",)) is None


def test_every_font_renders_lithuanian_text():
    """Every catalogued font draws Lithuanian text at small and large sizes, aliased or not, with stroke if scalable."""
    from synth.compose import snap_size
    from synth.fonts import LT_CHARS, discover_fonts
    from synth.render import rasterize
    fonts = discover_fonts()
    assert len(fonts) >= 5, "no fonts catalogued: nothing would be checked (scripts/install.sh installs them)"
    for f in fonts:
        for size in (7, 40):
            s = snap_size(f, size)
            g = rasterize("Žąsų " + LT_CHARS, f.path, s, aliased=size == 7, stroke=0 if f.bitmap else 1)
            assert g.mask.any(), f.id
            # nothing clipped at the canvas edge: the 1-px halo grows the ink box by exactly 1 px on each side
            plain = rasterize("ŽĖ Ąę", f.path, s)
            halo = rasterize("ŽĖ Ąę", f.path, s, outline=True)
            assert halo.mask.shape == (plain.mask.shape[0] + 2, plain.mask.shape[1] + 2), (f.id, s)
