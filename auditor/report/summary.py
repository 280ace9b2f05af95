"""``summary.xlsx``: the proposals and the findings, for people who live in Excel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from auditor.aggregate import METRICS
from auditor.core.findings import by_importance
from auditor.core.results import AuditResult
from auditor.core.tables import field_label
from auditor.report.excel import (
    HEADER_FONT,
    SEVERITY_FILLS,
    VERDICT_FILLS,
    autosize,
    print_setup,
    put,
)
from auditor.report.i18n import t


def build_summary(result: AuditResult, annotated: Mapping[str, str]) -> Any:
    """Two sheets with filters, frozen headers, verdict colours and links to the copies.

    ``annotated`` maps an input file to its annotated copy, relative to the
    output folder. Returns the openpyxl workbook; report/outputs.py saves it.
    """
    lang = result.lang
    workbook = openpyxl.Workbook()
    proposals = workbook.active
    proposals.title = t("summary.proposals_sheet", lang)
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
    for column, header in enumerate(headers, start=1):
        put(proposals, 1, column, header).font = HEADER_FONT
    for row, proposal in enumerate(result.proposals, start=2):
        verdict = put(proposals, row, 1, t(f"verdict.{proposal.verdict}", lang))
        verdict.fill = VERDICT_FILLS[str(proposal.verdict)]
        values = [
            proposal.proposal_id,
            proposal.acronym,
            proposal.action,
            proposal.call_year,
            proposal.errors,
            proposal.warnings,
            *[proposal.metrics.get(m) for m in METRICS],
        ]
        for column, value in enumerate(values, start=2):
            put(proposals, row, column, value)
        first = next(iter(by_importance(proposal.findings)), None)
        put(proposals, row, len(headers) - 1, f"{first.code} {first.message}" if first else "")
        _file_link(proposals, row, len(headers), proposal.file, annotated.get(proposal.file))
    for unreadable in result.files:
        if unreadable.verdict == "unreadable":
            row = proposals.max_row + 1
            put(proposals, row, 1, t("verdict.unreadable", lang)).fill = VERDICT_FILLS["unreadable"]
            first = next(iter(by_importance(unreadable.findings)), None)
            put(proposals, row, len(headers) - 1, f"{first.code} {first.message}" if first else "")
            put(proposals, row, len(headers), unreadable.file)
    _finish(proposals, len(headers))

    findings = workbook.create_sheet(t("summary.findings_sheet", lang))
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
    for column, header in enumerate(headers, start=1):
        put(findings, 1, column, header).font = HEADER_FONT
    row = 1
    rows = [(p.proposal_id, p.file, f) for p in result.proposals for f in p.findings]
    rows += [("", entry.file, f) for entry in result.files for f in entry.findings]
    for proposal_id, source, finding in rows:
        row += 1
        put(findings, row, 1, proposal_id)
        put(findings, row, 2, source)
        put(findings, row, 3, t(f"severity.{finding.severity}", lang)).fill = SEVERITY_FILLS[
            str(finding.severity)
        ]
        put(findings, row, 4, finding.code)
        put(findings, row, 5, finding.rule)
        put(findings, row, 6, finding.sheet)
        copy = annotated.get(source)
        if copy and finding.cell and finding.sheet:
            cell = put(findings, row, 7, finding.address)
            quoted = "'" + finding.sheet.replace("'", "''") + "'"
            cell.hyperlink = f"{copy}#{quoted}!{finding.cell}"
            cell.style = "Hyperlink"
        else:
            put(findings, row, 7, finding.address)
        put(findings, row, 8, finding.message)
        put(findings, row, 9, _plain(finding.value))
        put(findings, row, 10, _plain(finding.expected))
        put(findings, row, 11, finding.source)
    _finish(findings, len(headers))
    return workbook


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return value


def _file_link(sheet: object, row: int, column: int, file: str, copy: str | None) -> None:
    cell = put(sheet, row, column, file)
    if copy:
        cell.hyperlink = copy
        cell.style = "Hyperlink"


def _finish(sheet: Any, columns: int) -> None:
    sheet.freeze_panes = "A2"
    last = max(sheet.max_row, 1)
    sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{last}"
    autosize(sheet)
    print_setup(sheet, header_rows="1:1")
