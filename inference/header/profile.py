"""De-identification profiles: which Table E.1-1 options are on, plus single-tag overrides.

Profiles are YAML files (inference/header/profiles/*.yaml or any path) so that a site changes
policy by editing data, not code. A profile may ``extends:`` another one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydicom.datadict import tag_for_keyword

from inference.resources import data_file

from ..errors import ConfigError
from .actions import Action
from .table import load_table

PROFILES_DIR = data_file("inference.header", "profiles")
ACTIONS = {"X", "Z", "D", "K", "C", "U", "P"}  # P: keyed pseudonym (extension, never an original value)
_TAG_RE = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)?$")


class ProfileError(ConfigError):
    """The profile file is missing or inconsistent."""


@dataclass(frozen=True)
class Override:
    """A per-tag decision that replaces the table's: an action code, or a fixed replacement value."""

    action: Action  # one of ACTIONS, or Action.FIXED for a fixed value
    value: Any = None


@dataclass(frozen=True)
class SafePrivate:
    """A private element known to carry no personal data: (group, private creator, element byte)."""

    group: int
    creator: str
    element: int  # low byte of the element number (0x00-0xFF), independent of the reserved block


@dataclass(frozen=True)
class Profile:
    name: str
    options: tuple[str, ...] = ()  # friendly option names, e.g. "retain_longitudinal_modified_dates"
    overrides: dict[int, Override] = field(default_factory=dict)
    safe_private: tuple[SafePrivate, ...] = ()
    description: str = ""

    @cached_property
    def columns(self) -> frozenset[str]:
        """Table E.1-1 option column keys of the enabled options."""
        table = load_table()
        return frozenset(table.options[o]["column"] for o in self.options)

    @property
    def shifts_dates(self) -> bool:
        return "retain_longitudinal_modified_dates" in self.options

    def has(self, option: str) -> bool:
        return option in self.options


def parse_tag(key: str | int) -> int:
    """A tag from a keyword ('PatientSex'), '(0010,0040)', '0010,0040' or '00100040'."""
    if isinstance(key, int):
        return key
    text = str(key).strip()
    match = _TAG_RE.match(text)
    if match:
        return int(match.group(1) + match.group(2), 16)
    if re.fullmatch(r"[0-9A-Fa-f]{8}", text):
        return int(text, 16)
    tag = tag_for_keyword(text)
    if tag is None:
        raise ProfileError(f"unknown DICOM keyword or tag in profile: {key!r}")
    return tag


def parse_override(key: str, spec: Any) -> tuple[int, Override]:
    tag = parse_tag(key)
    if isinstance(spec, str):
        action = spec.strip().upper()
        if action not in ACTIONS:
            raise ProfileError(f"override {key}: action {spec!r} is not one of {sorted(ACTIONS)}")
        return tag, Override(Action.of(action))
    if isinstance(spec, dict) and "value" in spec:
        return tag, Override(Action.FIXED, spec["value"])
    if isinstance(spec, dict) and "action" in spec:
        return parse_override(key, spec["action"])
    raise ProfileError(f"override {key}: give an action code or {{value: ...}}, got {spec!r}")


def _parse_safe_private(entries: list[dict]) -> tuple[SafePrivate, ...]:
    out = []
    for e in entries or []:
        try:
            out.append(SafePrivate(int(str(e["group"]), 16), str(e["creator"]).strip(),
                                   int(str(e["element"]), 16) & 0xFF))
        except (KeyError, ValueError) as exc:
            raise ProfileError(f"bad safe_private entry {e!r}: needs group, creator, element (hex)") from exc
    return tuple(out)


def _resolve_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return PROFILES_DIR / f"{name_or_path}.yaml"


def _validate(profile: Profile) -> Profile:
    known = load_table().options
    unknown = [o for o in profile.options if o not in known]
    if unknown:
        raise ProfileError(f"profile {profile.name}: unknown options {unknown}; known: {sorted(known)}")
    if {"retain_longitudinal_full_dates", "retain_longitudinal_modified_dates"} <= set(profile.options):
        raise ProfileError(f"profile {profile.name}: full dates and modified dates options exclude each other")
    if profile.has("retain_safe_private") and not profile.safe_private:
        raise ProfileError(f"profile {profile.name}: retain_safe_private needs a safe_private list")
    return profile


def load_profile(name_or_path: str | Path = "basic") -> Profile:
    """Load a profile by name (a file in inference/header/profiles/) or by path."""
    path = _resolve_path(name_or_path)
    if not path.is_file():
        raise ProfileError(f"profile not found: {name_or_path} (looked for {path})")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    parent = load_profile(data["extends"]) if data.get("extends") else Profile(name="")
    options = list(parent.options) + [o for o in data.get("options") or [] if o not in parent.options]
    options = [o for o in options if o not in (data.get("remove_options") or [])]
    overrides = dict(parent.overrides)
    overrides.update(parse_override(k, v) for k, v in (data.get("overrides") or {}).items())
    safe = parent.safe_private
    if data.get("safe_private"):
        safe_src = data["safe_private"]
        if isinstance(safe_src, str):
            safe_src = yaml.safe_load((path.parent / safe_src).read_text(encoding="utf-8"))
        safe = _parse_safe_private(safe_src)
    return _validate(Profile(name=str(data.get("name") or path.stem), options=tuple(options),
                             overrides=overrides, safe_private=safe,
                             description=str(data.get("description") or "").strip()))
