"""The HTML reports: ``index.html`` for the batch and one page per proposal.

Each template renders one documented context (the dataclasses below). The
environment escapes everything (autoescape) and refuses unknown names
(StrictUndefined): a value from a workbook can never become markup.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

import jinja2
import polars as pl

from auditor.core.catalogue import catalogue, fixer, format_value
from auditor.core.findings import Finding, Severity, Verdict, by_importance
from auditor.core.resources import shipped_dir
from auditor.core.results import AuditResult, FileResult, ProposalResult
from auditor.core.tables import table_spec
from auditor.report.i18n import moment, t
from auditor.report.names import Links
from auditor.report.params_text import public_source
from auditor.report.requirements import requirement_line
from auditor.state.changes import ProposalChange

# Rules about single cells (the others, on a header, are about the whole table).
_ROW_RULES = frozenset(
    name for name, rule in catalogue().rules.items() if rule.scope in ("row", "file")
)
SYMBOLS = {Verdict.ELIGIBLE: "✓", Verdict.INELIGIBLE: "✗", Verdict.UNREADABLE: "⊘"}
TOP_FINDINGS = 3


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(shipped_dir("templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["moment"] = moment  # {{ stamp | moment(lang) }}: Brussels time, with the zone
    return env


@dataclass(frozen=True)
class RunContext:
    tool_version: str
    started_at: str
    rules_version: str
    inputs: list[str]
    run_id: int | None = None  # with a state: the run's number
    state_id: str | None = None  # with a state: its identity (the report marker names it)


@dataclass(frozen=True)
class ChangesView:
    """The "since last run" section of the index."""

    since_id: int
    since_started: str
    counts: dict[str, int]
    groups: list[tuple[str, list[ProposalChange], int]]  # (kind, shown, not shown)
    pages: dict[tuple[str, str], str | None]  # each changed proposal's page, by (file, ID)
    unreadable: list[str]
    readable: list[str]


@dataclass(frozen=True)
class HistoryView:
    run: int
    started_at: str
    verdict: str
    verdict_symbol: str


@dataclass(frozen=True)
class ProposalRow:
    """One row of the index table."""

    proposal_id: str
    acronym: str | None
    action: str
    call_year: int | None
    verdict: str
    verdict_symbol: str
    organisations: int
    countries: int
    errors: int
    warnings: int
    top_findings: list[Finding]
    more_findings: int
    file: str
    page: str
    annotated: str | None


@dataclass(frozen=True)
class RuleBar:
    code: str
    rule: str
    title: str
    severity: str
    count: int
    width: int


@dataclass(frozen=True)
class FileView:
    file: str
    href: str | None  # the workbook itself, where a link can reach it
    annotated: str | None
    findings: list[Finding]


@dataclass(frozen=True)
class IndexContext:
    """What ``index.html.j2`` renders."""

    lang: str
    run: RunContext
    summary: dict[str, int]
    proposals: list[ProposalRow]
    actions: list[str]
    by_rule: list[RuleBar]
    unreadable: list[FileView]
    file_findings: list[FileView]
    changes: ChangesView | None = None
    first_run: bool = False  # with a state, and no earlier run to compare with
    pdf: str | None = None  # this page printed, beside it


@dataclass(frozen=True)
class CheckView:
    code: str
    rule: str
    title: str
    passed: bool | None
    severity: str
    measured: str
    expected: str
    source: str | None


@dataclass(frozen=True)
class CellView:
    value: str
    mark: str | None = None
    title: str = ""


@dataclass(frozen=True)
class PartnerRowView:
    row: int
    cells: list[CellView]
    counted: bool


@dataclass(frozen=True)
class ColumnView:
    key: str
    label: str
    mark: str | None = None  # a finding about the whole column (its header cell)
    title: str = ""


@dataclass(frozen=True)
class FieldView:
    """A project field: its label, its cell and its value, marked if it has a finding."""

    label: str
    cell: str
    value: str
    mark: str | None = None
    title: str = ""


@dataclass(frozen=True)
class ProposalView:
    proposal_id: str
    acronym: str | None
    title: str | None
    action: str | None
    action_title: str | None
    call_year: int | None
    verdict: str
    verdict_symbol: str
    errors: int
    warnings: int
    file: str
    annotated: str | None
    pdf: str | None = None  # this page printed, beside it
    letter: str | None = None  # the draft letter to the coordinator (an ineligible proposal)


@dataclass(frozen=True)
class ProposalContext:
    """What ``proposal.html.j2`` renders."""

    lang: str
    run: RunContext
    p: ProposalView
    checks: list[CheckView]
    findings: list[Finding]
    project_sheet: str | None
    fields: list[FieldView]
    partner_sheet: str | None
    partner_columns: list[ColumnView]
    partners: list[PartnerRowView]
    history: list[HistoryView] = field(default_factory=list)
    partners_hidden: int = 0  # partner rows beyond what a page shows
    incomplete: bool = False  # cut short: the page ran over its time or memory limit


def run_context(result: AuditResult) -> RunContext:
    return RunContext(
        result.tool_version,
        result.started_at,
        result.rules_version,
        list(result.inputs),
        result.run_id,
    )


def _translator(lang: str) -> Callable[..., str]:
    return lambda key, **values: t(key, lang, **values)


def index_context(result: AuditResult, links: Links, outdir: Path | None = None) -> IndexContext:
    """What the batch page shows; ``outdir``: where it will be, for links to the inputs."""
    lang = result.lang
    rows = []
    for proposal in result.proposals:
        ordered = by_importance(proposal.findings)
        rows.append(
            ProposalRow(
                proposal_id=proposal.proposal_id,
                acronym=proposal.acronym,
                action=proposal.action or "",
                call_year=proposal.call_year,
                verdict=str(proposal.verdict),
                verdict_symbol=SYMBOLS[proposal.verdict],
                organisations=int(proposal.metrics.get("organisations") or 0),
                countries=int(proposal.metrics.get("countries") or 0),
                errors=proposal.errors,
                warnings=proposal.warnings,
                top_findings=ordered[:TOP_FINDINGS],
                more_findings=max(0, len(ordered) - TOP_FINDINGS),
                file=proposal.file,
                page=links.pages[proposal.key],
                annotated=links.annotated.get(proposal.file),
            )
        )
    return IndexContext(
        lang=lang,
        run=run_context(result),
        summary=result.summary.to_dict(),
        proposals=rows,
        actions=sorted({row.action for row in rows if row.action}),
        by_rule=_by_rule(result),
        unreadable=[
            _file_view(f, links, lang, outdir)
            for f in result.files
            if f.verdict is Verdict.UNREADABLE
        ],
        file_findings=[
            _file_view(f, links, lang, outdir)
            for f in result.files
            if f.findings and f.verdict is not Verdict.UNREADABLE
        ],
        changes=_changes_view(result, links) if result.changes is not None else None,
        first_run=result.run_id is not None and result.changes is None,
    )


# Proposals listed per kind of change on the index; results.json lists all.
CHANGES_SHOWN = 300


def _changes_view(result: AuditResult, links: Links) -> ChangesView:
    changes = result.changes
    groups = []
    shown: list[ProposalChange] = []
    for kind in ("broken", "fixed", "new", "withdrawn", "changed"):
        entries = getattr(changes, kind)
        groups.append((kind, list(entries[:CHANGES_SHOWN]), max(0, len(entries) - CHANGES_SHOWN)))
        shown.extend(entries[:CHANGES_SHOWN])
    wanted = {(c.file, c.proposal_id) for c in shown if c.after}
    pages = {
        (p.file, p.proposal_id): links.pages.get(p.key)
        for p in result.proposals
        if (p.file, p.proposal_id) in wanted
    }
    return ChangesView(
        changes.since.id,
        changes.since.started_at,
        changes.counts(),
        groups,
        pages,
        list(changes.unreadable),
        list(changes.readable),
    )


def _file_view(file: FileResult, links: Links, lang: str, outdir: Path | None) -> FileView:
    annotated = links.annotated.get(file.file)
    return FileView(
        file=file.file,
        href=annotated or _input_link(file.file, outdir),
        annotated=annotated,
        findings=list(file.findings),
    )


def _by_rule(result: AuditResult) -> list[RuleBar]:
    counts = Counter((f.code, f.rule, f.severity) for f in result.all_findings())
    if not counts:
        return []
    most = max(counts.values())
    rules = catalogue()
    return [
        RuleBar(
            code,
            rule,
            rules[rule].text("title", result.lang),
            str(severity),
            count,
            max(2, round(400 * count / most)),
        )
        for (code, rule, severity), count in sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    ]


def _input_link(file: str, outdir: Path | None) -> str | None:
    """A link from the report folder to an input file (an unreadable one has no copy).

    Relative where the input is named relatively (it was audited from the
    current folder, which the report folder need not be), so the report and
    its inputs can move together; none where the name is not a file here
    (the web application's inboxes show files by the inbox's name).
    """
    path = Path(file)
    if outdir is None or not path.is_file():
        return None
    if path.is_absolute():
        return path.as_uri()
    relative = os.path.relpath(path.absolute(), outdir.absolute())
    return quote(PurePath(relative).as_posix())


def _shown(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    return format_value(value, lang, catalogue().terms)


@dataclass(frozen=True)
class ProposalRows:
    """A proposal's rows as plain data (cheap to send to a worker process)."""

    project: dict[str, str | None]
    partners: list[tuple[int, bool, dict[str, str | None]]]  # Excel row, counted, values


# Partner rows a proposal page shows: a table of a hundred thousand rows is
# no page anyone reads (the workbook and its annotated copy have them all).
PAGE_ROWS = 1000


def rows_by_proposal(
    partners: pl.DataFrame | None, projects: pl.DataFrame | None
) -> dict[str, ProposalRows]:
    """Every proposal's rows, in one pass over each frame."""
    project_keys = list(table_spec("project").columns)
    partner_keys = [k for k in table_spec("partners").columns if k != "proposal_id"]
    rows: dict[str, ProposalRows] = {}
    if projects is not None:
        for values in projects.select("_pkey", *project_keys).iter_rows():
            rows[values[0]] = ProposalRows(dict(zip(project_keys, values[1:], strict=True)), [])
    if partners is not None:
        ordered = partners.select("_pkey", "_row", "counted", *partner_keys).sort("_pkey", "_row")
        for values in ordered.iter_rows():
            entry = rows.setdefault(values[0], ProposalRows({}, []))
            entry.partners.append(
                (values[1], bool(values[2]), dict(zip(partner_keys, values[3:], strict=True)))
            )
    return rows


def proposal_context(
    run: RunContext,
    lang: str,
    proposal: ProposalResult,
    rows: ProposalRows,
    annotated: str | None,
    notes: Mapping[str, str],
    history: Sequence[tuple[int, str, str]] = (),
    pdf: str | None = None,
    letter: str | None = None,
) -> ProposalContext:
    """What a proposal's page shows; ``annotated`` is its copy, relative to OUTDIR.

    ``history``: the proposal's verdicts in earlier runs, where they changed
    (run, start, verdict), oldest first; ``pdf``: the page printed, beside
    it; ``letter``: its draft letter, relative to OUTDIR.
    """
    rules = catalogue()
    checks = [
        CheckView(
            c.code,
            c.rule,
            rules[c.rule].text("title", lang),
            c.passed,
            str(c.severity),
            _shown(c.measured, lang),
            requirement_line(c, lang),
            public_source(c.source),
        )
        for c in proposal.checks
    ]
    columns, partner_rows = _partner_table(lang, proposal, rows)
    hidden = max(0, len(partner_rows) - PAGE_ROWS)
    return ProposalContext(
        lang=lang,
        run=run,
        p=ProposalView(
            proposal_id=proposal.proposal_id,
            acronym=proposal.acronym,
            title=proposal.title,
            action=proposal.action,
            action_title=notes.get(f"title:{proposal.action}"),
            call_year=proposal.call_year,
            verdict=str(proposal.verdict),
            verdict_symbol=SYMBOLS[proposal.verdict],
            errors=proposal.errors,
            warnings=proposal.warnings,
            file=proposal.file,
            annotated=f"../{annotated}" if annotated else None,
            pdf=pdf,
            letter=f"../{letter}" if letter else None,
        ),
        checks=checks,
        findings=[f for f in proposal.findings if f.rule in rules.rules],
        project_sheet=proposal.project_sheet,
        fields=_project_fields(lang, proposal, rows),
        partner_sheet=proposal.partner_sheet,
        partner_columns=columns,
        partners=partner_rows[:PAGE_ROWS],
        partners_hidden=hidden,
        history=[
            HistoryView(run, moment(started, lang), verdict, SYMBOLS[Verdict(verdict)])
            for run, started, verdict in history
        ],
    )


def _cell_value(value: Any, lang: str) -> str:
    """A workbook value as the page shows it: numbers in the language's way
    (250000.0 -> 250,000 or 250.000); text as written (an ID of digits stays as it is)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _shown(value, lang)
    return str(value)


def _marks(findings: list[Finding]) -> tuple[str | None, str]:
    if not findings:
        return None, ""
    worst = "error" if any(f.severity is Severity.ERROR for f in findings) else "warning"
    return worst, "; ".join(f"{f.code} {f.message}" for f in findings)


def _project_fields(lang: str, proposal: ProposalResult, rows: ProposalRows) -> list[FieldView]:
    spec = table_spec("project")
    views = []
    for key, column in spec.columns.items():
        found = [
            f for f in proposal.findings if f.sheet == proposal.project_sheet and f.column == key
        ]
        value = rows.project.get(key)
        if value is None and not found:
            continue
        mark, title = _marks(found)
        cell = next((f.address for f in found if f.address), None) or ""
        views.append(FieldView(column.label(lang), cell, _cell_value(value, lang), mark, title))
    return views


def _partner_table(
    lang: str, proposal: ProposalResult, rows: ProposalRows
) -> tuple[list[ColumnView], list[PartnerRowView]]:
    if not proposal.partner_letters:
        return [], []
    spec = table_spec("partners")
    keys = [k for k in spec.columns if k in proposal.partner_letters and k != "proposal_id"]
    by_cell: dict[tuple[int, str], list[Finding]] = {}
    letter_to_key = {letter: key for key, letter in proposal.partner_letters.items()}
    for finding in proposal.findings:
        if finding.sheet == proposal.partner_sheet and finding.cell and finding.row:
            key = letter_to_key.get(finding.column_letter or "")
            if key:
                by_cell.setdefault((finding.row, key), []).append(finding)
    header_row = min(
        (
            f.row
            for f in proposal.findings
            if f.sheet == proposal.partner_sheet and f.row and f.rule not in _ROW_RULES
        ),
        default=None,
    )
    views = []
    for row, counted, values in rows.partners:
        cells = []
        for key in keys:
            mark, title = _marks(by_cell.get((row, key), []))
            value = values.get(key)
            shown = _cell_value(value, lang) if value is not None else ""
            cells.append(CellView(value=shown, mark=mark, title=title))
        views.append(PartnerRowView(row=row, cells=cells, counted=counted))
    columns = []
    for key in keys:
        on_header = [
            f for f in by_cell.get((header_row or -1, key), []) if f.rule not in _ROW_RULES
        ]
        mark, title = _marks(on_header)
        columns.append(ColumnView(key, spec.columns[key].label(lang), mark, title))
    return columns, views


def render_index(context: IndexContext) -> str:
    template = environment().get_template("index.html.j2")
    return template.render(**_fields(context), t=_translator(context.lang), fix=fixer(context.lang))


def render_proposal(context: ProposalContext) -> str:
    template = environment().get_template("proposal.html.j2")
    return template.render(**_fields(context), t=_translator(context.lang), fix=fixer(context.lang))


def _fields(context: Any) -> dict[str, Any]:
    # Shallow: the nested dataclasses stay objects for the templates.
    return {name: getattr(context, name) for name in context.__dataclass_fields__}
