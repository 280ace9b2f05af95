"""Every rule the engine evaluates, one unit each: its parameters and how it is checked.

A unit says what its rule entries may hold (``params``, checked when a rule
set is loaded: rules/params.py) and which one of four ways it is checked:

- ``columns``: a polars expression per proposal (rules/units/project.py);
- ``counts``: a count measured by the engine, compared (rules/units/counts.py);
- ``rows``: a condition on partner rows, one finding per row (rules/units/rows.py);
- ``evaluate``: several rows at once, proposal by proposal (rules/units/whole.py).

The rule's words (title, messages, fix, examples) are the catalogue's
(rules/catalogue.yaml); ``auditor explain`` and ``auditor rules`` read both.
Rules of files and cells (unreadable-file, missing-value ...) are the
reader's and the validator's, not units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.rules import params as p
from auditor.rules.context import Columns, Evaluator
from auditor.rules.counting import DEFAULTS
from auditor.rules.model import RuleEntry
from auditor.rules.units import counts, project, rows, whole

Params = dict[str, tuple[p.Check, bool]]


@dataclass(frozen=True, slots=True)
class Unit:
    name: str
    params: Params = field(default_factory=dict)
    columns: Callable[[RuleEntry], Columns] | None = None
    counts: bool = False
    rows: rows.RowRule | None = None
    evaluate: Evaluator | None = None


_COUNT: Params = {
    "count": (p.count_spec, False),
    "min": (p.amount, False),
    "max": (p.amount, False),
    "exactly": (p.amount, False),
    "one_of": (p.list_of(p.count, "whole numbers"), False),
}
_ROLES: Params = {"roles": (p.list_of(p.text, "roles"), False)}
_PROJECT: dict[str, tuple[Callable[[RuleEntry], Columns], Params]] = {
    "coordinator-missing": (project.coordinators, {}),
    "coordinator-multiple": (project.coordinators, {}),
    "duration": (
        project.duration,
        {
            "values": (p.list_of(p.count, "whole numbers"), False),
            "min": (p.amount, False),
            "max": (p.amount, False),
        },
    ),
    "grant-ceiling": (project.grant_ceiling, {"max": (p.amount, True)}),
    "grant-floor": (project.grant_floor, {"min": (p.amount, True)}),
    "min-sports": (project.min_sports, {"min": (p.amount, True)}),
    "lump-sum": (project.lump_sum, {"values": (p.list_of(p.positive, "amounts"), True)}),
    "grant-sum-mismatch": (project.grant_sum, {}),
    "industrial-ecosystem": (project.ecosystem, {}),
    "priority-required": (project.priorities, {}),
    "partnership-type": (
        project.partnership_type,
        {"allowed": (p.list_of(p.text, "texts"), True)},
    ),
    "field-not-allowed": (
        project.field_not_allowed,
        {
            "not_allowed": (p.list_of(p.text, "action keys"), True),
            "allowed_text": (p.list_of(p.text, "action keys"), False),
        },
    ),
}
_ROW_PARAMS: dict[str, Params] = {
    "third-country-region": {
        "from_year": (p.year, False),
        "regions": (p.list_of(p.region, "regions"), False),
        # Belarus unless said otherwise; [] where an action excludes none.
        "excluded": (p.list_of(p.country, "country codes", empty=True), False),
        # A regional call topic (Topic ID, or the action given as it) admits its region only.
        "topic": (p.boolean, False),
        # ... where that reading is not confirmed: the call text to check (a warning).
        "topic_confirm": (p.text, False),
        **_ROLES,
    },
    "coordinator-country": {
        "third_countries": (p.boolean, False),
        "regions": (p.list_of(p.region, "regions"), False),
        "excluded": (p.list_of(p.country, "country codes"), False),
    },
    "coordinator-type": {"allowed": (p.list_of(p.text, "types or categories"), True)},
    "partner-type": {"allowed": (p.list_of(p.text, "types or categories"), True), **_ROLES},
    "country-excluded": {"countries": (p.list_of(p.country, "country codes"), True), **_ROLES},
    "third-country-full-partner": _ROLES,
    "third-country-justification": _ROLES,
    "third-country-not-allowed": _ROLES,
    "eche-required": _ROLES,
}
_WHOLE: dict[str, tuple[Evaluator, Params]] = {
    "eqf-coverage": (whole.eqf, {"ranges": (p.ranges, True)}),
    "deadline": (whole.deadline, {"deadlines": (p.deadlines, True)}),
    "per-country-composition": (
        whole.per_country,
        {
            "require": (p.list_of(p.category, "categories"), True),
            "countries": (p.one_of("pool", "involved"), False),
        },
    ),
    "duplicate-organisation": (whole.duplicates, {}),
    "single-region": (whole.single_region, {}),
}

REGISTRY: dict[str, Unit] = {
    **{name: Unit(name, _COUNT, columns=counts.count_columns, counts=True) for name in DEFAULTS},
    "third-country-balance": Unit(
        "third-country-balance",
        {"categories": (p.list_of(p.text, "category names or type codes"), False)},
        columns=counts.balance_columns,
        counts=True,
    ),
    **{name: Unit(name, params, columns=build) for name, (build, params) in _PROJECT.items()},
    **{
        name: Unit(name, _ROW_PARAMS.get(name, {}), rows=spec)
        for name, spec in rows.ROW_RULES.items()
    },
    **{name: Unit(name, params, evaluate=run) for name, (run, params) in _WHOLE.items()},
}


def unit(name: str) -> Unit | None:
    return REGISTRY.get(name)


def declared_params(name: str) -> dict[str, Any]:
    found = REGISTRY.get(name)
    return dict(found.params) if found else {}
