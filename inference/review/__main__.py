"""python -m inference.review OUTPUT: the local review station (docs/REVIEW.md).

    python -m inference.review OUTPUT [--audit-dir D] [--quarantine-dir Q] [--port P] [--reviewer NAME]
                                      [--templates DIR] [--sample N]

Prints one address with a one-time token; open it in a browser on this machine. Decisions go to
AUDIT_DIR/reviews.sqlite; the next `python -m inference.run` applies them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .items import Catalog
from .server import Station, serve
from .store import DB_NAME, ReviewStore


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m inference.review", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", type=Path, help="the OUTPUT folder of python -m inference.run")
    p.add_argument("--audit-dir", type=Path, help="audit folder (default OUTPUT.audit)")
    p.add_argument("--quarantine-dir", type=Path, help="quarantine folder (default OUTPUT.quarantine)")
    p.add_argument("--templates", type=Path, help="device templates folder (default AUDIT_DIR/templates)")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 = any free port)")
    p.add_argument("--reviewer", default="", help="your name, kept with every decision (editable on the page)")
    p.add_argument("--sample", type=int, default=20, help="released files shown per device (random sample)")
    a = p.parse_args(argv)
    out = a.output.resolve()
    audit = (a.audit_dir or out.with_name(out.name + ".audit")).resolve()
    qdir = (a.quarantine_dir or out.with_name(out.name + ".quarantine")).resolve()
    if not (audit / "trail.jsonl").is_file():
        print(f"error: no audit trail at {audit / 'trail.jsonl'}: run python -m inference.run first "
              "(or give --audit-dir)", file=sys.stderr)
        return 2
    station = Station(Catalog(out, audit, qdir, sample=a.sample), ReviewStore(audit / DB_NAME),
                      (a.templates or audit / "templates").resolve(), a.reviewer)
    try:
        server = serve(station, a.port)
    except OSError as e:
        print(f"error: cannot listen on 127.0.0.1:{a.port}: {e.strerror or e} (try --port 0)", file=sys.stderr)
        return 1
    port = server.server_address[1]
    print(f"review station: {len(station.catalog.items)} files; decisions in {audit / DB_NAME}", flush=True)
    print(f"open http://127.0.0.1:{port}/?token={station.token}", flush=True)
    print("(the token works once; stop with Ctrl+C)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
