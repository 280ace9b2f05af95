"""The result of an audit: plain data that every renderer reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from auditor.core.findings import Cell, Finding, Severity, Value, Verdict, by_fields

SCHEMA_VERSION = 1


# The links a results.json entry holds: (proposal page, annotated copy); a
# file's entry holds no page.
HeldLinks = tuple[str | None, str | None]


def compact_json(value: Any) -> str:
    """One entry of results.json: compact, on one line, UTF-8 as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One rule of the proposal's action, evaluated: the measured value against the threshold."""

    rule: str
    code: str
    passed: bool | None  # None: not judged (a cell it depends on is unclear)
    measured: Value
    expected: Value
    severity: Severity
    source: str | None

    __reduce__ = by_fields

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "code": self.code,
            "passed": self.passed,
            "measured": list(self.measured) if isinstance(self.measured, tuple) else self.measured,
            "expected": list(self.expected) if isinstance(self.expected, tuple) else self.expected,
            "severity": str(self.severity),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ProposalResult:
    proposal_id: str
    file: str
    relative: str
    action: str | None
    call_year: int | None
    verdict: Verdict
    metrics: dict[str, int | float | None]
    findings: tuple[Finding, ...]
    checks: tuple[RuleCheck, ...]
    title: str | None = None
    acronym: str | None = None
    key: str = ""  # the proposal's key within the batch (joins the partner rows)
    # Where its partner table sits, for renderers that show or mark it.
    partner_sheet: str | None = None
    partner_letters: dict[str, str] = field(default_factory=dict)
    project_sheet: str | None = None
    id_cell: Cell | None = None  # where the proposal ID is
    in_export: bool = False  # one of many proposals on a Proposals sheet

    __reduce__ = by_fields

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "file": self.file,
            "action": self.action,
            "call_year": self.call_year,
            "verdict": str(self.verdict),
            "acronym": self.acronym,
            "title": self.title,
            "metrics": self.metrics,
            "findings": [f.to_dict() for f in self.findings],
            "checks": [c.to_dict() for c in self.checks],
        }

    def entry(self, page: str | None = None, annotated: str | None = None) -> dict[str, Any]:
        """Its results.json entry: the result, and where its page and annotated copy are."""
        return {**self.to_dict(), "report": {"page": page, "annotated": annotated}}

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)


@dataclass(frozen=True, slots=True)
class FileResult:
    """A file of the batch: unreadable, or the proposals it held and findings about it."""

    file: str
    relative: str
    verdict: Verdict
    proposals: tuple[str, ...]
    findings: tuple[Finding, ...]

    __reduce__ = by_fields

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "verdict": str(self.verdict),
            "proposals": list(self.proposals),
            "findings": [f.to_dict() for f in self.findings],
        }

    def entry(self, annotated: str | None = None) -> dict[str, Any]:
        """Its results.json entry: the result, and where its annotated copy is."""
        return {**self.to_dict(), "annotated": annotated}


@dataclass(frozen=True, slots=True)
class Summary:
    files: int
    proposals: int
    eligible: int
    ineligible: int
    unreadable: int
    errors: int
    warnings: int

    def to_dict(self) -> dict[str, int]:
        return {
            "files": self.files,
            "proposals": self.proposals,
            "eligible": self.eligible,
            "ineligible": self.ineligible,
            "unreadable": self.unreadable,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit found, in a deterministic order."""

    tool_version: str
    started_at: str
    inputs: tuple[str, ...]
    rules_version: str
    lang: str
    summary: Summary
    proposals: tuple[ProposalResult, ...]
    files: tuple[FileResult, ...]
    # The normalised partner rows and project fields (polars DataFrames), for
    # renderers that show the tables; kept out of the JSON document.
    partners: Any = field(default=None, repr=False, compare=False)
    projects: Any = field(default=None, repr=False, compare=False)
    # With a state (incremental runs): this run's number, and what changed
    # since the previous run (state/changes.py Changes).
    run_id: int | None = None
    changes: Any = field(default=None, compare=False)

    def all_findings(self) -> list[Finding]:
        found = [f for p in self.proposals for f in p.findings]
        found.extend(f for file in self.files for f in file.findings)
        return found

    def to_dict(self) -> dict[str, Any]:
        document = self.head()
        document["proposals"] = [p.to_dict() for p in self.proposals]
        document["files"] = [f.to_dict() for f in self.files]
        return document

    def head(self) -> dict[str, Any]:
        """The document without its proposals and files."""
        run: dict[str, Any] = {
            "started_at": self.started_at,
            "inputs": list(self.inputs),
            "rules_version": self.rules_version,
            "lang": self.lang,
        }
        if self.run_id is not None:
            run["id"] = self.run_id
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "auditor", "version": self.tool_version},
            "run": run,
            "summary": self.summary.to_dict(),
        }
        if self.run_id is not None:
            # null on the first run of a state: nothing to compare with
            document["since_last_run"] = self.changes.to_dict() if self.changes else None
        return document
