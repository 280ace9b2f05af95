"""pandera schemas built from the declarations in ``schemas/*.yaml``.

Every check is named after the rule a failure is reported under
(``invalid-oid``, ``unknown-country``, ...), optionally with a message variant
after a colon (``invalid-number:negative``). The checks look at the ``n__``
columns the normaliser filled: a value that is present but could not be
understood fails; an empty value is only ever ``missing-value`` (pandera
leaves nulls to the ``nullable`` setting), so one bad cell is one finding.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandera.polars as pa
import polars as pl

from auditor.core.errors import RulesError
from auditor.core.tables import ColumnSpec, TableSpec, table_spec
from auditor.normalise.frames import n

# Check kind -> the rule a failure is reported under.
_KIND_RULES = {
    "whole": "invalid-number",
    "year": "invalid-number",
    "amount": "invalid-number",
    "levels": "invalid-number",
    "datetime": "invalid-date",
    "erasmus_code": "invalid-erasmus-code",
}
_VOCABULARY_RULES = {
    "country": "unknown-country",
    "organisation_type": "unknown-organisation-type",
    "role": "unknown-role",
    "action": "unknown-action",
}

OID_OR_PIC = "missing-value:oid-or-pic"


# The checks read another column than the one pandera checks, so pandera
# cannot leave empty cells out by itself: each check passes an empty cell
# explicitly (emptiness is the ``nullable`` setting's business).


def _understood(key: str, result: str | None = None) -> Any:
    """A check that the normaliser understood the value (its result column is set)."""
    target = result or n(key)

    def check(data: Any) -> pl.LazyFrame:
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(pl.col(key).is_null() | pl.col(target).is_not_null())

    return check


def _matches(key: str, pattern: str) -> Any:
    def check(data: Any) -> pl.LazyFrame:
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(
            pl.col(key).is_null() | pl.col(n(key)).str.contains(pattern).fill_null(False)
        )

    return check


def _not_negative(key: str) -> Any:
    def check(data: Any) -> pl.LazyFrame:
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(pl.col(n(key)).fill_null(0) >= 0)

    return check


def _oid_or_pic(data: Any) -> pl.LazyFrame:
    frame: pl.LazyFrame = data.lazyframe
    return frame.select(pl.col("oid").is_not_null() | pl.col("pic").is_not_null())


def _checks(column: ColumnSpec) -> list[pa.Check]:
    kind, params = column.check, column.check_params
    target = column.key
    if kind is None:
        return []
    if kind == "vocabulary":
        vocabulary = str(params["value"])
        rule = _VOCABULARY_RULES.get(vocabulary)
        if rule is None:
            raise RulesError(f"column {column.key}: unknown vocabulary {vocabulary!r}")
        return [pa.Check(_understood(target), name=rule)]
    if kind == "pattern":
        rule = str(params.get("rule") or "")
        if not rule:
            raise RulesError(f"column {column.key}: a pattern check needs a rule name")
        return [pa.Check(_matches(target, str(params["value"])), name=rule)]
    if kind == "erasmus_code":
        # Understood means its country prefix could be read.
        return [pa.Check(_understood(target, "erasmus_country"), name=_KIND_RULES[kind])]
    if kind in _KIND_RULES:
        checks = [pa.Check(_understood(target), name=_KIND_RULES[kind])]
        if kind == "amount":
            checks.append(pa.Check(_not_negative(target), name="invalid-number:negative"))
        return checks
    raise RulesError(f"column {column.key}: unknown check kind {kind!r}")


def build_schema(spec: TableSpec) -> pa.DataFrameSchema:
    columns = {
        key: pa.Column(
            pl.String,
            checks=_checks(column),
            nullable=column.required is not True,
            required=True,
        )
        for key, column in spec.columns.items()
    }
    checks = []
    if any(c.required == "oid-or-pic" for c in spec.columns.values()):
        checks.append(pa.Check(_oid_or_pic, name=OID_OR_PIC))
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=spec.name)


@cache
def schema(name: str) -> pa.DataFrameSchema:
    """The pandera schema for ``partners`` or ``project``."""
    return build_schema(table_spec(name))
