"""The parameters each rule takes in a rule set, checked when the rule set is loaded.

Rule sets come from agencies (``--rules DIR``). A parameter of the wrong
shape (a text where a number belongs, a deadline that is no date, a
condition on a field that does not exist) is refused here, with a message
that names the file, the rule and the parameter, instead of failing deep
in the engine in the middle of a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from auditor.core.errors import RulesError
from auditor.normalise.dates import parse_datetime
from auditor.normalise.vocabulary import categories
from auditor.rules.expressions import FIELDS, OPERATORS

Check = Callable[[Any], str | None]  # None: fine; otherwise what is wrong


# Far above any count or amount of a proposal; a larger one is a typing mistake.
LARGEST = 10**12


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= LARGEST


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= LARGEST
    )


def _operand(field: str, value: Any) -> bool:
    """Whether ``value`` can be compared with the field: a text for the action, yes or
    no for schools_only, a number for the rest."""
    if field == "action":
        return isinstance(value, str)
    if field == "schools_only":
        return isinstance(value, bool)
    return _number(value)


def count(value: Any) -> str | None:
    return None if _whole(value) and value >= 0 else "a whole number of 0 or more"


def _positive_amount(value: Any) -> bool:
    return _number(value) and value >= 0


def _list_of(item: Check, what: str) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or not value:
            return f"a list of {what}"
        for entry in value:
            if item(entry) is not None:
                return f"a list of {what} ({entry!r} is not)"
        return None

    return check


def _positive(value: Any) -> str | None:
    return None if _number(value) and value > 0 else "an amount above 0"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a text"


def _year(value: Any) -> str | None:
    return None if _whole(value) and 1900 <= value <= 2200 else "a year"


def _country(value: Any) -> str | None:
    ok = isinstance(value, str) and len(value) == 2 and value.isalpha() and value.isupper()
    return None if ok else 'a two-letter country code (write "NO" in quotes)'


def condition(value: Any) -> str | None:
    """A ``when``: {field: value or {operator: value}} (rules/expressions.py)."""
    if not isinstance(value, dict) or not value:
        return "a condition such as {call_year: {ge: 2025}}"
    for name, comparisons in value.items():
        if name not in FIELDS:
            return f"a condition on one of {', '.join(FIELDS)} (not {name!r})"
        pairs = comparisons.items() if isinstance(comparisons, dict) else [("eq", comparisons)]
        for operator, operand in pairs:
            if operator not in OPERATORS:
                return f"a comparison with one of {', '.join(OPERATORS)} (not {operator!r})"
            kind = {"action": "texts", "schools_only": "true or false"}.get(name, "numbers")
            if operator in ("in", "not_in"):
                if not isinstance(operand, list) or not all(_operand(name, v) for v in operand):
                    return f"{name} {operator} with a list of {kind}"
            elif name == "action" and operator not in ("eq", "ne"):
                return "action compared with eq, ne, in or not_in"
            elif not _operand(name, operand):
                return f"{name} {operator} with {kind}"
    return None


def _amount_case(value: Any) -> str | None:
    if _positive_amount(value):
        return None
    shape = "a number, {value: N}, or {per_month: N, cap: N}"
    if not isinstance(value, dict):
        return shape
    keys = set(value) - {"when"}
    if keys not in ({"value"}, {"per_month"}, {"per_month", "cap"}):
        return shape
    if not all(_positive_amount(value[k]) for k in keys):
        return shape + " with numbers of 0 or more"
    return condition(value["when"]) if "when" in value else None


def amount(value: Any) -> str | None:
    """A number, per_month/cap, or a list of cases (rules/expressions.py value)."""
    if isinstance(value, list):
        if not value:
            return "a list of cases"
        for case in value:
            problem = _amount_case(case)
            if problem is not None:
                return f"a list of cases, each {problem}"
        return None
    if isinstance(value, dict) and "when" in value:
        return "a number or a list of cases (a single case needs no when)"
    return _amount_case(value)


def deadlines(value: Any) -> str | None:
    if not isinstance(value, dict) or not value:
        return 'a map of call years to deadlines ("2025-03-05 12:00")'
    for year, moment in value.items():
        if _year(year) is not None:
            return f"a map of call years to deadlines ({year!r} is not a year)"
        if not isinstance(moment, str) or parse_datetime(moment) is None:
            return f"a map of call years to deadlines ({moment!r} is not a date and time)"
    return None


def ranges(value: Any) -> str | None:
    def pair(entry: Any) -> str | None:
        ok = isinstance(entry, list) and len(entry) == 2 and all(_whole(v) for v in entry)
        return None if ok and entry[0] <= entry[1] else "a pair"

    return _list_of(pair, "[low, high] pairs of whole numbers")(value)


def _category(value: Any) -> str | None:
    known = sorted(categories())
    return None if value in known else f"one of {', '.join(known)}"


# Each rule's parameters: name -> (check, required). Rules not listed take none.
PARAMS: dict[str, dict[str, tuple[Check, bool]]] = {
    **{
        rule: {"min": (amount, True)}
        for rule in (
            "min-organisations",
            "min-countries",
            "min-eu-member-states",
            "min-full-partners",
            "min-hei",
            "min-vet",
            "min-enterprises",
            "min-labour-market-actors",
            "min-education-providers",
        )
    },
    "duration": {
        "values": (_list_of(count, "whole numbers"), False),
        "min": (amount, False),
        "max": (amount, False),
    },
    "grant-ceiling": {"max": (amount, True)},
    "lump-sum": {"values": (_list_of(_positive, "amounts"), True)},
    "partnership-type": {"allowed": (_list_of(_text, "texts"), True)},
    "field-not-allowed": {
        "not_allowed": (_list_of(_text, "action keys"), True),
        "allowed_text": (_list_of(_text, "action keys"), False),
    },
    "eqf-coverage": {"ranges": (ranges, True)},
    "deadline": {"deadlines": (deadlines, True)},
    "per-country-composition": {"require": (_list_of(_category, "categories"), True)},
    "third-country-region": {
        "from_year": (_year, False),
        "regions": (_list_of(count, "region numbers"), False),
        "excluded": (_list_of(_country, "country codes"), False),
        "roles": (_list_of(_text, "roles"), False),
    },
    **{
        rule: {"roles": (_list_of(_text, "roles"), False)}
        for rule in ("third-country-justification", "third-country-not-allowed", "eche-required")
    },
}


def check_params(rule: str, params: dict[str, Any], when: Any, where: str) -> None:
    """Raise RulesError naming ``where`` (file and rule), the parameter and what it must be."""
    if when is not None:
        problem = condition(when)
        if problem is not None:
            raise RulesError(f"{where} ({rule}): 'when' must be {problem}")
    declared = PARAMS.get(rule, {})
    for name, value in params.items():
        if name not in declared:
            takes = ", ".join(declared) or "no parameters"
            raise RulesError(f"{where} ({rule}): unknown parameter {name!r} (it takes {takes})")
        problem = declared[name][0](value)
        if problem is not None:
            raise RulesError(f"{where} ({rule}): {name} must be {problem}, not {value!r}")
    for name, (_, required) in declared.items():
        if required and name not in params:
            raise RulesError(f"{where} ({rule}): the parameter {name!r} is missing")
