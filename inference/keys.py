"""Keyed, one-way identifiers: UIDs, pseudonyms and date offsets.

Everything that replaces an identifier is an HMAC of the original value under the site's
secret key, so the same input gives the same output across files, runs and machines
(consistent references, resumable and distributable runs) and nothing can be reversed
without the key.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

UID_ROOT = "2.25."
MAX_SHIFT_DAYS = 365 * 2  # date offsets lie in [-MAX_SHIFT_DAYS, -1]: always into the past, never zero
MIN_KEY_BITS = 64.0  # below this estimate a key is called low-entropy (warned, refused with --strict)


class KeyError_(ConfigError):
    """The secret key is missing or unusable."""


def load_key(path: str | os.PathLike | None = None, env: str = "MEDANON_KEY") -> bytes:
    """Read the secret key from a file or the MEDANON_KEY environment variable (never the command line)."""
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise KeyError_(f"key file {path} does not exist")
        if path.is_dir():
            raise KeyError_(f"key file {path} is a directory, not a file")
        try:
            data = path.read_bytes().strip()
        except OSError as e:
            raise KeyError_(f"cannot read key file {path}: {e.strerror or e}") from e
        if len(data) < 16:
            raise KeyError_(f"key file {path} holds fewer than 16 bytes")
        return data
    value = os.environ.get(env)
    if value:
        if len(value) < 16:
            raise KeyError_(f"${env} holds fewer than 16 characters")
        return value.encode()
    raise KeyError_(f"no secret key: give --key-file PATH or set ${env}")


def create_key_file(path: Path) -> tuple[bytes, bool]:
    """The key kept at `path`, created if absent: (key, created). Atomic: the new key is written to a unique
    temporary file and hard-linked into place, which fails if the name exists, so of two first runs started
    together exactly one creates the key and the other reads that complete file (never a second key)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return load_key(path), False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            key = secrets.token_hex(32).encode()
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # no-replace: FileExistsError when another run was first
        except FileExistsError:
            return load_key(path), False
        return key, True
    finally:
        tmp.unlink(missing_ok=True)


def estimated_bits(key: bytes) -> float:
    """A rough upper estimate of a key's entropy: length x empirical Shannon entropy per byte. It catches
    repeated or tiny alphabets ('kkkk...', 'passwordpassword'), it cannot prove randomness."""
    counts = Counter(key)
    n = len(key)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def key_problems(key: bytes, path: Path | None) -> list[str]:
    """Why a key is weakly protected or weak: group/world access to its file, a low entropy estimate."""
    problems = []
    if path is not None:
        mode = Path(path).stat().st_mode & 0o777
        if mode & 0o077:
            problems.append(f"key file {path} is accessible to group or others (mode {mode:03o}); chmod 600 it")
    bits = estimated_bits(key)
    if bits < MIN_KEY_BITS:
        problems.append(f"the key looks low-entropy (about {bits:.0f} bits estimated, want {MIN_KEY_BITS:.0f}+); "
                        "make one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    return problems


@dataclass(frozen=True)
class Keyring:
    """All keyed mappings of one run. Pure: the same key and input always give the same output."""

    key: bytes = field(repr=False)  # the secret: never in a repr, a log line, a trail or a summary

    def __repr__(self) -> str:
        """A one-way id of the key tells two keyrings apart; the key itself is never shown."""
        return f"Keyring(key=<secret, id {self.key_id}>)"

    @property
    def key_id(self) -> str:
        return hmac.new(self.key, b"medanon-key-id", hashlib.sha256).hexdigest()[:12]

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
