"""The human report: one HTML page (template in templates/report.html), thumbnails embedded as data URIs."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from inference.resources import data_file

from .runner import AuditRun

TEMPLATE = data_file("inference.audit", "templates", "report.html")
WORST_CASES = 24
REASONS_PER_CASE = 8


def render_html(run: AuditRun, summary: dict[str, Any]) -> str:
    try:
        import jinja2
    except ImportError as e:
        raise RuntimeError("the HTML report needs jinja2: pip install 'medanon[qa]'") from e
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(s=summary, cases=worst_cases(run))


def write_html(run: AuditRun, summary: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    path.write_text(render_html(run, summary), encoding="utf-8")
    return path


def worst_cases(run: AuditRun) -> list[dict[str, Any]]:
    flagged = sorted((f for f in run.files if f.flagged), key=lambda f: f.severity(), reverse=True)
    out = []
    for f in flagged[:WORST_CASES]:
        reasons = [f"{x.category}: {x.kind} at {x.where} ({x.detail})" for x in f.findings]
        if len(reasons) > REASONS_PER_CASE:
            reasons = reasons[:REASONS_PER_CASE] + [f"... and {len(reasons) - REASONS_PER_CASE} more"]
        image = "data:image/png;base64," + base64.b64encode(f.thumbnail).decode() if f.thumbnail else None
        out.append({"rel": f.rel, "modality": f.modality, "reasons": reasons, "image": image})
    return out
