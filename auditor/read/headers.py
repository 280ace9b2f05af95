"""Recognising sheet names, header rows and field labels, in English and Dutch."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from auditor.core.tables import SheetNames, TableSpec, table_spec
from auditor.normalise.text import match_key

# A header row is the first row with at least this many recognised headers
# (workbook-format.md); title rows above it are allowed.
MIN_HEADERS = 2
# How far down a sheet the header row is looked for.
HEADER_SEARCH_ROWS = 50


class HeaderMatcher:
    """Maps header or label text to column keys for one table declaration."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self._lookup: dict[str, str] = {}
        for key, column in spec.columns.items():
            for name in column.names():
                self._lookup.setdefault(match_key(name), key)

    def key(self, text: object) -> str | None:
        return self._lookup.get(match_key(text)) if text is not None else None

    def map_row(self, row: Sequence[object]) -> dict[int, str]:
        """Column position -> key for the recognised cells of one row (first one wins)."""
        mapping: dict[int, str] = {}
        taken: set[str] = set()
        for position, cell in enumerate(row):
            key = self.key(cell)
            if key is not None and key not in taken:
                mapping[position] = key
                taken.add(key)
        return mapping

    def find_header(self, rows: Sequence[Sequence[object]]) -> tuple[int, dict[int, str]] | None:
        """The first row with enough recognised headers, and its column mapping."""
        for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            mapping = self.map_row(row)
            if len(mapping) >= MIN_HEADERS:
                return index, mapping
        return None


def sheet_matches(name: str, names: SheetNames) -> bool:
    key = match_key(name)
    return any(key == match_key(candidate) for candidate in names.names())


@cache
def matcher(name: str) -> HeaderMatcher:
    """The matcher of table ``partners`` or ``project``, built once."""
    return HeaderMatcher(table_spec(name))
