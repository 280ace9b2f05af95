"""What the reader hands on: raw frames with every row's origin, and where each value sits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from auditor.core.findings import Cell, FindingDraft, Place
from auditor.core.tables import table_spec

# Column names the reader adds to the raw frames. ``_pkey`` identifies a
# proposal within the batch ("<file index>:<n>"), ``_row`` is the 1-based
# Excel row of a partner.
PKEY = "_pkey"
ROW = "_row"
FID = "_fid"  # the file a row was read from (its index in the batch)


def project_keys() -> tuple[str, ...]:
    return tuple(table_spec("project").columns)


def partner_keys() -> tuple[str, ...]:
    return tuple(table_spec("partners").columns)


def empty_projects() -> pl.DataFrame:
    return pl.DataFrame(schema={PKEY: pl.String, **dict.fromkeys(project_keys(), pl.String)})


def empty_partners() -> pl.DataFrame:
    return pl.DataFrame(
        schema={PKEY: pl.String, ROW: pl.Int32, **dict.fromkeys(partner_keys(), pl.String)}
    )


@dataclass(frozen=True, slots=True)
class PartnerTable:
    """Where a partner table sits: its sheet, header row and column letters."""

    sheet: str
    header_row: int
    letters: dict[str, str]  # column key -> Excel column letter

    def header_cell(self, key: str) -> Cell | None:
        return self.cell(key, self.header_row)

    def cell(self, key: str, row: int) -> Cell | None:
        """The one place a partner value is located: its column's letters, the row."""
        letter = self.letters.get(key)
        return Cell(letter, row) if letter else None


@dataclass(frozen=True, slots=True)
class ProposalSource:
    """Where one proposal's values sit in its workbook."""

    pkey: str
    file: str  # display path
    relative: str
    layout: str  # "single" (Project sheet) or "export" (Proposals sheet)
    project_sheet: str
    project_cells: dict[str, Cell]  # field key -> the value's cell
    project_row: int | None  # the proposal's row on a Proposals sheet
    partners: PartnerTable | None
    # False when the partner table is missing or lacks required columns: the
    # consortium cannot be judged, and its rules stay silent (the missing
    # sheet or column is the finding).
    partners_complete: bool = True

    def project_cell(self, key: str) -> Cell | None:
        return self.project_cells.get(key)

    def project_place(self, key: str, fallback: str | None = None) -> Place:
        """Where the Project field ``key`` sits (where ``fallback`` sits, if it has no cell)."""
        cell = self.project_cells.get(key)
        if cell is None and fallback is not None:
            cell = self.project_cells.get(fallback)
        return Place(self.project_sheet, cell, key)


def partner_place(table: PartnerTable | None, key: str, row: int) -> Place:
    """Where a partner row's value of ``key`` sits (only the field, without a table)."""
    if table is None:
        return Place(column=key)
    return Place(table.sheet, table.cell(key, row), key)


@dataclass(slots=True)
class FileRead:
    """The outcome of reading one file."""

    file: str
    relative: str
    index: int
    proposals: list[str] = field(default_factory=list)
    drafts: list[FindingDraft] = field(default_factory=list)  # not tied to a proposal
    unreadable: bool = False


@dataclass(slots=True)
class ReadBatch:
    """Everything read from a batch of files, ready to be normalised in one go."""

    files: list[FileRead] = field(default_factory=list)
    sources: dict[str, ProposalSource] = field(default_factory=dict)
    drafts: dict[str, list[FindingDraft]] = field(default_factory=dict)  # per proposal
    projects: pl.DataFrame = field(default_factory=empty_projects)
    partners: pl.DataFrame = field(default_factory=empty_partners)
    # What each file gave (read/workbook.py FileContent), when asked to keep it.
    contents: list[Any] = field(default_factory=list)

    @classmethod
    def merge(cls, parts: list[ReadBatch]) -> ReadBatch:
        merged = cls()
        for part in parts:
            merged.files.extend(part.files)
            merged.sources.update(part.sources)
            for pkey, drafts in part.drafts.items():
                merged.drafts.setdefault(pkey, []).extend(drafts)
        merged.files.sort(key=lambda f: f.index)
        projects = [p.projects for p in parts if p.projects.height]
        partners = [p.partners for p in parts if p.partners.height]
        if projects:
            merged.projects = pl.concat(projects, how="vertical")
        if partners:
            merged.partners = pl.concat(partners, how="vertical", rechunk=True)
        return merged
