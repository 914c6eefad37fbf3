"""Screenshots of the review station for docs/: runs the real browser test (tests/test_review_browser.py) with
MEDANON_SCREENSHOTS=docs, which saves docs/review_station_{list,box,approved}.png.

    python benchmarks/review_screenshots.py
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    env = {**os.environ, "MEDANON_SCREENSHOTS": str(ROOT / "docs")}
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "tests/test_review_browser.py"], cwd=ROOT, env=env))
