"""The results document (outputs.md): ``results.json`` and ``--format json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.core.results import AuditResult
from auditor.report.files import write_atomic
from auditor.report.names import Links


def results_document(result: AuditResult, links: Links | None = None) -> dict[str, Any]:
    """The document; with ``links``, each proposal's page and each file's annotated copy."""
    document = result.to_dict()
    if links is None:
        return document
    for entry, proposal in zip(document["proposals"], result.proposals, strict=True):
        entry["report"] = {
            "page": links.pages.get(proposal.key),
            "annotated": links.annotated.get(proposal.file),
        }
    for entry in document["files"]:
        entry["annotated"] = links.annotated.get(entry["file"])
    return document


def render_json(result: AuditResult, links: Links | None = None) -> str:
    return json.dumps(results_document(result, links), ensure_ascii=False, indent=2) + "\n"


def write_json(result: AuditResult, path: Path, links: Links | None = None) -> None:
    write_atomic(path, render_json(result, links).encode("utf-8"))
