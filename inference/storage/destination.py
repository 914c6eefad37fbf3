"""Where to push and as whom: the PACS URL and the credentials (from a file or the environment, never the URL).

    http(s)://host:port/dicom-web      DICOMweb STOW-RS (the path is the DICOMweb root; empty means /dicom-web)
    dicom://AET@host:port              DICOM C-STORE to the called AE title AET
"""
from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Mapping
from urllib.parse import urlsplit

from ..errors import ConfigError

ENV_USER = "MEDANON_PACS_USER"
ENV_PASSWORD = "MEDANON_PACS_PASSWORD"
DEFAULT_DICOMWEB_ROOT = "/dicom-web"
DEFAULT_CALLING_AET = "MEDANON"


class PacsConfigError(ConfigError):
    """The PACS URL or the credentials are unusable; nothing was sent."""


@dataclass(frozen=True)
class Destination:
    kind: Literal["stow", "cstore"]
    url: str                 # canonical, without credentials: also the ledger key
    host: str
    port: int
    called_aet: str = ""     # C-STORE only


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return f"Credentials(user={self.user!r}, password=***)"


def parse_destination(url: str) -> Destination:
    """Parse and check a PACS URL. Userinfo in an http(s) URL is refused: it would leak the password into shell
    history, process lists and logs."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise PacsConfigError(f"not a valid PACS URL: {e}") from e
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise PacsConfigError(
                "do not put credentials in the PACS URL: use --credentials-file FILE (user:password or JSON) "
                f"or the environment variables {ENV_USER} and {ENV_PASSWORD}")
        if not parts.hostname:
            raise PacsConfigError(f"PACS URL without a host: {url}")
        root = parts.path.rstrip("/") or DEFAULT_DICOMWEB_ROOT
        port = port or (443 if scheme == "https" else 80)
        netloc = parts.netloc
        return Destination("stow", f"{scheme}://{netloc}{root}", parts.hostname, port)
    if scheme == "dicom":
        if parts.password is not None:
            raise PacsConfigError("a dicom:// URL carries the called AE title only (dicom://AET@host:port), "
                                  "never a password")
        aet = parts.username or ""
        if not aet or len(aet) > 16 or not parts.hostname or not port:
            raise PacsConfigError(f"expected dicom://AET@host:port (AE title of 1-16 characters), got {url}")
        return Destination("cstore", f"dicom://{aet}@{parts.hostname}:{port}", parts.hostname, port, aet)
    raise PacsConfigError(f"unsupported PACS URL scheme {parts.scheme!r}: use http(s)://host/dicom-web "
                          "(DICOMweb STOW-RS) or dicom://AET@host:port (C-STORE)")


def read_credentials_file(path: Path) -> Credentials:
    """`user:password` on one line, or JSON {"user": ..., "password": ...} ("username" also accepted)."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
        mode = Path(path).stat().st_mode
    except OSError as e:
        raise PacsConfigError(f"cannot read the credentials file {path}: {e.strerror or e}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"pacs: warning: {path} is readable by other users; chmod 600 it", file=sys.stderr)
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise PacsConfigError(f"the credentials file {path} is not valid JSON: {e.msg}") from e
        user, password = data.get("user", data.get("username")), data.get("password")
    else:
        user, sep, password = text.partition(":")
        password = password if sep else None
    if not user or not password:
        raise PacsConfigError(f"the credentials file {path} must hold user:password or "
                              '{"user": ..., "password": ...}')
    return Credentials(str(user), str(password))


def load_credentials(credentials_file: Path | None = None,
                     env: Mapping[str, str] | None = None) -> Credentials | None:
    """The file when given, else the environment, else None (a PACS without authentication)."""
    if credentials_file is not None:
        return read_credentials_file(credentials_file)
    env = os.environ if env is None else env
    user, password = env.get(ENV_USER), env.get(ENV_PASSWORD)
    if bool(user) != bool(password):
        raise PacsConfigError(f"set both {ENV_USER} and {ENV_PASSWORD}, or neither")
    return Credentials(user, password) if user and password else None
