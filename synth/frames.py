"""Clean (text-free) image content per modality, drawn procedurally in a few milliseconds.

Why: the detector must learn text against realistic backgrounds (speckle, bone edges, endoscopic texture, ECG grid
lines, paper) without any download and without text we did not place ourselves. Every generator is
``f(rng: numpy Generator, width, height) -> float32 array`` (HxW grey or HxWx3 RGB, values 0..255).
Public DICOM samples without burned-in text are offered by ``sample_frame`` (see synth/samples.py).
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

Frame = np.ndarray


def _noise(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth random field (blurred white noise at a coarse grid, resized up)."""
    gh, gw = max(2, int(h / scale)), max(2, int(w / scale))
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def us_sector(rng: np.random.Generator, w: int, h: int) -> Frame:
    """Ultrasound: black screen with a fan-shaped speckle sector and a few dark cysts/vessels."""
    img = np.zeros((h, w), np.float32)
    cx, top = w * rng.uniform(0.45, 0.55), h * rng.uniform(0.08, 0.15)
    radius = h * rng.uniform(0.7, 0.85)
    half = np.deg2rad(rng.uniform(30, 45))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - cx, yy - top)
    ang = np.arctan2(xx - cx, yy - top)
    inside = (r < radius) & (np.abs(ang) < half) & (r > h * 0.02)
    speckle = rng.rayleigh(1.0, (h, w)).astype(np.float32)
    speckle = cv2.GaussianBlur(speckle, (0, 0), 0.8)
    tissue = 90 + 40 * _noise(rng, h, w, 40) - 40 * (r / radius)
    for _ in range(rng.integers(1, 4)):
        ex, ey = rng.uniform(0.3, 0.7) * w, top + rng.uniform(0.3, 0.8) * radius
        ax, ay = rng.uniform(0.03, 0.1) * w, rng.uniform(0.02, 0.06) * h
        tissue[((xx - ex) / ax) ** 2 + ((yy - ey) / ay) ** 2 < 1] *= 0.15
    img[inside] = np.clip(tissue * speckle * 0.9, 0, 255)[inside]
    return img


def radiograph(rng: np.random.Generator, w: int, h: int) -> Frame:
    """CR/DX: bright bone-like shapes over soft tissue, dark collimated border."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = 40 + 25 * _noise(rng, h, w, 60)
    body = ((xx - w / 2) / (w * rng.uniform(0.35, 0.48))) ** 2 + ((yy - h / 2) / (h * 0.6)) ** 2 < 1
    img[body] += 70 + 20 * _noise(rng, h, w, 30)[body]
    for _ in range(rng.integers(3, 9)):    # ribs / long bones as thick bright curves
        pts = np.stack([rng.uniform(0.1, 0.9, 4) * w, rng.uniform(0.1, 0.9, 4) * h], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, float(rng.uniform(150, 220)), int(rng.uniform(0.01, 0.04) * w) + 1)
    img = cv2.GaussianBlur(img, (0, 0), max(1.0, w / 300))
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    b = int(rng.uniform(0, 0.06) * min(w, h))
    if b:
        img[:b], img[-b:], img[:, :b], img[:, -b:] = 10, 10, 10, 10
    return np.clip(img, 0, 255)


def ct_slice(rng: np.random.Generator, w: int, h: int) -> Frame:
    """CT/MR axial slice in a black viewer: ellipse body, bright ring, grey organs."""
    img = np.zeros((h, w), np.float32)
    c = (w // 2 + int(rng.integers(-w // 20, w // 20 + 1)), h // 2 + int(rng.integers(-h // 20, h // 20 + 1)))
    ax = (int(min(w, h) * rng.uniform(0.28, 0.4)), int(min(w, h) * rng.uniform(0.25, 0.38)))
    cv2.ellipse(img, c, ax, 0, 0, 360, 110.0, -1)
    cv2.ellipse(img, c, ax, 0, 0, 360, 200.0, max(2, ax[0] // 15))
    for _ in range(rng.integers(3, 8)):
        oc = (int(c[0] + rng.uniform(-0.5, 0.5) * ax[0]), int(c[1] + rng.uniform(-0.5, 0.5) * ax[1]))
        cv2.ellipse(img, oc, (int(ax[0] * rng.uniform(0.08, 0.3)), int(ax[1] * rng.uniform(0.08, 0.3))),
                    float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(40, 170)), -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.5)
    img += (rng.normal(0, 6, img.shape) * (img > 5)).astype(np.float32)
    return np.clip(img, 0, 255)


def fluoro(rng: np.random.Generator, w: int, h: int) -> Frame:
    """XA/RF: grey circular field of view, dark contrast-filled vessels, heavy quantum noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = 150 + 30 * _noise(rng, h, w, 50)
    for _ in range(rng.integers(2, 6)):
        pts = np.cumsum(rng.normal(0, min(w, h) / 12, (8, 2)), 0) + [w * rng.uniform(0.3, 0.7), h * 0.1]
        cv2.polylines(img, [pts.astype(np.int32)], False, float(rng.uniform(40, 90)), int(rng.integers(2, 9)))
    img = cv2.GaussianBlur(img, (0, 0), 1.2) + rng.normal(0, 9, (h, w)).astype(np.float32)
    fov = np.hypot(xx - w / 2, yy - h / 2) > min(w, h) * rng.uniform(0.45, 0.55)
    img[fov] = rng.uniform(0, 20)
    return np.clip(img, 0, 255)


def endoscopy(rng: np.random.Generator, w: int, h: int) -> Frame:
    """Endoscopy: pink mucosa with folds and specular highlights in an octagonal/round field, black panel."""
    img = np.zeros((h, w, 3), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, r = w * rng.uniform(0.55, 0.65), h / 2, min(w, h) * 0.46
    field = np.hypot(xx - cx, yy - cy) < r
    base = np.array([rng.uniform(170, 230), rng.uniform(70, 120), rng.uniform(60, 100)], np.float32)
    tex = _noise(rng, h, w, 25) * 25 + np.sin(_noise(rng, h, w, 80) * 6) * 30
    shade = 1.0 - 0.6 * np.hypot(xx - cx, yy - cy) / r
    for k in range(3):
        img[..., k] = np.clip((base[k] + tex * (1 - 0.3 * k)) * shade, 0, 255)
    spots = rng.random((h, w)) > 0.9995
    spots = cv2.dilate(spots.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    img[spots] = 250
    img[~field] = 0
    return img


def mammo(rng: np.random.Generator, w: int, h: int) -> Frame:
    """Mammography: bright breast half-disc against a black background, fibroglandular texture."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    left = rng.random() < 0.5
    x0 = 0 if left else w
    breast = ((xx - x0) / (w * rng.uniform(0.55, 0.75))) ** 2 + ((yy - h / 2) / (h * 0.45)) ** 2 < 1
    img = np.zeros((h, w), np.float32)
    dist = np.clip(1 - np.abs(xx - x0) / (w * 0.75), 0, 1)      # denser tissue towards the chest wall
    tex = 90 + 70 * dist + 30 * _noise(rng, h, w, 45) + 12 * _noise(rng, h, w, 12)
    img[breast] = tex[breast]
    img = cv2.GaussianBlur(img, (0, 0), 2.0) + rng.normal(0, 2, (h, w)).astype(np.float32)
    return np.clip(img, 0, 255)


def ecg_paper(rng: np.random.Generator, w: int, h: int) -> Frame:
    """ECG printout: pink millimetre grid on white with 12 dark traces (RGB)."""
    img = np.full((h, w, 3), 252, np.float32)
    mm = max(3, int(w / rng.uniform(250, 300)))
    grid = np.array([235, 170, 170], np.float32)
    img[::mm, :] = grid * 1.05
    img[:, ::mm] = grid * 1.05
    img[:: mm * 5, :] = grid
    img[:, :: mm * 5] = grid
    top, bottom = int(h * 0.22), int(h * 0.95)
    rows = 4
    t = np.arange(w, dtype=np.float32)
    for r in range(rows):
        base = top + (r + 0.5) * (bottom - top) / rows
        period = rng.uniform(0.18, 0.3) * w / 3
        phase = (t % period) / period
        beat = np.exp(-((phase - 0.3) / 0.012) ** 2) * 1.0 - np.exp(-((phase - 0.33) / 0.01) ** 2) * 0.3
        beat += np.exp(-((phase - 0.55) / 0.05) ** 2) * 0.25 + np.exp(-((phase - 0.15) / 0.03) ** 2) * 0.12
        y = base - beat * mm * rng.uniform(6, 10) + rng.normal(0, 0.3, w)
        pts = np.stack([t, y], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, (20.0, 20.0, 30.0), 1 + int(w > 1400), cv2.LINE_AA)
    return img


def scanned_paper(rng: np.random.Generator, w: int, h: int) -> Frame:
    """Scanned form: off-white paper with faint noise, table lines and a skew-free grey border."""
    img = np.full((h, w), rng.uniform(225, 250), np.float32) + 4 * _noise(rng, h, w, 40)
    for _ in range(rng.integers(2, 6)):
        y = int(rng.uniform(0.2, 0.95) * h)
        cv2.line(img, (int(w * 0.06), y), (int(w * 0.94), y), float(rng.uniform(60, 140)), 1)
    img += rng.normal(0, 3, (h, w)).astype(np.float32)
    img[:, : int(w * 0.01)] = 120
    return np.clip(img, 0, 255)


def screen_ui(rng: np.random.Generator, w: int, h: int) -> Frame:
    """Screen capture of a reporting/AI application: flat panels, toolbar, an image viewport (RGB)."""
    bg = rng.uniform(25, 60) if rng.random() < 0.5 else rng.uniform(215, 245)
    img = np.full((h, w, 3), bg, np.float32)
    tone = np.array([rng.uniform(0.8, 1.1), rng.uniform(0.9, 1.1), rng.uniform(1.0, 1.2)], np.float32)
    cv2.rectangle(img, (0, 0), (w, int(h * 0.06)), (bg * 0.6 * tone).tolist(), -1)           # title/tool bar
    vx0, vy0, vx1, vy1 = int(w * 0.55), int(h * 0.12), int(w * 0.97), int(h * 0.9)
    view = radiograph(rng, vx1 - vx0, vy1 - vy0) if rng.random() < 0.5 else ct_slice(rng, vx1 - vx0, vy1 - vy0)
    img[vy0:vy1, vx0:vx1] = view[..., None]
    for _ in range(rng.integers(2, 5)):                                                       # panel frames
        y = int(rng.uniform(0.1, 0.9) * h)
        cv2.line(img, (int(w * 0.03), y), (int(w * 0.5), y), (bg * 0.75 * tone).tolist(), 1)
    return np.clip(img + rng.normal(0, 1.0, img.shape).astype(np.float32), 0, 255)


def film_grid(rng: np.random.Generator, w: int, h: int) -> Frame:
    """Secondary capture of a printed film sheet: a 3x4 grid of CT/MR slices on black."""
    img = np.zeros((h, w), np.float32)
    rows, cols = 3, 4
    ch, cw = h // rows, w // cols
    for r in range(rows):
        for c in range(cols):
            img[r * ch + 2:(r + 1) * ch - 2, c * cw + 2:(c + 1) * cw - 2] = ct_slice(rng, cw - 4, ch - 4)
    return img


GENERATORS: dict[str, Callable[[np.random.Generator, int, int], Frame]] = {
    "us_sector": us_sector, "radiograph": radiograph, "ct_slice": ct_slice, "fluoro": fluoro,
    "endoscopy": endoscopy, "mammo": mammo, "ecg_paper": ecg_paper, "scanned_paper": scanned_paper,
    "screen_ui": screen_ui, "film_grid": film_grid,
}


def cine_frames(first: Frame, rng: np.random.Generator, n: int) -> list[Frame]:
    """Small rigid motion plus fresh noise per frame, so cine frames differ like a real loop."""
    out = [first]
    h, w = first.shape[:2]
    for k in range(1, n):
        m = np.float32([[1, 0, 2 * np.sin(k / 3)], [0, 1, 1.5 * np.cos(k / 4)]])
        f = cv2.warpAffine(first, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        out.append(np.clip(f + rng.normal(0, 3, f.shape).astype(np.float32), 0, 255))
    return out


def make_frame(kind: str, rng: np.random.Generator, w: int, h: int) -> Frame:
    """Clean frame ``kind`` (a key of GENERATORS) of size w x h."""
    if kind not in GENERATORS:
        raise ValueError(f"unknown frame generator {kind!r}; known: {sorted(GENERATORS)}")
    return GENERATORS[kind](rng, w, h)
