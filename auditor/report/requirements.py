"""What a rule asks, in one line of words: "At least 3 organisations counted",
"Grant requested: one of 120,000, 250,000 or 400,000 EUR", "No organisation
listed twice". The rules table of a proposal's page and the draft letters say
it so.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from auditor.core.catalogue import catalogue, format_value
from auditor.core.results import RuleCheck
from auditor.report.i18n import BRUSSELS, LOCALES, plural, t


def requirement_line(check: RuleCheck, lang: str) -> str:
    """The rule's requirement for this check, as a sentence's subject (capitalised).

    From the rule's ``wants`` line in catalogue.yaml, its ``{requirement}``
    filled with the words for the required value ("at least 3") and its
    plural chosen by that value; a rule without one: the value's words.
    """
    rule = catalogue()[check.rule]
    words = expected_words(check, lang)
    if rule.wants is None:
        return _capital(words)
    count = check.expected if isinstance(check.expected, int | float) else None
    line = plural(rule.text("wants", lang), {"count": count})
    return _capital(line.replace("{requirement}", words))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _shown(value: Any, lang: str) -> str:
    return format_value(value, lang, catalogue().terms)


def expected_words(check: RuleCheck, lang: str) -> str:
    """What the rule requires, in words: "at least 4", "one of 24 or 36", "none"."""
    kind = catalogue()[check.rule].requirement
    if kind == "none":
        return t("requirement.none", lang)
    value = check.expected
    if kind == "one-of" and isinstance(value, str):  # the engine joins the values with " / "
        values = [_number_or_text(v) for v in value.split(" / ")]
        span = re.fullmatch(r"(\d+)-(\d+)", value)
        if span:  # a range of whole numbers: "12-24"
            low, high = (_shown(int(v), lang) for v in span.groups())
            return t("requirement.between", lang, low=low, high=high)
        if len(values) == 1:
            return t("requirement.exactly", lang, value=_shown(values[0], lang))
        value = tuple(values)
    elif kind == "one-of" and not isinstance(value, list | tuple):
        kind = "exactly"
    if kind == "is":
        return _shown(value, lang)
    if kind == "by" and isinstance(value, str):
        value = _wall_clock(value, lang)
    return t(f"requirement.{kind}", lang, value=_shown(value, lang))


def _wall_clock(stamp: str, lang: str) -> str:
    """A deadline as the call states it, Brussels wall-clock time without a zone
    (``2024-03-07 17:00``), in the report's language: ``7 March 2024 17:00``."""
    from babel.dates import format_datetime

    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:  # an instant: shown on the Brussels clock
        moment = moment.astimezone(ZoneInfo(BRUSSELS)).replace(tzinfo=None)
    return format_datetime(moment, "d MMMM y HH:mm", locale=LOCALES.get(lang, "en_GB"))


def _number_or_text(text: str) -> int | float | str:
    try:
        number = float(text)
    except ValueError:
        return text.strip()
    return int(number) if number.is_integer() else number
