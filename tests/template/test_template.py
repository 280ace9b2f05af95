"""The applicant's template: generated, filled in, recalculated, audited."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from auditor.api import audit
from auditor.core.catalogue import catalogue
from auditor.core.findings import Verdict
from auditor.normalise.countries import all_codes
from auditor.normalise.vocabulary import vocabulary
from auditor.rules.examples import expand
from auditor.rules.rulebook import RuleBook
from auditor.template.workbook import build_template, write_template
from samples.make_samples import fill_template, fill_templates
from tests import programs
from tests.cells import cell_values
from tests.consortia import consortium, identities, variant
from tests.whole.test_cli import run

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
Templates = Callable[[str, str], Path]


@pytest.fixture(scope="session")
def templates(
    book: RuleBook, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Templates:
    """Each action's template in each language, written once (the tests fill copies of
    it): writing one takes a tenth of a second, and the tests below fill hundreds.

    Once for all the test processes: in the folder their temporary folders
    share. A template appears there whole (written under a name of the
    process's own, then renamed), so a process never reads one half written.
    """
    shared = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # an xdist worker: the run's folder is above
        shared = shared.parent
    folder = shared / "templates"
    folder.mkdir(exist_ok=True)

    def template(action: str, lang: str) -> Path:
        path = folder / f"{action}-{lang}.xlsx"
        if not path.exists():
            partial = folder / f"{action}-{lang}.{os.getpid()}.partial.xlsx"
            write_template(book, action, lang, partial)
            partial.replace(path)
        return path

    return template


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


Fillings = dict[str, list[tuple[Path, dict[str, Any]]]]


def _examples(
    tmp: Path, families: list[str], lang: str, fillings: Fillings
) -> dict[str, tuple[str, str]]:
    """The families' eligible and ineligible catalogue examples, added to ``fillings``
    by the action whose template they go in: file name -> (family, kind).

    Each filling gets a proposal ID of its own (the examples share theirs), so
    that one audit judges them all without the duplicate-ID rule between them.
    """
    names: dict[str, tuple[str, str]] = {}
    for family in families:
        for kind in ("eligible", "ineligible"):
            proposal = expand(catalogue()[FAMILIES[family]].examples[kind], catalogue().bases)
            project = proposal["project"]
            serial = f"8{len(names) + 1:08d}"  # (the consortia's serials start with 0 or 9)
            proposal["project"] = {**project, "proposal_id": project["proposal_id"][:-9] + serial}
            target = tmp / f"{family}-{kind}-{lang}.xlsx"
            fillings.setdefault(project["action"], []).append((target, proposal))
            names[target.name] = (family, kind)
    return names


def _fill_all(templates: Templates, fillings: Fillings, lang: str) -> None:
    """Each action's fillings in its template, loaded once for all of them."""
    for action, group in fillings.items():
        fill_templates(templates(action, lang), group, lang)


def _fill(
    tmp: Path, templates: Templates, families: list[str], lang: str
) -> dict[str, tuple[str, str]]:
    """The families' examples (``_examples``), filled: file name -> (family, kind)."""
    fillings: Fillings = {}
    names = _examples(tmp, families, lang, fillings)
    _fill_all(templates, fillings, lang)
    return names


def test_fillings_of_one_template_hold_their_own_proposal_alone(
    book: RuleBook, templates: Templates, tmp_path: Path
) -> None:
    """A template filled with a large consortium, then a small one, in one load: the
    second file is the one a fresh filling writes (nothing of the first is left)."""
    template = templates("KA220-SCH", "nl")
    large = consortium(book, "KA220-SCH")
    large["partners"] = [*large["partners"], *(large["partners"][1:] * 30)]
    assert len(large["partners"]) > 60  # rows beyond the template's table too
    small = consortium(book, "KA220-SCH")
    small["partners"] = small["partners"][:2]
    small["project"] = {k: v for k, v in small["project"].items() if k != "priorities"}
    assert "priorities" in large["project"]  # written by the first filling, not by the second
    fill_templates(
        template, [(tmp_path / "large.xlsx", large), (tmp_path / "small.xlsx", small)], "nl"
    )
    fill_template(template, tmp_path / "alone.xlsx", small, "nl")
    alone = cell_values(tmp_path / "alone.xlsx")
    assert cell_values(tmp_path / "small.xlsx") == alone
    assert cell_values(tmp_path / "large.xlsx") != alone  # the first filling was written

    def extents(path: Path) -> list[str]:
        """Each sheet's extent as the file states it (openpyxl reads cells, not this)."""
        with zipfile.ZipFile(path) as archive:
            parts = sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
            return [
                re.search(r'<dimension ref="([^"]+)"', archive.read(n).decode()).group(1)  # type: ignore[union-attr]
                for n in parts
            ]

    assert extents(tmp_path / "small.xlsx") == extents(tmp_path / "alone.xlsx")


def test_check_on_a_filled_template_through_the_cli(templates: Templates, tmp_path: Path) -> None:
    _fill(tmp_path, templates, ["AFI-LOT1"], "nl")
    eligible, ineligible = (
        tmp_path / "AFI-LOT1-eligible-nl.xlsx",
        tmp_path / "AFI-LOT1-ineligible-nl.xlsx",
    )
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


def _recalculate(soffice: str, tmp: Path, files: list[Path]) -> Path:
    out = tmp / "recalculated"
    done = programs.convert(soffice, files, "xlsx", out, tmp / "profile", timeout=900)
    assert done.returncode == 0, done.stderr
    return out


def _panel(path: Path) -> tuple[list[tuple[Any, ...]], Any]:
    """The panel's lines (label, now, required, status, code) and the call year."""
    workbook = openpyxl.load_workbook(path, data_only=True, read_only=True)
    try:
        rows = workbook["Project"].iter_rows(min_row=2, max_row=40, min_col=5, max_col=9)
        lines = []
        for cells in rows:
            line = tuple(cell.value for cell in cells)
            line += (None,) * (5 - len(line))
            if line[4]:
                lines.append(line)
            elif line[0]:
                return lines, line[1]  # the call year, below the lines
    finally:
        workbook.close()
    raise AssertionError(f"no call year under the panel of {path.name}")


def _blank(value: Any) -> Any:
    return None if value in ("", None) else value


@pytest.mark.slow
def test_live_panel_counts_like_the_auditor(
    book: RuleBook, templates: Templates, tmp_path: Path
) -> None:
    """Every action's template, filled and recalculated in LibreOffice: each
    panel line equals the auditor's check of its rule (count, requirement, result).

    Each action is filled once, the three fillings (an eligible consortium,
    a variant of its counts, the same organisations told apart by their
    identifiers only) and the two languages taking turns: each filling is
    recalculated on 13 actions, in each language on six or seven. (Every
    action with every filling tripled LibreOffice's work and the test's time,
    for panel formulas that every action shares.)
    """
    soffice = programs.soffice()
    filled: list[tuple[Path, str]] = []
    kinds = {"base": lambda base: base, "variant": variant, "identities": identities}
    fillings: dict[tuple[str, str], int] = {}
    for index, action in enumerate(book.actions):
        lang, kind = ("en", "nl")[index % 2], list(kinds)[index % 3]
        target = tmp_path / f"{action}-{kind}.xlsx"
        fill_template(templates(action, lang), target, kinds[kind](consortium(book, action)), lang)
        filled.append((target, action))
        fillings[kind, lang] = fillings.get((kind, lang), 0) + 1
    assert len(fillings) == 6 and min(fillings.values()) >= 5, fillings
    out = _recalculate(soffice, tmp_path, [path for path, _ in filled])
    results = {Path(p.file).name: p for p in audit([str(path) for path, _ in filled]).proposals}
    compared: dict[str, int] = {}
    for path, action in filled:
        lines, year = _panel(out / path.name)
        proposal = results[path.name]
        assert year == proposal.call_year, path.name
        for label, now, required, status, code in lines:
            checks = [c for c in proposal.checks if c.code == code]
            if _blank(required) is None:
                continue  # the entry does not apply (another year or grant): nothing to compare
            wanted = (
                [int(v) for v in str(required).split("/")] if "/" in str(required) else required
            )
            matching = [
                c
                for c in checks
                if _blank(c.measured) == _blank(now)
                and (list(c.expected) if isinstance(c.expected, tuple) else c.expected) == wanted
            ]
            assert matching, (
                path.name,
                label,
                now,
                required,
                [(c.measured, c.expected) for c in checks],
            )
            passed = {True: "\u2713", False: "\u2717"}
            assert any(str(status).startswith(passed[bool(c.passed)]) for c in matching), (
                path.name,
                label,
                status,
                matching,
            )
            compared[action] = compared.get(action, 0) + 1
    # Every action's panel compared at least its coordinator line; most, several.
    assert set(compared) == set(book.actions)
    assert sum(compared.values()) >= 3 * len(book.actions), compared


UNRECOGNISED = {
    "unknown-role",
    "unknown-country",
    "unknown-organisation-type",
    "unknown-action",
    "missing-column",
    "missing-sheet",
    "invalid-number",
    "invalid-date",
}


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_every_action_and_family_round_trips(
    book: RuleBook, templates: Templates, tmp_path: Path, lang: str
) -> None:
    """Each family's eligible example, filled in its template, reads back eligible;
    its ineligible example breaks the family's rule; nothing the template wrote goes
    unrecognised. Every action's template filled with an eligible consortium reads
    back eligible; without its coordinator (every other action in each language,
    the two languages taking turns: the role's dropdown is the same in every
    action's template), ineligible.

    All of them in one audit, each template loaded once for all its fillings
    (loading a template is most of what filling it costs)."""
    fillings: Fillings = {}
    families = _examples(tmp_path, sorted(FAMILIES), lang, fillings)
    actions: dict[str, tuple[str, bool]] = {}
    turn = ["en", "nl"].index(lang)
    for number, action in enumerate(book.actions):
        eligible = consortium(book, action)
        project = dict(eligible["project"])
        ineligible = {
            "project": {**project, "proposal_id": project["proposal_id"][:-9] + f"9{number:08d}"},
            "partners": [{**eligible["partners"][0], "role": "partner"}, *eligible["partners"][1:]],
        }
        kinds = [("eligible", eligible)]
        if number % 2 == turn:
            kinds.append(("ineligible", ineligible))
        for kind, proposal in kinds:
            target = tmp_path / f"{action}-consortium-{kind}.xlsx"
            fillings.setdefault(action, []).append((target, proposal))
            actions[target.name] = (action, kind == "eligible")
    assert sum(not good for _, good in actions.values()) == (len(book.actions) + 1 - turn) // 2
    _fill_all(templates, fillings, lang)
    result = audit([str(tmp_path / name) for name in [*families, *actions]])
    assert sorted(Path(p.file).name for p in result.proposals) == sorted([*families, *actions])
    for proposal in result.proposals:
        name = Path(proposal.file).name
        rules = {f.rule for f in proposal.findings}
        errors = sorted({f.rule for f in proposal.findings if f.severity.value == "error"})
        if name in families:
            family, kind = families[name]
            if kind == "eligible":
                assert proposal.verdict is Verdict.ELIGIBLE, (family, errors)
            else:
                assert FAMILIES[family] in rules, (family, rules)
                # Nothing the template wrote went unrecognised.
                assert not UNRECOGNISED & rules, (family, UNRECOGNISED & rules)
            continue
        action, good = actions[name]
        # CBHE with its strand given reads as the strand's action.
        assert proposal.action == (action if action != "CBHE" else "CBHE-S1")
        if good and action != "KA210-HED":
            assert proposal.verdict is Verdict.ELIGIBLE, (action, errors)
        elif good:  # not an action of its own: the key exists to be refused
            assert errors == ["field-not-allowed"], errors
        else:
            assert "coordinator-missing" in errors, (action, errors)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_the_instructions_send_applicants_to_the_self_check(book: RuleBook, lang: str) -> None:
    """Applicants have no auditor installed: the template names the web page they do have."""
    from auditor.web.http import t as web_words

    sheet = build_template(book, "KA220-SCH", lang).worksheets[0]
    text = " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)
    assert web_words("nav.check", lang) in text  # the self-check page's own name
