"""The finding: one problem, pointing at one cell when there is one.

A finding is a frozen record that keeps the raw values beside the message, so the
JSON, Excel and HTML renderers can show numbers without parsing prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Scalar = str | int | float | bool | None
Value = Scalar | tuple[Scalar, ...]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    UNREADABLE = "unreadable"


_CELL = re.compile(r"^([A-Z]{1,3})([1-9][0-9]*)$")


def column_letter(index: int) -> str:
    """Excel column letter of a 1-based column index (1 -> A, 27 -> AA)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """1-based column index of an Excel column letter (A -> 1, AA -> 27)."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a sheet: its column letters and its 1-based Excel row.

    The reader makes it where it finds a value (``PartnerTable.cell``,
    ``ProposalSource.project_cell``) and every stage after it keeps it as is:
    nothing parses an address string again, except text read from outside
    (the state of an incremental run).
    """

    column: str  # "F", "AA"
    row: int

    def __str__(self) -> str:
        return f"{self.column}{self.row}"

    @property
    def column_number(self) -> int:
        return column_index(self.column)

    def order(self) -> tuple[int, int]:
        """Reading order: row, then column (AA after Z)."""
        return (self.row, self.column_number)

    @classmethod
    def parse(cls, text: str) -> Cell:
        """``"F7"`` read back from outside (the state); anything else is a ValueError."""
        match = _CELL.match(text)
        if match is None:
            raise ValueError(f"not a cell address: {text!r}")
        return cls(match.group(1), int(match.group(2)))


@dataclass(frozen=True, slots=True)
class Place:
    """Where a finding points: its sheet, its cell, and the field (column key) there.

    Made by the read model (``partner_place``, ``ProposalSource.project_place``)
    for every stage that reports on a value: one way to locate it.
    """

    sheet: str | None = None
    cell: Cell | None = None
    column: str | None = None


def by_fields(value: Any) -> tuple[type, tuple[Any, ...]]:
    """``__reduce__`` of the result dataclasses: the constructor and the field values.

    Results travel from the worker processes and are kept in the state of
    incremental runs by the ten thousand; pickle's default for a slotted
    dataclass (a ``__setstate__`` looking up the fields of every object) costs
    five times as much to load.
    """
    return type(value), tuple(getattr(value, name) for name in value.__slots__)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a workbook.

    ``cell`` is where it points (column letters and 1-based Excel row, shown
    as the address a person types into Excel's name box); ``column`` is the
    field key (``"country"``), not the letter.
    ``value`` is what the cell holds (or the measured value of a proposal-level
    rule) and ``expected`` what the rule wanted; ``params`` the other values
    the message was made from (JSON values). ``file`` is the workbook, as
    shown (core/filenames.py).

    It is the one shape of a finding after the catalogue put it into words:
    the state keeps it (state/blobs.py), the comparison of two runs compares
    it (state/changes.py), and every renderer reads it.
    """

    code: str
    rule: str
    severity: Severity
    message: str
    sheet: str | None = None
    cell: Cell | None = None
    column: str | None = None
    value: Value = None
    expected: Value = None
    source: str | None = None
    file: str | None = None
    params: dict[str, Value] = field(default_factory=dict)

    @property
    def row(self) -> int | None:
        return self.cell.row if self.cell else None

    @property
    def column_letter(self) -> str | None:
        return self.cell.column if self.cell else None

    @property
    def address(self) -> str | None:
        """The cell as text ("F7"), or None."""
        return str(self.cell) if self.cell else None

    def identity(self) -> tuple[str, str | None, Cell | None]:
        """The same finding in two runs: the same code at the same place (its
        message may name values that changed)."""
        return (self.code, self.sheet, self.cell)

    def sort_key(self) -> tuple[str, int, int, str]:
        """Findings sort by sheet, row, column, code (outputs.md)."""
        row, column = self.cell.order() if self.cell else (0, 0)
        return (self.sheet or "", row, column, self.code)

    @property
    def location(self) -> str:
        """``Partners!F7`` style address, or the sheet alone, or empty."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or ""

    __reduce__ = by_fields

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "sheet": self.sheet,
            "cell": self.address,
            "row": self.row,
            "column": self.column,
            "value": list(self.value) if isinstance(self.value, tuple) else self.value,
            "expected": list(self.expected) if isinstance(self.expected, tuple) else self.expected,
            "source": self.source,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()},
        }


def merged_drafts(
    *sources: Mapping[str, Iterable[FindingDraft]],
) -> dict[str, list[FindingDraft]]:
    """The drafts of ``sources`` by proposal key, each key's in the order of the sources
    (what the reader found, then validation, then the rules)."""
    drafts: dict[str, list[FindingDraft]] = {}
    for source in sources:
        for key, found in source.items():
            drafts.setdefault(key, []).extend(found)
    return drafts


def sort_findings(findings: list[Finding] | tuple[Finding, ...]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=Finding.sort_key))


def by_importance(findings: tuple[Finding, ...] | list[Finding]) -> list[Finding]:
    """Errors before warnings, each in sheet/row/column order: the order in which
    every output that shows "the first finding" (terminal, batch page,
    summary.xlsx) picks it."""
    return sorted(findings, key=lambda f: (f.severity is not Severity.ERROR, f.sort_key()))


def verdict_of(findings: tuple[Finding, ...] | list[Finding]) -> Verdict:
    """Ineligible as soon as one finding is an error; warnings are allowed."""
    if any(f.severity is Severity.ERROR for f in findings):
        return Verdict.INELIGIBLE
    return Verdict.ELIGIBLE


@dataclass(frozen=True, slots=True)
class FindingDraft:
    """A finding before it is put into words.

    Every stage reports drafts: the rule name, where, and the values. The
    catalogue turns them into findings in the chosen language at the end, so no
    stage needs to know the language, and the rule set of an action can give
    its own severity and source citation.
    """

    rule: str
    params: dict[str, Any] = field(default_factory=dict)
    sheet: str | None = None
    cell: Cell | None = None
    column: str | None = None
    value: Any = None
    expected: Any = None
    severity: Severity | None = None
    source: str | None = None

    @classmethod
    def at(cls, rule: str, place: Place, **fields: Any) -> FindingDraft:
        """A draft of ``rule`` pointing at ``place``."""
        return cls(rule, sheet=place.sheet, cell=place.cell, column=place.column, **fields)
