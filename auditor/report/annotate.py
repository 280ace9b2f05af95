"""The annotated copy of an input workbook.

A new file (the input is only read): every cell with a finding is filled
(red for an error, amber for a warning) and carries a comment with the code,
rule and message; an added first sheet ("Audit", NL "Controle") lists the
verdicts and findings with links to their cells. Formulas, styles, widths,
data validation, other sheets and macros (.xlsm, kept and never run) stay as
they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.hyperlink import Hyperlink

from auditor.core.findings import Finding, Severity
from auditor.core.results import FileResult, ProposalResult
from auditor.report.excel import (
    HEADER_FONT,
    SEVERITY_FILLS,
    VERDICT_FILLS,
    autosize,
    print_setup,
    put,
)
from auditor.report.i18n import t

AUTHOR = "auditor"


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _target(sheet: Any, address: str) -> Any:
    """The cell to mark: a merged range is marked on its top-left cell."""
    cell = sheet[address]
    if isinstance(cell, MergedCell):
        for merged in sheet.merged_cells.ranges:
            if address in merged:
                return sheet.cell(row=merged.min_row, column=merged.min_col)
    return cell


def _mark(workbook: Any, sheet_name: str, address: str, findings: list[Finding]) -> None:
    sheet = workbook[sheet_name]
    cell = _target(sheet, address)
    worst = "error" if any(f.severity is Severity.ERROR for f in findings) else "warning"
    cell.fill = SEVERITY_FILLS[worst]
    text = "\n".join(f"{f.code} {f.rule} ({f.severity}): {f.message}" for f in findings)
    if cell.comment is not None and cell.comment.text:
        text = f"{cell.comment.text}\n---\n{text}"
    comment = Comment(text, AUTHOR)
    comment.width = 320
    comment.height = 40 + 18 * (text.count("\n") + 2)
    cell.comment = comment


def annotate(
    source: Path,
    file: FileResult,
    proposals: Sequence[ProposalResult],
    lang: str,
) -> Any:
    """The annotated copy of ``source`` as an openpyxl workbook (report/outputs.py saves it).

    The input is loaded and never saved: only the returned copy is written,
    and only into the output folder.
    """
    workbook = openpyxl.load_workbook(
        source, keep_vba=source.suffix.lower() == ".xlsm", keep_links=True
    )
    findings = list(file.findings) + [f for p in proposals for f in p.findings]
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.sheet and finding.sheet in workbook.sheetnames and finding.cell:
            by_cell.setdefault((finding.sheet, str(finding.cell)), []).append(finding)
    for (sheet_name, address), found in by_cell.items():
        _mark(workbook, sheet_name, address, found)
    sheet = workbook.create_sheet(t("audit.sheet", lang), 0)
    _audit_sheet(sheet, workbook.sheetnames, file, proposals, lang)
    workbook.active = 0
    for other in workbook.worksheets[1:]:
        other.sheet_view.tabSelected = False
    return workbook


def _audit_sheet(
    sheet: Any,
    sheet_names: list[str],
    file: FileResult,
    proposals: Sequence[ProposalResult],
    lang: str,
) -> None:
    put(sheet, 1, 1, t("audit.title", lang)).font = Font(bold=True, size=14)
    put(sheet, 2, 1, file.file)
    put(sheet, 3, 1, t("audit.intro", lang)).alignment = Alignment(wrap_text=False)
    row = 5
    for proposal in proposals:
        put(sheet, row, 1, t("audit.proposal", lang)).font = HEADER_FONT
        # The ID runs on over the two empty cells beside it (IDs run to 31
        # characters); the verdict comes after them.
        put(sheet, row, 2, proposal.proposal_id)
        verdict_text = f"{t('audit.verdict', lang)}: {t(f'verdict.{proposal.verdict}', lang)}"
        verdict = put(sheet, row, 5, verdict_text)
        verdict.fill = VERDICT_FILLS[str(proposal.verdict)]
        verdict.font = HEADER_FONT
        row = _findings_table(sheet, row + 1, list(proposal.findings), sheet_names, lang)
    if file.findings:
        row = _findings_table(sheet, row, list(file.findings), sheet_names, lang)
    sheet.freeze_panes = "A5"
    autosize(sheet, {1: 18, 2: 14, 3: 10, 4: 28, 5: 100})
    print_setup(sheet, header_rows="1:4")  # the title, the file and how to read it


def _findings_table(
    sheet: Any, row: int, findings: list[Finding], sheet_names: list[str], lang: str
) -> int:
    headers = ("col.location", "col.severity", "col.code", "col.rule", "col.message")
    for column, key in enumerate(headers, start=1):
        put(sheet, row, column, t(key, lang)).font = HEADER_FONT
    row += 1
    if not findings:
        put(sheet, row, 1, t("audit.none", lang))
        return row + 2
    for finding in findings:
        where = finding.location or "—"
        link = put(sheet, row, 1, where)
        if finding.sheet in sheet_names:
            location = f"{_quoted(finding.sheet or '')}!{finding.cell or 'A1'}"
            link.hyperlink = Hyperlink(ref=link.coordinate, location=location, display=where)
            link.style = "Hyperlink"
        severity = put(sheet, row, 2, t(f"severity.{finding.severity}", lang))
        severity.fill = SEVERITY_FILLS[str(finding.severity)]
        put(sheet, row, 3, finding.code)
        put(sheet, row, 4, finding.rule)
        put(sheet, row, 5, finding.message)
        row += 1
    return row + 1
