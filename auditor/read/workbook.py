"""Reading one workbook with fastexcel (calamine) into raw frames with cell origins.

Every sheet is loaded as text, with no header and no skipped rows, so frame row
``i`` is Excel row ``i + 1`` and every value keeps its address. Header rows,
labels and sheet names are recognised in English and Dutch; what cannot be
understood becomes a finding for this file alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import fastexcel
import polars as pl

from auditor.core.config import Limits
from auditor.core.findings import Cell, FindingDraft, column_letter
from auditor.core.tables import table_spec
from auditor.normalise.text import clean_cell
from auditor.read.discover import WORKBOOK_SUFFIXES, InputFile
from auditor.read.guard import load
from auditor.read.headers import HEADER_SEARCH_ROWS, HeaderMatcher, matcher, sheet_matches
from auditor.read.model import PKEY, FileRead, PartnerTable, ProposalSource

# Columns a partner row must have a header for; OID or PIC is checked apart.
_PARTNER_REQUIRED = ("role", "organisation_name", "country", "organisation_type")


class _Unreadable(Exception):
    """Raised inside the reader to give up on a file with a finding."""

    def __init__(self, draft: FindingDraft) -> None:
        super().__init__(draft.rule)
        self.draft = draft


@dataclass(slots=True)
class Sheet:
    """A sheet as text: rows of cells and the Excel column letter of each position."""

    name: str
    frame: pl.DataFrame
    letters: list[str]

    def head_rows(self, count: int) -> list[tuple[Any, ...]]:
        return self.frame.head(count).rows()


@dataclass(slots=True)
class FileContent:
    """What one file gave: proposals (raw project values), its partner table, findings.

    The partner table's rows are taken as they are (one column per recognised
    header, plus ``_row``); which rows are partners, and which proposal each
    belongs to, is decided for the whole batch at once (read/partners.py),
    because a handful of polars operations per file would cost more than the
    reading itself.
    """

    read: FileRead
    sources: list[ProposalSource] = field(default_factory=list)
    project_rows: list[dict[str, str | None]] = field(default_factory=list)
    partner_rows: pl.DataFrame | None = None
    partner_table: PartnerTable | None = None
    # Export layout: proposal ID -> proposal key; None for one proposal per file.
    proposal_ids: dict[str, str] | None = None
    drafts: dict[str, list[FindingDraft]] = field(default_factory=dict)


def rekey_content(content: FileContent, item: InputFile) -> FileContent:
    """What a file gave in an earlier run, for its place (index and path) in this run.

    Proposal keys are "<file index>:<n>", and the file's index depends on
    what else the run reads (an incremental run takes unchanged files' rows
    from its state, read/batch.py batch_of).
    """

    def key(pkey: str) -> str:
        return f"{item.index}:{pkey.partition(':')[2]}"

    read = content.read
    return FileContent(
        FileRead(
            file=item.display,
            relative=item.relative,
            index=item.index,
            proposals=[key(p) for p in read.proposals],
            drafts=list(read.drafts),
            unreadable=read.unreadable,
        ),
        sources=[
            replace(s, pkey=key(s.pkey), file=item.display, relative=item.relative)
            for s in content.sources
        ],
        project_rows=[{**row, PKEY: key(row[PKEY] or "")} for row in content.project_rows],
        partner_rows=content.partner_rows,
        partner_table=content.partner_table,
        proposal_ids=(
            None
            if content.proposal_ids is None
            else {pid: key(pkey) for pid, pkey in content.proposal_ids.items()}
        ),
        drafts={key(pkey): drafts for pkey, drafts in content.drafts.items()},
    )


def unreadable(variant: str = "default", **params: Any) -> _Unreadable:
    return _Unreadable(FindingDraft("unreadable-file", params={"variant": variant, **params}))


def _describe(error: BaseException) -> str:
    """The first line of a reader error, without the file path (the finding names the file)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text.removeprefix("calamine error: ")[:300]


def load_sheet(reader: Any, name: str, limits: Limits) -> Sheet:
    try:
        sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
        if sheet.total_height > limits.max_rows:
            raise unreadable(
                "too-many-rows", sheet=name, rows=sheet.total_height, limit=limits.max_rows
            )
        letters = [column_letter(info.absolute_index + 1) for info in sheet.available_columns()]
        frame = sheet.to_polars()
    except _Unreadable:
        raise
    except Exception as error:  # calamine reports broken sheets with many error types
        raise unreadable(detail=f"sheet {name}: {_describe(error)}") from error
    return Sheet(name, frame, letters)


def read_file(item: InputFile, limits: Limits) -> FileContent:
    """Read one file; never raises for a problem with the file itself."""
    content = FileContent(FileRead(file=item.display, relative=item.relative, index=item.index))
    try:
        _read_into(content, item, limits)
    except _Unreadable as problem:
        content.read.unreadable = True
        content.read.drafts.append(problem.draft)
        content.sources.clear()
        content.project_rows.clear()
        content.partner_rows = None
        content.partner_table = None
        content.proposal_ids = None
        content.drafts.clear()
        content.read.proposals.clear()
    return content


def _read_into(content: FileContent, item: InputFile, limits: Limits) -> None:
    if item.refusal == "not-regular":
        raise unreadable("not-regular", kind=item.detail)
    if item.refusal == "link-outside":
        raise unreadable("link-outside", target=item.detail)
    suffix = item.path.suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES:
        raise unreadable("unsupported", suffix=suffix or "(none)")
    data, refusal = load(item.path, limits, item.identity)
    if refusal is not None or data is None:
        raise _Unreadable(refusal or unreadable().draft)
    try:
        reader = fastexcel.read_excel(data)
        names: list[str] = list(reader.sheet_names)
    except Exception as error:
        raise unreadable(detail=_describe(error)) from error

    project_spec, partner_spec = table_spec("project"), table_spec("partners")
    project_sheet = next((n for n in names if sheet_matches(n, project_spec.sheet)), None)
    partner_sheet = next((n for n in names if sheet_matches(n, partner_spec.sheet)), None)
    list_sheet = None
    if project_spec.list_sheet is not None:
        list_sheet = next((n for n in names if sheet_matches(n, project_spec.list_sheet)), None)

    if list_sheet is not None:
        _read_export(content, item, reader, list_sheet, partner_sheet, limits)
    elif project_sheet is not None:
        _read_single(content, item, reader, project_sheet, partner_sheet, limits)
    else:
        expected = (
            f"{project_spec.sheet.label('en')} / {project_spec.list_sheet.label('en')}"
            if (project_spec.list_sheet)
            else project_spec.sheet.label("en")
        )
        raise _Unreadable(
            FindingDraft(
                "missing-sheet", params={"found": ", ".join(names) or "-"}, expected=expected
            )
        )


# ---------------------------------------------------------------- one proposal per workbook


def _project_values(
    sheet: Sheet, matcher: HeaderMatcher
) -> tuple[dict[str, str | None], dict[str, Cell]]:
    """Label/value pairs of a Project sheet: the value sits in the cell next to its label.

    Cells further right are guidance or comments, never values: an empty
    value cell is an empty value (workbook-format.md v2). The one exception
    is the whole sheet's layout, not a row's: where labels are merged over
    two columns, the values of (nearly) every row sit two cells right, and
    that is the value column. A row whose label is a field's exact label
    wins over an earlier row that matched the field by an alias.
    """
    rows = sheet.frame.rows()
    labelled: list[tuple[int, int, str, bool]] = []  # (row, label position, key, exact)
    for index, row in enumerate(rows):
        position = next((p for p, cell in enumerate(row) if cell and not cell.isspace()), None)
        if position is None:
            continue
        matched = matcher.match(row[position])
        if matched is not None:
            labelled.append((index, position, *matched))
    offset = _value_offset(rows, labelled)
    values: dict[str, str | None] = {}
    cells: dict[str, Cell] = {}
    exact_keys: set[str] = set()
    for index, position, key, exact in labelled:
        if key in values and (key in exact_keys or not exact):
            continue  # the first row wins, unless a later one has the exact label
        value_position = position + offset
        row = rows[index]
        values[key] = clean_cell(row[value_position]) if value_position < len(row) else None
        letter = (
            sheet.letters[value_position]
            if value_position < len(sheet.letters)
            else column_letter(_column_number(sheet.letters[position]) + offset)
        )
        cells[key] = Cell(letter, index + 1)
        if exact:
            exact_keys.add(key)
    if not values:
        # A Project sheet laid out as a one-row table instead of label/value pairs.
        found = matcher.find_header(rows)
        if found is not None:
            header_index, mapping = found
            for data_index in range(header_index + 1, len(rows)):
                row = rows[data_index]
                if any(clean_cell(row[p]) for p in mapping):
                    for position, key in mapping.items():
                        values[key] = clean_cell(row[position])
                        cells[key] = Cell(sheet.letters[position], data_index + 1)
                    break
    return values, cells


def _value_offset(
    rows: Sequence[Sequence[Any]], labelled: Sequence[tuple[int, int, str, bool]]
) -> int:
    """How far right of its label a value sits on this sheet: 1, or 2 where (nearly)
    every filled row has its value two cells right (labels merged over two columns)."""
    next_cell = two_right = 0
    for index, position, _, _ in labelled:
        row = rows[index]
        if position + 1 < len(row) and clean_cell(row[position + 1]) is not None:
            next_cell += 1
        elif position + 2 < len(row) and clean_cell(row[position + 2]) is not None:
            two_right += 1
    return 2 if two_right > 2 * next_cell and two_right >= 3 else 1


def _column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def _read_single(
    content: FileContent,
    item: InputFile,
    reader: Any,
    project_name: str,
    partner_name: str | None,
    limits: Limits,
) -> None:
    project_spec = table_spec("project")
    sheet = load_sheet(reader, project_name, limits)
    values, cells = _project_values(sheet, matcher("project"))
    pkey = f"{item.index}:0"
    drafts: list[FindingDraft] = []
    for key in project_spec.required_keys():
        if key not in values:
            # The field's row is absent altogether: say so once, on the sheet.
            drafts.append(FindingDraft("missing-value", sheet=project_name, column=key))
    table: PartnerTable | None = None
    if partner_name is None:
        drafts.append(
            FindingDraft(
                "missing-sheet",
                params={"found": ", ".join(reader.sheet_names)},
                expected=table_spec("partners").sheet.label("en"),
            )
        )
    else:
        partners = load_sheet(reader, partner_name, limits)
        table, frame, table_drafts = _partner_table(partners)
        drafts.extend(table_drafts)
        content.partner_rows, content.partner_table = frame, table
    content.sources.append(
        ProposalSource(
            pkey=pkey,
            file=item.display,
            relative=item.relative,
            layout="single",
            project_sheet=project_name,
            project_cells=cells,
            project_row=None,
            partners=table,
            partners_complete=table is not None and not drafts_block_partners(drafts),
        )
    )
    content.project_rows.append({PKEY: pkey, **values})
    content.read.proposals.append(pkey)
    if drafts:
        content.drafts[pkey] = drafts


def drafts_block_partners(drafts: Sequence[FindingDraft]) -> bool:
    """Whether the partner table is too incomplete to judge the consortium."""
    return any(d.rule in ("missing-sheet", "missing-column") for d in drafts)


def _partner_table(
    sheet: Sheet,
) -> tuple[PartnerTable | None, pl.DataFrame | None, list[FindingDraft]]:
    """Find the header row of a partner table and take its rows.

    Returns the table's location, its rows as raw text (one column per key),
    and findings about missing columns.
    """
    # Nearly every header sits in the first rows: look there before further down.
    found = matcher("partners").find_header(sheet.head_rows(10)) or matcher("partners").find_header(
        sheet.head_rows(HEADER_SEARCH_ROWS)
    )
    if found is None:
        return (
            None,
            None,
            [FindingDraft("missing-column", params={"variant": "no-header"}, sheet=sheet.name)],
        )
    header_index, mapping = found
    header_row = header_index + 1
    letters = {key: sheet.letters[position] for position, key in mapping.items()}
    table = PartnerTable(sheet=sheet.name, header_row=header_row, letters=letters)
    drafts = [
        FindingDraft(
            "missing-column",
            sheet=sheet.name,
            cell=None,
            column=key,
            params={"row": header_row},
        )
        for key in _PARTNER_REQUIRED
        if key not in letters
    ]
    if "oid" not in letters and "pic" not in letters:
        drafts.append(
            FindingDraft(
                "missing-column", sheet=sheet.name, column="oid", params={"row": header_row}
            )
        )
    return table, _table_rows(sheet, header_index, mapping), drafts


def _table_rows(sheet: Sheet, header_index: int, mapping: dict[int, str]) -> pl.DataFrame:
    """Everything below the header row, a column per recognised header.

    Made without a polars query (a slice and new names cost microseconds, a
    select or drop tens of them): columns without a recognised header keep
    a placeholder name (``_x<position>``) and are dropped for the whole
    batch at once, where each row also gets its file and Excel row
    (read/partners.py).
    """
    rows = sheet.frame.slice(header_index + 1)
    rows.columns = [mapping.get(position, f"_x{position}") for position in range(rows.width)]
    return rows


# ---------------------------------------------------------------- many proposals per workbook


def _read_export(
    content: FileContent,
    item: InputFile,
    reader: Any,
    list_name: str,
    partner_name: str | None,
    limits: Limits,
) -> None:
    project_spec = table_spec("project")
    sheet = load_sheet(reader, list_name, limits)
    rows = sheet.frame.rows()
    found = matcher("project").find_header(rows)
    if found is None:
        raise _Unreadable(
            FindingDraft("missing-column", params={"variant": "no-header"}, sheet=list_name)
        )
    header_index, mapping = found
    header_drafts = [
        FindingDraft(
            "missing-column", sheet=list_name, column=key, params={"row": header_index + 1}
        )
        for key in project_spec.required_keys()
        if key not in mapping.values()
    ]
    ids: dict[str, str] = {}
    repeated: set[str] = set()  # proposals whose ID an earlier row already has
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        values = {key: clean_cell(row[p]) for p, key in mapping.items()}
        if not any(values.values()):
            continue
        pkey = f"{item.index}:{len(content.sources)}"
        cells = {key: Cell(sheet.letters[p], index + 1) for p, key in mapping.items()}
        content.project_rows.append({PKEY: pkey, **values})
        content.read.proposals.append(pkey)
        content.sources.append(
            ProposalSource(
                pkey=pkey,
                file=item.display,
                relative=item.relative,
                layout="export",
                project_sheet=list_name,
                project_cells=cells,
                project_row=index + 1,
                partners=None,
                partners_complete=False,
            )
        )
        if header_drafts:
            content.drafts[pkey] = list(header_drafts)
        proposal_id = values.get("proposal_id")
        if proposal_id is not None:
            if proposal_id in ids:
                repeated.add(pkey)
            ids.setdefault(proposal_id, pkey)
    if not content.sources:  # a header and nothing under it: say so, as for a file of nothing
        params = {"variant": "no-proposals", "sheet": list_name, "row": header_index + 1}
        raise _Unreadable(FindingDraft("unreadable-file", sheet=list_name, params=params))

    if partner_name is None:
        draft = FindingDraft(
            "missing-sheet",
            params={"found": ", ".join(reader.sheet_names)},
            expected=table_spec("partners").sheet.label("en"),
        )
        for source in content.sources:
            content.drafts.setdefault(source.pkey, []).append(draft)
        return
    partners = load_sheet(reader, partner_name, limits)
    table, frame, drafts = _partner_table(partners)
    if table is not None and "proposal_id" not in table.letters:
        drafts.append(
            FindingDraft(
                "missing-column",
                sheet=partner_name,
                column="proposal_id",
                params={"row": table.header_row},
            )
        )
    if drafts or frame is None or table is None:
        for source in content.sources:
            content.drafts.setdefault(source.pkey, []).extend(drafts)
        content.sources[:] = [_with_partners(s, table, complete=False) for s in content.sources]
        return
    content.partner_rows, content.partner_table, content.proposal_ids = frame, table, ids
    # Partner rows go to the first proposal with their ID; a later proposal
    # with the same ID cannot be told apart, so its consortium is not judged
    # (its duplicate-proposal-id finding says why).
    content.sources[:] = [
        _with_partners(s, table, complete=s.pkey not in repeated) for s in content.sources
    ]


def _with_partners(
    source: ProposalSource, table: PartnerTable | None, complete: bool
) -> ProposalSource:
    return replace(source, partners=table, partners_complete=complete)
