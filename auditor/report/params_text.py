"""A rule entry's parameters and conditions in plain words, English or Dutch;
and its source as users see it.

What ``auditor rules``, ``auditor explain`` and the template's Instructions
sheet show: "at least 3; calls from 2026", never ``from_year 2026; when
call_year {'ge': 2026}``. Every key a rule file may give has its words here
(a test renders every entry of every rule set and looks for raw syntax).
"""

from __future__ import annotations

import re
from typing import Any

from auditor.core.catalogue import format_number
from auditor.report.i18n import t
from auditor.rules.model import RuleEntry


def number(value: Any, lang: str) -> str:
    """``1500000`` -> ``1,500,000`` (nl: ``1.500.000``); text stays as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value, lang)
    return str(value)


def _listed(values: Any, lang: str) -> str:
    if isinstance(values, list | tuple):
        return ", ".join(number(v, lang) for v in values)
    return number(values, lang)


def condition_text(name: str, comparisons: Any, lang: str) -> str:
    """``call_year {'ge': 2026}`` -> "where the call year is 2026 or more"."""
    pairs = comparisons.items() if isinstance(comparisons, dict) else [("eq", comparisons)]
    field = t(f"field.{name}", lang)
    said = []
    for operator, value in pairs:
        if isinstance(value, bool) and operator in ("eq", "ne"):  # "where only schools take part"
            said.append(t(f"compare.{value == (operator == 'eq')}".lower(), lang, field=field))
            continue
        if name == "call_year":  # a year, not an amount: 2026, not 2,026
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        else:
            shown = _listed(value, lang) if operator in ("in", "not_in") else number(value, lang)
        said.append(t(f"compare.{operator}", lang, field=field, value=shown))
    return t("compare.and", lang).join(said)


def value_text(spec: Any, lang: str) -> str:
    """A number, or a number that depends on the proposal, in words."""
    if isinstance(spec, dict):
        if "value" in spec:
            return number(spec["value"], lang)
        text = t("value.per_month", lang, amount=number(spec["per_month"], lang))
        return text + (
            t("value.cap", lang, amount=number(spec["cap"], lang)) if "cap" in spec else ""
        )
    if isinstance(spec, list) and all(isinstance(case, dict) for case in spec):
        parts = []
        for case in spec:
            label = value_text({k: v for k, v in case.items() if k != "when"}, lang)
            when = case.get("when")
            if when:
                joined = t("compare.and", lang).join(
                    condition_text(n, c, lang) for n, c in when.items()
                )
                parts.append(t("value.if", lang, value=label, condition=joined))
            else:
                parts.append(t("value.otherwise", lang, value=label))
        return "; ".join(parts)
    return _listed(spec, lang)


def _param_text(key: str, spec: Any, lang: str) -> str | None:
    if key in ("min", "max"):
        return t(f"param.{key}", lang, value=value_text(spec, lang))
    if key == "deadlines":
        dates = "; ".join(f"{year}: {when}" for year, when in sorted(spec.items()))
        return t("param.deadlines", lang, dates=dates)
    if key == "ranges":
        spans = t("param.or", lang).join(f"{low}–{high}" for low, high in spec)
        return t("param.ranges", lang, spans=spans)
    if key == "count":
        return t(f"param.count.{spec.get('scope', 'pool')}", lang)
    if key in ("third_countries", "topic"):
        return t(f"param.{key}", lang) if spec else None
    if key == "from_year":
        return t("param.from_year", lang, value=spec)
    if key == "topic_confirm":
        return t("param.topic_confirm", lang, text=spec)
    if isinstance(spec, list | tuple) and not spec:
        return None  # an empty list (no country excluded) says nothing
    return t(f"param.{key}", lang, values=_listed(spec, lang), value=number(spec, lang))


def params_text(entry: RuleEntry, lang: str) -> str:
    """An entry's parameters and the condition it applies under, in a line."""
    parts = [
        said
        for key, spec in entry.params.items()
        if (said := _param_text(key, spec, lang)) is not None
    ]
    if entry.when:
        parts.extend(condition_text(n, c, lang) for n, c in entry.when.items())
    if entry.confirm:
        parts.append(t("param.confirm", lang, text=entry.confirm))
    return "; ".join(parts)


# Our working notes inside a source, not part of the citation: the seed pages
# (Dutch, sometimes about other actions) and the spec's sections. They stay in
# the rule files and in `auditor explain`'s reasons.
_NOTE = r"(?:seeds? \d{3}|actions\.md)"
_NOTE_GROUP = re.compile(rf"\s*\({_NOTE}[^()]*\)", re.IGNORECASE)  # "(actions.md 6)"
_NOTE_CLAUSE = re.compile(rf";[^;()]*\b{_NOTE}[^;()]*", re.IGNORECASE)  # "...; seed 000's x)"
_NOTE_PART = re.compile(rf"\b{_NOTE}", re.IGNORECASE)


def public_source(source: str | None) -> str:
    """The citation of the Programme Guide or call text, without our working notes."""
    if not source:
        return ""
    text = _NOTE_CLAUSE.sub("", _NOTE_GROUP.sub("", source))
    parts = [part.strip() for part in text.split(";")]
    return "; ".join(part for part in parts if part and not _NOTE_PART.search(part))
