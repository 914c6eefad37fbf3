"""Small PNG pictures of flagged frames with the flagged regions drawn, for the HTML report."""
from __future__ import annotations

import io

import numpy as np

from .findings import Region

MAX_SIDE = 320


def thumbnail_png(views: list[tuple[int, np.ndarray]], regions: list[Region]) -> bytes | None:
    """The first frame with a flagged region (or the first frame), regions in red, at most MAX_SIDE px wide."""
    if not views:
        return None
    from PIL import Image, ImageDraw

    frames = dict(views)
    index = next((r.frame for r in regions if r.frame in frames), views[0][0])
    img = Image.fromarray(frames[index]).convert("RGB")
    draw = ImageDraw.Draw(img)
    width = max(1, round(max(img.size) / MAX_SIDE))
    for r in regions:
        if r.frame == index:
            draw.rectangle([r.x0, r.y0, r.x1, r.y1], outline=(255, 40, 40), width=width + 1)
    img.thumbnail((MAX_SIDE, MAX_SIDE))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
