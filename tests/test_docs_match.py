"""The docs say what the code does (issue 19.8): signatures, where things live, exit statuses, the shared-data
policy. Each check reads the code, so a change to either side that leaves the other behind fails here."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import inference.run as run
from inference.objects import DATA as OBJECT_TYPES
from inference.pipeline import Context, process_file

ROOT = Path(__file__).resolve().parents[1]
DESIGN = (ROOT / "docs" / "DESIGN.md").read_text()
README = (ROOT / "README.md").read_text()


def test_process_file_signature_and_context_home() -> None:
    params = inspect.signature(process_file).parameters
    shown = f"process_file({', '.join(str(p).split(':')[0] + ('=None' if p.default is None else '') for p in params.values())})"
    assert shown == "process_file(path, source, ctx, version=None)"
    assert shown in DESIGN
    assert Context.__module__ == "inference.pipeline" and "Context is in pipeline.py" in DESIGN


def test_object_types_file_named_as_it_is() -> None:
    assert OBJECT_TYPES.name == "object_types.yaml" and "data/object_types.yaml" in DESIGN
    assert "sops.json" not in DESIGN


def test_readme_names_every_exit_status() -> None:
    codes = {v for k, v in vars(run).items() if k.startswith("EXIT_")}
    line = next(x for x in README.splitlines() if "Exit status:" in x)
    paragraph = README[README.index(line):README.index(line) + 400]
    assert codes == {int(n) for n in re.findall(r"\b(\d) (?:all|some|PACS|fatal|usage)", paragraph)}


def test_missing_shared_data_fails_never_skips() -> None:
    """One policy (tests/conftest.py require_shared): no test module skips when ../shared is missing."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        text = path.read_text()
        if re.search(r"skipif\(not [^)]*(INVENTORY|STANDARD|SAMPLES|SHARED|shared)", text) or re.search(
                r"pytest\.skip\([^)]*shared", text):
            offenders.append(path.name)
    assert offenders == [], offenders
