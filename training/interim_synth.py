"""TEMPORARY stand-in for ``python -m synth.generate`` so detector training could start before synth/ existed.

Writes the same folder format as synth/ (png/, labels/, gt/, manifest.csv) with simple PIL-rendered overlay text
on procedural medical-looking backgrounds. Prefer the real synth output; delete this file once synth/ is the
only source the dvc pipeline uses.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ("/usr/share/fonts/truetype", "/usr/share/fonts/opentype")
LATIN_FONT_PREFIXES = ("DejaVu", "Liberation", "Free", "JetBrainsMono", "NotoSans-", "NotoSerif-", "NotoMono",
                       "NimbusSans", "NimbusMono", "NimbusRoman", "C059", "P052", "URWGothic", "URWBookman")
FAMILIES = ("corners", "topbar", "us_header", "list_left", "scatter", "boxed", "ct_overlay")
FIRST = ["Jonas", "Petras", "Ona", "Rūta", "Žydrūnas", "Gintarė", "Šarūnas", "Aušra", "Vytautas", "Eglė", "Mindaugas",
         "Dalia", "Česlovas", "Ąžuolas", "Ieva", "Kęstutis"]
LAST = ["Kazlauskas", "Jankauskienė", "Petrauskas", "Žukauskaitė", "Šimkus", "Vaitkevičius", "Balčiūnas", "Čepulis",
        "Stankevičiūtė", "Urbonas", "Mažeika", "Ąžuolaitė"]
TECH = ["kV 120", "mAs 250", "5.0MHz", "Gain 54", "DR 60", "FR 32Hz", "R", "L", "W:400 L:40", "SL 5.0mm", "Zoom 1.2",
        "TIS 0.4", "MI 1.1", "AP", "LAT", "Series 3", "Im: 24/120", "C5-1", "Abdomen", "2D", "PW", "CF"]


def list_fonts() -> list[Path]:
    fonts = []
    for d in FONT_DIRS:
        for p in Path(d).rglob("*"):
            if p.suffix.lower() in (".ttf", ".otf") and p.name.startswith(LATIN_FONT_PREFIXES):
                fonts.append(p)
    return sorted(fonts)


def font_family(p: Path) -> str:
    return p.stem.split("-")[0]


def phi_text(rng: random.Random) -> tuple[str, str]:
    k = rng.choice(["name", "id", "birth", "date", "accession", "institution"])
    if k == "name":
        t = f"{rng.choice(LAST)} {rng.choice(FIRST)}"
        t = t.upper() if rng.random() < 0.5 else t
    elif k == "id":
        t = f"{rng.choice(['ID: ', 'PID ', ''])}{rng.randint(3, 6)}{rng.randint(10**9, 10**10 - 1)}"
    elif k == "birth":
        t = f"{rng.choice(['DOB ', 'Gim. d. ', ''])}{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    elif k == "date":
        t = f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2000, 2026)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    elif k == "accession":
        t = f"ACC{rng.randint(10**6, 10**8)}"
    else:
        t = rng.choice(["Vilniaus klinikos", "Kauno ligoninė", "Santaros klinikos", "Klaipėdos universitetinė ligoninė"])
    return t, k


def background(rng: random.Random, w: int, h: int, color: bool) -> np.ndarray:
    """Noise + blurred blobs + optional ultrasound fan / CT disc: texture the detector must NOT call text."""
    base = rng.randint(0, 60)
    img = np.full((h, w), base, np.float32)
    img += np.random.default_rng(rng.randint(0, 10**9)).normal(0, rng.uniform(2, 25), (h, w))
    shape = rng.choice(["fan", "disc", "blobs", "flat"])
    mask = np.zeros((h, w), np.uint8)
    if shape == "fan":
        cx, cy = w // 2, int(h * 0.08)
        cv2.ellipse(mask, (cx, cy), (int(h * 0.85), int(h * 0.85)), 90, -35, 35, 255, -1)
    elif shape == "disc":
        cv2.circle(mask, (w // 2, h // 2), int(min(w, h) * 0.42), 255, -1)
    elif shape == "blobs":
        for _ in range(rng.randint(3, 12)):
            cv2.circle(mask, (rng.randrange(w), rng.randrange(h)), rng.randint(10, max(11, w // 5)), 255, -1)
    if shape != "flat":
        tex = np.random.default_rng(rng.randint(0, 10**9)).gamma(1.5, 40, (h // 4 + 1, w // 4 + 1)).astype(np.float32)
        tex = cv2.resize(cv2.GaussianBlur(tex, (0, 0), rng.uniform(0.5, 2)), (w, h))
        img = np.where(mask > 0, img + tex * rng.uniform(0.5, 1.5), img)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if color:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        if rng.random() < 0.5:  # colour Doppler-ish patch
            x, y = rng.randrange(w // 4, 3 * w // 4), rng.randrange(h // 4, 3 * h // 4)
            cv2.ellipse(img, (x, y), (rng.randint(10, 60), rng.randint(10, 60)), 0, 0, 360,
                        (rng.randint(100, 255), 0, rng.randint(100, 255)), -1)
    return img


def text_items(rng: random.Random, n: int) -> list[tuple[str, bool, str]]:
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            t, k = phi_text(rng)
            out.append((t, True, k))
        else:
            out.append((rng.choice(TECH), False, "technical"))
    return out


def positions(family: str, rng: random.Random, w: int, h: int, n: int, size: int) -> list[tuple[int, int]]:
    """Top-left anchor per item, following the family's arrangement."""
    line = int(size * rng.uniform(1.2, 1.6))
    m = rng.randint(2, 20)
    if family == "corners":
        pts = []
        for i in range(n):
            corner = i % 4
            row = i // 4
            x = m if corner in (0, 2) else int(w * rng.uniform(0.6, 0.8))
            y = m + row * line if corner < 2 else h - m - (row + 1) * line
            pts.append((x, y))
        return pts
    if family == "topbar":
        xs = np.cumsum([m] + [rng.randint(size * 6, size * 14) for _ in range(n - 1)])
        return [(int(x) % max(1, w - size * 5), m + (i * line if x > w else 0)) for i, x in enumerate(xs)]
    if family == "us_header":
        return [(m if i < n // 2 else w - m - size * 8, m + (i % max(1, n // 2)) * line) for i in range(n)]
    if family == "list_left":
        return [(m, m + i * line) for i in range(n)]
    if family == "boxed":
        return [(rng.randint(0, max(1, w - size * 12)), rng.randint(0, max(1, h - line))) for _ in range(n)]
    if family == "ct_overlay":
        return [(m, m + i * line) if i % 2 == 0 else (w - m - size * 9, h - m - (i + 1) * line) for i in range(n)]
    return [(rng.randint(0, max(1, w - size * 10)), rng.randint(0, max(1, h - line))) for _ in range(n)]


def render(rng: random.Random, family: str, font_path: Path) -> tuple[np.ndarray, list[dict]]:
    w, h = rng.choice([(512, 512), (640, 480), (800, 600), (1024, 768), (1024, 1024), (1280, 1024), (1600, 1200),
                       (2000, 1500), (1920, 1080)])
    color = rng.random() < 0.35
    img = background(rng, w, h, color)
    size = rng.choice([9, 10, 11, 12, 13, 14, 16, 18, 22, 28, 36]) if rng.random() < 0.85 else rng.randint(30, 56)
    font = ImageFont.truetype(str(font_path), size)
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    draw.fontmode = "1" if rng.random() < 0.3 else "L"  # aliased device overlays vs smooth text
    n = rng.randint(3, 14)
    items = []
    fg = tuple(rng.randint(160, 255) for _ in range(3)) if color else (rng.randint(150, 255),) * 3
    for (text, phi, kind), (x, y) in zip(text_items(rng, n), positions(family, rng, w, h, n, size)):
        x = int(min(max(0, x), w - 5))
        y = int(min(max(0, y), h - size - 2))
        chars = []
        for i, ch in enumerate(text):
            if ch == " ":
                continue
            off = font.getlength(text[:i])
            bb = font.getbbox(ch)
            cb = [x + off + bb[0], y + bb[1], x + off + bb[2], y + bb[3]]
            if cb[2] <= cb[0] or cb[3] <= cb[1] or cb[2] > w or cb[3] > h:
                continue
            chars.append([float(v) for v in cb])
        if not chars:
            continue
        box = [min(c[0] for c in chars), min(c[1] for c in chars), max(c[2] for c in chars), max(c[3] for c in chars)]
        if any(_overlap(box, it["box"]) for it in items):
            continue
        if family == "boxed" or rng.random() < 0.1:
            dark = rng.randint(0, 80)
            draw.rectangle([box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3], fill=(dark,) * 3 if color else dark)
        col = fg if not color or rng.random() < 0.7 else (255, 255, rng.randint(0, 120))
        draw.text((x, y), text, font=font, fill=col if color else col[0])
        items.append({"text": text, "phi": phi, "kind": kind, "box": box, "chars": chars, "angle": 0, "frames": None})
    return np.asarray(pil), items


def _overlap(a: list[float], b: list[float]) -> bool:
    return not (a[2] + 4 < b[0] or b[2] + 4 < a[0] or a[3] + 2 < b[1] or b[3] + 2 < a[1])


def generate(out: Path, n: int, seed: int, families: list[str], fonts: list[Path]) -> None:
    for sub in ("png", "labels", "gt"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        fam, font = rng.choice(families), rng.choice(fonts)
        img, items = render(rng, fam, font)
        h, w = img.shape[:2]
        sid = f"{seed}_{i:05d}"
        cv2.imwrite(str(out / "png" / f"{sid}.png"), img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        lab = [f"0 {(b[0] + b[2]) / 2 / w:.6f} {(b[1] + b[3]) / 2 / h:.6f} {(b[2] - b[0]) / w:.6f} {(b[3] - b[1]) / h:.6f}"
               for b in (it["box"] for it in items)]
        (out / "labels" / f"{sid}.txt").write_text("\n".join(lab) + "\n")
        (out / "gt" / f"{sid}.json").write_text(json.dumps({"id": sid, "width": w, "height": h, "items": items,
                                                            "family": fam, "font": font.name, "exam": fam}))
        rows.append({"id": sid, "family": fam, "font": font.name, "exam": "interim"})
    with open(out / "manifest.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=["id", "family", "font", "exam"])
        wr.writeheader()
        wr.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heldout", action="store_true", help="use ONLY the held-out families and fonts")
    a = ap.parse_args(argv)
    fonts = list_fonts()
    held_fonts = {"LiberationSans", "LiberationMono", "NimbusSansNarrow", "FreeMono", "NotoSerif"}
    held_fams = {"boxed", "ct_overlay"}
    pick_f = [f for f in fonts if (font_family(f) in held_fonts) == a.heldout]
    pick_fam = [f for f in FAMILIES if (f in held_fams) == a.heldout]
    generate(a.out, a.n, a.seed, pick_fam, pick_f)


if __name__ == "__main__":
    main()
