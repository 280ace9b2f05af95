"""The last stage of judging: every draft put into words, each proposal's and file's verdict.

Every stage before reports drafts (core/findings.py FindingDraft); here the
catalogue puts them into the report language, at most ``limit`` a proposal,
and a proposal is ineligible as soon as one of its findings is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from auditor.aggregate import METRICS, Aggregates
from auditor.core.catalogue import catalogue
from auditor.core.findings import (
    Finding,
    FindingDraft,
    Severity,
    Verdict,
    merged_drafts,
    sort_findings,
    verdict_of,
)
from auditor.core.results import AuditResult, FileResult, ProposalResult
from auditor.normalise.countries import country_name
from auditor.normalise.frames import n
from auditor.normalise.vocabulary import vocabulary
from auditor.read.model import PKEY, FileRead
from auditor.rules.context import Evaluation


class _Names:
    """Country and vocabulary names for messages."""

    def country(self, code: str, lang: str) -> str:
        return country_name(code, lang)

    def term(self, name: str, code: str, lang: str) -> str:
        return vocabulary(name).label(code, lang)


def results(
    aggregates: Aggregates, evaluation: Evaluation, lang: str, limit: int
) -> tuple[list[ProposalResult], list[FileResult]]:
    """The judged proposals and files: findings in ``lang`` (at most ``limit`` each), verdicts."""
    drafts = merged_drafts(aggregates.validated.drafts, evaluation.drafts)
    proposals = _proposals(aggregates, drafts, evaluation.checks, lang, limit)
    by_file: dict[str, list[ProposalResult]] = {}
    for proposal in proposals:
        by_file.setdefault(proposal.file, []).append(proposal)
    files = [
        _file_result(read, by_file.get(read.file, []), lang, limit)
        for read in aggregates.validated.files
    ]
    return proposals, files


def in_words(
    drafts: Sequence[FindingDraft], file: str, lang: str, limit: int
) -> tuple[Finding, ...]:
    """The drafts about ``file`` in words, in their order."""
    rules, names = catalogue(), _Names()
    return sort_findings([rules.render(d, lang, names, file) for d in capped(drafts, limit)])


def _draft_order(draft: FindingDraft) -> tuple[str, int, int, str]:
    row, column = draft.cell.order() if draft.cell else (0, 0)
    return (draft.sheet or "", row, column, draft.rule)


def capped(drafts: Sequence[FindingDraft], limit: int) -> Sequence[FindingDraft]:
    """At most ``limit`` findings, the first in the workbook's order, and one that sums up
    the rest (with the highest severity among them, so the verdict stays what it was).

    A workbook with a hundred thousand bad rows needs its first rows fixed,
    not a page of a hundred thousand findings.
    """
    if len(drafts) <= limit:
        return drafts
    ordered = sorted(drafts, key=_draft_order)
    kept, rest = ordered[:limit], ordered[limit:]
    rules = catalogue()
    errors = sum(1 for d in rest if (d.severity or rules[d.rule].severity) is Severity.ERROR)
    summary = FindingDraft(
        "too-many-findings",
        params={
            "more": len(rest),
            "errors": errors,
            "warnings": len(rest) - errors,
            "shown": limit,
        },
        sheet=kept[-1].sheet,
        severity=Severity.ERROR if errors else Severity.WARNING,
    )
    return [*kept, summary]


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    number: int | float = value
    return number


_COLUMNS = (PKEY, "proposal_id", "action", n("action"), "year", "title", "acronym", *METRICS)


def _proposals(
    aggregates: Aggregates,
    drafts: Mapping[str, list[FindingDraft]],
    checks: Mapping[str, list[Any]],
    lang: str,
    limit: int,
) -> list[ProposalResult]:
    found: list[ProposalResult] = []
    sources = aggregates.validated.sources
    for row in aggregates.proposals.select(_COLUMNS).iter_rows(named=True):
        pkey = row[PKEY]
        source = sources[pkey]
        findings = in_words(drafts.get(pkey, []), source.file, lang, limit)
        found.append(
            ProposalResult(
                proposal_id=row["proposal_id"] or "",
                file=source.file,
                relative=source.relative,
                action=row[n("action")] or row["action"],
                call_year=row["year"],
                verdict=verdict_of(findings),
                metrics={metric: _number(row[metric]) for metric in METRICS},
                findings=findings,
                checks=tuple(sorted(checks.get(pkey, []), key=lambda c: c.code)),
                title=row["title"],
                acronym=row["acronym"],
                key=pkey,
                partner_sheet=source.partners.sheet if source.partners else None,
                partner_letters=dict(source.partners.letters) if source.partners else {},
                project_sheet=source.project_sheet,
                id_cell=source.project_cell("proposal_id"),
                in_export=source.project_row is not None,
            )
        )
    return found


def _file_result(
    read: FileRead, mine: Sequence[ProposalResult], lang: str, limit: int
) -> FileResult:
    findings = in_words(read.drafts, read.file, lang, limit)
    return FileResult(
        read.file,
        read.relative,
        file_verdict(read.unreadable, findings, mine),
        tuple(p.proposal_id for p in mine),
        findings,
    )


def file_verdict(
    unreadable: bool, findings: Sequence[Finding], proposals: Sequence[ProposalResult]
) -> Verdict:
    """A file's verdict: unreadable without a proposal judged, ineligible with one error."""
    if unreadable or not proposals:
        return Verdict.UNREADABLE  # a workbook without a single proposal in it too
    if any(f.severity is Severity.ERROR for f in findings) or any(
        p.verdict is Verdict.INELIGIBLE for p in proposals
    ):
        return Verdict.INELIGIBLE
    return Verdict.ELIGIBLE


def with_file_findings(
    result: AuditResult, drafts: Mapping[str, Sequence[FindingDraft]]
) -> AuditResult:
    """``result`` with findings added to files (by file): what the reports learnt of them
    (a copy that could not be made), after the files were judged."""
    if not drafts:
        return result
    files = []
    added: list[Finding] = []
    for file in result.files:
        extra = drafts.get(file.file)
        if not extra:
            files.append(file)
            continue
        new = in_words(list(extra), file.file, result.lang, len(extra))
        added.extend(new)
        files.append(replace(file, findings=sort_findings([*file.findings, *new])))
    errors = sum(1 for f in added if f.severity is Severity.ERROR)
    summary = replace(
        result.summary,
        errors=result.summary.errors + errors,
        warnings=result.summary.warnings + len(added) - errors,
    )
    return replace(result, files=tuple(files), summary=summary)
