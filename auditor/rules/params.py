"""The parameters each rule takes in a rule set, checked when the rule set is loaded.

Rule sets come from agencies (``--rules DIR``). A parameter of the wrong
shape (a text where a number belongs, a deadline that is no date, a
condition on a field that does not exist) is refused here, with a message
that names the file, the rule and the parameter, instead of failing deep
in the engine in the middle of a run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from auditor.normalise.dates import parse_datetime
from auditor.normalise.vocabulary import categories
from auditor.rules.counting import AMONG, PER, SCOPES, WHAT
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


def list_of(item: Check, what: str, empty: bool = False) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or not (value or empty):
            return f"a list of {what}"
        for entry in value:
            if item(entry) is not None:
                return f"a list of {what} ({entry!r} is not)"
        return None

    return check


def positive(value: Any) -> str | None:
    return None if _number(value) and value > 0 else "an amount above 0"


def text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a text"


def year(value: Any) -> str | None:
    return None if _whole(value) and 1900 <= value <= 2200 else "a year"


def region(value: Any) -> str | None:
    """A region of pools.yaml: 1 to 14, or a window such as "5a"."""
    ok = (_whole(value) and 1 <= value <= 99) or (
        isinstance(value, str) and re.fullmatch(r"\d{1,2}[a-z]?", value) is not None
    )
    return None if ok else 'a region: a number, or a window such as "5a"'


def country(value: Any) -> str | None:
    ok = isinstance(value, str) and len(value) == 2 and value.isalpha() and value.isupper()
    return None if ok else 'a two-letter country code (write "NO" in quotes)'


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"one of {', '.join(choices)}"

    return check


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
    for called, moment in value.items():
        if year(called) is not None:
            return f"a map of call years to deadlines ({called!r} is not a year)"
        if not isinstance(moment, str) or parse_datetime(moment) is None:
            return f"a map of call years to deadlines ({moment!r} is not a date and time)"
    return None


def ranges(value: Any) -> str | None:
    def pair(entry: Any) -> str | None:
        ok = isinstance(entry, list) and len(entry) == 2 and all(_whole(v) for v in entry)
        return None if ok and entry[0] <= entry[1] else "a pair"

    return list_of(pair, "[low, high] pairs of whole numbers")(value)


def category(value: Any) -> str | None:
    known = sorted(categories())
    return None if value in known else f"one of {', '.join(known)}"


def count_spec(value: Any) -> str | None:
    """``count: {what, scope, categories, among, per}`` (rules/counting.py)."""
    shape = "a count such as {what: organisations, scope: eligible, categories: [hei]}"
    if not isinstance(value, dict) or not value:
        return shape
    choices: dict[str, tuple[Any, ...]] = {
        "what": WHAT,
        "scope": SCOPES,
        "among": AMONG,
        "per": PER,
    }
    for key, given in value.items():
        if key == "categories":
            if list_of(text, "texts")(given) is not None:
                return f"{shape} (categories: a list of category names or type codes)"
        elif key not in choices:
            return f"{shape} ({key!r} is not one of what, scope, categories, among, per)"
        elif given not in choices[key]:
            allowed = ", ".join(str(c) for c in choices[key] if c is not None)
            return f"{shape} ({key} is one of {allowed})"
    return None
