"""``summary.xlsx``: the proposals and the findings, for people who live in Excel.

Made in two steps: ``summary_sheets`` takes what the sheets show from the
result (where the result is), ``write_summary`` writes them with openpyxl (in
a report worker: writing ten thousand rows of cells is most of the work, and
the index and results.json are written meanwhile).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter

from auditor.aggregate import METRICS
from auditor.core.findings import by_importance
from auditor.core.results import AuditResult
from auditor.core.tables import field_label
from auditor.report.excel import (
    HEADER_FONT,
    SEVERITY_FILLS,
    VERDICT_FILLS,
    print_setup,
    size_columns,
    written,
)
from auditor.report.i18n import t

# A row as the sheet shows it: each value, with its fill (a key of FILLS) and its link.
Row = list[tuple[Any, str | None, str | None]]
FILLS: dict[str, PatternFill] = {**VERDICT_FILLS, **SEVERITY_FILLS}


@dataclass(frozen=True)
class SummarySheet:
    """A sheet of summary.xlsx as plain data: its title, headers and rows."""

    title: str
    headers: list[str]
    rows: list[Row]


def summary_sheets(result: AuditResult, annotated: Mapping[str, str]) -> list[SummarySheet]:
    """The proposals and the findings sheets.

    ``annotated`` maps an input file to its annotated copy, relative to the
    output folder (the sheets link them).
    """
    return [_proposals_sheet(result, annotated), _findings_sheet(result, annotated)]


def write_summary(sheets: Sequence[SummarySheet], path: Path) -> None:
    """The workbook: filters, frozen headers, verdict colours and links to the copies.

    Write-only: its rows stream to the file as it is saved, a row at a time.
    """
    workbook = openpyxl.Workbook(write_only=True)
    for sheet in sheets:
        _write(workbook.create_sheet(sheet.title), sheet.headers, sheet.rows)
    workbook.save(path)


def _proposals_sheet(result: AuditResult, annotated: Mapping[str, str]) -> SummarySheet:
    lang = result.lang
    headers = [
        t("col.verdict", lang),
        t("col.proposal", lang),
        t("col.acronym", lang),
        t("col.action", lang),
        t("col.call_year", lang),
        t("col.errors", lang),
        t("col.warnings", lang),
        *[
            field_label(m, lang)
            if m in ("duration_months", "requested_grant_eur")
            else t(f"metric.{m}", lang)
            for m in METRICS
        ],
        t("col.first_finding", lang),
        t("col.file", lang),
    ]
    rows: list[Row] = []
    for proposal in result.proposals:
        first = next(iter(by_importance(proposal.findings)), None)
        values = [
            proposal.proposal_id,
            proposal.acronym,
            proposal.action,
            proposal.call_year,
            proposal.errors,
            proposal.warnings,
            *[proposal.metrics.get(m) for m in METRICS],
            f"{first.code} {first.message}" if first else "",
        ]
        rows.append(
            [
                (
                    t(f"verdict.{proposal.verdict}", lang),
                    str(proposal.verdict),
                    None,
                ),
                *((value, None, None) for value in values),
                (proposal.file, None, annotated.get(proposal.file)),
            ]
        )
    for unreadable in result.files:
        if unreadable.verdict == "unreadable":
            first = next(iter(by_importance(unreadable.findings)), None)
            rows.append(
                [
                    (t("verdict.unreadable", lang), "unreadable", None),
                    *((None, None, None) for _ in range(len(headers) - 3)),
                    (f"{first.code} {first.message}" if first else "", None, None),
                    (unreadable.file, None, None),
                ]
            )
    return SummarySheet(t("summary.proposals_sheet", lang), headers, rows)


def _findings_sheet(result: AuditResult, annotated: Mapping[str, str]) -> SummarySheet:
    lang = result.lang
    headers = [
        t("col.proposal", lang),
        t("col.file", lang),
        t("col.severity", lang),
        t("col.code", lang),
        t("col.rule", lang),
        t("col.sheet", lang),
        t("col.location", lang),
        t("col.message", lang),
        t("col.value", lang),
        t("col.expected", lang),
        t("col.source", lang),
    ]
    found = [(p.proposal_id, p.file, f) for p in result.proposals for f in p.findings]
    found += [("", entry.file, f) for entry in result.files for f in entry.findings]
    rows: list[Row] = []
    for proposal_id, source, finding in found:
        copy = annotated.get(source)
        link = None
        if copy and finding.cell and finding.sheet:
            quoted = "'" + finding.sheet.replace("'", "''") + "'"
            link = f"{copy}#{quoted}!{finding.cell}"
        rows.append(
            [
                (proposal_id, None, None),
                (source, None, None),
                (
                    t(f"severity.{finding.severity}", lang),
                    str(finding.severity),
                    None,
                ),
                (finding.code, None, None),
                (finding.rule, None, None),
                (finding.sheet, None, None),
                (finding.address, None, link),
                (finding.message, None, None),
                (_plain(finding.value), None, None),
                (_plain(finding.expected), None, None),
                (finding.source, None, None),
            ]
        )
    return SummarySheet(t("summary.findings_sheet", lang), headers, rows)


def _write(sheet: Any, headers: list[str], rows: list[Row]) -> None:
    """Headers, then the rows; the filter, the frozen header, the widths and the
    print setup first, as a write-only sheet must have them."""
    size_columns(sheet, [headers, *([value for value, _, _ in row] for row in rows)])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    print_setup(sheet, header_rows="1:1")
    header = []
    for value in headers:
        cell = written(sheet, value, styled=True)
        cell.font = HEADER_FONT
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for value, fill, link in row:
            if fill is None and not link:
                cells.append(written(sheet, value))
                continue
            cell = written(sheet, value, styled=True)
            if fill is not None:
                cell.fill = FILLS[fill]
            if link:
                cell.hyperlink = link
                cell.style = "Hyperlink"
            cells.append(cell)
        sheet.append(cells)


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return value
