"""The layout fuzzer: a person would call every variant the same proposal, so must the auditor.

From every one-proposal sample, hypothesis writes variants of its workbook
(workbook-format.md v2, "Reading like a careful person"):

- title rows above the Project fields and above the partner table;
- guidance in a third column of the Project sheet (also next to empty values);
- rows and columns with confusable names ("Call", "Budget", "Total cost",
  "Key action") holding values;
- shuffled partner columns, the table moved right, extra columns;
- blank rows between partners, notes of one to three cells below the table,
  a totals row ("Total", "Totaal", "Som", "Sum", "Subtotal");
- organisation names beginning with Total, Som, Sum, Totaal or Subtotal;
- English and Dutch labels and headers mixed, field by field;
- roles and organisation types written as codes, English or Dutch labels
  (the combined " / " forms and each of their parts);
- placeholders ("n/a", "nvt", "-", ...) in optional fields left empty.

Each variant must give the same verdict and the same findings as the plain
rendering of the same proposal: the same rules on the same cells, each
variant cell mapped back to the plain one. The variants of a batch are
judged together (one pandera call), 2,000 and more per run.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.api import judge_chunk
from auditor.core.config import AuditConfig, Limits
from auditor.core.findings import column_letter
from auditor.core.tables import table_spec
from auditor.normalise.vocabulary import vocabulary
from auditor.read.batch import batch_of
from auditor.read.discover import InputFile
from auditor.read.workbook import read_file
from auditor.rules.rulebook import load_rulebook
from samples.make_samples import samples

SPECS = {name: spec for name, (spec, style) in samples().items() if style is not None}
VARIANTS_PER_EXAMPLE = 50
EXAMPLES = 44  # 2,200 variants
CONFUSABLE = ("Call", "Budget", "Total cost", "Key action")
TOTALS = ("Total", "Totaal", "Som", "Sum", "Subtotal", "Subtotaal")
NAME_PREFIXES = ("Total", "Som", "Sum", "Totaal", "Subtotal")
PLACEHOLDERS = ("n/a", "N/A", "nvt", "n.v.t.", "-", "none", "geen", "—")
NOTES = ("See the annex", "Signed by the rector", "Version 2, March", "Confidential", "p.t.o.")
GUIDANCE = ("Fill in as in the call", "Zie de handleiding", "Optional", "Max. 200 characters")
OPTIONAL = ("acronym", "title", "start_date", "submitted_at", "eqf_levels", "partnership_type")
Cell = tuple[str, str | None]  # (sheet kind, cell address)


@dataclass
class Layout:
    """One variant's choices (a plain rendering has none of them)."""

    labels: dict[str, str] = field(default_factory=dict)  # key -> "en" | "nl"
    project_title_rows: int = 0
    guidance: frozenset[str] = frozenset()
    confusable_rows: tuple[str, ...] = ()
    placeholders: dict[str, str] = field(default_factory=dict)
    partner_title_rows: int = 0
    start_column: int = 0
    order_seed: int | None = None
    extra_columns: tuple[str, ...] = ()
    blank_after: frozenset[int] = frozenset()
    notes: tuple[tuple[int, ...], ...] = ()  # each note: the table columns it fills
    totals: str | None = None
    prefix_names: bool = False  # every name begins with Total, Som, ...
    value_forms: dict[int, tuple[str, str]] = field(default_factory=dict)  # row -> (role, type)


FORMS = ("code", "en", "nl", "nl-part")


def random_layout(rng: random.Random) -> Layout:
    """One variant's choices, drawn from ``rng`` (hypothesis draws its seed)."""
    keys = [*table_spec("project").columns, *table_spec("partners").columns]
    project_keys = list(table_spec("project").columns)
    return Layout(
        labels={k: rng.choice(("en", "nl")) for k in keys},
        project_title_rows=rng.randint(0, 3),
        guidance=frozenset(k for k in project_keys if rng.random() < 0.3),
        confusable_rows=tuple(rng.sample(CONFUSABLE, rng.randint(0, len(CONFUSABLE)))),
        placeholders={k: rng.choice(PLACEHOLDERS) for k in OPTIONAL if rng.random() < 0.5},
        partner_title_rows=rng.randint(0, 3),
        start_column=rng.randint(0, 2),
        order_seed=rng.choice((None, rng.randint(0, 10_000))),
        extra_columns=tuple(sorted(rng.sample(CONFUSABLE, rng.randint(0, len(CONFUSABLE))))),
        blank_after=frozenset(rng.sample(range(12), rng.randint(0, 3))),
        notes=tuple(
            tuple(rng.sample(range(12), rng.randint(1, 3))) for _ in range(rng.randint(0, 3))
        ),
        totals=rng.choice((None, *TOTALS)),
        prefix_names=rng.random() < 0.5,
        value_forms={i: (rng.choice(FORMS), rng.choice(FORMS)) for i in range(12)},
    )


def _form(vocabulary_name: str, value: Any, form: str) -> Any:
    """A role or organisation type written another accepted way (unknown values stay)."""
    words = vocabulary(vocabulary_name)
    if not isinstance(value, str) or value not in words.codes or form == "code":
        return value
    if form == "en":
        return words.label(value, "en")
    full = words.label(value, "nl")
    if form == "nl-part" and " / " in full:
        return full.split(" / ")[-1]
    return full


class Grid:
    """A sheet being written, and where each plain cell went."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.cells: dict[tuple[int, int], str] = {}
        self.origin: dict[str, str] = {}  # variant address -> plain address

    def put(self, row: int, column: int, value: Any, plain: str | None = None) -> None:
        """Write ``value`` (nothing for an empty one); ``plain``: its address in the plain
        rendering, so a finding here maps back there."""
        if value is not None and value != "":
            self.cells[(row, column)] = str(value)
        if plain is not None:
            self.origin[f"{column_letter(column + 1)}{row + 1}"] = plain


def _label(key: str, table: str, lang: str) -> str:
    return table_spec(table).columns[key].label(lang)


def render(spec: Mapping[str, Any], layout: Layout) -> tuple[Grid, Grid]:
    """The proposal's Project and Partners sheets under ``layout`` (a plain Layout: the
    plain rendering, whose addresses are the reference)."""
    project = Grid("project")
    row = 0
    for number in range(layout.project_title_rows):
        project.put(row, 0, "Erasmus+ KA2 proposal" if number == 0 else None)
        row += 1
    project.put(row, 0, "Field")
    project.put(row, 1, "Value")
    row += 1
    plain_row = 2
    confusable = list(layout.confusable_rows)
    for index, key in enumerate(table_spec("project").columns):
        if index % 3 == 1 and confusable:
            project.put(row, 0, confusable.pop())
            project.put(row, 1, "2023" if index % 2 else "KA1 / 999,999")
            row += 1
        value = spec["project"].get(key)
        if value is None and key in layout.placeholders:
            value = layout.placeholders[key]
        project.put(row, 0, _label(key, "project", layout.labels.get(key, "en")), f"A{plain_row}")
        project.put(row, 1, value, f"B{plain_row}")
        if key in layout.guidance:
            project.put(row, 2, GUIDANCE[index % len(GUIDANCE)])
        row += 1
        plain_row += 1
    partners = Grid("partners")
    keys = [k for k in table_spec("partners").columns if k != "proposal_id"]
    present = [k for k in keys if any(p.get(k) not in (None, "") for p in spec["partners"])]
    for required in ("role", "organisation_name", "country", "organisation_type", "oid"):
        if required not in present:
            present.append(required)
    present.sort(key=keys.index)
    columns: list[str] = list(present) + list(layout.extra_columns)
    if layout.order_seed is not None:
        random.Random(layout.order_seed).shuffle(columns)
    plain_letter = {k: column_letter(i + 1) for i, k in enumerate(present)}
    row = 0
    for number in range(layout.partner_title_rows):
        partners.put(row, layout.start_column, "Partner organisations" if number == 0 else None)
        row += 1
    header = row
    for position, key in enumerate(columns):
        column = layout.start_column + position
        if key in CONFUSABLE:
            partners.put(header, column, key)
        else:
            text = _label(key, "partners", layout.labels.get(key, "en"))
            partners.put(header, column, text, f"{plain_letter[key]}1")
    row += 1
    names = {p.get("organisation_name") for p in spec["partners"]}
    prefix = {
        name: NAME_PREFIXES[i % len(NAME_PREFIXES)]
        for i, name in enumerate(sorted(n for n in names if isinstance(n, str)))
        if layout.prefix_names
    }
    for index, partner in enumerate(spec["partners"]):
        role_form, type_form = layout.value_forms.get(index, ("code", "code"))
        for position, key in enumerate(columns):
            column = layout.start_column + position
            if key in CONFUSABLE:
                partners.put(row, column, f"{1000 * (index + 1)}" if key != "Key action" else "KA2")
                continue
            value = partner.get(key)
            if key == "role":
                value = _form("role", value, role_form)
            elif key == "organisation_type":
                value = _form("organisation_type", value, type_form)
            elif key == "organisation_name" and value in prefix:
                value = f"{prefix[value]} {value}"
            partners.put(row, column, value, f"{plain_letter[key]}{index + 2}")
        row += 1
        if index in layout.blank_after:
            row += 1
    if layout.totals is not None:
        label_key = "organisation_name" if "organisation_name" in columns else columns[0]
        partners.put(row, layout.start_column + columns.index(label_key), layout.totals)
        if "requested_grant_eur" in columns:
            partners.put(row, layout.start_column + columns.index("requested_grant_eur"), "1000")
        row += 1
    for number, note in enumerate(layout.notes):
        row += 1 if number == 0 else 0
        for column in note:
            partners.put(row, layout.start_column + column, NOTES[(number + column) % len(NOTES)])
        row += 1
    return project, partners


def _write(path: Path, project: Grid, partners: Grid) -> None:
    # In memory: xlsxwriter otherwise writes each part to a temporary file first,
    # which was most of what 2,000 variants cost.
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    for name, grid in (("Project", project), ("Partners", partners)):
        sheet = workbook.add_worksheet(name)
        for (row, column), value in grid.cells.items():
            sheet.write_string(row, column, value)
    workbook.close()


def _findings(chunk: Any, grids: list[tuple[Grid, Grid]]) -> list[tuple[str, frozenset[Any]]]:
    """Each file's verdict and findings, with cells mapped back to the plain rendering."""
    out = []
    by_file = {p.file: p for p in chunk.proposals}
    for file, (project, partners) in zip(chunk.files, grids, strict=True):
        proposal = by_file[file.file]
        mapped = []
        for finding in (*proposal.findings, *file.findings):
            grid = project if finding.sheet == "Project" else partners
            cell = grid.origin.get(finding.address, f"?{finding.address}") if finding.cell else None
            mapped.append((finding.rule, finding.sheet, cell))
        out.append((str(proposal.verdict), frozenset(mapped)))
    return out


BOOK = load_rulebook()
CONFIG = AuditConfig(limits=Limits(timeout=0))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.slow
@given(name=st.sampled_from(sorted(SPECS)), seed=st.integers(0, 2**32))
def test_every_variant_of_a_sample_reads_as_the_same_proposal(
    tmp_path_factory: pytest.TempPathFactory, name: str, seed: int
) -> None:
    spec = SPECS[name]
    folder = tmp_path_factory.mktemp("variants")
    rng = random.Random(seed)
    variants = [random_layout(rng) for _ in range(VARIANTS_PER_EXAMPLE)]
    grids = [render(spec, Layout()), *(render(spec, layout) for layout in variants)]
    contents = []
    for index, (project, partners) in enumerate(grids):
        path = folder / f"v{index}.xlsx"
        _write(path, project, partners)
        contents.append(read_file(InputFile(path, str(path), path.name, index), CONFIG.limits))
    chunk = judge_chunk(batch_of(contents), BOOK, CONFIG)
    results = _findings(chunk, grids)
    plain = results[0]
    for index, result in enumerate(results[1:], start=1):
        assert result == plain, (name, variants[index - 1], result, plain)
