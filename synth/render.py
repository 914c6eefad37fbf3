"""Draw text items into clean frames and record exact ink boxes.

Why: labels must be exact. Every item is rasterised ALONE into its own tight alpha mask first; the item's box is
the extent of that mask (every pixel the item changes lies inside, and every box edge touches ink); only then is the
mask composited onto the frame. Rotated items are rotated masks, so the same holds at 90 degrees.
Box convention everywhere: [x0, y0, x1, y1] integer pixels, x1/y1 exclusive (numpy slice ends).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

PAD = 4
THIN_SUPERSAMPLE = 8     # thinned strokes are drawn at 8x: one eroded pixel there is 1/4 px of stroke width
THIN_MIN_INK = 0.35       # a thinned item keeps at least this share of its regular ink (else a lighter level)


@lru_cache(maxsize=256)
def get_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@dataclass
class Glyphs:
    """A rasterised text item: tight alpha mask and per-character boxes relative to the mask."""

    mask: np.ndarray                         # uint8 HxW, 0 = no ink
    chars: list[list[int] | None]            # one per character of the text; None for spaces
    origin: tuple[int, int]                  # where the mask's top-left sits relative to the draw origin
    advance: float                           # pen advance (layout width)
    fill: np.ndarray | None = None           # outlined text: the letters inside ``mask`` (mask = letters + halo)


def thinned(text: str, font_path: str, size: int, pad: int, shape: tuple[int, int], thin: int) -> np.ndarray:
    """``text`` drawn as rasterize draws it, with every stroke ``thin`` / 4 px thinner (antialiased).

    Why: light and hairline fonts (a Courier clone at 11 px has strokes well under a pixel) reach the frame as
    faint grey lines; the installed font set is mostly regular weight, so the weight is varied here instead.
    Drawn at 8x, eroded by ``thin`` px on each side there, and averaged back down (cv2.INTER_AREA)."""
    s = THIN_SUPERSAMPLE
    big = Image.new("L", (shape[1] * s, shape[0] * s), 0)
    ImageDraw.Draw(big).text((pad * s, pad * s), text, font=get_font(font_path, size * s), fill=255)
    eroded = cv2.erode(np.asarray(big), np.ones((2 * thin + 1, 2 * thin + 1), np.uint8))
    return cv2.resize(eroded, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def lightest_readable(letters: np.ndarray, text: str, font_path: str, size: int, pad: int, thin: int) -> np.ndarray:
    """The thinnest of ``thinned`` levels thin, thin-1, ... 1 that keeps at least THIN_MIN_INK of the regular
    ink, else ``letters``: a font that is already light (FreeMono) would otherwise vanish, and a label on a
    line with no ink teaches the detector to fire on texture."""
    regular = float(letters.sum())
    for level in range(thin, 0, -1):
        light = thinned(text, font_path, size, pad, letters.shape, level)
        if light.sum() >= THIN_MIN_INK * regular:
            return light
    return letters


def rasterize(text: str, font_path: str, size: int, aliased: bool = False, stroke: int = 0,
              outline: bool = False, thin: int = 0) -> Glyphs:
    """Render ``text`` alone and crop to its ink (raises ValueError for text without ink).

    ``outline`` adds a 1-px halo (viewers draw a dark rim around overlay text); the box then covers the halo.
    ``thin`` > 0 draws lighter strokes (see ``thinned``; antialiased, no ``stroke``); character boxes stay the
    font's, so a thinned item is labelled exactly as the regular one would be."""
    font = get_font(font_path, size)
    ascent, descent = font.getmetrics()
    advance = font.getlength(text)
    pad = PAD + size // 2 + stroke     # room for accents above the ascent (Ž, Ė) and the halo: ink is never clipped
    w = int(np.ceil(advance)) + 2 * pad + size
    h = ascent + descent + 2 * pad
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    draw.fontmode = "1" if aliased else "L"
    draw.text((pad, pad), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    letters = np.asarray(img)
    if thin > 0 and not aliased and stroke == 0:
        letters = lightest_readable(letters, text, font_path, size, pad, thin)
    mask = cv2.dilate(letters, np.ones((3, 3), np.uint8)) if outline else letters
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError(f"text {text!r} has no ink in font {font_path} at {size}px")
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    chars: list[list[int] | None] = []
    for i, ch in enumerate(text):
        if ch.isspace():
            chars.append(None)
            continue
        pen = pad + font.getlength(text[:i])
        b = font.getbbox(ch, stroke_width=stroke)
        cb = [int(np.floor(pen + b[0])) - x0, int(pad + b[1]) - y0, int(np.ceil(pen + b[2])) - x0,
              int(pad + b[3]) - y0]
        cb = [max(0, cb[0]), max(0, cb[1]), min(x1 - x0, cb[2]), min(y1 - y0, cb[3])]
        chars.append(cb if cb[2] > cb[0] and cb[3] > cb[1] else None)
    return Glyphs(mask=mask[y0:y1, x0:x1].copy(), chars=chars, origin=(int(x0) - pad, int(y0) - pad),
                  advance=float(advance), fill=letters[y0:y1, x0:x1].copy() if outline else None)


def rotate90(g: Glyphs) -> Glyphs:
    """Rotate counter-clockwise (text reads bottom to top, as vertical labels do)."""
    w = g.mask.shape[1]
    chars = [None if c is None else [c[1], w - c[2], c[3], w - c[0]] for c in g.chars]
    fill = None if g.fill is None else np.ascontiguousarray(np.rot90(g.fill))
    return Glyphs(mask=np.ascontiguousarray(np.rot90(g.mask)), chars=chars, origin=(0, 0), advance=g.advance,
                  fill=fill)


@dataclass
class PlacedItem:
    """One text item at its final place; ``frames`` None means every frame."""

    text: str
    kind: str
    phi: bool
    glyphs: Glyphs
    x: int
    y: int
    color: tuple[int, int, int]
    opacity: float
    angle: int
    font_id: str
    size: int
    aliased: bool
    stroke: int
    block: int
    frames: list[int] | None = None
    outline: tuple[int, int, int] | None = None
    thin: int = 0                            # lighter strokes, see rasterize

    @property
    def box(self) -> list[int]:
        h, w = self.glyphs.mask.shape
        return [self.x, self.y, self.x + w, self.y + h]

    def char_boxes(self) -> list[list[int] | None]:
        return [None if c is None else [c[0] + self.x, c[1] + self.y, c[2] + self.x, c[3] + self.y]
                for c in self.glyphs.chars]


@dataclass
class Plate:
    box: list[int]
    color: tuple[int, int, int]
    opacity: float = 1.0
    frames: list[int] | None = None


@dataclass
class Scene:
    items: list[PlacedItem] = field(default_factory=list)
    plates: list[Plate] = field(default_factory=list)


def composite(frame: np.ndarray, scene: Scene, frame_index: int) -> np.ndarray:
    """Frame (float32 0..255, HxW or HxWx3) with the scene's plates and items drawn; returns uint8."""
    out = frame.astype(np.float32, copy=True)
    rgb = out.ndim == 3

    def paint(box: list[int], alpha: np.ndarray, color: tuple[int, int, int]) -> None:
        x0, y0, x1, y1 = box
        region = out[y0:y1, x0:x1]
        if rgb:
            a = alpha[..., None]
            region[...] = region * (1 - a) + np.asarray(color, np.float32) * a
        else:
            lum = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
            region[...] = region * (1 - alpha) + lum * alpha

    for p in scene.plates:
        if p.frames is None or frame_index in p.frames:
            x0, y0, x1, y1 = p.box
            paint(p.box, np.full((y1 - y0, x1 - x0), p.opacity, np.float32), p.color)
    for it in scene.items:
        if it.frames is None or frame_index in it.frames:
            if it.outline is not None and it.glyphs.fill is not None:
                paint(it.box, it.glyphs.mask.astype(np.float32) * (it.opacity / 255.0), it.outline)
                paint(it.box, it.glyphs.fill.astype(np.float32) * (it.opacity / 255.0), it.color)
            else:
                paint(it.box, it.glyphs.mask.astype(np.float32) * (it.opacity / 255.0), it.color)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
