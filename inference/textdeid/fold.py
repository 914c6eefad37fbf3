"""Case- and diacritic-insensitive view of a text that still knows where every character came from.

Why: 'PETRAITIENĖ', 'Petraitiene' and 'petraitienė' are the same person. Every detector runs on the folded
text, and spans found there are mapped back to the original so replacement happens in the original string.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@lru_cache(maxsize=4096)
def fold_char(c: str) -> str:
    """One character folded: NFKD, combining marks dropped, lower case (may be 0, 1 or more characters)."""
    decomposed = unicodedata.normalize("NFKD", c)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def fold(text: str) -> str:
    """The folded string (no position map): for lexicon entries and comparisons."""
    return "".join(fold_char(c) for c in text)


@dataclass(frozen=True)
class FoldedText:
    """``folded[i]`` came from ``original[index[i]]``."""

    original: str
    folded: str
    index: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> "FoldedText":
        chars: list[str] = []
        index: list[int] = []
        for i, c in enumerate(text):
            f = fold_char(c)
            chars.append(f)
            index.extend([i] * len(f))
        return cls(text, "".join(chars), tuple(index))

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded half-open span back to the original string."""
        if start >= end:
            pos = self.index[start] if start < len(self.index) else len(self.original)
            return pos, pos
        return self.index[start], self.index[end - 1] + 1
