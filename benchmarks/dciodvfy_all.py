"""Every shared DICOM sample through `python -m inference.run` (pixels included), then dciodvfy on each input and its
output: prints how many outputs have an Error line their input does not have.

    python benchmarks/dciodvfy_all.py [--limit N]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "dicom"


def errors(path: Path) -> set[str] | None:
    """dciodvfy's Error lines with values blanked; None when it cannot read the file."""
    r = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True)  # bytes: a CR inside a value stays
    text = (r.stdout + r.stderr).decode(errors="replace")
    if "read failed" in text or "not valid DICOM" in text:
        return None
    return {re.sub(r"<[^>]*>|\d+", "#", ln.strip()) for ln in text.split("\n") if ln.startswith("Error")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    files = sorted(p for p in SHARED.rglob("*") if p.is_file() and p.suffix not in (".json", ".csv", ".md", ".txt"))
    files = files[: a.limit]
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "in"
        for k, p in enumerate(files):
            (inp / f"{k:04d}").mkdir(parents=True)
            (inp / f"{k:04d}" / p.name).symlink_to(p)
        out = Path(tmp) / "out"
        env = {**os.environ, "MEDANON_KEY": "dciodvfy-benchmark-key-0123456789abcdef"}
        subprocess.run([sys.executable, "-m", "inference.run", str(inp), str(out), "--quiet"], cwd=ROOT, env=env,
                       capture_output=True)
        compared, new, unreadable = 0, [], 0
        for line in (Path(tmp) / "out.audit" / "trail.jsonl").read_text().splitlines():
            rec = json.loads(line)
            if rec.get("status") != "written":
                continue
            src = (inp / rec["source"]).resolve()
            before = errors(src)
            if before is None:
                unreadable += 1
                continue
            for o in (o for o in rec["outputs"] if o.endswith(".dcm")):
                compared += 1
                extra = (errors(out / o) or set()) - before
                if extra:
                    new.append(f"{rec['source']}: {sorted(extra)[:2]}")
    print(f"{len(files)} shared files; {compared} outputs compared ({unreadable} inputs dciodvfy cannot read); "
          f"{len(new)} outputs with new dciodvfy errors")
    for n in new:
        print("  " + n)


if __name__ == "__main__":
    main()
