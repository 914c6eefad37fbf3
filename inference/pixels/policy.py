"""Encoding policy as data (encoding_policy.yaml): what each input syntax becomes after redaction."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from inference.pixels.errors import PixelError
from inference.resources import data_file

POLICY_FILE = data_file("inference.pixels", "encoding_policy.yaml")


@dataclass(frozen=True)
class SyntaxRule:
    """One row of the policy: is the input lossy, what is written, which lossy method term."""

    uid: str
    name: str
    lossy: bool
    output: str  # a transfer syntax UID (already resolved from "same")
    method: str | None = None


@lru_cache(maxsize=1)
def _policy() -> dict:
    with POLICY_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def syntax_rule(uid: str) -> SyntaxRule:
    """The rule for an input transfer syntax; PixelError when the syntax is not supported."""
    row = _policy()["syntaxes"].get(str(uid))
    if row is None:
        raise PixelError(f"cannot decode transfer syntax {uid}: not in the encoding policy")
    output = str(uid) if row["output"] == "same" else str(row["output"])
    return SyntaxRule(str(uid), row["name"], bool(row["lossy"]), output, row.get("method"))


def lossy_reencode_rule() -> tuple[str, str]:
    """(output syntax UID, LossyImageCompressionMethod term) used when re-encoding lossy inputs."""
    row = _policy()["lossy_reencode"]
    return str(row["output"]), str(row["method"])
