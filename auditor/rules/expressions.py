"""The small language of rule parameters, compiled to polars expressions.

Conditions (``when``) compare proposal fields and metrics::

    when: {call_year: {ge: 2026}, action: {in: [KA220-HED]}}

Values are a number, a per-month amount with an optional cap, or a list of
cases of which the first whose ``when`` holds applies::

    max:
      - when: {duration_months: {le: 24}}
        value: 700000
      - per_month: 12500
        cap: 450000
"""

from __future__ import annotations

from typing import Any

import polars as pl

from auditor.core.errors import RulesError
from auditor.normalise.frames import n

# Names a condition may use, and the proposal column each one reads.
FIELDS = {
    "action": n("action"),
    "call_year": "year",
    "duration_months": "duration_months",
    "requested_grant_eur": "requested_grant_eur",
    "organisations": "organisations",
    "countries": "countries",
    "full_partners": "full_partners",
    "hei": "hei",
    "vet": "vet",
    "enterprises": "enterprises",
    "labour_market_actors": "labour_market_actors",
    "education_providers": "education_providers",
    "eu_member_states": "eu_member_states",
    "schools_only": "schools_only",
    "coordinators": "coordinators",
    "strand": n("strand"),
    "number_of_sports": n("number_of_sports"),
}

OPERATORS = {
    "eq": lambda c, v: c == v,
    "ne": lambda c, v: c != v,
    "ge": lambda c, v: c >= v,
    "gt": lambda c, v: c > v,
    "le": lambda c, v: c <= v,
    "lt": lambda c, v: c < v,
    "in": lambda c, v: c.is_in(list(v)),
    "not_in": lambda c, v: ~c.is_in(list(v)),
}


def condition(spec: dict[str, Any] | None, unknown: bool = False) -> pl.Expr:
    """A boolean expression that holds where every comparison of ``spec`` holds.

    A comparison on an empty field is false, or with ``unknown`` null: "not
    known" (Kleene logic, so a comparison that is false elsewhere still decides).
    """
    if not spec:
        return pl.lit(True)
    expression = pl.lit(True)
    for name, comparisons in spec.items():
        column = FIELDS.get(name)
        if column is None:
            raise RulesError(f"a condition cannot use {name!r}; it can use {', '.join(FIELDS)}")
        if not isinstance(comparisons, dict):
            comparisons = {"eq": comparisons}
        for operator, value in comparisons.items():
            if operator not in OPERATORS:
                raise RulesError(f"unknown comparison {operator!r} (use {', '.join(OPERATORS)})")
            compared = OPERATORS[operator](pl.col(column), value)
            expression = expression & (compared if unknown else compared.fill_null(False))
    return expression


def _single(spec: Any) -> pl.Expr:
    if isinstance(spec, int | float):
        return pl.lit(float(spec))
    if isinstance(spec, dict):
        if "value" in spec:
            return pl.lit(float(spec["value"]))
        if "per_month" in spec:
            amount = pl.col("duration_months").cast(pl.Float64) * float(spec["per_month"])
            if "cap" in spec:
                amount = pl.min_horizontal(amount, pl.lit(float(spec["cap"])))
            return amount
    raise RulesError(f"cannot read the value {spec!r}: use a number, per_month/cap, or cases")


def value(spec: Any) -> pl.Expr:
    """A number per proposal from a parameter's value spec.

    Cases are tried in order; a case that may hold but cannot be decided (its
    condition reads an empty field, e.g. a call year not known) makes the
    value null, and the rule is not evaluated (actions.md v2, "Call year not
    known"): a default meant for other years must not judge the proposal.
    """
    if not isinstance(spec, list):
        return _single(spec)
    cases = [(condition(case.get("when"), unknown=True), _single(case)) for case in spec]
    expression: Any = pl
    for holds, amount in cases:
        expression = expression.when(holds.is_null()).then(None).when(holds).then(amount)
    result: pl.Expr = expression.otherwise(None)
    return result
