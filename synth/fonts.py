"""Font catalogue: installed fonts that can draw every Lithuanian letter, with stable ids.

Why: text drawn with a font that lacks a glyph shows boxes (tofu) and poisons labels; a stable id per font lets
training hold whole fonts out for testing (``split_hint``). Only Pillow is used (no fontTools dependency):
a missing glyph renders exactly like the font's .notdef glyph, which is how coverage is tested.
Fonts come from the Debian packages installed by ``scripts/install.sh dev`` and from matplotlib's wheel
(DejaVu), never from the network.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, asdict
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LT_CHARS = "ąčęėįšųūžĄČĘĖĮŠŲŪŽ"
# Also drawn by synth: foreign names and common symbols of device overlays.
EXTRA_CHARS = "śłńóżüéŁŚŻ0123456789:/.-+%°µ²"
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
FONT_SUFFIXES = (".ttf", ".otf", ".otb")
# Families held out from training (whole families, so the test set measures generalisation to unseen fonts).
HELD_OUT_FAMILIES = ("liberationserif", "freemono", "urwgothic", "notoserif", "jetbrainsmono-thin")
_SKIP = re.compile(r"(math|symbol|dingbat|emoji|d050000l|z003|standardsymbols|color|lastresort"
                   r"|interdisplay|mplus1-|mpluscode|firacode-retina|opensans-cond)", re.I)  # 2nd line: near-duplicates


@dataclass(frozen=True)
class FontInfo:
    """One usable font file."""

    id: str            # stable: lower-case file stem, e.g. "dejavusansmono-bold"
    family: str        # id without the style suffix, the unit of held-out splits
    path: str
    mono: bool         # fixed pitch (device overlays are mostly monospaced)
    bold: bool
    bitmap: bool       # only fixed pixel sizes (``sizes``), e.g. Terminus .otb
    sizes: tuple[int, ...] = ()

    @property
    def split_hint(self) -> str:
        return "test" if self.family in HELD_OUT_FAMILIES else "train"


def _notdef_mask(font: ImageFont.FreeTypeFont, ch: str) -> bytes:
    img = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(img).text((4, 4), ch, font=font, fill=255)
    return img.tobytes()


def covers(font: ImageFont.FreeTypeFont, chars: str) -> bool:
    """True when no char in ``chars`` renders as the .notdef box."""
    notdef = _notdef_mask(font, "\U0010fffd")
    return all(_notdef_mask(font, c) != notdef and font.getbbox(c)[2] > 0 for c in chars)


def _load(path: Path) -> tuple[ImageFont.FreeTypeFont, tuple[int, ...], bool]:
    try:
        ImageFont.truetype(str(path), 23)   # scalable fonts accept any size; bitmap strikes do not
        return ImageFont.truetype(str(path), 24), (), False
    except OSError:
        sizes = []
        for s in range(6, 41):
            try:
                ImageFont.truetype(str(path), s)
                sizes.append(s)
            except OSError:
                pass
        if not sizes:
            raise
        return ImageFont.truetype(str(path), sizes[len(sizes) // 2]), tuple(sizes), True


def _family(stem: str) -> str:
    stem = re.sub(r"^(free(?:mono|sans|serif))(bold|oblique|italic)+$", r"\1", stem)   # FreeFont naming
    stem = re.sub(r"^(stixgeneral)(bol|ita|italic)+$", r"\1", stem)
    stem = re.sub(r"-(thin|extralight|hairline)italic$", r"-\1", stem)  # JetBrains Mono: Thin is a family of its own
    return re.sub(r"-(regular|bold|italic|oblique|bolditalic|boldoblique|book|roman|medium|light|semibold|"
                  r"extrabold|black|condensed|demi|bdita|bookoblique|demioblique|demiitalic|lightitalic|"
                  r"mediumitalic|semibolditalic|extrabolditalic|normal|bold-oblique|blackitalic|"
                  r"heavy|heavyitalic)$", "", stem)


def font_info(path: Path) -> FontInfo | None:
    """Catalogue entry for ``path`` or None when it is unusable (no full Lithuanian coverage)."""
    if _SKIP.search(path.name):
        return None
    try:
        font, sizes, bitmap = _load(path)
    except OSError:
        return None
    if not covers(font, LT_CHARS + EXTRA_CHARS):
        return None
    stem = path.stem.lower()
    mono = abs(font.getlength("i") - font.getlength("M")) < 0.5
    return FontInfo(id=stem, family=_family(stem), path=str(path), mono=mono,
                    bold=bool(re.search(r"bold|demi|black|heavy", stem)), bitmap=bitmap, sizes=sizes)


def _candidate_paths() -> list[Path]:
    paths: list[Path] = []
    for root in FONT_DIRS:
        if Path(root).is_dir():
            paths += [p for p in Path(root).rglob("*") if p.suffix.lower() in FONT_SUFFIXES]
    try:  # matplotlib's DejaVu: usable before the Debian font packages are installed
        import matplotlib
        paths += sorted((Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf").glob("*.ttf"))
    except ImportError:
        pass
    return paths


@lru_cache(maxsize=1)
def discover_fonts() -> tuple[FontInfo, ...]:
    """All installed fonts with full Lithuanian coverage, one per id, sorted by id (stable order)."""
    by_id: dict[str, FontInfo] = {}
    for p in sorted(_candidate_paths()):
        if p.stem.lower() in by_id:
            continue
        info = font_info(p)
        if info:
            by_id[info.id] = info
    if not by_id:
        raise RuntimeError("no font with Lithuanian coverage found: run scripts/install.sh dev (fonts-dejavu-core ...)")
    return tuple(by_id[k] for k in sorted(by_id))


def select_fonts(fonts: tuple[FontInfo, ...], include: list[str] | None = None,
                 exclude: list[str] | None = None) -> tuple[FontInfo, ...]:
    """Filter by id/family glob patterns (``--fonts``, ``--exclude-fonts``; 'held-out' means the held-out families)."""
    import fnmatch

    def match(f: FontInfo, pats: list[str]) -> bool:
        return any(p == "held-out" and f.split_hint == "test" or fnmatch.fnmatch(f.id, p)
                   or fnmatch.fnmatch(f.family, p) for p in pats)

    out = tuple(f for f in fonts if (not include or match(f, include)) and not (exclude and match(f, exclude)))
    if not out:
        raise ValueError(f"no font left after --fonts {include} --exclude-fonts {exclude}")
    return out


def font_fingerprint(fonts: tuple[FontInfo, ...]) -> str:
    """Short hash of the catalogue; determinism holds only for the same installed fonts."""
    return hashlib.sha1("|".join(f.id for f in fonts).encode()).hexdigest()[:10]


def catalogue_rows(fonts: tuple[FontInfo, ...]) -> list[dict]:
    return [dict(asdict(f), split_hint=f.split_hint) for f in fonts]
