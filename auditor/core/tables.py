"""The declared shape of the workbook's tables, read from ``schemas/*.yaml``.

The same declarations drive the reader (which headers mean which column), the
pandera schemas (what values must look like), the reports (labels in English
and Dutch) and the template (headers and input messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from auditor.core.errors import RulesError
from auditor.core.resources import shipped_dir
from auditor.core.yamlfile import YAMLError, read_yaml

LANGUAGES = ("en", "nl")


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One field of the Project sheet or one column of the Partners table."""

    key: str
    labels: dict[str, str]
    aliases: tuple[str, ...]
    required: bool | str  # True, False, or a named condition such as "oid-or-pic"
    check: str | None  # check kind: vocabulary, pattern, whole, amount, year, datetime, ...
    check_params: dict[str, Any]
    help: dict[str, str]  # what to fill in (the template's input messages)
    # Where the applicant's template shows the field: for every action (None),
    # or where one of these rules applies or for these actions (``shown_for``).
    shown_for: dict[str, tuple[str, ...]] | None = None
    # Actions for which the field is required although it is optional elsewhere.
    required_for: tuple[str, ...] = ()

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.labels["en"]

    def names(self) -> tuple[str, ...]:
        """Everything a header cell may say for this column."""
        return (self.key, *self.labels.values(), *self.aliases)


@dataclass(frozen=True, slots=True)
class SheetNames:
    labels: dict[str, str]
    aliases: tuple[str, ...]

    def names(self) -> tuple[str, ...]:
        return (*self.labels.values(), *self.aliases)

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.labels["en"]


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    sheet: SheetNames
    list_sheet: SheetNames | None
    columns: dict[str, ColumnSpec]

    def required_keys(self) -> tuple[str, ...]:
        return tuple(k for k, c in self.columns.items() if c.required is True)


def _sheet_names(data: dict[str, Any]) -> SheetNames:
    return SheetNames(
        labels={lang: str(data[lang]) for lang in LANGUAGES},
        aliases=tuple(str(a) for a in data.get("aliases", [])),
    )


def _column(key: str, data: dict[str, Any]) -> ColumnSpec:
    check = data.get("check")
    kind: str | None
    params: dict[str, Any]
    if check is None:
        kind, params = None, {}
    elif isinstance(check, str):
        kind, params = check, {}
    else:
        kinds = [k for k in check if k != "rule"]
        if len(kinds) != 1:
            raise RulesError(f"column {key}: a check names exactly one kind, got {kinds}")
        kind = kinds[0]
        params = {"value": check[kind], **{k: v for k, v in check.items() if k == "rule"}}
    return ColumnSpec(
        key=key,
        labels={lang: str(data[lang]) for lang in LANGUAGES},
        aliases=tuple(str(a) for a in data.get("aliases", [])),
        required=data.get("required", False),
        check=kind,
        check_params=params,
        help={lang: str(text) for lang, text in (data.get("help") or {}).items()},
        shown_for=(
            {k: tuple(str(v) for v in values) for k, values in data["shown_for"].items()}
            if "shown_for" in data
            else None
        ),
        required_for=tuple(str(a) for a in data.get("required_for", ())),
    )


@cache
def table_spec(name: str) -> TableSpec:
    """The declaration ``schemas/<name>.yaml`` (``partners`` or ``project``)."""
    path = shipped_dir("schemas") / f"{name}.yaml"
    try:
        data = read_yaml(path)
        return TableSpec(
            name=name,
            sheet=_sheet_names(data["sheet"]),
            list_sheet=_sheet_names(data["list_sheet"]) if "list_sheet" in data else None,
            columns={key: _column(key, spec) for key, spec in data["columns"].items()},
        )
    except (OSError, KeyError, TypeError, YAMLError) as error:
        raise RulesError(f"cannot load the schema declaration {path}: {error}") from error


def field_label(key: str, lang: str = "en") -> str:
    """The label of a project field or partner column, in the given language."""
    for name in ("partners", "project"):
        spec = table_spec(name)
        if key in spec.columns:
            return spec.columns[key].label(lang)
    return key
