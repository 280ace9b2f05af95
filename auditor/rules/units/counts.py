"""Composition rules: a count (rules/counting.py) compared with the rule's parameters.

``min-organisations``, ``min-hei``, ``max-organisations`` ... differ only in
their default count and their messages; a rule set may count otherwise
(``count:``) and compare with ``min``, ``max``, ``exactly`` or ``one_of``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from auditor.core.findings import FindingDraft
from auditor.read.model import PKEY
from auditor.rules.context import CLEAR, COMPLETE, Columns, Context, Draft
from auditor.rules.counting import Count, balance_of, comparison, count_of
from auditor.rules.expressions import value
from auditor.rules.model import RuleEntry


def _draft(name: str, scope: str, what: str, shown: Any = None) -> Draft:
    # The message says how the rule compares, and whom it counted where that
    # is not the usual pool (a "variant" the catalogue may word).
    params: dict[str, Any] = {"comparison": name, "what": what}
    if scope != "pool":
        params["variant"] = scope

    def draft(ctx: Context, entry: RuleEntry, row: dict[str, Any]) -> FindingDraft:
        return ctx.anchored(
            row[PKEY],
            entry.rule,
            value=row["measured"],
            expected=row["expected"] if shown is None else shown,
            params=params,
        )

    return draft


def count_columns(entry: RuleEntry) -> Columns:
    """The entry's count (a column the engine measured) against its comparison.

    A count per group (``per: country``) of a proposal without such groups is
    null: "every third country has two HEIs" holds where there is none (a rule
    that wants third countries at all says so itself).
    """
    count = count_of(entry.rule, entry.params)
    measured = pl.col(count.key)
    name, operand = comparison(entry.params)
    if name == "one_of":
        allowed = [int(v) for v in operand]
        expected: pl.Expr = pl.lit(" / ".join(str(v) for v in allowed))
        passed = measured.is_in(allowed)
        draft = _draft(name, count.scope, count.what, tuple(allowed))
    else:
        expected = value(operand).cast(pl.Int64)
        passed = {
            "min": measured >= expected,
            "max": measured <= expected,
            "exactly": measured == expected,
        }[name]
        draft = _draft(name, count.scope, count.what)
    if count.per is not None:
        passed = passed.fill_null(measured.is_null())
    return Columns(measured, expected, passed, scope=COMPLETE, clear=CLEAR, draft=draft)


def balance_columns(entry: RuleEntry) -> Columns:
    """Third-country organisations at least as many as the pool's (CBHE, CB-VET)."""
    third, pool = balance_of(entry.params)
    measured, expected = pl.col(third.key), pl.col(pool.key)
    return Columns(measured, expected, measured >= expected, scope=COMPLETE, clear=CLEAR)


def counts_of(entry: RuleEntry) -> list[Count]:
    """The counts an entry of a counting unit needs measured."""
    if entry.rule == "third-country-balance":
        return list(balance_of(entry.params))
    return [count_of(entry.rule, entry.params)]
