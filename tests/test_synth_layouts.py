"""Layout families and exam types load from YAML and only use known placeholders, anchors and encodings."""
import random

import pytest
import yaml

from synth.dicomio import parse_encoding
from synth.frames import GENERATORS
from synth.layout import FillContext, LAYOUT_DIR, fill, load_exam_types, load_layouts, parse_layout, template_kind
from synth.identity import make_identity


def test_enough_families_and_exam_types():
    lay, exams = load_layouts(), load_exam_types()
    assert len(lay) >= 12 and len(exams) >= 7
    used = {e for l in lay.values() for e in l.exam_types}
    assert used <= set(exams) and len(used) >= 7


@pytest.mark.parametrize("family", sorted(load_layouts()))
def test_family_is_consistent(family):
    lay = load_layouts()[family]
    assert lay.frame in GENERATORS
    for e in lay.encodings:
        parse_encoding(e)
    ctx = FillContext(identity=make_identity(random.Random(1)), exam=load_exam_types()[lay.exam_types[0]],
                      rng=random.Random(2), n_frames=3)
    phi = 0
    for b in lay.blocks:
        for line in b.lines:
            for item in line.items:
                for t in item.template:
                    kind, is_phi, _ = template_kind(t, item.kind)
                    phi += is_phi
                    assert fill(t, ctx).strip()
    assert phi >= 3, "a layout family must burn in personal data"


def test_bad_layout_is_rejected():
    raw = yaml.safe_load((LAYOUT_DIR / "us_banner.yaml").read_text(encoding="utf-8"))
    raw["blocks"][0]["anchor"] = "upper-middle"
    with pytest.raises(ValueError):
        parse_layout(raw)
    with pytest.raises(ValueError):
        template_kind("Name:  {name}", None)      # two spaces would merge two label boxes
    with pytest.raises(ValueError):
        template_kind("{nonsense}", None)


def test_faint_color_is_faint_but_not_invisible():
    import random

    from synth.compose import faint_color, luminance
    rng = random.Random(0)
    for bg in (0.0, 30.0, 127.0, 210.0, 240.0, 255.0):
        for _ in range(50):
            c = luminance(faint_color(bg, rng))
            assert 19.5 <= abs(c - bg) <= 50.5, (bg, c)


def test_readable_color():
    from synth.compose import readable_color
    palette = ((255, 255, 255), (20, 20, 20))
    assert readable_color((255, 255, 255), palette, 30.0) == (255, 255, 255)     # already readable
    assert readable_color((20, 20, 20), palette, 40.0) == (255, 255, 255)        # dark on dark -> light
    assert readable_color((255, 255, 255), ((255, 255, 255),), 230.0) == (0, 0, 0)
