"""The results document (outputs.md): ``results.json`` and ``--format json``."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.core.results import AuditResult
from auditor.report.files import write_atomic


def render_json(result: AuditResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"


def write_json(result: AuditResult, path: Path) -> None:
    write_atomic(path, render_json(result).encode("utf-8"))
