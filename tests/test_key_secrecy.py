"""The secret key never shows (issue 19.6): not in a repr, nor in the run's output, log, trail, summary or
quarantine reasons, given or generated."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from inference.context import RunOptions
from inference.keys import Keyring
from inference.pipeline import Context
from test_run_cli import GSPS, make_object

ROOT = Path(__file__).resolve().parents[1]
SECRET = "a-very-secret-key-Zq7wX2pL9vR4"


def _forms(key: bytes) -> list[bytes]:
    return [key, key.hex().encode(), base64.b64encode(key), repr(key).encode()]


def test_no_repr_shows_the_key() -> None:
    keyring = Keyring(SECRET.encode())
    ctx = Context(RunOptions(), keyring)
    for text in (repr(keyring), str(keyring), f"{keyring!r}", repr(ctx), repr([keyring])):
        assert not any(f.decode() in text for f in _forms(SECRET.encode())), text
    assert keyring.key_id in repr(keyring)  # two keyrings can still be told apart
    assert keyring == Keyring(SECRET.encode()) and keyring != Keyring(b"another-key-0123456789")


def _inputs(src: Path) -> None:
    src.mkdir()
    make_object(GSPS, "1.2.3", "1.2.3.4").save_as(src / "pr.dcm", enforce_file_format=True)
    (src / "truncated.dcm").write_bytes((src / "pr.dcm").read_bytes()[:-30])  # quarantined: a reason is written
    (src / "notes.txt").write_text("not DICOM")                               # skipped: a reason in the summary


def _everything_written(tmp_path: Path, out: Path, proc: subprocess.CompletedProcess[bytes]) -> list[tuple[str, bytes]]:
    found = [("stdout", proc.stdout), ("stderr", proc.stderr)]
    for folder in (out, out.with_name(out.name + ".audit"), out.with_name(out.name + ".quarantine")):
        for p in folder.rglob("*"):
            if p.is_file() and p.name != "medanon.key" and not (folder.name.endswith(".quarantine")
                                                                and p.suffix == ".dcm"):
                found.append((str(p.relative_to(tmp_path)), p.read_bytes()))
    return found


def test_a_run_never_writes_the_key(tmp_path: Path) -> None:
    src = tmp_path / "in"
    _inputs(src)
    for name, env_key in (("given", SECRET), ("generated", None)):
        out = tmp_path / f"out_{name}"
        env = {k: v for k, v in os.environ.items() if k != "MEDANON_KEY"}
        if env_key:
            env["MEDANON_KEY"] = env_key
        proc = subprocess.run([sys.executable, "-m", "inference.run", str(src), str(out)], cwd=ROOT, env=env,
                              capture_output=True, timeout=300)
        assert proc.returncode == 3, proc.stderr  # one file quarantined
        key = env_key.encode() if env_key else (out.with_name(out.name + ".audit") / "medanon.key").read_bytes()
        key = key.strip()
        written = _everything_written(tmp_path, out, proc)
        assert any(n.endswith("trail.jsonl") for n, _ in written) and any("summary-" in n for n, _ in written)
        assert any(n.endswith("reason.json") for n, _ in written)
        leaks = [n for n, data in written if any(f in data for f in _forms(key))]
        assert leaks == [], f"{name} key found in {leaks}"
