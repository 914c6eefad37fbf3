"""Layout families and exam types as data, and the template language of their text items.

Why: a hospital that meets a new device should add one YAML file in ``synth/layouts/`` rather than code.
A layout is a list of blocks (anchored text groups); a block is a list of lines; a line is a list of items drawn
left to right with a gap of at least two spaces, so every item is one label box. Items are templates:
``"ID: {code}"``, ``"{name:upper_family_given}"``, ``"Gain {int:30:80}"``; see synth/README.md.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from synth.identity import Identity

LAYOUT_DIR = Path(__file__).parent / "layouts"
EXAM_TYPES_FILE = Path(__file__).parent / "exam_types.yaml"
ANCHORS = ("top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right", "center")

# placeholder -> (kind, personal data?)
FIELD_KINDS: dict[str, tuple[str, bool]] = {
    "name": ("name", True), "given": ("name", True), "family": ("name", True), "code": ("personal_code", True),
    "pid": ("patient_id", True), "birth": ("birth_date", True), "exam": ("exam_date", True),
    "time": ("exam_time", True), "age": ("age", True), "sex": ("sex", False), "hospital": ("hospital", True),
    "dept": ("department", True), "address": ("address", True), "city": ("address", True),
    "phone": ("phone", True), "email": ("email", True), "acc": ("accession", True), "ref": ("doctor", True),
    "perf": ("doctor", True), "op": ("operator", True),
    "int": ("number", False), "float": ("number", False), "choice": ("label", False), "study": ("study", False),
    "device": ("device", False), "timer": ("timer", False), "frame": ("timer", False), "clock": ("exam_time", True),
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([^{}]*))?\}")


@dataclass(frozen=True)
class ItemSpec:
    """One text item template (one label box)."""

    template: tuple[str, ...]     # alternatives, one is drawn
    p: float = 1.0                # probability that the item is present
    kind: str | None = None       # overrides the inferred kind for non-personal items


@dataclass(frozen=True)
class LineSpec:
    items: tuple[ItemSpec, ...]
    p: float = 1.0


@dataclass(frozen=True)
class BlockSpec:
    """Text lines anchored together (a corner block, a banner, a side column, a label plate)."""

    anchor: str
    lines: tuple[LineSpec, ...]
    align: str = "left"                 # left | right | center (of lines within the block)
    margin: tuple[float, float] = (0.01, 0.01)   # fraction of width, height from the anchor edge
    angle: int = 0                      # 0 or 90 (vertical label, reads bottom to top)
    plate: str | None = None            # None | "dark" | "light" | "inverse": filled rectangle behind the block
    p: float = 1.0
    size_scale: float = 1.0             # relative to the family text size
    line_spacing: float = 1.25          # line pitch in text heights
    offset: tuple[float, float] = (0.0, 0.0)   # extra shift, fraction of width/height (e.g. beside a banner)


@dataclass(frozen=True)
class TextStyleSpec:
    size: tuple[int, int] = (12, 18)    # text height in pixels (font size), drawn uniformly
    fonts: str = "any"                  # any | mono | sans | serif | bitmap
    colors: tuple[tuple[int, int, int], ...] = ((255, 255, 255),)
    aliased: float = 0.3                # probability of drawing without antialiasing
    bold: float = 0.2                   # probability of picking a bold font
    opacity: tuple[float, float] = (1.0, 1.0)
    block_colors: float = 0.25          # probability that a block draws its own colour (mixed-colour overlays)
    outline: float = 0.0                # probability of a 1-px dark/light halo around the letters
    low_contrast: float = 0.1           # probability that a block without a plate is drawn faint (20-50 grey
                                        # levels from its background: white overlay on bright anatomy)
    thin: float = 0.15                  # probability that an image's (antialiased, regular) text is drawn with
                                        # lighter strokes (synth.render.thinned): light and hairline fonts


@dataclass(frozen=True)
class Layout:
    family: str
    description: str
    exam_types: tuple[str, ...]
    frame: str                          # clean frame generator (synth.frames) or "sample"
    sizes: tuple[tuple[int, int], ...]  # (width, height) choices; each may be scaled by ``scale``
    scale: tuple[float, float]
    color: str                          # rgb | mono
    encodings: tuple[str, ...]
    text: TextStyleSpec
    blocks: tuple[BlockSpec, ...]
    frames: tuple[int, int] = (1, 1)    # number of frames (cine when > 1)
    jpeg_quality: tuple[int, int] = (70, 95)
    jpeg_artefacts: float = 0.15        # probability of a lossy JPEG round trip before a lossless encoding
    sample_p: float = 0.0               # probability of a clean public sample frame instead of ``frame``
    sample_modalities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExamType:
    name: str
    modality: str
    sop: str                            # key of synth.dicomio.SOP_CLASSES
    studies: tuple[str, ...]
    devices: tuple[str, ...]
    body_part: str


def _item(raw: Any) -> ItemSpec:
    if isinstance(raw, str):
        return ItemSpec(template=(raw,))
    if isinstance(raw, list):
        return ItemSpec(template=tuple(raw))
    t = raw["t"]
    return ItemSpec(template=tuple(t) if isinstance(t, list) else (t,), p=float(raw.get("p", 1.0)),
                    kind=raw.get("kind"))


def _line(raw: Any) -> LineSpec:
    if isinstance(raw, dict):
        return LineSpec(items=tuple(_item(i) for i in raw["items"]), p=float(raw.get("p", 1.0)))
    if isinstance(raw, str):
        raw = [raw]
    return LineSpec(items=tuple(_item(i) for i in raw))


def _block(raw: dict) -> BlockSpec:
    if raw["anchor"] not in ANCHORS:
        raise ValueError(f"unknown anchor {raw['anchor']!r}; known: {ANCHORS}")
    return BlockSpec(
        anchor=raw["anchor"], lines=tuple(_line(x) for x in raw["lines"]), align=raw.get("align", "left"),
        margin=tuple(raw.get("margin", (0.01, 0.01))), angle=int(raw.get("angle", 0)), plate=raw.get("plate"),
        p=float(raw.get("p", 1.0)), size_scale=float(raw.get("size_scale", 1.0)),
        line_spacing=float(raw.get("line_spacing", 1.25)), offset=tuple(raw.get("offset", (0.0, 0.0))))


def parse_layout(raw: dict) -> Layout:
    """Build a Layout from its YAML mapping (raises on unknown keys in blocks so typos are loud)."""
    t = raw.get("text", {})
    text = TextStyleSpec(
        size=tuple(t.get("size", (12, 18))), fonts=t.get("fonts", "any"),
        colors=tuple(tuple(c) for c in t.get("colors", [[255, 255, 255]])), aliased=float(t.get("aliased", 0.3)),
        bold=float(t.get("bold", 0.2)), opacity=tuple(t.get("opacity", (1.0, 1.0))),
        block_colors=float(t.get("block_colors", 0.25)), outline=float(t.get("outline", 0.0)),
        low_contrast=float(t.get("low_contrast", 0.1)), thin=float(t.get("thin", 0.15)))
    return Layout(
        family=raw["family"], description=raw.get("description", ""), exam_types=tuple(raw["exam_types"]),
        frame=raw["frame"], sizes=tuple(tuple(s) for s in raw["sizes"]), scale=tuple(raw.get("scale", (1.0, 1.0))),
        color=raw.get("color", "mono"), encodings=tuple(raw["encodings"]), text=text,
        blocks=tuple(_block(b) for b in raw["blocks"]), frames=tuple(raw.get("frames", (1, 1))),
        jpeg_quality=tuple(raw.get("jpeg_quality", (70, 95))),
        jpeg_artefacts=float(raw.get("jpeg_artefacts", 0.15)),
        sample_p=float(raw.get("samples", {}).get("p", 0.0)),
        sample_modalities=tuple(raw.get("samples", {}).get("modalities", ())))


@lru_cache(maxsize=None)
def load_layouts(directory: str = str(LAYOUT_DIR)) -> dict[str, Layout]:
    """Every ``*.yaml`` layout family in ``directory``, by family name."""
    out: dict[str, Layout] = {}
    for p in sorted(Path(directory).glob("*.yaml")):
        lay = parse_layout(yaml.safe_load(p.read_text(encoding="utf-8")))
        if lay.family in out:
            raise ValueError(f"duplicate layout family {lay.family} in {p}")
        out[lay.family] = lay
    return out


@lru_cache(maxsize=None)
def load_exam_types(path: str = str(EXAM_TYPES_FILE)) -> dict[str, ExamType]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {k: ExamType(name=k, modality=v["modality"], sop=v["sop"], studies=tuple(v["studies"]),
                        devices=tuple(v["devices"]), body_part=v.get("body_part", "")) for k, v in raw.items()}


# ------------------------------------------------------------------------------------------ template filling
@dataclass
class FillContext:
    """What a template may refer to besides the identity."""

    identity: Identity
    exam: ExamType
    rng: random.Random
    n_frames: int = 1
    frame_time_s: float = 0.04
    extra: dict = field(default_factory=dict)


def _field_value(name: str, arg: str | None, ctx: FillContext, frame: int) -> str:
    idt, rng = ctx.identity, ctx.rng
    if name == "name":
        return idt.names[arg or "given_family"]
    if name == "given":
        return idt.given.upper() if arg == "upper" else idt.given
    if name == "family":
        return idt.family_name.upper() if arg == "upper" else idt.family_name
    if name in ("birth", "exam"):
        return idt.date(name, arg or None)
    if name in ("time", "clock"):
        t = idt.exam_time
        if name == "clock":   # running clock on cine frames
            secs = t.hour * 3600 + t.minute * 60 + t.second + int(frame * ctx.frame_time_s)
            t = type(t)(secs // 3600 % 24, secs // 60 % 60, secs % 60)
        return t.strftime(arg or "%H:%M:%S")
    simple = {"code": idt.personal_code, "pid": idt.patient_id, "age": f"{idt.age_years}",
              "sex": {"M": "M", "F": "F"}[idt.sex] if arg != "lt" else {"M": "V", "F": "M"}[idt.sex],
              "hospital": idt.hospital.upper() if arg == "upper" else idt.hospital, "dept": idt.department,
              "address": idt.address, "city": idt.city, "phone": idt.phone, "email": idt.email, "acc": idt.accession,
              "op": idt.operator_initials}
    if name in simple:
        return simple[name]
    if name in ("ref", "perf"):
        return idt.doctor_name("referring" if name == "ref" else "performing", arg or "full")
    if name == "int":
        a, b = (int(x) for x in arg.split(":"))
        return str(rng.randint(a, b))
    if name == "float":
        a, b, d = arg.split(":")
        return f"{rng.uniform(float(a), float(b)):.{int(d)}f}"
    if name == "choice":
        return rng.choice(arg.split("|"))
    if name == "study":
        return rng.choice(ctx.exam.studies)
    if name == "device":
        return rng.choice(ctx.exam.devices)
    if name == "timer":
        s = frame * ctx.frame_time_s
        return f"{int(s // 60):02d}:{s % 60:05.2f}"
    if name == "frame":
        return f"{frame + 1}/{ctx.n_frames}"
    raise ValueError(f"unknown placeholder {{{name}}}")


def fill(template: str, ctx: FillContext, frame: int = 0) -> str:
    """Replace every placeholder; random ones draw from ``ctx.rng`` (call once per item for determinism)."""
    return _PLACEHOLDER.sub(lambda m: _field_value(m.group(1), m.group(2), ctx, frame), template)


def template_kind(template: str, declared: str | None) -> tuple[str, bool, bool]:
    """(kind, personal?, varies per frame?) of a template, from its placeholders."""
    if "  " in template.strip():
        raise ValueError(f"{template!r}: two spaces split text items; write two items instead")
    names = [m.group(1) for m in _PLACEHOLDER.finditer(template)]
    for n in names:
        if n not in FIELD_KINDS:
            raise ValueError(f"unknown placeholder {{{n}}} in {template!r}")
    per_frame = any(n in ("timer", "frame", "clock") for n in names)
    phi = [FIELD_KINDS[n][0] for n in names if FIELD_KINDS[n][1]]
    if phi:
        return phi[0], True, per_frame
    if declared:
        return declared, False, per_frame
    if names:
        return FIELD_KINDS[names[0]][0], False, per_frame
    return "label", False, per_frame
