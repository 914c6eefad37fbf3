"""Clean (C) of header free text: remove the dataset's own identifying values and Lithuanian
personal codes from text the profile keeps.

This is deliberately narrow (exact known values + asmens kodas pattern); inference.textdeid
is the general free-text de-identifier and can be passed to the engine instead.
"""
from __future__ import annotations

import re

from ..identity import Identity
from .state import TextCleaner

REPLACEMENT = "***"
# Lithuanian personal code (asmens kodas): G YYMMDD NNN C, first digit 1-6 = century and sex.
ASMENS_KODAS = re.compile(r"(?<!\d)[1-6]\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{4}(?!\d)")



def asmens_kodas_valid(code: str) -> bool:
    """Check digit of a Lithuanian personal code (two weight rounds, then 0)."""
    if not re.fullmatch(r"\d{11}", code):
        return False
    digits = [int(c) for c in code]
    for weights in ((1, 2, 3, 4, 5, 6, 7, 8, 9, 1), (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)):
        rest = sum(d * w for d, w in zip(digits, weights)) % 11
        if rest != 10:
            return rest == digits[10]
    return digits[10] == 0


def token_pattern(tokens: set[str]) -> re.Pattern | None:
    """One case-insensitive regex of all tokens, longest first, matched on word boundaries."""
    words = sorted({t for t in tokens if t.strip()}, key=len, reverse=True)
    if not words:
        return None
    body = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def make_cleaner(identity: Identity) -> TextCleaner:
    """A text cleaner bound to one dataset's identity. Any 11-digit code of asmens kodas shape is removed,
    check digit or not: a mistyped code still identifies."""
    pattern = token_pattern(identity.tokens())

    def clean(text: str, max_len: int | None = None, vr: str | None = None) -> str:
        out = ASMENS_KODAS.sub(REPLACEMENT, text)
        out = pattern.sub(REPLACEMENT, out) if pattern else out
        return out[:max_len] if max_len else out

    return clean
