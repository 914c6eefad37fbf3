"""Name and place lexicon: the data files under data/, expanded to every form a Lithuanian text uses.

Why data + rules: Lithuanian names inflect (Jonas, Jono, Jonui...; Petraitis, Petraičio...) and surnames have
male, married (-ienė) and maiden (-aitė/-ytė/-utė/-iūtė) forms. Storing one nominative per line and deriving the
rest keeps the lists short and reviewable. Every form is stored folded (lower case, no diacritics), the form
the detectors compare with. Words in guard_words.txt are never lexicon names, because they are ordinary
clinical or everyday words (Iris, Mark, Liepa...).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from inference.resources import data_file

from .fold import fold

DATA = data_file("inference.textdeid", "data")

# Case endings (folded) by nominative ending, longest first. Nominative itself is always kept.
_DECLENSION: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ius", ("ius", "iaus", "iui", "iu", "iumi", "iuje", "iau")),
    ("ias", ("ias", "io", "iui", "ia", "iu", "ie")),
    ("as", ("as", "o", "ui", "a", "u", "e", "ai")),
    ("is", ("is", "io", "iui", "i", "iu", "y", "yje")),
    ("ys", ("ys", "io", "iui", "i", "iu", "y", "yje")),
    ("us", ("us", "aus", "ui", "u", "umi", "uje")),
    ("ai", ("ai", "u", "ams", "us", "uose")),          # plural towns: Šiauliai, Šiaulių, Šiauliuose
    ("ija", ("ija", "ijos", "ijai", "ija", "ijoje")),
    ("a", ("a", "os", "ai", "oje", "a")),
    ("e", ("e", "es", "ei", "eje")),                  # folded -ė
)


def declensions(word: str) -> set[str]:
    """Folded case forms of one nominative name (Lithuanian rules; other names only keep themselves)."""
    w = fold(word)
    forms = {w}
    if len(w) < 4:
        return forms
    for end, endings in _DECLENSION:
        if w.endswith(end):
            stem = w[: -len(end)]
            forms.update(stem + e for e in endings)
            if end in ("is", "ys"):              # palatalisation: Petraitis -> Petraičio, Gudelis (no change)
                if stem.endswith("t"):
                    forms.update(stem[:-1] + "c" + e for e in ("io", "iui", "iu"))
                elif stem.endswith("d"):
                    forms.update(stem[:-1] + "dz" + e for e in ("io", "iui", "iu"))
            break
    return forms


def female_surnames(male: str) -> list[str]:
    """Married (-ienė / -uvienė), maiden (-aitė, -ytė, -utė, -iūtė) and neutral (-ė) forms of a male surname."""
    rules = (
        ("ius", ("ienė", "iūtė", "ė")),
        ("us", ("uvienė", "ienė", "utė", "ūtė", "ė")),
        ("as", ("ienė", "aitė", "ė")),
        ("is", ("ienė", "ytė", "ė")),
        ("ys", ("ienė", "ytė", "ė")),
        ("a", ("ienė", "aitė")),
    )
    for end, reps in rules:
        if male.endswith(end):
            return [male[: -len(end)] + r for r in reps]
    return []


def read_list(name: str) -> list[str]:
    """One entry per line; blank lines and '#' comments skipped."""
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


@dataclass(frozen=True)
class Lexicon:
    """Folded forms of person names and place names, minus the guard words."""

    given: frozenset[str]
    surnames: frozenset[str]
    cities: frozenset[str]          # single-word forms; multi-word towns are in city_phrases
    city_phrases: tuple[str, ...]
    guard: frozenset[str]
    given_any: frozenset[str] = frozenset()   # given names incl. guarded ones (Rasa, Rūta): only next to a surname

    def is_name(self, folded_word: str) -> bool:
        return folded_word not in self.guard and (folded_word in self.given or folded_word in self.surnames)

    def is_city(self, folded_word: str) -> bool:
        return folded_word not in self.guard and folded_word in self.cities


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Build the lexicon once per process from the data files."""
    guard = frozenset(fold(w) for w in read_list("guard_words.txt"))

    def expand(words: list[str]) -> set[str]:
        out: set[str] = set()
        for w in words:
            if fold(w) in guard:
                continue
            out |= declensions(w)
        return {f for f in out if f not in guard and len(f) >= 3}

    given = expand(read_list("lt_given_male.txt") + read_list("lt_given_female.txt")) | \
        {fold(w) for w in read_list("en_given.txt")}
    lt_male = read_list("lt_surnames_male.txt")
    lt_all = lt_male + [f for m in lt_male for f in female_surnames(m)]
    surnames = expand(lt_all) | {fold(w) for w in read_list("en_surnames.txt")}
    towns = read_list("lt_cities.txt")
    cities = expand([t for t in towns if " " not in t])
    phrases = tuple(sorted(fold(t) for t in towns if " " in t))
    lt_given = read_list("lt_given_male.txt") + read_list("lt_given_female.txt")
    given_any = set().union(*(declensions(w) for w in lt_given))
    given_any |= {fold(w) for w in read_list("en_given.txt")}
    return Lexicon(frozenset(given - guard), frozenset(surnames - guard), frozenset(cities - guard), phrases, guard,
                   frozenset(given_any))
