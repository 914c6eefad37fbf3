"""Both OCR engines load offline and read a rendered overlay line; the auditor's matcher finds the person in it."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from inference.audit import ocr
from inference.audit.matching import PersonalValue, ValueMatcher


@pytest.fixture(scope="module")
def overlay() -> np.ndarray:
    img = Image.new("L", (420, 120), 0)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 18)
    ImageDraw.Draw(img).text((10, 20), "ŽUKAUSKIENĖ RŪTA 48703181749", fill=235, font=font)
    ImageDraw.Draw(img).text((10, 70), "Gain 52", fill=235, font=font)
    return np.asarray(img)


@pytest.mark.parametrize("engine", ocr.ENGINES)
def test_engine_reads_overlay_with_boxes(overlay, engine):
    lines = ocr.read(overlay, engine)
    matcher = ValueMatcher([PersonalValue("name", "Žukauskienė^Rūta"), PersonalValue("id", "48703181749")])
    hits = [(m.value.kind, line.box) for line in lines for m in matcher.find(line.text, fragments=True)]
    assert {k for k, _ in hits} == {"name", "id"}, [line.text for line in lines]
    for _, (x0, y0, x1, y1) in hits:
        assert 0 <= x0 < x1 <= 420 and 5 <= y0 < y1 <= 60     # the first line, not the second


def test_unknown_engine_is_refused(overlay):
    with pytest.raises(ValueError, match="unknown OCR engine"):
        ocr.read(overlay, "cuneiform")
