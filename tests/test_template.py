"""The applicant's template: generated, filled in, recalculated, audited."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from auditor.api import audit
from auditor.core.catalogue import catalogue
from auditor.core.findings import Verdict
from auditor.normalise.countries import all_codes
from auditor.normalise.vocabulary import vocabulary
from auditor.read.specs import expand
from auditor.report.i18n import t
from auditor.report.template import build_template, write_template
from auditor.rules.counting import METRIC_OF_RULE
from auditor.rules.rulebook import RuleBook
from samples.make_samples import fill_template
from tests.test_cli import run

# One rule per action family whose catalogue examples fill the template.
FAMILIES = {
    "KA220-SCH": "min-countries",
    "KA220-HED": "eche-required",
    "KA210-VET": "lump-sum",
    "KA2-KA": "min-hei",
    "KA203": "partnership-type",
    "KA2-SSA": "min-eu-member-states",
    "AFI-LOT1": "min-vet",
    "AFI-LOT2": "eqf-coverage",
    "COVE": "per-country-composition",
    # actions.md sections 9-17 and KA229 (issue 13)
    "EMJM": "partner-type",
    "EMDM": "mono-beneficiary-grant",
    "FLP": "third-country-full-partner",
    "CBHE-S1": "coordinator-type",
    "CB-VET": "third-country-balance",
    "CB-YOU": "single-region",
    "CB-SPORT": "grant-floor",
    "NFPSE": "lump-sum-tier",
    "NFPSE-LS": "min-sports",
    "KA229": "max-organisations",
    "SPORT-SCP": "priority-required",
    "SPORT-SSCP": "third-country-not-allowed",
}
SHEETS = {
    "en": ["Instructions", "Project", "Partners", "Lists"],
    "nl": ["Instructies", "Project", "Partners", "Lists"],
}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_template_for_every_action(book: RuleBook, lang: str) -> None:
    for action in book.actions:
        workbook = build_template(book, action, lang)
        assert workbook.sheetnames == SHEETS[lang]
        instructions, project, partners, lists = workbook.worksheets
        assert lists.sheet_state == "hidden"
        assert project["B5"].value == action  # the action, filled in
        assert project.protection.sheet and partners.protection.sheet
        assert project["B2"].protection.locked is False and project["A2"].protection.locked
        texts = {c.value for row in instructions.iter_rows() for c in row if c.value}
        ruleset = book.ruleset_of(action)
        assert ruleset is not None
        # A rule is listed when one of its entries applies to the action.
        applies: dict[str, bool] = {}
        for entry in ruleset.entries:
            limited = (entry.when or {}).get("action")
            here = limited is None or action in (limited.get("in") or [limited.get("eq")])
            applies[entry.rule] = applies.get(entry.rule, False) or here
        for rule, listed in applies.items():
            assert (catalogue()[rule].code in texts) == listed, (action, rule)
        prompts = [v for v in partners.data_validations.dataValidation if v.prompt]
        assert len(prompts) >= 11 and all(len(v.prompt) <= 255 for v in prompts)
        assert partners.tables["Partners"].ref == "A1:K61"


def test_dropdowns_hold_the_full_vocabulary(book: RuleBook) -> None:
    workbook = build_template(book, "KA220-HED", "nl")
    lists = workbook["Lists"]
    column = {cell.value: cell.column_letter for cell in lists[1] if cell.value}

    def values(name: str) -> list[Any]:
        letter = column[name]
        return [c.value for c in lists[letter][1:] if c.value is not None]

    assert len(values("role")) == len(vocabulary("role").codes) == 4
    assert len(values("organisation_type")) == len(vocabulary("organisation_type").codes) == 16
    assert len(values("country")) == len(all_codes())
    assert "EL \u2013 Griekenland" in values("country")
    assert "Coördinator (aanvrager)" in values("role")
    assert len(values("industrial_ecosystem")) == 14
    formulas = {v.formula1 for v in workbook["Partners"].data_validations.dataValidation}
    assert {
        f"=Lists!${column[n]}$2:${column[n]}${len(values(n)) + 1}"
        for n in ("role", "organisation_type", "country")
    } <= formulas


def _fill(
    tmp: Path, book: RuleBook, family: str, kind: str, lang: str
) -> tuple[Path, dict[str, Any]]:
    example = catalogue()[FAMILIES[family]].examples[kind]
    proposal = expand(example, catalogue().bases)
    action = proposal["project"]["action"]
    template = tmp / f"{family}-{lang}-template.xlsx"
    if not template.exists():
        write_template(book, action, lang, template)
    filled = tmp / f"{family}-{kind}-{lang}.xlsx"
    fill_template(template, filled, proposal, lang)
    return filled, proposal


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_filled_templates_round_trip(
    book: RuleBook, tmp_path: Path, family: str, lang: str
) -> None:
    eligible, _ = _fill(tmp_path, book, family, "eligible", lang)
    ineligible, _ = _fill(tmp_path, book, family, "ineligible", lang)
    good, bad = audit([str(eligible)]).proposals[0], audit([str(ineligible)]).proposals[0]
    assert good.verdict is Verdict.ELIGIBLE, [f.message for f in good.findings]
    assert FAMILIES[family] in {f.rule for f in bad.findings}
    # Nothing the template wrote went unrecognised.
    unknown = {
        "unknown-role",
        "unknown-country",
        "unknown-organisation-type",
        "unknown-action",
        "missing-column",
        "missing-sheet",
        "invalid-number",
        "invalid-date",
    }
    assert not unknown & {f.rule for f in bad.findings}


def test_check_on_a_filled_template_through_the_cli(book: RuleBook, tmp_path: Path) -> None:
    eligible, _ = _fill(tmp_path, book, "AFI-LOT1", "eligible", "nl")
    ineligible, _ = _fill(tmp_path, book, "AFI-LOT1", "ineligible", "nl")
    good, bad = run("check", str(eligible), "--lang", "nl"), run("check", str(ineligible))
    assert good.returncode == 0 and good.stdout.strip().endswith(
        "ontvankelijk (0 fouten, 0 waarschuwingen)"
    )
    assert bad.returncode == 1 and "ELG104 min-vet error" in bad.stdout


def test_template_command(tmp_path: Path) -> None:
    target = tmp_path / "ka220.xlsx"
    assert (
        run(
            "template",
            "--action",
            "Cooperation partnerships in higher education",
            "--lang",
            "nl",
            "-o",
            str(target),
        ).returncode
        == 0
    )
    assert openpyxl.load_workbook(target)["Project"]["B5"].value == "KA220-HED"
    again = run("template", "--action", "KA220-HED", "-o", str(target))
    assert again.returncode == 2 and "--force" in again.stderr
    assert run("template", "--action", "KA220-HED", "-o", str(target), "--force").returncode == 0
    assert run("template", "--action", "KA999", "-o", str(tmp_path / "x.xlsx")).returncode == 2


def _panel(path: Path) -> dict[str, Any]:
    sheet = openpyxl.load_workbook(path, data_only=True)["Project"]
    panel = {}
    for row in range(2, 20):
        label, value = sheet.cell(row, 5).value, sheet.cell(row, 6).value
        if label:
            panel[label] = value
    return panel


def test_live_panel_counts_like_the_auditor(book: RuleBook, tmp_path: Path) -> None:
    """LibreOffice recalculates filled templates; the panel equals the auditor's metrics."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is needed (.ci/run installs it)"
    filled = []
    for family in sorted(FAMILIES):
        for kind in ("eligible", "ineligible"):
            lang = "nl" if family < "KA2" else "en"
            filled.append((_fill(tmp_path, book, family, kind, lang)[0], lang))
    out = tmp_path / "recalculated"
    done = subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            *[str(path) for path, _ in filled],
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    compared = 0
    for path, lang in filled:
        panel = _panel(out / path.name)
        proposal = audit([str(path)]).proposals[0]
        coordinators = next(c.measured for c in proposal.checks if c.rule == "coordinator-missing")
        assert panel[t("metric.coordinators", lang)] == coordinators, path.name
        for metric in set(METRIC_OF_RULE.values()):
            label = t(f"metric.{metric}", lang)
            if label in panel:
                assert panel[label] == proposal.metrics[metric], (path.name, metric, panel)
                compared += 1
        year = panel[t("proposal.call_year", lang)]
        assert year == proposal.call_year
    assert compared >= 30
