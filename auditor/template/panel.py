"""The template's live consortium panel, made from the rule set's count declarations.

Every count rule entry of the action (rules/counting.py: ``min-organisations``,
``min-hei-per-third-country``, ``max-organisations``, ``third-country-balance``
...) becomes one line: what it counts, worked out by cell formulas as the
applicant types, what the rule requires (its comparison and value, the value
chosen by the call year or another Project field where the rule set says so),
and whether it holds. Nothing here knows a rule by name: a count declared in a
rule set's YAML reaches the panel as it reaches the engine.

The formulas count as ``counting.measure`` does. Hidden helper columns right of
the Partners table hold, per row, the codes of what the row says (role,
country, type), the organisation's identity (same OID, else same PIC, else
same name and country), whether its country is in the pool or the EU in the
call year, and per count: whether the row is counted (``chosen``) and whether
it is the first of its organisation or country among those (``first``). A
count per country adds the count of each country taking part (``group``); the
smallest decides. The tests recalculate filled templates in LibreOffice and
compare every line with the auditor's check of the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName

from auditor.core.catalogue import catalogue
from auditor.normalise.vocabulary import categories, vocabulary
from auditor.report.excel import HEADER_FONT, put
from auditor.report.i18n import t
from auditor.rules.counting import (
    DEFAULTS,
    FULL_ROLES,
    METRIC_OF_RULE,
    Count,
    comparison,
    type_codes,
)
from auditor.rules.examples import PARTNER_HEADER_ROW, partner_columns
from auditor.rules.model import RuleBook, RuleEntry, RuleSet
from auditor.rules.registry import unit
from auditor.rules.units.counts import counts_of

GREEN = PatternFill("solid", start_color="FFC6EFCE", end_color="FFC6EFCE")
RED = PatternFill("solid", start_color="FFF4C7CE", end_color="FFF4C7CE")
UNLOCKED = Protection(locked=False)
COLUMN = 5  # E: beyond the cells the reader reads as a field's value and its guidance
# Project fields a rule's condition may read that the template has as a number.
NUMBER_FIELDS = ("duration_months", "requested_grant_eur", "number_of_sports")
# How the required value shows: the cell stays a number, the sign is its format.
SIGNS = {"min": '"\u2265 "#,##0', "max": '"\u2264 "#,##0', "exactly": '"= "#,##0'}
# Helper columns every count reads (per row of the Partners table).
BASE = (
    "role_code",
    "country_code",
    "type_code",
    "oid_key",
    "pic_key",
    "name_key",
    "in_pool",
    "is_eu",
)


def _letter(key: str) -> str:
    return str(get_column_letter(partner_columns().index(key) + 1))


def _full(role: str) -> str:
    """The row is the coordinator or a full partner (``counting.FULL_ROLES``)."""
    return "OR(" + ",".join(f'{role}="{c}"' for c in FULL_ROLES) + ")"


class Helpers:
    """The hidden helper columns of the Partners sheet, added as counts need them."""

    def __init__(self, sheet: Any, last: int) -> None:
        self.sheet, self.first, self.last = sheet, PARTNER_HEADER_ROW + 1, last
        self.columns: dict[str, str] = {}
        cell = {key: _letter(key) for key in partner_columns()}
        lookup = '=IFERROR(VLOOKUP(TRIM({}{}),{},2,FALSE),"")'  # VLOOKUP ignores case
        self.add("role_code", lambda r: lookup.format(cell["role"], r, "RoleLookup"))
        self.add("country_code", lambda r: lookup.format(cell["country"], r, "CountryLookup"))
        self.add("type_code", lambda r: lookup.format(cell["organisation_type"], r, "TypeLookup"))
        oid, pic, name = cell["oid"], cell["pic"], cell["organisation_name"]
        # The same organisation (aggregate.organisation_identity): the same OID
        # or the same PIC, whatever their spaces; rows with neither, the same
        # name and country.
        self.add("oid_key", lambda r: f'=UPPER(SUBSTITUTE(TRIM({oid}{r})," ",""))')
        self.add("pic_key", lambda r: f'=SUBSTITUTE(TRIM({pic}{r})," ","")')
        self.add(
            "name_key",
            lambda r: (
                f'=IF(AND({self.at("oid_key", r)}="",{self.at("pic_key", r)}="",'
                f'TRIM({name}{r})<>""),LOWER(TRIM({name}{r}))&"|"&{self.at("country_code", r)},"")'
            ),
        )
        self.add("in_pool", lambda r: self._member(r, "Pool"))
        self.add("is_eu", lambda r: self._member(r, "EU"))

    def _member(self, row: int, table: str) -> str:
        """1 where the row's country is in a member table (Lists) in the call year."""
        country = self.at("country_code", row)
        return (
            f'=IF(AND({country}<>"",COUNTIFS({table}Country,{country},'
            f'{table}From,"<="&CallYear,{table}Until,">="&CallYear)>0),1,0)'
        )

    def at(self, name: str, row: int) -> str:
        return f"{self.columns[name]}{row}"

    def above(self, name: str, row: int) -> str:
        """The column from the header down to the row above ``row`` (earlier rows)."""
        letter = self.columns[name]
        return f"{letter}${self.first - 1}:{letter}{row - 1}"

    def range(self, name: str) -> str:
        letter = self.columns[name]
        return f"Partners!${letter}${self.first}:${letter}${self.last}"

    def add(self, name: str, formula: Callable[[int], str]) -> str:
        if name in self.columns:
            return name
        index = len(partner_columns()) + 2 + len(self.columns)
        self.columns[name] = letter = str(get_column_letter(index))
        put(self.sheet, PARTNER_HEADER_ROW, index, f"_{name}")
        for row in range(self.first, self.last + 1):
            cell = self.sheet[f"{letter}{row}"]
            cell.value = formula(row)
            cell.protection = UNLOCKED
        self.sheet.column_dimensions[letter].hidden = True
        return name

    def chosen(self, count: Count) -> str:
        """1 where the row is one the count counts (``counting._filter``)."""

        def formula(r: int) -> str:
            role = self.at("role_code", r)
            if count.scope == "listed":  # every listed organisation but affiliated entities
                parts = [f'{role}<>""', f'{role}<>"affiliated"']
            else:
                parts = [_full(role)]
            if count.scope == "pool" or count.among == "pool":
                parts.append(f"{self.at('in_pool', r)}=1")
            parts.append(f'{self.at("country_code", r)}<>""')
            if count.categories:
                kinds = type_codes(count.categories)
                parts.append(
                    "OR(" + ",".join(f'{self.at("type_code", r)}="{k}"' for k in kinds) + ")"
                )
            if count.among == "eu":
                parts.append(f"{self.at('is_eu', r)}=1")
            elif count.among == "third":
                parts.append(f"{self.at('in_pool', r)}=0")
            return f"=IF(AND({','.join(parts)}),1,0)"

        return self.add(f"chosen {count.key}", formula)

    def first_of(self, count: Count) -> str:
        """1 where the row is the first counted one of its organisation (or country)."""
        chosen = self.chosen(count)
        keys = (
            ("oid_key", "pic_key", "name_key")
            if count.what == "organisations"
            else ("country_code",)
        )

        def formula(r: int) -> str:
            # An earlier counted row with the same OID, PIC or name key (each where given).
            earlier = "+".join(
                f'IF({self.at(k, r)}<>"",COUNTIFS({self.above(k, r)},{self.at(k, r)},'
                f"{self.above(chosen, r)},1),0)"
                for k in keys
            )
            return f"=IF(AND({self.at(chosen, r)}=1,{earlier}=0),1,0)"

        return self.add(f"first {count.key}", formula)

    def schools_only(self) -> str:
        """Every coordinator and full partner is a school (aggregate's ``schools_only``)."""
        schools = categories()["school"]

        def row(others_only: bool) -> Callable[[int], str]:
            def formula(r: int) -> str:
                role, kind = self.at("role_code", r), self.at("type_code", r)
                parts = [_full(role)]
                if others_only:
                    parts.append("NOT(OR(" + ",".join(f'{kind}="{k}"' for k in schools) + "))")
                return f"=IF(AND({','.join(parts)}),1,0)"

            return formula

        full, other = self.add("full", row(False)), self.add("not_school", row(True))
        return f"AND(SUM({self.range(full)})>0,SUM({self.range(other)})=0)"

    def measured(self, count: Count) -> str:
        """The count's formula: a sum, or per country the smallest of the countries'."""
        if count.per is None:
            return f"=SUM({self.range(self.first_of(count))})"
        # The groups are the countries taking part (of any category); each
        # counts the organisations of the count's categories.
        group = self.first_of(replace(count, what="countries", categories=(), per=None))
        counted = self.first_of(replace(count, per=None))
        per_group = self.add(
            f"group {count.key}",
            lambda r: (
                f"=IF({self.at(group, r)}=1,COUNTIFS({self.range(counted)},1,"
                f'{self.range("country_code")},{self.at("country_code", r)}),"")'
            ),
        )
        cells = self.range(per_group)
        return f'=IF(COUNT({cells})=0,"",MIN({cells}))'


# ---------------------------------------------------------------- conditions and values


class Unsupported(Exception):
    """A condition the panel cannot compute in a cell (e.g. on a metric)."""


@dataclass(frozen=True)
class Fields:
    """What a rule's condition may read (expressions.FIELDS), as the template knows it."""

    action: str
    cells: dict[str, str]  # Project field -> its value cell
    helpers: Helpers

    def reference(self, name: str) -> str:
        if name == "call_year":
            return "CallYear"
        if name in NUMBER_FIELDS and name in self.cells:
            return f"Project!{self.cells[name]}"
        if name == "schools_only":
            return self.helpers.schools_only()
        if name == "coordinators":
            return f'COUNTIF({self.helpers.range("role_code")},"coordinator")'
        metric = {m: rule for rule, m in METRIC_OF_RULE.items()}.get(name)
        if metric is not None:  # a metric: the usual count of its rule
            return self.helpers.measured(DEFAULTS[metric]).removeprefix("=")
        raise Unsupported(name)

    def compare(self, name: str, operator: str, operand: Any) -> str | bool:
        if name == "action":
            return _static(self.action, operator, operand)
        reference = self.reference(name)
        if isinstance(operand, bool):
            operand = str(operand).upper()
        if operator in ("in", "not_in"):
            joined = ",".join(f"({reference})={v}" for v in operand)
            return f"OR({joined})" if operator == "in" else f"NOT(OR({joined}))"
        sign = {"eq": "=", "ne": "<>", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[operator]
        return f"({reference}){sign}{operand}"

    def known(self, name: str) -> str:
        """True where the field the comparison reads is filled in (a count always is)."""
        if name == "call_year":
            return "CallYear>0"
        if name in NUMBER_FIELDS:
            return f'Project!{self.cells[name]}<>""'
        return "TRUE"

    def condition(self, when: dict[str, Any] | None) -> tuple[str | bool, list[str]]:
        """``when`` as an Excel condition (or a constant), and what it must know."""
        parts: list[str] = []
        known: list[str] = []
        for name, comparisons in (when or {}).items():
            pairs = comparisons.items() if isinstance(comparisons, dict) else [("eq", comparisons)]
            for operator, operand in pairs:
                part = self.compare(name, operator, operand)
                if part is False:
                    return False, []
                if part is not True:
                    parts.append(part)
                    known.append(self.known(name))
        if not parts:
            return True, []
        return ("AND(" + ",".join(parts) + ")" if len(parts) > 1 else parts[0]), known

    def value(self, spec: Any) -> str:
        """A number spec as an Excel expression: "" where a case cannot be decided."""
        if isinstance(spec, int | float):
            return str(spec)
        if isinstance(spec, dict) and "value" in spec:
            return str(spec["value"])
        if not isinstance(spec, list):
            raise Unsupported(str(spec))
        result = '""'
        for case in reversed(spec):
            holds, known = self.condition(case.get("when"))
            amount = self.value({k: v for k, v in case.items() if k != "when"})
            if holds is True:
                result = amount
            elif holds is not False:
                # expressions.value: a case that may hold but reads an empty field
                # makes the value unknown, not the next case's.
                result = f'IF(AND({",".join(known)}),IF({holds},{amount},{result}),"")'
        return result


def _static(action: str, operator: str, operand: Any) -> bool:
    """A condition on the action, known when the template is made."""
    if operator in ("eq", "ne"):
        return (action == str(operand)) == (operator == "eq")
    if operator in ("in", "not_in"):
        return (action in [str(v) for v in operand]) == (operator == "in")
    raise Unsupported(f"action {operator}")


# ---------------------------------------------------------------- the lines


@dataclass(frozen=True)
class Line:
    """One line of the panel: a count against what its rule requires."""

    label: str
    code: str  # the rule's code, as the Instructions sheet lists it
    measured: str  # formula
    comparison: str  # min, max, exactly or one_of
    required: str  # Excel expression of the value ("" where the rule does not apply)
    shown: str = ""  # one_of: the allowed values as text


def label(count: Count, lang: str, rule: str = "") -> str:
    """What a count counts, in words (a rule's usual count: its results.json metric)."""
    if count == DEFAULTS.get(rule) and rule in METRIC_OF_RULE:
        return t(f"metric.{METRIC_OF_RULE[rule]}", lang)
    types = vocabulary("organisation_type")
    kinds = []
    for name in count.categories:
        if name in _METRIC_OF_CATEGORY:
            kinds.append(t(f"metric.{_METRIC_OF_CATEGORY[name]}", lang))
        else:  # a type code
            kinds.append(types.label(name, lang) if name in types.codes else name)
    noun = " / ".join(kinds) or t(f"metric.{count.what}", lang)
    if count.what == "countries" and kinds:
        noun = t("panel.countries_with", lang, kinds=noun)
    qualifiers = []
    if count.among != "any":
        qualifiers.append(t(f"panel.among_{count.among}", lang))
    elif count.scope != "pool":
        qualifiers.append(t(f"panel.scope_{count.scope}", lang))
    if count.per:
        qualifiers.append(t("panel.per_country", lang))
    return f"{noun} ({', '.join(qualifiers)})" if qualifiers else noun


_METRIC_OF_CATEGORY = {
    "hei": "hei",
    "vet": "vet",
    "enterprise": "enterprises",
    "labour_market_actor": "labour_market_actors",
    "education_provider": "education_providers",
}


def _line(helpers: Helpers, fields: Fields, entry: RuleEntry, lang: str) -> Line | None:
    found = unit(entry.rule)
    if found is None or not found.counts:
        return None
    applies, known = fields.condition(entry.when)
    if applies is False:
        return None
    counts = counts_of(entry)
    code = catalogue()[entry.rule].code
    if len(counts) == 2:  # third-country-balance: the first at least the second
        name, shown = "min", ""
        required = helpers.measured(counts[1]).removeprefix("=")
    else:
        name, operand = comparison(entry.params)
        shown = " / ".join(str(v) for v in operand) if name == "one_of" else ""
        required = "0" if name == "one_of" else fields.value(operand)
    if applies is not True:
        required = f'IF(AND({",".join(known)},{applies}),{required},"")'
    return Line(
        label(counts[0], lang, entry.rule), code, helpers.measured(counts[0]), name, required, shown
    )


def lines(
    helpers: Helpers,
    book: RuleBook,
    ruleset: RuleSet,
    action: str,
    cells: dict[str, str],
    lang: str,
) -> list[Line]:
    """The panel's lines for ``action``: the coordinator, then each count rule entry."""
    fields = Fields(action, cells, helpers)
    coordinators = f'=COUNTIF({helpers.range("role_code")},"coordinator")'
    out = [
        Line(
            t("metric.coordinators", lang),
            catalogue()["coordinator-missing"].code,
            coordinators,
            "exactly",
            "1",
        )
    ]
    for entry in (e for s in (*book.universal_sets(), ruleset) for e in s.entries):
        try:
            line = _line(helpers, fields, entry, lang)
        except Unsupported:
            continue  # a condition on something the sheet does not hold: the auditor says
        if line is not None:
            out.append(line)
    return out


def _call_year(cells: dict[str, str]) -> str:
    """The call year as the auditor reads it (normalise_projects): the field,
    else the leading year of the proposal ID (four digits and no fifth), else
    the year of submission; 0 where none says."""
    year, pid = cells["call_year"], cells["proposal_id"]
    fallback = "0"
    if "submitted_at" in cells:
        submitted = cells["submitted_at"]
        fallback = f"IF(ISNUMBER({submitted}),YEAR({submitted}),0)"
    from_id = (
        f"IF(AND(LEN({pid})>=4,ISNUMBER(--LEFT({pid},4)),NOT(ISNUMBER(--MID({pid},5,1)))),"
        f"VALUE(LEFT({pid},4)),{fallback})"
    )
    return (
        f'=IF(ISNUMBER({year}),{year},IF(AND(TRIM({year})<>"",ISNUMBER(--TRIM({year}))),'
        f"VALUE(TRIM({year})),{from_id}))"
    )


def write(sheet: Any, lines_: list[Line], cells: dict[str, str], lang: str) -> None:
    """The panel on the Project sheet, right of the fields, and the CallYear name."""
    for offset, key in enumerate(
        ("template.panel", "template.now", "template.required", "template.status", "col.code")
    ):
        put(sheet, 1, COLUMN + offset, t(key, lang)).font = HEADER_FONT
    value, required, status = (get_column_letter(COLUMN + i) for i in (1, 2, 3))
    ok, bad = f"\u2713 {t('template.ok', lang)}", f"\u2717 {t('template.not_met', lang)}"
    for row, line in enumerate(lines_, start=2):
        put(sheet, row, COLUMN, line.label)
        cell = sheet.cell(row=row, column=COLUMN + 1)
        cell.value = line.measured
        cell.font = Font(bold=True)
        v, m = f"${value}{row}", f"${required}{row}"
        target = sheet.cell(row=row, column=COLUMN + 2)
        if line.comparison == "one_of":
            put(sheet, row, COLUMN + 2, line.shown)
            passed = "OR(" + ",".join(f"{v}={a.strip()}" for a in line.shown.split("/")) + ")"
        else:
            target.value = f"={line.required}"
            target.number_format = SIGNS[line.comparison]
            passed = {"min": f"{v}>={m}", "max": f"{v}<={m}", "exactly": f"{v}={m}"}[
                line.comparison
            ]
        # A count per country of a proposal with no such country holds (the auditor's too).
        sheet.cell(
            row=row, column=COLUMN + 3
        ).value = f'=IF({m}="","\u2013",IF(OR({v}="",{passed}),"{ok}","{bad}"))'
        put(sheet, row, COLUMN + 4, line.code)
        area = f"{value}{row}:{status}{row}"
        shown = f'LEFT(${status}{row},1)="\u2713"'
        sheet.conditional_formatting.add(area, FormulaRule(formula=[shown], fill=GREEN))
        failed = f'LEFT(${status}{row},1)="\u2717"'
        sheet.conditional_formatting.add(area, FormulaRule(formula=[failed], fill=RED))
    row = len(lines_) + 3
    put(sheet, row, COLUMN, t("proposal.call_year", lang))
    sheet.cell(row=row, column=COLUMN + 1).value = _call_year(cells)
    reference = f"Project!${value}${row}"
    sheet.parent.defined_names["CallYear"] = DefinedName("CallYear", attr_text=reference)
