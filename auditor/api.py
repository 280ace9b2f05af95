"""The library entry point: ``audit(paths, config) -> AuditResult``.

Read every file (read), normalise and validate all rows at once (validate),
compute the metrics of all proposals (aggregate), run the rule sets over them
(rules), and put the findings into words in the report language. The CLI and
every renderer sit on top of this; this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import polars as pl

from auditor import __version__
from auditor.aggregate import METRICS, aggregate
from auditor.core.catalogue import catalogue
from auditor.core.config import AuditConfig
from auditor.core.findings import (
    Finding,
    FindingDraft,
    Severity,
    Verdict,
    sort_findings,
    verdict_of,
)
from auditor.core.results import AuditResult, FileResult, ProposalResult, Summary
from auditor.normalise.countries import country_name
from auditor.normalise.frames import n, normalise_partners, normalise_projects
from auditor.normalise.vocabulary import vocabulary
from auditor.read.batch import read_files
from auditor.read.discover import discover
from auditor.read.model import PKEY, ReadBatch
from auditor.rules.engine import evaluate
from auditor.rules.rulebook import RuleBook, load_rulebook
from auditor.validate import validate_partners, validate_projects

Progress = Callable[[int], None]


class _Names:
    """Country and vocabulary names for messages."""

    def country(self, code: str, lang: str) -> str:
        return country_name(code, lang)

    def term(self, name: str, code: str, lang: str) -> str:
        return vocabulary(name).label(code, lang)


def audit(
    paths: Sequence[str],
    config: AuditConfig | None = None,
    progress: Progress | None = None,
    on_files: Callable[[int], None] | None = None,
) -> AuditResult:
    """Audit the workbooks found under ``paths``.

    ``on_files`` is told how many files were found before reading starts and
    ``progress`` is called as files are read (for a progress bar).
    """
    config = config or AuditConfig()
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    book = load_rulebook(config.rules_dirs)
    items = discover(list(paths))
    if on_files is not None:
        on_files(len(items))
    batch = read_files(items, config.limits, config.workers, progress, config.reader)
    return judge(batch, book, config, inputs=tuple(paths), started_at=started)


def _merge(*parts: dict[str, list[FindingDraft]]) -> dict[str, list[FindingDraft]]:
    merged: dict[str, list[FindingDraft]] = {}
    for part in parts:
        for key, drafts in part.items():
            merged.setdefault(key, []).extend(drafts)
    return merged


def _context(projects: pl.DataFrame, batch: ReadBatch, book: RuleBook) -> pl.DataFrame:
    """Add each proposal's pool and whether its partner table can be judged."""
    pools = {a: s.pool for s in book.action_sets() for a in s.actions if s.pool}
    complete = {k: s.partners_complete for k, s in batch.sources.items()}
    return projects.with_columns(
        pl.col(n("action"))
        .replace_strict(pools, default=None, return_dtype=pl.String)
        .alias("pool"),
        pl.col(PKEY)
        .replace_strict(complete, default=False, return_dtype=pl.Boolean)
        .alias("partners_complete"),
    )


def judge(
    batch: ReadBatch,
    book: RuleBook,
    config: AuditConfig,
    inputs: tuple[str, ...] = (),
    started_at: str | None = None,
) -> AuditResult:
    """Validate, aggregate and check what was read, and assemble the result."""
    projects = normalise_projects(batch.projects, book.lookup_action)
    partners = normalise_partners(batch.partners)
    drafts = _merge(
        batch.drafts,
        validate_projects(projects, batch.sources),
        validate_partners(partners, batch.sources),
    )
    projects = _context(projects, batch, book)
    aggregates = aggregate(
        partners, projects, book.pool_frame(), book.eu_frame(), book.region_frame()
    )
    evaluation = evaluate(book, aggregates, batch.sources)
    drafts = _merge(drafts, evaluation.drafts)
    return _assemble(
        batch,
        book,
        config,
        aggregates.proposals,
        drafts,
        evaluation.checks,
        aggregates.partners,
        inputs,
        started_at or datetime.now().astimezone().isoformat(timespec="seconds"),
    )


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    number: int | float = value
    return number


def _assemble(
    batch: ReadBatch,
    book: RuleBook,
    config: AuditConfig,
    proposals: pl.DataFrame,
    drafts: dict[str, list[FindingDraft]],
    checks: dict[str, list[Any]],
    partners: pl.DataFrame,
    inputs: tuple[str, ...],
    started_at: str,
) -> AuditResult:
    rules, names, lang = catalogue(), _Names(), config.lang

    def render(items: Iterable[FindingDraft]) -> tuple[Finding, ...]:
        return sort_findings([rules.render(d, lang, names) for d in items])

    results: list[ProposalResult] = []
    columns = [PKEY, "proposal_id", "action", n("action"), "year", "title", "acronym", *METRICS]
    for row in proposals.select(columns).iter_rows(named=True):
        pkey = row[PKEY]
        source = batch.sources[pkey]
        findings = render(drafts.get(pkey, []))
        results.append(
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
            )
        )
    results.sort(key=lambda p: (p.file, p.proposal_id, p.key))
    verdicts: dict[str, list[Verdict]] = {}
    ids: dict[str, list[str]] = {}
    for result in results:
        verdicts.setdefault(result.file, []).append(result.verdict)
        ids.setdefault(result.file, []).append(result.proposal_id)
    files: list[FileResult] = []
    for read in sorted(batch.files, key=lambda f: f.file):
        findings = render(read.drafts)
        if read.unreadable:
            verdict = Verdict.UNREADABLE
        elif any(
            f.severity is Severity.ERROR for f in findings
        ) or Verdict.INELIGIBLE in verdicts.get(read.file, []):
            verdict = Verdict.INELIGIBLE
        elif verdicts.get(read.file):
            verdict = Verdict.ELIGIBLE
        else:
            verdict = Verdict.UNREADABLE  # a workbook without a single proposal in it
        files.append(
            FileResult(read.file, read.relative, verdict, tuple(ids.get(read.file, [])), findings)
        )
    all_findings = [f for r in results for f in r.findings] + [
        f for fr in files for f in fr.findings
    ]
    summary = Summary(
        files=len(files),
        proposals=len(results),
        eligible=sum(1 for r in results if r.verdict is Verdict.ELIGIBLE),
        ineligible=sum(1 for r in results if r.verdict is Verdict.INELIGIBLE),
        unreadable=sum(1 for f in files if f.verdict is Verdict.UNREADABLE),
        errors=sum(1 for f in all_findings if f.severity is Severity.ERROR),
        warnings=sum(1 for f in all_findings if f.severity is Severity.WARNING),
    )
    return AuditResult(
        tool_version=__version__,
        started_at=started_at,
        inputs=inputs,
        rules_version=book.version,
        lang=lang,
        summary=summary,
        proposals=tuple(results),
        files=tuple(files),
        partners=partners,
        projects=proposals,
    )
