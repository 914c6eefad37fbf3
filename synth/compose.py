"""Turn a layout family + identity into a Scene: which text goes where, in which font, size and colour.

Why separate from rendering: placement rules (anchors, margins, gaps of >= 2 spaces between items, no block
overlaps, shrink-to-fit) are layout logic; render.py only knows pixels.
"""
from __future__ import annotations

import dataclasses
import random

import numpy as np
from dataclasses import dataclass

from synth.fonts import FontInfo
from synth.layout import BlockSpec, FillContext, Layout, fill, template_kind
from synth.render import Glyphs, PlacedItem, Plate, Scene, get_font, rasterize, rotate90

MIN_SIZE, MAX_SIZE = 7, 40


@dataclass(frozen=True)
class TextChoice:
    """Per-image text style drawn from the layout's TextStyleSpec."""

    font: FontInfo
    size: int
    aliased: bool
    color: tuple[int, int, int]
    opacity: float
    stroke: int
    outline: bool = False
    thin: int = 0          # lighter strokes, 1/4 px per level (synth.render.thinned); 0 = the font's own weight


def pick_font(fonts: tuple[FontInfo, ...], want: str, bold: bool, rng: random.Random) -> FontInfo:
    """A font of the requested class ('any', 'mono', 'sans', 'serif', 'bitmap'), bold if asked and available."""
    def ok(f: FontInfo) -> bool:
        name = f.id
        return {"any": True, "mono": f.mono, "bitmap": f.bitmap or "terminus" in name,
                "serif": "serif" in name or any(k in name for k in ("roman", "c059", "p052", "bookman")),
                "sans": not f.mono and "serif" not in name}.get(want, True)
    pool = [f for f in fonts if ok(f)] or list(fonts)
    styled = [f for f in pool if f.bold == bold] or pool
    return rng.choice(styled)


def snap_size(font: FontInfo, size: int) -> int:
    size = max(MIN_SIZE, min(MAX_SIZE, size))
    if font.bitmap and font.sizes:
        return min(font.sizes, key=lambda s: abs(s - size))
    return size


def choose_text(layout: Layout, fonts: tuple[FontInfo, ...], rng: random.Random, scale: float) -> TextChoice:
    t = layout.text
    font = pick_font(fonts, t.fonts, rng.random() < t.bold, rng)
    size = snap_size(font, int(round(rng.uniform(*t.size) * scale)))
    choice = TextChoice(font=font, size=size, aliased=rng.random() < t.aliased, color=tuple(rng.choice(t.colors)),
                        opacity=round(rng.uniform(*t.opacity), 3),
                        stroke=1 if (not font.bold and size >= 16 and rng.random() < 0.1 and not font.bitmap) else 0,
                        outline=t.outline > 0 and rng.random() < t.outline)
    if rng.random() < t.thin and not (choice.aliased or choice.stroke or font.bitmap):
        choice = dataclasses.replace(choice, thin=rng.choice((1, 2)))
    return choice


@dataclass
class _Item:
    text: str
    kind: str
    phi: bool
    glyphs: Glyphs
    dx: float          # pen x within the line
    frames: list[int] | None


def _block_items(block: BlockSpec, ctx: FillContext, style: TextChoice, size: int, rng: random.Random,
                 n_frames: int) -> tuple[list[tuple[list[_Item], float]], float]:
    """Lines of rasterised items with their pen offsets; returns (lines with widths, line pitch)."""
    font = get_font(style.font.path, size)
    space = font.getlength(" ")
    lines: list[tuple[list[_Item], float]] = []
    for line in block.lines:
        if rng.random() >= line.p:
            continue
        items: list[_Item] = []
        pen = 0.0
        for spec in line.items:
            if rng.random() >= spec.p:
                continue
            template = rng.choice(spec.template)
            kind, phi, per_frame = template_kind(template, spec.kind)
            frame_ids = range(n_frames) if per_frame and n_frames > 1 else [None]
            width = 0.0
            for k in frame_ids:
                text = fill(template, ctx, frame=k or 0)
                if not text.strip():
                    continue
                g = rasterize(text, style.font.path, size, style.aliased, style.stroke, style.outline, style.thin)
                items.append(_Item(text=text, kind=kind, phi=phi, glyphs=g, dx=pen,
                                   frames=None if k is None else [k]))
                width = max(width, g.advance)
            if width:
                pen += width + space * rng.uniform(2.2, 4.0)   # >= 2 spaces: separate items
        if items:
            lines.append((items, max(i.dx + i.glyphs.origin[0] + i.glyphs.mask.shape[1] for i in items)))
    ascent, descent = font.getmetrics()
    return lines, (ascent + descent) * block.line_spacing


def _anchor_xy(anchor: str, bw: int, bh: int, w: int, h: int, mx: float, my: float) -> tuple[float, float]:
    col = {"left": 0, "right": 2}.get(anchor.split("-")[-1], 1)
    row = {"top": 0, "bottom": 2}.get(anchor.split("-")[0], 1)
    if anchor in ("left", "right"):
        row = 1
    x = [mx, (w - bw) / 2, w - bw - mx][col]
    y = [my, (h - bh) / 2, h - bh - my][row]
    return x, y


def place_block(block: BlockSpec, index: int, ctx: FillContext, style: TextChoice, w: int, h: int,
                rng: random.Random, taken: list[list[int]], n_frames: int) -> tuple[list[PlacedItem], Plate | None]:
    """Place one block; shrinks text until it fits, returns nothing when it cannot fit or would overlap."""
    size = snap_size(style.font, int(round(style.size * block.size_scale)))
    state = rng.getstate()
    for _ in range(4):
        rng.setstate(state)   # same texts at each retry size
        lines, pitch = _block_items(block, ctx, style, size, rng, n_frames)
        if not lines:
            return [], None
        bw = max(lw for _, lw in lines)
        bh = pitch * (len(lines) - 1) + max(it.glyphs.origin[1] + it.glyphs.mask.shape[0] for it in lines[-1][0])
        fw, fh = (bh, bw) if block.angle == 90 else (bw, bh)
        if fw <= w * 0.96 and fh <= h * 0.96:
            break
        size = snap_size(style.font, int(size * 0.8))
    else:
        return [], None
    pad = max(2, size // 4) if block.plate else 0
    mx, my = block.margin[0] * w + pad, block.margin[1] * h + pad
    bx, by = _anchor_xy(block.anchor, int(fw), int(fh), w, h, mx, my)
    bx += block.offset[0] * w + rng.uniform(-0.004, 0.004) * w
    by += block.offset[1] * h + rng.uniform(-0.004, 0.004) * h
    bx, by = min(max(bx, pad + 1), w - fw - pad - 1), min(max(by, pad + 1), h - fh - pad - 1)
    placed: list[PlacedItem] = []
    for li, (items, lw) in enumerate(lines):
        shift = {"left": 0.0, "right": bw - lw, "center": (bw - lw) / 2}[block.align]
        for it in items:
            lx = shift + it.dx + it.glyphs.origin[0]     # in block coordinates (horizontal)
            ly = li * pitch + it.glyphs.origin[1]
            g = it.glyphs
            if block.angle == 90:
                g = rotate90(g)
                # horizontal block point (lx, ly) -> rotated (ly, bw - lx - mask width)
                x, y = bx + ly, by + (bw - lx - it.glyphs.mask.shape[1])
            else:
                x, y = bx + lx, by + ly
            placed.append(PlacedItem(text=it.text, kind=it.kind, phi=it.phi, glyphs=g, x=int(round(x)),
                                     y=int(round(y)), color=style.color, opacity=style.opacity, angle=block.angle,
                                     font_id=style.font.id, size=size, aliased=style.aliased, stroke=style.stroke,
                                     block=index, frames=it.frames, thin=style.thin,
                                     outline=_halo(style.color) if style.outline else None))
    if not placed:
        return [], None
    x0 = min(p.box[0] for p in placed) - pad
    y0 = min(p.box[1] for p in placed) - pad
    x1 = max(p.box[2] for p in placed) + pad
    y1 = max(p.box[3] for p in placed) + pad
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        return [], None
    if any(x0 < t[2] and t[0] < x1 and y0 < t[3] and t[1] < y1 for t in taken):
        return [], None
    taken.append([x0, y0, x1, y1])
    plate = None
    if block.plate:
        plate = Plate(box=[x0, y0, x1, y1], color=_plate_color(block.plate, style.color), opacity=1.0)
        for p in placed:
            p.color = _text_on_plate(block.plate, style.color)
            p.outline = _halo(p.color) if p.outline else None
    return placed, plate


def _halo(text: tuple[int, int, int]) -> tuple[int, int, int]:
    return (0, 0, 0) if sum(text) > 300 else (255, 255, 255)


def _plate_color(kind: str, text: tuple[int, int, int]) -> tuple[int, int, int]:
    if kind == "inverse":
        return text
    return (0, 0, 0) if kind == "dark" else (235, 235, 235)


def _text_on_plate(kind: str, text: tuple[int, int, int]) -> tuple[int, int, int]:
    if kind == "inverse":
        return (0, 0, 0) if sum(text) > 380 else (255, 255, 255)
    if kind == "light":
        return (0, 0, 0)
    return text


MIN_CONTRAST = 60.0   # grey levels between text and the mean background under its block


def luminance(color: tuple[int, int, int]) -> float:
    return 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]


def readable_color(current: tuple[int, int, int], palette: tuple[tuple[int, int, int], ...],
                   background: float) -> tuple[int, int, int]:
    """Keep ``current`` when it stands out from ``background``; else the palette colour (or black/white) that does.

    Why: a device never draws its overlay in a colour nobody can read; unreadable text would be a wrong label."""
    if abs(luminance(current) - background) >= MIN_CONTRAST:
        return current
    best = max(palette, key=lambda c: abs(luminance(c) - background))
    if abs(luminance(best) - background) >= MIN_CONTRAST:
        return tuple(best)
    return (0, 0, 0) if background > 127 else (255, 255, 255)


def faint_color(background: float, rng: random.Random) -> tuple[int, int, int]:
    """A grey only 20-50 levels from ``background``, brighter when there is room (overlays are mostly white).

    Why: devices draw fixed-colour overlays over whatever anatomy lies below; white text over a bright field is
    faint but still readable and still personal data, and a detector that only saw high contrast misses it."""
    delta = rng.uniform(20.0, 50.0)
    v = background + delta if background + delta <= 255 else background - delta
    g = int(round(min(255.0, max(0.0, v))))
    return (g, g, g)


def _mean_luminance(background: np.ndarray, box: list[int]) -> float:
    x0, y0, x1, y1 = box
    region = background[y0:y1, x0:x1]
    if region.ndim == 3:
        region = region @ np.float32([0.299, 0.587, 0.114])
    return float(region.mean()) if region.size else 0.0


def compose(layout: Layout, ctx: FillContext, fonts: tuple[FontInfo, ...], w: int, h: int,
            rng: random.Random, n_frames: int, background: np.ndarray | None = None) -> tuple[Scene, TextChoice]:
    """All blocks of the layout placed on a w x h image (blocks that do not fit are skipped); text without a plate
    gets a colour readable on ``background`` (the clean frame 0)."""
    scale = (min(w, h) / 768) ** 0.5
    style = choose_text(layout, fonts, rng, scale)
    scene = Scene()
    taken: list[list[int]] = []
    for i, block in enumerate(layout.blocks):
        if rng.random() >= block.p:
            continue
        own = rng.random() < layout.text.block_colors
        bstyle = dataclasses.replace(style, color=tuple(rng.choice(layout.text.colors))) if own else style
        items, plate = place_block(block, i, ctx, bstyle, w, h, rng, taken, n_frames)
        if items and plate is None and background is not None:
            box = [min(p.box[0] for p in items), min(p.box[1] for p in items),
                   max(p.box[2] for p in items), max(p.box[3] for p in items)]
            lum = _mean_luminance(background, box)
            color = (faint_color(lum, rng) if rng.random() < layout.text.low_contrast
                     else readable_color(items[0].color, layout.text.colors, lum))
            for p in items:
                p.color = color
                p.outline = _halo(color) if p.outline else None
        scene.items += items
        if plate:
            scene.plates.append(plate)
    return scene, style
