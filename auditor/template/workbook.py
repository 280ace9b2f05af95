"""The applicant's template: a workbook that helps while it is being filled.

Sheets: Instructions (the action's rules in the chosen language), Project
(the fields, the action filled in, and a live consortium panel), Partners (a
formatted Excel table with dropdowns and input messages) and a hidden Lists
sheet that feeds the dropdowns and the panel's lookups.

The panel (template/panel.py) counts with formulas what the auditor counts,
one line per count rule of the action, made from the rule set's count
declarations.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from auditor.core.catalogue import catalogue
from auditor.core.errors import ConfigError
from auditor.core.tables import ColumnSpec, table_spec
from auditor.normalise.countries import all_codes, country_name, dropdown_value
from auditor.normalise.vocabulary import vocabulary
from auditor.report.excel import HEADER_FONT, autosize, put
from auditor.report.files import write_atomic
from auditor.report.i18n import t
from auditor.report.params_text import params_text, public_source
from auditor.rules.examples import (
    PARTNER_HEADER_ROW,
    PROJECT_FIRST_ROW,
    partner_columns,
    project_rows,
)
from auditor.rules.model import RuleBook, RuleEntry, RuleSet
from auditor.template import panel

ROWS = 60  # empty partner rows in the table
LAST = PARTNER_HEADER_ROW + ROWS
GREEN = PatternFill("solid", start_color="FFC6EFCE", end_color="FFC6EFCE")
RED = PatternFill("solid", start_color="FFF4C7CE", end_color="FFF4C7CE")
INPUT = PatternFill("solid", start_color="FFFFFBEA", end_color="FFFFFBEA")
UNLOCKED = Protection(locked=False)


def _letter(key: str) -> str:
    return str(get_column_letter(partner_columns().index(key) + 1))


# ---------------------------------------------------------------- the lists


@dataclass(frozen=True)
class _Lists:
    roles: str
    types: str
    countries: str
    actions: str
    partnership_types: str
    ecosystems: str


def _column(sheet: Any, column: int, title: str, values: Sequence[Any]) -> str:
    put(sheet, 1, column, title).font = HEADER_FONT
    for row, value in enumerate(values, start=2):
        put(sheet, row, column, value)
    letter = get_column_letter(column)
    return f"Lists!${letter}$2:${letter}${len(values) + 1}"


def _lookup(sheet: Any, column: int, title: str, pairs: Sequence[tuple[Any, Any]]) -> str:
    put(sheet, 1, column, title).font = HEADER_FONT
    for row, (text, code) in enumerate(pairs, start=2):
        put(sheet, row, column, text)
        put(sheet, row, column + 1, code)
    first, second = get_column_letter(column), get_column_letter(column + 1)
    return f"Lists!${first}$2:${second}${len(pairs) + 1}"


def _name(workbook: Any, name: str, reference: str) -> None:
    workbook.defined_names[name] = DefinedName(name, attr_text=reference)


def _lists(workbook: Any, sheet: Any, book: RuleBook, ruleset: RuleSet, lang: str) -> _Lists:
    roles, types = vocabulary("role"), vocabulary("organisation_type")
    ptypes, ecosystems = vocabulary("partnership_type"), vocabulary("industrial_ecosystem")
    codes = all_codes()
    lists = _Lists(
        roles=_column(sheet, 1, "role", [roles.label(c, lang) for c in roles.codes]),
        types=_column(sheet, 2, "organisation_type", [types.label(c, lang) for c in types.codes]),
        countries=_column(sheet, 3, "country", [dropdown_value(c, lang) for c in codes]),
        actions=_column(sheet, 4, "action", list(book.actions)),
        partnership_types=_column(
            sheet, 5, "partnership_type", [ptypes.label(c, lang) for c in ptypes.codes]
        ),
        ecosystems=_column(
            sheet, 6, "industrial_ecosystem", [ecosystems.label(c, lang) for c in ecosystems.codes]
        ),
    )
    # Lookups from what a cell may say (either language, or the code) to the code.
    role_pairs = [
        (text, code)
        for code in roles.codes
        for text in {code, roles.label(code, "en"), roles.label(code, "nl")}
    ]
    type_pairs = [
        (text, code)
        for code in types.codes
        for text in {code, types.label(code, "en"), types.label(code, "nl")}
    ]
    country_pairs: list[tuple[str, str]] = []
    for code in codes:
        names = {
            code,
            dropdown_value(code, "en"),
            dropdown_value(code, "nl"),
            country_name(code, "en"),
            country_name(code, "nl"),
        }
        country_pairs.extend((text, code) for text in sorted(names))
    _name(workbook, "RoleLookup", _lookup(sheet, 8, "role_lookup", role_pairs))
    _name(workbook, "TypeLookup", _lookup(sheet, 11, "type_lookup", type_pairs))
    _name(workbook, "CountryLookup", _lookup(sheet, 14, "country_lookup", country_pairs))
    pool = book.pools[ruleset.pool] if ruleset.pool else None
    members = [(c, start or 0, end or 9999) for c, start, end in (pool.members if pool else ())]
    _member_table(workbook, sheet, 17, "Pool", members)
    eu = [(c, start or 0, end or 9999) for c, start, end in book.eu_members]
    _member_table(workbook, sheet, 21, "EU", eu)
    return lists


def _member_table(
    workbook: Any, sheet: Any, column: int, prefix: str, rows: Sequence[tuple[str, int, int]]
) -> None:
    parts: list[tuple[str, str, list[Any]]] = [
        ("Country", "country", [r[0] for r in rows]),
        ("From", "from_year", [r[1] for r in rows]),
        ("Until", "until_year", [r[2] for r in rows]),
    ]
    for offset, (name, title, values) in enumerate(parts):
        reference = _column(sheet, column + offset, f"{prefix.lower()}_{title}", values)
        _name(workbook, f"{prefix}{name}", reference)


# ---------------------------------------------------------------- the sheets


def _validation(sheet: Any, column: ColumnSpec, lang: str, cells: str, **kind: Any) -> None:
    prompt = column.help.get(lang) or column.help.get("en") or ""
    validation = DataValidation(
        showInputMessage=True,
        promptTitle=column.label(lang)[:32],
        prompt=prompt[:255],
        allow_blank=True,
        showErrorMessage=bool(kind),
        errorStyle="stop",
        **kind,
    )
    validation.add(cells)
    sheet.add_data_validation(validation)


def _project_sheet(
    sheet: Any, action: str, shown: list[str], lists: _Lists, lang: str
) -> dict[str, str]:
    spec = table_spec("project")
    put(sheet, 1, 1, t("template.field", lang)).font = HEADER_FONT
    put(sheet, 1, 2, t("template.value", lang)).font = HEADER_FONT
    cells: dict[str, str] = {}
    formats = {
        "duration_months": "0",
        "call_year": "0",
        "requested_grant_eur": "#,##0",
        "start_date": "yyyy-mm-dd",
        "submitted_at": "yyyy-mm-dd hh:mm",
    }
    kinds: dict[str, dict[str, Any]] = {
        "action": {"type": "list", "formula1": f"={lists.actions}"},
        "partnership_type": {"type": "list", "formula1": f"={lists.partnership_types}"},
        "industrial_ecosystem": {"type": "list", "formula1": f"={lists.ecosystems}"},
        "duration_months": {
            "type": "whole",
            "operator": "between",
            "formula1": "1",
            "formula2": "120",
        },
        "call_year": {
            "type": "whole",
            "operator": "between",
            "formula1": "2014",
            "formula2": "2035",
        },
        "requested_grant_eur": {
            "type": "decimal",
            "operator": "greaterThanOrEqual",
            "formula1": "0",
        },
        "start_date": {"type": "date", "operator": "greaterThan", "formula1": "36526"},
        "submitted_at": {"type": "date", "operator": "greaterThan", "formula1": "36526"},
    }
    for offset, key in enumerate(shown):
        row = PROJECT_FIRST_ROW + offset
        column = spec.columns[key]
        label = put(sheet, row, 1, column.label(lang))
        label.font = Font(bold=column.required is True)
        cell = sheet.cell(row=row, column=2)
        cell.protection = UNLOCKED
        cell.fill = INPUT
        if key in formats:
            cell.number_format = formats[key]
        cells[key] = cell.coordinate
        _validation(sheet, column, lang, cell.coordinate, **kinds.get(key, {}))
    # The template is made for its action: the panel's lines are that action's.
    fixed = put(sheet, PROJECT_FIRST_ROW + shown.index("action"), 2, action)
    fixed.protection = Protection(locked=True)
    fixed.fill = PatternFill(fill_type=None)
    return cells


def shown_fields(book: RuleBook, action: str) -> list[str]:
    """The Project fields the template of ``action`` shows: every field for every
    action, and the others where a rule that reads them applies (schemas/project.yaml
    ``shown_for``): no Industrial ecosystem field on a school partnership."""
    spec = table_spec("project")
    ruleset = book.ruleset_of(action)
    entries = [
        e for s in (*book.universal_sets(), *([ruleset] if ruleset else [])) for e in s.entries
    ]
    rules = {e.rule for e in entries if _applies(e, action)}
    shown = []
    for key in project_rows():
        condition = spec.columns[key].shown_for
        if (
            condition is None
            or (key == "strand" and action in book.actions_with_strands)
            or rules & set(condition.get("rules", ()))
            or action in condition.get("actions", ())
        ):
            shown.append(key)
    return shown


def _partners_sheet(sheet: Any, lists: _Lists, lang: str) -> None:
    spec = table_spec("partners")
    keys = partner_columns()
    for index, key in enumerate(keys, start=1):
        put(sheet, PARTNER_HEADER_ROW, index, spec.columns[key].label(lang)).font = HEADER_FONT
    first, last = PARTNER_HEADER_ROW + 1, LAST
    for row in range(first, last + 1):
        for index in range(1, len(keys) + 1):
            cell = sheet.cell(row=row, column=index)
            cell.protection = UNLOCKED
        sheet.cell(row=row, column=keys.index("requested_grant_eur") + 1).number_format = "#,##0"
    dropdowns = {"role": lists.roles, "country": lists.countries, "organisation_type": lists.types}
    for key in keys:
        letter = _letter(key)
        kind = {"type": "list", "formula1": f"={dropdowns[key]}"} if key in dropdowns else {}
        _validation(sheet, spec.columns[key], lang, f"{letter}{first}:{letter}{last}", **kind)
    table = Table(
        displayName="Partners", ref=f"A{PARTNER_HEADER_ROW}:{get_column_letter(len(keys))}{last}"
    )
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    sheet.add_table(table)
    sheet.freeze_panes = f"A{first}"
    autosize(sheet, {1: 6, 2: 24, 3: 40, 4: 13, 5: 12, 6: 24, 7: 34, 8: 16, 9: 16, 10: 16, 11: 40})


def _applies(entry: RuleEntry, action: str) -> bool:
    """Whether an entry may apply to ``action`` (its ``when`` on the action)."""
    condition = (entry.when or {}).get("action")
    if condition is None:
        return True
    if isinstance(condition, dict):
        return action in condition.get("in", [condition.get("eq")])
    return bool(condition == action)


def _instructions(
    sheet: Any, book: RuleBook, ruleset: RuleSet, action: str, file: str, lang: str
) -> None:
    put(
        sheet, 1, 1, t("template.title", lang, action=f"{action} — {ruleset.text('title', lang)}")
    ).font = Font(bold=True, size=14)
    for row, key in enumerate(
        ("template.intro", "template.step1", "template.step2", "template.step3"), start=3
    ):
        put(sheet, row, 1, t(key, lang))
    put(sheet, 7, 1, t("template.step4", lang, file=file))
    row = 9
    for part in ("note", "not_checked"):
        if getattr(ruleset, part):
            put(
                sheet, row, 1, f"{t(f'explain.{part}', lang)}: {ruleset.text(part, lang)}"
            ).alignment = Alignment(wrap_text=True)
            row += 2
    put(sheet, row, 1, t("template.rules", lang)).font = Font(bold=True, size=12)
    row += 1
    for column, key in enumerate(
        ("col.code", "col.title", "col.severity", "template.requirement", "col.source"), start=1
    ):
        put(sheet, row, column, t(key, lang)).font = HEADER_FONT
    rules = catalogue()
    entries = [
        (s, e) for s in (*book.universal_sets(), ruleset) for e in s.entries if _applies(e, action)
    ]
    for owner, entry in sorted(entries, key=lambda item: rules[item[1].rule].code):
        row += 1
        rule = rules[entry.rule]
        put(sheet, row, 1, rule.code)
        put(sheet, row, 2, rule.text("title", lang))
        put(sheet, row, 3, t(f"severity.{entry.own_severity or rule.severity}", lang))
        put(sheet, row, 4, params_text(entry, lang))
        put(sheet, row, 5, public_source(entry.source or owner.source or rule.source))
    autosize(sheet, {1: 12, 2: 44, 3: 10, 4: 44, 5: 90})


def build_template(book: RuleBook, action_text: str, lang: str, file: str = "FILE.xlsx") -> Any:
    """The template workbook for an action (key or alias), in ``lang``."""
    action, _ = book.lookup_action(action_text)
    ruleset = book.ruleset_of(action)
    if action is None or ruleset is None:
        raise ConfigError(
            f"unknown action {action_text!r}; known actions: {', '.join(book.actions)}"
        )
    workbook = openpyxl.Workbook()
    instructions = workbook.active
    instructions.title = t("template.instructions", lang)
    project = workbook.create_sheet(table_spec("project").sheet.label(lang))
    partners = workbook.create_sheet(table_spec("partners").sheet.label(lang))
    lists_sheet = workbook.create_sheet("Lists")  # the formulas refer to it by this name
    lists = _lists(workbook, lists_sheet, book, ruleset, lang)
    lists_sheet.sheet_state = "hidden"
    cells = _project_sheet(project, action, shown_fields(book, action), lists, lang)
    _partners_sheet(partners, lists, lang)
    helpers = panel.Helpers(partners, LAST)
    panel.write(project, panel.lines(helpers, book, ruleset, action, cells, lang), cells, lang)
    autosize(project, {1: 30, 2: 46, 3: 4, 4: 4, 5: 34, 6: 10, 7: 10, 8: 16})
    for sheet in (project, partners):
        sheet.protection.sheet = True
        # Protected headers and formulas, but the applicant may still add,
        # remove, sort and filter rows.
        for allowed in ("insertRows", "deleteRows", "sort", "autoFilter", "formatColumns"):
            setattr(sheet.protection, allowed, False)
    _instructions(instructions, book, ruleset, action, file, lang)
    for sheet in (instructions, project, partners):
        # Printed, each sheet fits the width of a landscape page.
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    partners.print_area = f"A1:{get_column_letter(len(partner_columns()))}{LAST}"
    workbook.active = 1
    return workbook


def write_template(book: RuleBook, action: str, lang: str, path: Path) -> None:
    """Write the template to ``path`` (a new file: written beside it and renamed)."""
    workbook = build_template(book, action, lang, file=path.name)
    buffer = io.BytesIO()
    workbook.save(buffer)
    write_atomic(path, buffer.getvalue())
