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
    """Maps header or label text to column keys for one table declaration.

    A text matches when its matching key *equals* one of a column's names
    (workbook-format.md v2): never by prefix or containment. The contract's
    own labels (and the key) are exact names and always win over another
    column's aliases, and where two cells match one column, the one with an
    exact name is that column and the other an extra column.
    """

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self._exact: dict[str, str] = {}
        self._alias: dict[str, str] = {}
        for key, column in spec.columns.items():
            for name in (key, *column.labels.values()):
                self._exact.setdefault(match_key(name), key)
        for key, column in spec.columns.items():
            for alias in column.aliases:
                self._alias.setdefault(match_key(alias), key)

    def match(self, text: object) -> tuple[str, bool] | None:
        """(column key, whether by an exact label) for a header or label text."""
        if text is None:
            return None
        found = match_key(text)
        key = self._exact.get(found)
        if key is not None:
            return key, True
        key = self._alias.get(found)
        return (key, False) if key is not None else None

    def key(self, text: object) -> str | None:
        matched = self.match(text)
        return matched[0] if matched else None

    def map_row(self, row: Sequence[object]) -> dict[int, str]:
        """Column position -> key for the recognised cells of one row.

        One position per key: the first exact label, else the first alias.
        """
        best: dict[str, tuple[bool, int]] = {}
        for position, cell in enumerate(row):
            matched = self.match(cell)
            if matched is None:
                continue
            key, exact = matched
            if key not in best or (exact and not best[key][0]):
                best[key] = (exact, position)
        return {
            position: key for key, (_, position) in sorted(best.items(), key=lambda kv: kv[1][1])
        }

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
