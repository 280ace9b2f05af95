"""The rule catalogue: names, codes, messages and examples of every rule.

Stages report :class:`FindingDraft` records; :meth:`Catalogue.render` turns a
draft into a :class:`Finding` in the report language. The catalogue itself is
data (``auditor/rules/catalogue.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from auditor.core.errors import RulesError
from auditor.core.findings import Finding, FindingDraft, Scalar, Severity, Value
from auditor.core.resources import package_file
from auditor.core.tables import field_label
from auditor.core.yamlfile import YAMLError, read_yaml

SCOPES = ("file", "batch", "row", "proposal")


class Names(Protocol):
    """How messages name countries and vocabulary values in a language."""

    def country(self, code: str, lang: str) -> str: ...

    def term(self, vocabulary: str, code: str, lang: str) -> str: ...


@dataclass(frozen=True, slots=True)
class RuleDef:
    """A rule as the catalogue declares it (the action-independent part)."""

    name: str
    code: str
    scope: str
    severity: Severity
    anchor: str | None
    title: dict[str, str]
    checks: dict[str, str]
    fix: dict[str, str]
    # The fix of a finding that carries the value to enter (``{expected}``).
    fix_expected: dict[str, str] | None
    messages: dict[str, dict[str, str]]
    source: str | None
    examples: dict[str, Any]
    # How a check's required value reads ("at least 3", "one of 24 or 36", "none"):
    # min-* and max-* rules say it by their name; the others declare it.
    requirement: str = "is"
    # The requirement as one line ("{requirement} {count:organisation|organisations}"):
    # what a report's rules table and a letter say the rule asks.
    wants: dict[str, str] | None = None

    def text(self, part: str, lang: str) -> str:
        values: dict[str, str] = getattr(self, part)
        return values.get(lang) or values["en"]

    def fix_for(self, finding: Finding, lang: str) -> str:
        """How to fix this finding: the value to enter, where the finding knows it."""
        if self.fix_expected and isinstance(finding.expected, str):
            template = self.fix_expected.get(lang) or self.fix_expected["en"]
            return template.format_map(_Values(expected=finding.expected))
        return self.text("fix", lang)


class _Values(dict[str, str]):
    """Leaves unknown placeholders visible instead of failing on them."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def format_number(number: float, lang: str) -> str:
    """1000000 -> "1,000,000" (en) or "1.000.000" (nl); decimals only when present."""
    text = f"{number:,.0f}" if float(number).is_integer() else f"{number:,.2f}"
    if lang == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_moment(moment: datetime) -> str:
    """ "2024-03-07 17:00", with seconds (and their fraction) only when there are some:
    a submission at 17:00:00.250 is late for a 17:00 deadline, and must read so."""
    text = moment.strftime("%Y-%m-%d %H:%M")
    if moment.microsecond:
        return text + moment.strftime(":%S.%f").rstrip("0")
    return text + moment.strftime(":%S") if moment.second else text


def format_value(value: Any, lang: str, terms: dict[str, dict[str, str]]) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return format_number(value, lang)
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, tuple | list):
        items = [format_value(v, lang, terms) for v in value]
        if len(items) <= 1:
            return "".join(items)
        word = terms.get("or", {}).get(lang, "or")
        return ", ".join(items[:-1]) + f" {word} " + items[-1]
    return str(value)


class Catalogue:
    """All rules by name and by code."""

    def __init__(self, rules: dict[str, RuleDef], bases: dict[str, Any], terms: dict[str, Any]):
        self.rules = rules
        self.bases = bases
        self.terms: dict[str, dict[str, str]] = terms
        self.by_code = {rule.code: rule for rule in rules.values()}

    def __getitem__(self, name: str) -> RuleDef:
        return self.rules[name]

    def find(self, name_or_code: str) -> RuleDef | None:
        key = name_or_code.strip()
        return self.rules.get(key.lower()) or self.by_code.get(key.upper())

    def term(self, key: str, lang: str) -> str:
        entry = self.terms.get(key)
        if entry is None:
            return key
        return entry.get(lang) or entry.get("en") or key

    def render(
        self,
        draft: FindingDraft,
        lang: str = "en",
        names: Names | None = None,
        file: str | None = None,
    ) -> Finding:
        """Put a draft about ``file`` into words in ``lang`` (``names``: of countries, codes)."""
        rule = self.rules[draft.rule]
        variant = str(draft.params.get("variant") or "default")
        templates = rule.messages.get(variant) or rule.messages["default"]
        template = templates.get(lang) or templates["en"]
        values: dict[str, str] = {}
        for key, raw in draft.params.items():
            values[key] = format_value(raw, lang, self.terms)
        values["value"] = format_value(draft.value, lang, self.terms)
        expected = draft.expected
        vocabulary = draft.params.get("vocabulary")
        if names is not None and isinstance(vocabulary, str) and isinstance(expected, tuple):
            expected = tuple(names.term(vocabulary, str(code), lang) for code in expected)
        values["expected"] = format_value(expected, lang, self.terms)
        if draft.column:
            values.setdefault("label", field_label(draft.column, lang))
        values.setdefault("sheet", draft.sheet or "")
        for key in ("country", "code_country"):
            code = draft.params.get(key)
            if isinstance(code, str):
                values[f"{key}_name"] = names.country(code, lang) if names else code
        # A count rule says how it compares (at least, at most ...), in the language.
        comparison = draft.params.get("comparison")
        values["comparison"] = self.term(f"compare_{comparison or 'min'}", lang)
        what = draft.params.get("what")
        if isinstance(what, str):  # what a count counted: organisations or countries
            values["what"] = self.term(f"count_{what}", lang)
        kind = draft.params.get("type")  # an organisation type code, named in the language
        if isinstance(kind, str):
            values["type_name"] = names.term("organisation_type", kind, lang) if names else kind
        category = draft.params.get("category")
        if isinstance(category, str):
            values["category"] = self.term(category, lang)
        message = template.format_map(_Values(values))
        confirm = draft.params.get("confirm")
        if isinstance(confirm, str):  # a value checked as a warning until confirmed
            message += " " + self.term("unconfirmed", lang).format(call=confirm)
        return Finding(
            code=rule.code,
            rule=rule.name,
            severity=draft.severity or rule.severity,
            message=message,
            sheet=draft.sheet,
            cell=draft.cell,
            column=draft.column,
            value=_json_value(draft.value),
            expected=_json_value(draft.expected),
            source=draft.source or rule.source,
            file=file,
            params={key: _json_value(raw) for key, raw in draft.params.items()},
        )


def _json_scalar(value: Any) -> Scalar:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _json_value(value: Any) -> Value:
    if isinstance(value, list | tuple):
        return tuple(_json_scalar(v) for v in value)
    return _json_scalar(value)


REQUIREMENTS = ("at-least", "at-most", "exactly", "one-of", "none", "by", "is")


def _rule(name: str, data: dict[str, Any]) -> RuleDef:
    scope = data.get("scope", "proposal")
    if scope not in SCOPES:
        raise RulesError(f"rule {name}: unknown scope {scope!r}")
    messages = data["messages"]
    if "default" not in messages:
        raise RulesError(f"rule {name}: messages need a 'default' entry")
    requirement = data.get("requirement")
    if requirement is None:
        requirement = next(
            (
                kind
                for prefix, kind in (("min-", "at-least"), ("max-", "at-most"))
                if name.startswith(prefix)
            ),
            "is",
        )
    if requirement not in REQUIREMENTS:
        raise RulesError(
            f"rule {name}: requirement is one of {', '.join(REQUIREMENTS)}, not {requirement!r}"
        )
    return RuleDef(
        name=name,
        code=str(data["code"]),
        scope=scope,
        severity=Severity(data.get("severity", "error")),
        anchor=data.get("anchor"),
        title=dict(data["title"]),
        checks=dict(data["checks"]),
        fix=dict(data["fix"]),
        fix_expected=dict(data["fix_expected"]) if "fix_expected" in data else None,
        messages={variant: dict(text) for variant, text in messages.items()},
        source=data.get("source"),
        examples=dict(data.get("examples", {})),
        requirement=requirement,
        wants=dict(data["wants"]) if "wants" in data else None,
    )


@cache
def catalogue() -> Catalogue:
    """The shipped catalogue (``auditor/rules/catalogue.yaml``)."""
    path = package_file("rules", "catalogue.yaml")
    try:
        data = read_yaml(path)
        rules = {name: _rule(name, spec) for name, spec in data["rules"].items()}
    except (OSError, KeyError, TypeError, ValueError, YAMLError) as error:
        raise RulesError(f"cannot load the rule catalogue {path}: {error}") from error
    codes = [rule.code for rule in rules.values()]
    duplicates = {code for code in codes if codes.count(code) > 1}
    if duplicates:
        raise RulesError(f"rule codes used twice: {sorted(duplicates)}")
    return Catalogue(rules, data.get("bases", {}), data.get("terms", {}))


def fixer(lang: str) -> Callable[[Finding], str]:
    """``fix(finding)`` for the templates: how to fix a finding, in ``lang``."""
    rules = catalogue()
    return lambda finding: rules[finding.rule].fix_for(finding, lang)
