"""Keyed, one-way identifiers: UIDs, pseudonyms and date offsets.

Everything that replaces an identifier is an HMAC of the original value under the site's
secret key, so the same input gives the same output across files, runs and machines
(consistent references, resumable and distributable runs) and nothing can be reversed
without the key.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

UID_ROOT = "2.25."
MAX_SHIFT_DAYS = 365 * 2  # date offsets lie in [-MAX_SHIFT_DAYS, -1]: always into the past, never zero


class KeyError_(ValueError):
    """The secret key is missing or unusable."""


def load_key(path: str | os.PathLike | None = None, env: str = "MEDANON_KEY") -> bytes:
    """Read the secret key from a file or the MEDANON_KEY environment variable (never the command line)."""
    if path is not None:
        data = Path(path).read_bytes().strip()
        if len(data) < 16:
            raise KeyError_(f"key file {path} holds fewer than 16 bytes")
        return data
    value = os.environ.get(env)
    if value:
        if len(value) < 16:
            raise KeyError_(f"${env} holds fewer than 16 characters")
        return value.encode()
    raise KeyError_(f"no secret key: give --key-file PATH or set ${env}")


@dataclass(frozen=True)
class Keyring:
    """All keyed mappings of one run. Pure: the same key and input always give the same output."""

    key: bytes

    def _digest(self, domain: str, value: str) -> bytes:
        return hmac.new(self.key, f"{domain}\x00{value}".encode("utf-8"), hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """Map a UID to a new one under 2.25 (an integer of 128 bits at most, <= 64 characters)."""
        original = original.strip().rstrip("\x00")
        n = int.from_bytes(self._digest("uid", original)[:16], "big")
        return f"{UID_ROOT}{n}"

    def token(self, domain: str, value: str, length: int = 10) -> str:
        """A short upper-case alphanumeric token (base32 of the HMAC), e.g. for IDs and names."""
        import base64

        raw = base64.b32encode(self._digest(domain, value.strip().upper())).decode().rstrip("=")
        return raw[:length]

    def patient_id(self, original: str) -> str:
        return "ANON" + self.token("patient-id", original, 10)

    def patient_name(self, original: str) -> str:
        """Pseudonymous PN: the same original name (case/space-insensitive) always gives the same pseudonym."""
        norm = " ".join(str(original).replace("^", " ").split()).upper()
        return f"ANON^{self.token('patient-name', norm, 8)}"

    def pseudonym(self, kind: str, original: str, length: int = 10) -> str:
        """Generic keyed pseudonym for other identifiers (accession numbers, operator names, ...)."""
        return self.token(kind, original, length)

    def date_offset_days(self, patient_key: str) -> int:
        """Per-patient date shift in days (negative, non-zero): intervals within a patient are preserved."""
        n = int.from_bytes(self._digest("date-offset", patient_key.strip().upper())[:4], "big")
        return -(1 + n % MAX_SHIFT_DAYS)
