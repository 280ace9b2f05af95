"""The results document (outputs.md): ``results.json`` and ``--format json``.

The document is laid out one proposal (and one file) per line: the header
fields are indented as usual, each entry of ``proposals`` and ``files`` is
compact on a line of its own. That keeps it readable, diffable and greppable
for a batch of ten thousand proposals, lets entries be rendered as their
chunk is judged (``EntryCache``), and uses the C encoder: pretty-printing a
whole document with ``indent`` takes the pure-Python encoder, four times
slower.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditor.core.results import AuditResult, FileResult, ProposalResult
from auditor.report.files import write_atomic
from auditor.report.names import Links


def proposal_entry(proposal: ProposalResult, links: Links | None = None) -> dict[str, Any]:
    entry = proposal.to_dict()
    if links is not None:
        entry["report"] = {
            "page": links.pages.get(proposal.key),
            "annotated": links.annotated.get(proposal.file),
        }
    return entry


def file_entry(file: FileResult, links: Links | None = None) -> dict[str, Any]:
    entry = file.to_dict()
    if links is not None:
        entry["annotated"] = links.annotated.get(file.file)
    return entry


def results_document(result: AuditResult, links: Links | None = None) -> dict[str, Any]:
    """The document; with ``links``, each proposal's page and each file's annotated copy."""
    document = _head(result)
    document["proposals"] = [proposal_entry(p, links) for p in result.proposals]
    document["files"] = [file_entry(f, links) for f in result.files]
    return document


def _head(result: AuditResult) -> dict[str, Any]:
    return result.head()


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


class EntryCache:
    """Proposal entries rendered as soon as their chunk is judged.

    An entry is reused only for the very proposal object it was made from:
    a proposal judged again (a duplicate ID settled at the end of the run)
    is a new object and is rendered afresh.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[ProposalResult, str]] = {}

    def add(self, proposals: Iterable[ProposalResult], links: Links | None) -> None:
        for proposal in proposals:
            self._entries[proposal.key] = (proposal, _compact(proposal_entry(proposal, links)))

    def forget_file(self, file: str) -> None:
        """Drop the entries of ``file``'s proposals (its links changed)."""
        for key in [k for k, (p, _) in self._entries.items() if p.file == file]:
            del self._entries[key]

    def text(self, proposal: ProposalResult, links: Links | None) -> str:
        cached = self._entries.get(proposal.key)
        if cached is not None and cached[0] is proposal:
            return cached[1]
        return _compact(proposal_entry(proposal, links))


def _one_per_line(value: dict[str, Any]) -> str:
    """A section of lists (since_last_run) with one entry per line."""
    parts = []
    for key, item in value.items():
        if isinstance(item, list) and item:
            inner = ",\n".join(f"      {_compact(entry)}" for entry in item)
            parts.append(f"    {json.dumps(key)}: [\n{inner}\n    ]")
        else:
            parts.append(f"    {json.dumps(key)}: {_compact(item)}")
    return "{\n" + ",\n".join(parts) + "\n  }"


def render_json(
    result: AuditResult, links: Links | None = None, cache: EntryCache | None = None
) -> str:
    cache = cache or EntryCache()
    lines = ["{"]
    for key, value in _head(result).items():
        if isinstance(value, dict) and any(isinstance(v, list) for v in value.values()):
            lines.append(f"  {json.dumps(key)}: {_one_per_line(value)},")
        else:
            lines.append(f"  {json.dumps(key)}: {_compact(value)},")
    lines.append('  "proposals": [')
    lines.append(",\n".join(f"    {cache.text(p, links)}" for p in result.proposals))
    lines.append("  ],")
    lines.append('  "files": [')
    lines.append(",\n".join(f"    {_compact(file_entry(f, links))}" for f in result.files))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(line for line in lines if line) + "\n"


def write_json(result: AuditResult, path: Path, links: Links | None = None) -> None:
    write_atomic(path, render_json(result, links).encode("utf-8"))
