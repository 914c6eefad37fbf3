"""Blank rectangles in native pixel values (the original photometric space).

Fill rule (documented in README.md): each connected piece of the blanked boxes is filled with the per-channel
MEDIAN of the one-pixel ring just outside it, i.e. the local background. WHY: text sits on a background; the
median of the ring is that background even when a few text strokes touch the ring, so the box
becomes indistinguishable from its surroundings (no black patch over tissue), in any stored
value range (signed CT, MONOCHROME1, 12-bit, palette indices, YBR), and the value is always one
the device itself stored. Areas outside ultrasound regions are filled with the median of that
whole area (the screen background, normally black).

Noise rule: inside a piece, only the pixels that stand out from their background are rewritten. A pixel stands out
when some channel differs from that background by more than noise_tolerance(): NOISE_LEVELS_8BIT of 255, scaled
down for a frame that uses less of the range (invisible on any display). Only 8-bit stored data (the screens of
ultrasound, endoscopy, captures) uses it: deeper data is windowed narrowly (CT: 5 levels of 4096 can be a visible
1 % of a soft-tissue window) and 1-bit data (segmentations) has only two values, so there every pixel that is not
the fill takes the fill. Palette indices have no distances of their own: they are measured in the colours they
show (fill_rects ``shown``), and only indices the frame already holds are written. WHY: a box on a noisy dark
screen (JPEG, YBR) used to rewrite every noise pixel of the box: nothing of the text, but most of the "changed
pixels" of a real ultrasound frame.

Panel rule (same 8-bit data): a piece often lies partly on a flat panel of another tone than its ring (the grey
title bar or button strip of an ultrasound screen, a device's own grey blocks). Panel pixels are those inside some
flat s x s window (every channel within 2x the tolerance), s = panel_side() of the largest box over the pixel
(PANEL_SHARE of its height, at least PANEL_SIDE), so that no stroke of any text such a box can hold contains such
a window. WHY: the ring's one median painted whole grey bars black.

Continuing-background rule (continuing_backgrounds): a line box on a title bar often reaches into the black screen
below, so the piece's ring is mostly black and the bar shows only as a run of the ring along one edge; between tight
lines no flat window fits. A ring tone other than its median, unbroken along at least the piece's thickest box, is a
panel too, when the piece holds text well beyond it (beyond(): farther from the screen, and CONTRAST x tol from it);
it claims the piece pixels of its tone connected to that run, less thin parts bordering another tone (glyph strokes
of that tone on another background). WHY: the ring's median painted whole title bars black (DIRW0007, Issue19).

Local-background rule (rewrite_local): a piece's backgrounds are its quiet pixels (within the tolerance of the
ring's median) and its panels (each with its own median); a pixel within the tolerance of its nearest background
and connected to it is background too. Only the rest, the text, is rewritten: each pixel takes the value of its
nearest background pixel (so text on a panel becomes panel, text on a noisy screen takes that screen's noise, and
no letter shape is left as a flat silhouette), and so do the GROW px around it (anti-aliasing) where they differ
from their background by more than the ring's own noise: on a clean black screen a faint outline of the letters
would show in a narrow window, on a noisy one it is lost in the noise. Text whose nearest background is a panel,
and the PANEL_HALO px around it, take that panel's median instead: on a JPEG'd panel the pixel nearest a stroke is
its ringing, and letters rewritten to it stayed legible as shapes of another tone (Issue19's navy bar).

Texture rule (rewrite_texture, 8-bit): a piece that mostly stands out from its ring's median lies on tissue or on a
field. Its background and the texture's grain are drawn in from the pixels around it (inpainted()); what stands
out from that background by more than TEXTURE_K x the grain (kept within 2 tol .. CONTRAST x tol), plus
TEXTURE_HALO px around it, is the text and takes its nearest kept pixel's value; the rest of the tissue stays. When
that is still most of the piece (rough tissue, text on a flat plate), the piece is filled whole with the median, as
before. WHY: a box the model put on an endoscopy highlight painted the whole box. Every step is a pure function of
the pixels, so a re-run writes the same bytes.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numpy as np

# Integer rectangles: rows of [x0, y0, x1, y1], x1/y1 exclusive, clipped to the frame.
Rects = np.ndarray
# A piece's background drawn in from around it, and the texture's grain there, per pixel (inpainted()).
Background = Callable[[], tuple[np.ndarray, np.ndarray]]

NOISE_LEVELS_8BIT = 5   # an 8-bit pixel within this many levels of the fill is background noise (2 % of 255)
GROW = 1                # px around each standing-out pixel rewritten too (anti-aliasing; ringing beyond
                        # it stands out itself)
PANEL_HALO = 2          # px around text on a panel that take the panel's median too (a JPEG'd panel's ringing)
MOSTLY = 0.5            # a piece where more than this share stands out is texture under text: filled whole
NOISE_SPREAD = 3.0      # the ring's noise: this x the mean distance of its quiet pixels from the median
PANEL_SIDE = 5          # smallest side of a flat window that marks a panel (px)
PANEL_SHARE = 0.6       # ... and at least this share of the piece's largest box height (strokes are < 1/4 of it)
RUN_SHARE = 1.0         # continuing background: a ring run at least this x the piece's thickest box ...
MAX_TONES = 3           # ... of at most this many tones per piece (continuing_backgrounds) ...
CONTRAST = 8.0          # ... kept only under text at least this x tol from it (fainter text left a ghost) ...
THIN_SHARE = 0.3        # ... less its parts thinner than this x the thickest box bordering another tone
TEXTURE_K = 4.0         # texture rule: on tissue, text stands out from its drawn-in background by this x the grain
TEXTURE_HALO = 2        # ... and this many px around it are rewritten too (anti-aliasing)
INPAINT_BORDER = 3      # px of unblanked pixels around a piece its background is drawn in from


def to_rects(boxes: np.ndarray, rows: int, cols: int) -> Rects:
    """Detector float boxes (x0,y0,x1,y1[,score]) -> integer pixel rects covering them fully."""
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 4), dtype=np.int64)
    b = np.asarray(boxes, dtype=np.float64)[:, :4]
    rects = np.stack(
        [np.floor(b[:, 0]), np.floor(b[:, 1]), np.ceil(b[:, 2]), np.ceil(b[:, 3])], axis=1
    ).astype(np.int64)
    rects[:, [0, 2]] = np.clip(rects[:, [0, 2]], 0, cols)
    rects[:, [1, 3]] = np.clip(rects[:, [1, 3]], 0, rows)
    keep = (rects[:, 2] > rects[:, 0]) & (rects[:, 3] > rects[:, 1])
    return rects[keep]


def drop_contained(rects: Rects) -> Rects:
    """The rects minus duplicates and minus every rect lying inside another one: the union of blanked pixels is
    the same. WHY: a cine's static union rects cover most per-frame boxes, and the line completion adds many small
    boxes inside bigger ones; each rect costs a border median, so 250 rects a frame made filling cost more than
    detecting."""
    r = np.unique(np.asarray(rects, dtype=np.int64).reshape(-1, 4), axis=0)
    if len(r) < 2:
        return r
    inside = ((r[:, None, 0] >= r[None, :, 0]) & (r[:, None, 1] >= r[None, :, 1])
              & (r[:, None, 2] <= r[None, :, 2]) & (r[:, None, 3] <= r[None, :, 3]))
    np.fill_diagonal(inside, False)
    return r[~inside.any(axis=1)]


def lower_median(pixels: np.ndarray) -> np.ndarray:
    """Per-channel lower median of (N,) or (N, C) pixels: always a value present in them, so palette indices stay
    valid indices."""
    ordered = np.sort(pixels, axis=0)
    return ordered[(len(ordered) - 1) // 2]


def deviation(pixels: np.ndarray, fill: np.ndarray, channel_axis: int) -> np.ndarray:
    """Largest per-channel distance of each pixel from ``fill`` (grey pixels: the distance itself). Integer data of
    up to 16 bits is measured in int32 (exact, and a quarter of the float64 work: this ran for every piece)."""
    a, f = np.asarray(pixels), np.asarray(fill)
    small = a.dtype.kind in "ui" and f.dtype.kind in "ui" and max(a.dtype.itemsize, f.dtype.itemsize) <= 2
    work = np.int32 if small else np.float64
    dev = np.abs(a.astype(work) - f.astype(work))
    return dev if dev.ndim <= channel_axis else channel_max(dev, channel_axis)


def channel_max(values: np.ndarray, channel_axis: int) -> np.ndarray:
    """Largest value across the channel axis, plane by plane. WHY: numpy's max over a 3-long axis was most of the
    fill's time."""
    planes = np.moveaxis(values, channel_axis, 0)
    out = planes[0].copy()
    for plane in planes[1:]:
        np.maximum(out, plane, out=out)
    return out


PANEL_SIDES = np.array([5, 7, 9, 11, 13, 15, 19, 23, 27, 33, 41, 51, 63, 79, 99, 125, 157, 197, 247, 309, 387, 485,
                        607, 759, 949, 1187, 1485, 1857, 2323, 2905, 3633, 4543, 5681, 7103, 8881])  # ~1.25 steps


def panel_side(box_height: int) -> int:
    """Side of the flat window that marks panel pixels inside a box ``box_height`` px high (one of PANEL_SIDES:
    few distinct sides per frame, each one pass of the window)."""
    need = max(PANEL_SIDE, int(np.ceil(PANEL_SHARE * box_height)))
    return int(PANEL_SIDES[min(int(np.searchsorted(PANEL_SIDES, need)), len(PANEL_SIDES) - 1)])


def panel_mask(sub: np.ndarray, tol: float, need: np.ndarray) -> np.ndarray:
    """Pixels of ``sub`` inside some s x s window lying wholly in ``sub`` whose every channel spans at most 2 x tol,
    s being ``need`` at that pixel (panel_side() of the largest box over it): flat areas wider than any stroke of
    the text a box there can hold."""
    rows, cols = sub.shape[:2]
    panel = np.zeros((rows, cols), bool)
    if tol <= 0:
        return panel
    image = np.ascontiguousarray(sub)  # HxW or HxWxC (C <= 4): one morphology call covers every channel
    for side in np.unique(need[need > 0]):
        side, half = int(side), int(side) // 2
        if rows < side or cols < side:
            continue
        kernel = np.ones((side, side), np.uint8)
        spread = cv2.dilate(image, kernel).astype(np.int32) - cv2.erode(image, kernel).astype(np.int32)
        flat = (spread if spread.ndim == 2 else channel_max(spread, 2)) <= 2 * tol
        flat[:half], flat[rows - half:], flat[:, :half], flat[:, cols - half:] = False, False, False, False
        panel |= cv2.dilate(flat.astype(np.uint8), kernel).astype(bool) & (need == side)
    return panel


def rewrite_piece(sub: np.ndarray, piece: np.ndarray, ring: np.ndarray, fill: np.ndarray, tol: float,
                  need: np.ndarray, shown: np.ndarray | None = None, fill_shown: np.ndarray | None = None,
                  continuing: np.ndarray | None = None, background: Background | None = None) -> None:
    """Blank one piece in place (``sub``: the piece's bounding box of the frame; ``piece``: its mask there; ``ring``:
    its ring pixels as shown; ``need``: panel_side() per pixel there), by the rules of the module docstring.
    ``shown``/``fill_shown``: what ``sub``/``fill`` look like (a palette's colours), where distances are measured;
    None: the stored values themselves. ``continuing``: the piece's pixels on a background that continues outside
    it (continuing_backgrounds()), treated as panel."""
    shown = sub if shown is None else shown
    fill_shown = fill if fill_shown is None else fill_shown
    strong = piece & (deviation(shown, fill_shown, 2) > tol)
    if not strong.any():
        return
    if tol <= 0:  # deep or 1-bit data: every pixel that is not the fill takes it
        sub[strong] = fill
        return
    quiet = deviation(ring, fill_shown, 1)
    noise = NOISE_SPREAD * float(quiet[quiet <= tol].mean()) if (quiet <= tol).any() else 0.0
    panel = panel_mask(shown, tol, need)
    if continuing is not None:
        panel |= continuing
    rewrite_local(sub, shown, piece, strong, strong & panel, (fill, fill_shown), tol, noise, background)


def continuing_backgrounds(look: np.ndarray, piece: np.ndarray, ring: np.ndarray, tol: float,
                           thickness: int) -> np.ndarray:
    """Pixels of ``piece`` (bool, over ``look``: the piece's bounding box plus a 1-px border, as shown, 8-bit) that
    lie on a panel continuing outside the piece (continuing-background rule, module docstring).

    The ring's tones (``ring``: its mask there) are taken in turn, up to MAX_TONES: the ring's median (the screen),
    then the median of the ring pixels not yet within ``tol`` of a tone. A tone other than the screen is a panel when
    its pixels hold an unbroken run of the ring at least RUN_SHARE x ``thickness`` (the piece's thickest box) long,
    and the piece holds text beyond it (beyond()); it claims the piece pixels within ``tol`` of it connected to that
    run, less its thin parts bordering another tone (thin_on_another()).

    WHY: a line box on a title bar often reaches into the black screen below it, so its ring is mostly black and the
    bar's grey runs along one edge only; between tight lines there is no flat window wide enough for the panel rule,
    and the whole bar was painted black. A run as long as the thickest box is longer than any stroke of its text."""
    out = np.zeros(piece.shape, bool)
    run = int(np.ceil(RUN_SHARE * thickness))
    if not ring.any():
        return out
    screen = lower_median(look[ring])
    if int((deviation(look[ring], screen, 1) > tol).sum()) < run:
        return out  # the ring is the screen all round (most pieces): no second tone can hold a run
    thin = max(3, int(round(THIN_SHARE * thickness)) // 2 * 2 + 1)
    left = ring.copy()
    kernel = np.ones((3, 3), np.uint8)
    tones: list[tuple[np.ndarray | None, np.ndarray]] = []  # (its claimed pixels or None, the pixels of it) per tone
    for k in range(MAX_TONES):
        if int(left.sum()) < run:
            break
        tone = lower_median(look[left])
        close = deviation(look, tone, 2) <= tol
        members = ring & close
        if not (members & left).any():
            break
        left &= ~members
        n, parts, stats, _ = cv2.connectedComponentsWithStats(
            (cv2.dilate(members.astype(np.uint8), kernel).astype(bool) & ring).astype(np.uint8), connectivity=8)
        runs = np.isin(parts, np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= run)) & members & (parts > 0)
        if not runs.any() or k == 0 or not beyond(look, piece & ~close, screen, tone, tol):
            tones.append((None, close))  # the screen, or a tone beside the text: only a border for thin_on_another
            continue
        claim = piece & close
        seeds = cv2.dilate(runs.astype(np.uint8), kernel).astype(bool) & claim
        n, joined = cv2.connectedComponents(claim.astype(np.uint8), connectivity=8)
        rooted = np.zeros(n, bool)
        rooted[joined[seeds]] = True
        rooted[0] = False
        tones.append((rooted[joined], close))
    for i, (taken, _) in enumerate(tones):
        if taken is None:
            continue
        others = np.zeros_like(piece)
        for j, (theirs, other) in enumerate(tones):
            if j != i:
                others |= other if theirs is None else (other | theirs)
        out |= taken & ~thin_on_another(taken, others, thin)
    return out


def beyond(look: np.ndarray, rest: np.ndarray, screen: np.ndarray, tone: np.ndarray, tol: float) -> bool:
    """Whether at least max(3, 1 %) of the ``rest`` pixels (not of ``tone``) lie farther from the ``screen`` tone (the
    ring's median) than ``tone`` does, and at least CONTRAST x tol from ``tone``. WHY: a panel lies between the
    screen and its text (black screen, grey bar, white letters); a tone as far out as the text is the text's own
    colour touching the piece (white digits on black beside a white field); and faint text on a kept tone left a
    ghost of its anti-aliased edges (synthetic XA overlays, benchmarks/fill_recall.py)."""
    step = float(deviation(tone[None], screen, 1)[0])
    far = rest & (deviation(look, screen, 2) > step + tol) & (deviation(look, tone, 2) >= CONTRAST * tol)
    return int(far.sum()) >= max(3, int(0.01 * rest.size))


def thin_on_another(claim: np.ndarray, others: np.ndarray, side: int) -> np.ndarray:
    """The parts of ``claim`` thinner than ``side`` (not covered by its opening with a side x side square) whose
    border two pixels out (past any anti-aliased edge) lies mostly on ``others`` (another background tone): strokes
    of a glyph of this tone drawn on that other background that merely touch this tone's area (dark outlines of
    letters on the white half of an XA frame). Thin parts bordered by text (the gaps between letters) stay."""
    if not claim.any() or not others.any():
        return np.zeros_like(claim)
    kernel = np.ones((side, side), np.uint8)
    thin = claim & ~cv2.morphologyEx(claim.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
    n, parts = cv2.connectedComponents(thin.astype(np.uint8), connectivity=8)
    if n < 2:
        return thin
    grown = cv2.dilate(parts.astype(np.float32), np.ones((5, 5), np.uint8)).astype(np.int64)
    border = (grown > 0) & ~claim & ~cv2.dilate(thin.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    total = np.bincount(grown[border], minlength=n)
    on_other = np.bincount(grown[border & others], minlength=n)
    drop = on_other >= MOSTLY * np.maximum(total, 1)
    drop[0] = False
    return drop[parts]


def nearest_values(sub: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """For every pixel of ``sub``, the value of the nearest ``kept`` pixel (kept pixels: their own)."""
    _, labels = cv2.distanceTransformWithLabels((~kept).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    lookup = np.zeros((int(labels.max()) + 1, *sub.shape[2:]), sub.dtype)
    lookup[labels[kept]] = sub[kept]
    return lookup[labels]


def rewrite_local(sub: np.ndarray, shown: np.ndarray, piece: np.ndarray, strong: np.ndarray, panel: np.ndarray,
                  fills: tuple[np.ndarray, np.ndarray], tol: float, noise: float,
                  background: Background | None = None) -> None:
    """The local-background rule of the module docstring for one piece: ``strong``, its pixels that stand out from
    the ring's median; ``panel``, those of them on a panel; ``fills``, that median (stored, shown); ``noise``, the
    ring's own spread. Distances on ``shown``, values written to ``sub`` (always values the device stored)."""
    fill, fill_shown = fills
    value = np.empty_like(shown)  # each background pixel's background value, as shown
    n, parts = cv2.connectedComponents(panel.astype(np.uint8), connectivity=8)
    for k in range(1, n):
        one = parts == k
        value[one] = lower_median(shown[one])
    kept = piece & (~strong | panel)
    if not kept.any():
        sub[piece] = fill
        return
    value[kept & ~panel] = fill_shown
    ref = nearest_values(value, kept)  # every pixel's nearest background value, as shown
    like = piece & ~kept & (deviation(shown, ref, 2) <= tol)
    _, joined = cv2.connectedComponents((like | kept).astype(np.uint8), connectivity=8)
    rooted = np.zeros(int(joined.max()) + 1, bool)
    rooted[joined[kept]] = True
    kept |= like & rooted[joined]
    ink = piece & ~kept
    if not ink.any():
        return
    if ink.sum() > MOSTLY * piece.sum():
        rewrite_texture(sub, piece, fill, tol, background if shown is sub else None)
        return
    flat = np.zeros_like(ink)
    if shown is sub and panel.any():  # text on a panel: it and PANEL_HALO px around it take the panel's median
        on_panel = nearest_values(panel.astype(np.uint8), kept).astype(bool)
        side = 2 * PANEL_HALO + 1
        flat = (cv2.dilate(ink.astype(np.uint8), np.ones((side, side), np.uint8)).astype(bool) & piece) & on_panel
    halo = cv2.dilate(ink.astype(np.uint8), np.ones((2 * GROW + 1, 2 * GROW + 1), np.uint8)).astype(bool) \
        & piece & ~panel & ~ink
    ink |= halo & (deviation(shown, ref, 2) > noise)  # anti-aliasing that stands out from the screen's own noise
    rest = ink & ~flat
    sub[rest] = nearest_values(sub, piece & ~ink & ~flat)[rest]
    if flat.any():
        sub[flat] = ref[flat]


def rewrite_texture(sub: np.ndarray, piece: np.ndarray, fill: np.ndarray, tol: float,
                    background: Background | None) -> None:
    """The texture rule for a piece that mostly stands out from its ring's median (a box on tissue or on a field):
    ``background()`` is the piece's background drawn in from the pixels around it (inpainted) and the texture's
    own grain there; the pixels standing out from that background by more than TEXTURE_K x the grain, kept between
    2 tol and CONTRAST x tol, and TEXTURE_HALO px around them, take their nearest kept pixel's value. Still mostly
    standing out (rough tissue, text on a flat plate), or no background (not 8-bit shown as stored): painted whole
    with ``fill`` as before.
    WHY: boxes the model put on anatomy (endoscopy highlights, speckle) were painted whole; text drawn on tissue
    is drawn to stand out from it, so its strokes are what stands out (training/data/session13_texture_rule.md).
    WHY the upper bound: text on rough speckle need not stand out by 4 x its grain (white letters on full-range
    noise stayed legible as flat shapes); anything CONTRAST x tol from the tissue is text, so such a piece mostly
    stands out and is painted whole."""
    if background is None or sub.dtype != np.uint8:
        sub[piece] = fill
        return
    drawn, grain = background()
    dist = deviation(sub, drawn, 2)
    ink = piece & (dist > np.clip(TEXTURE_K * grain, 2.0 * tol, CONTRAST * tol))
    side = 2 * TEXTURE_HALO + 1
    ink = cv2.dilate(ink.astype(np.uint8), np.ones((side, side), np.uint8)).astype(bool) & piece
    if ink.sum() > MOSTLY * piece.sum():
        sub[piece] = fill
        return
    if ink.any():
        sub[ink] = nearest_values(sub, piece & ~ink)[ink]


def inpainted(frame: np.ndarray, blanked: np.ndarray, bbox: tuple[int, int, int, int]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The frame's pixels over ``bbox`` (x, y, w, h) drawn in from the unblanked pixels of a border INPAINT_BORDER px
    wide around it (OpenCV's Telea inpainting: a smooth background that follows a field's gradient), and the grain
    drawn in the same way: each border pixel's distance from its 3 x 3 median, averaged over the known pixels of a
    window 2 INPAINT_BORDER + 1 wide (0 on a flat or smooth field, the speckle's size on tissue)."""
    x, y, w, h = bbox
    rows, cols = blanked.shape
    ex0, ey0 = max(0, x - INPAINT_BORDER), max(0, y - INPAINT_BORDER)
    ex1, ey1 = min(cols, x + w + INPAINT_BORDER), min(rows, y + h + INPAINT_BORDER)
    crop = np.ascontiguousarray(frame[ey0:ey1, ex0:ex1])
    mask = blanked[ey0:ey1, ex0:ex1]
    inner = (slice(y - ey0, y - ey0 + h), slice(x - ex0, x - ex0 + w))
    if mask.all():
        flat = np.broadcast_to(lower_median(crop.reshape(-1, *crop.shape[2:])), crop.shape)[inner]
        return flat, np.zeros(flat.shape[:2])
    holes = mask.astype(np.uint8)
    drawn = cv2.inpaint(crop, holes, INPAINT_BORDER, cv2.INPAINT_TELEA).reshape(crop.shape)
    known = (~mask).astype(np.float32)
    fine = deviation(crop, cv2.medianBlur(crop, 3).reshape(crop.shape), 2).astype(np.float32) * known
    side = (2 * INPAINT_BORDER + 1, 2 * INPAINT_BORDER + 1)
    local = cv2.blur(fine, side) / np.maximum(cv2.blur(known, side), 1e-6)
    grain = cv2.inpaint(np.clip(local, 0, 255).astype(np.uint8), holes, INPAINT_BORDER, cv2.INPAINT_TELEA)
    return drawn[inner], grain[inner].astype(np.float64)


def noise_tolerance(frame: np.ndarray, bits_stored: int, photometric: str,
                    window_width: float | None = None) -> float:
    """The noise rule's tolerance for one frame in stored units: 0 unless the data is 8-bit stored (not a
    palette); then NOISE_LEVELS_8BIT x the share of 0..255 that a viewer spreads over the screen: all of it for
    colour (shown as stored); for grey data the frame's own span (viewers stretch min..max) or the header's VOI
    window when narrower. WHY: a dim or narrowly windowed grey frame makes 5 levels visible, so it gets less."""
    if bits_stored != 8 or photometric == "PALETTE COLOR" or frame.dtype != np.uint8 or frame.size == 0:
        return 0.0
    if not photometric.startswith("MONOCHROME"):
        return float(NOISE_LEVELS_8BIT)
    shown = float(np.ptp(frame))
    if window_width is not None and window_width > 0:
        shown = min(shown, float(window_width))
    return NOISE_LEVELS_8BIT * shown / 255.0


def fill_rects(frame: np.ndarray, rects: Rects, tolerance: float = 0.0,
               shown: np.ndarray | None = None, forced: Rects | None = None) -> np.ndarray:
    """Blank the union of rects in place; returns the blanked mask (rows x cols bool): the area decided as text.

    Each connected piece of the union (8-connected) is filled with the per-channel lower median of the one-pixel
    ring just outside it, computed on the frame BEFORE anything is blanked. For a lone rect that ring is the rect's
    own border. WHY per piece, not per rect: line completion yields hundreds of overlapping boxes per frame, and one
    median per box cost more than detecting; a piece has one background either way. Within a piece only what
    stands out from its background is rewritten (module docstring: noise, panel and local-background rules);
    ``tolerance`` is that noise level in stored units (noise_tolerance(); 0, the default: every pixel that is not
    the fill takes it). ``shown``: the frame as displayed (a palette's RGB), for frames whose stored values have no
    distances; the tolerance is then in displayed levels, and a piece's fill is its ring's most common value.
    ``forced``: rects a person drew (a reviewer's box, a device template; also in ``rects``): a piece holding one is
    never left as tissue by the texture rule. WHY: the person saw text there, whether or not it stands out.
    """
    rows, cols = frame.shape[:2]
    mask = np.zeros((rows, cols), np.uint8)
    for x0, y0, x1, y1 in np.asarray(rects, dtype=np.int64).reshape(-1, 4):
        mask[y0:y1, x0:x1] = 1
    blanked = mask.astype(bool)
    if not blanked.any():
        return blanked
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    need = np.zeros((rows, cols), np.int32)  # panel rule: panel_side() of the largest box over each pixel
    for x0, y0, x1, y1 in np.asarray(rects, dtype=np.int64).reshape(-1, 4):
        np.maximum(need[y0:y1, x0:x1], panel_side(int(y1 - y0)), out=need[y0:y1, x0:x1])
    thickest = np.zeros(n, np.int64)  # continuing-background rule: the thickest box of each piece
    for x0, y0, x1, y1 in np.asarray(rects, dtype=np.int64).reshape(-1, 4):
        thickest[labels[y0, x0]] = max(thickest[labels[y0, x0]], min(x1 - x0, y1 - y0))
    near = cv2.dilate(labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int64)  # highest label nearby
    ring = ~blanked & (near > 0)
    look = frame if shown is None else shown
    inpaintable = frame.dtype == np.uint8 and (frame.ndim == 2 or frame.shape[2] == 3)  # what cv2.inpaint takes
    drawn_by_hand = np.zeros(n, bool)  # pieces holding a forced rect
    for x0, y0, x1, y1 in np.asarray(forced if forced is not None else [], dtype=np.int64).reshape(-1, 4):
        drawn_by_hand[np.unique(labels[y0:y1, x0:x1])] = True
    ring_labels = near[ring]
    order = np.argsort(ring_labels, kind="stable")
    ring_labels, ring_pixels, ring_looks = ring_labels[order], frame[ring][order], look[ring][order]
    bounds = np.searchsorted(ring_labels, np.arange(1, n + 1))
    for k in range(1, n):
        pixels, looks = ring_pixels[bounds[k - 1]:bounds[k]], ring_looks[bounds[k - 1]:bounds[k]]
        if len(pixels) == 0:  # no ring of its own: the whole frame, or a ring counted for a neighbouring piece
            piece = cv2.dilate((labels == k).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~blanked
            if not piece.any():
                piece = np.ones((rows, cols), bool)
            pixels, looks = frame[piece], look[piece]
        if shown is None:
            fill = fill_look = lower_median(pixels)
        else:  # a palette: the ring's most common index, and its colour
            values, first, counts = np.unique(pixels, return_index=True, return_counts=True)
            fill, fill_look = values[np.argmax(counts)], looks[first[np.argmax(counts)]]
        x, y, w, h, _ = stats[k]
        sub = frame[y:y + h, x:x + w]
        piece = labels[y:y + h, x:x + w] == k
        continuing = None
        if tolerance > 0 and len(pixels):
            continuing = piece_continuing(look, labels, ring, k, (x, y, w, h), tolerance, int(thickest[k]))
        rewrite_piece(sub, piece, looks, fill, tolerance, np.where(piece, need[y:y + h, x:x + w], 0),
                      None if shown is None else shown[y:y + h, x:x + w], fill_look, continuing,
                      functools.partial(inpainted, frame, blanked, (x, y, w, h))
                      if inpaintable and not drawn_by_hand[k] else None)
    return blanked


def piece_continuing(look: np.ndarray, labels: np.ndarray, ring: np.ndarray, k: int, bbox: tuple[int, int, int, int],
                     tol: float, thickness: int) -> np.ndarray:
    """continuing_backgrounds() of piece ``k`` (``labels`` == k, bounding box ``bbox`` = x, y, w, h), on its bounding
    box plus a 1-px border (where its ring lies), returned over its bounding box."""
    x, y, w, h = bbox
    rows, cols = labels.shape
    ex0, ey0, ex1, ey1 = max(0, x - 1), max(0, y - 1), min(cols, x + w + 1), min(rows, y + h + 1)
    piece = labels[ey0:ey1, ex0:ex1] == k
    own_ring = ring[ey0:ey1, ex0:ex1] & cv2.dilate(piece.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    found = continuing_backgrounds(look[ey0:ey1, ex0:ex1], piece, own_ring, tol, thickness)
    return found[y - ey0:y - ey0 + h, x - ex0:x - ex0 + w]


def fill_outside(frame: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Blank every pixel where keep is False with the per-channel median of those pixels."""
    outside = ~keep
    if not outside.any():
        return np.zeros(frame.shape[2:], dtype=frame.dtype)
    value = lower_median(frame[outside]).astype(frame.dtype)
    frame[outside] = value
    return value
