"""A throw-away PostgreSQL server for the catalogue tests: Debian's binaries (scripts/install.sh), an unprivileged
user, a temporary data folder, loopback only, stopped and removed at teardown."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL server missing: scripts/install.sh dev installs it (Debian postgresql)")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user() -> dict:
    """subprocess kwargs to run as an unprivileged user: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    pytest.fail("no unprivileged user (postgres or nobody) to run PostgreSQL as")


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL (psycopg driver) of a running server; yields the base URL without a database name."""
    pytest.importorskip("psycopg", reason="psycopg missing: pip install -e '.[storage]'")
    bindir, who = _bindir(), _as_user()
    root = Path(tempfile.mkdtemp(prefix="medanon-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if who:
        for path in (root, sock):
            os.chown(path, who["user"], who["group"])
    run = lambda *cmd: subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120, cwd=root,  # noqa: E731
                                      **who)
    port = _free_port()
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "medanon", "--auth=trust", "-E", "UTF8", "--no-instructions")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60", "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off", "start")
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc.stderr}\n{log}")
    try:
        yield f"postgresql+psycopg://medanon@127.0.0.1:{port}"
    finally:
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True,
                       timeout=120, cwd=root, **who)
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(base_url: str) -> str:
    """A new empty database on the server; its SQLAlchemy URL."""
    import psycopg

    name = f"catalog_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
