"""The ECHE holders register cross-check (actions.md v2, "Rules for every action").

eche-not-found and eche-identity-mismatch are warnings; an institution without
its code that the list knows by OID or PIC gets the code as its fix. The list
is the one shipped or an agency's download (``--eche``, ``AUDITOR_ECHE``) in
the Commission's format, quirks included.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from auditor.api import judge
from auditor.core.catalogue import catalogue
from auditor.core.config import AuditConfig
from auditor.core.errors import ConfigError
from auditor.core.results import AuditResult
from auditor.rules.examples import batch_from_specs
from auditor.rules.register import SHIPPED_DATE, load_register
from auditor.rules.rulebook import RuleBook, load_rulebook
from tests.conftest import SAMPLES, Judge
from tests.whole.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
LIST = ROOT / "auditor" / "data" / "eche-holders-2021-2027.csv"
HEADER = [
    "Proposal number",
    "Erasmus Code",
    "Pic",
    "OID",
    "Legal Name",
    "Street",
    "Post Cd",
    "City",
    "Country Cd",
    "Website Url",
    "Erasmus Eche Start",
    "Erasmus Eche End",
]


def _shipped() -> list[dict[str, str]]:
    with LIST.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


SHIPPED = _shipped()
# The institutions the catalogue's example proposals already hold (a second row
# of one of them would be a duplicate organisation, not the case under test).
IN_BASES = set(re.findall(r"oid=(E\d{8})", (ROOT / "auditor/rules/catalogue.yaml").read_text()))
# Holders with all three identifiers, from countries that take part fully.
COMPLETE = [
    r
    for r in SHIPPED
    if r["OID"].startswith("E")
    and r["OID"] not in IN_BASES
    and r["Country Cd"] in ("NL", "BE", "DE", "FR", "IT", "ES", "PL")
]
WITHOUT_OID = next(r for r in SHIPPED if r["OID"] == "#N/A" and r["Country Cd"] == "FR")


def _hei(row: dict[str, str], code: str | None = None, **extra: str) -> str:
    fields = {
        "erasmus_code": row["Erasmus Code"] if code is None else code,
        "oid": row["OID"] if row["OID"] != "#N/A" else "E19999999",
        "pic": row["Pic"],
        **extra,
    }
    given = "|".join(f"{key}={value}" for key, value in fields.items() if value != "")
    return f"partner|{row['Country Cd']}|HEI|{given}"


def _spec(*rows: str, year: int = 2024) -> dict[str, Any]:
    return {"base": "ka220-hed", "project": {"call_year": year}, "add": list(rows)}


def _findings(result: AuditResult, rule: str) -> list[Any]:
    return [f for p in result.proposals for f in p.findings if f.rule == rule]


def _judge_with(book: RuleBook, spec: dict[str, Any]) -> AuditResult:
    return judge(batch_from_specs([spec], catalogue().bases), book, AuditConfig())


# ------------------------------------------------------------------ matching


def _numbered(spec: dict[str, Any], number: int) -> dict[str, Any]:
    """``spec`` with a proposal ID of its own, to be judged in a batch with others."""
    proposal_id = f"2024-1-NL01-KA220-HED-{number:09d}"
    return {**spec, "project": {**spec["project"], "proposal_id": proposal_id}}


PADDINGS = ["", " ", "  ", "\u00a0", "\u00a0 ", " \u00a0"]


# Each example a batch of cases, judged together (one pandera call, not one a case).
@settings(max_examples=15, deadline=None)
@given(
    cases=st.lists(
        st.tuples(st.sampled_from(COMPLETE), st.sampled_from(PADDINGS), st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_a_listed_code_is_found_however_it_is_padded(
    judge_specs: Judge, cases: list[tuple[dict[str, str], str, bool]]
) -> None:
    """The list pads codes with spaces and non-breaking spaces; applicants type one
    space, two or none, in any case. The same institution is always found."""
    specs, typed = [], {}
    for number, (row, padding, lower) in enumerate(cases):
        code = row["Erasmus Code"].replace("\u00a0", " ")
        prefix, rest = re.match(r"^([A-Z]+?)\s*([A-Z][^\d]*\d+)$", code).groups()  # type: ignore[union-attr]
        written = f"{prefix}{padding}{rest}"
        written = written.lower() if lower else written
        specs.append(_numbered(_spec(_hei(row, written)), number))
        typed[specs[-1]["project"]["proposal_id"]] = written
    result = judge_specs(specs)
    assert sorted(p.proposal_id for p in result.proposals) == sorted(typed)
    for proposal in result.proposals:
        fired = {f.rule for f in proposal.findings}
        assert not fired & {"eche-not-found", "eche-identity-mismatch"}, typed[proposal.proposal_id]


LISTED = {r["Erasmus Code"].replace("\u00a0", "").replace(" ", "") for r in SHIPPED}


@settings(max_examples=8, deadline=None)
@given(
    cases=st.lists(
        st.tuples(st.sampled_from(COMPLETE), st.integers(min_value=90, max_value=99)),
        min_size=1,
        max_size=8,
    )
)
def test_a_code_the_list_does_not_hold_is_a_warning_naming_the_list_date(
    judge_specs: Judge, cases: list[tuple[dict[str, str], int]]
) -> None:
    codes = [
        re.sub(r"\d+$", str(serial), row["Erasmus Code"].replace("\u00a0", " "))
        for row, serial in cases
    ]
    unlisted = [
        (row, code)
        for (row, _), code in zip(cases, codes, strict=True)
        if code.replace(" ", "") not in LISTED
    ]  # a serial that exists: another case
    assume(unlisted)
    specs = [
        _numbered(_spec(_hei(row, code)), number) for number, (row, code) in enumerate(unlisted)
    ]
    typed = {
        spec["project"]["proposal_id"]: code
        for spec, (_, code) in zip(specs, unlisted, strict=True)
    }
    result = judge_specs(specs)
    assert sorted(p.proposal_id for p in result.proposals) == sorted(typed)
    for proposal in result.proposals:
        code = typed[proposal.proposal_id]
        (finding,) = [f for f in proposal.findings if f.rule == "eche-not-found"]
        assert str(finding.severity) == "warning" and finding.column == "erasmus_code"
        assert SHIPPED_DATE in finding.message and code in finding.message
        assert proposal.verdict == "eligible"  # a warning never rejects


@pytest.mark.parametrize(
    ("change", "variant", "column"),
    [
        ({"oid": "E10000077"}, "OID", "oid"),
        ({"pic": "912345678"}, "PIC", "pic"),
    ],
)
def test_a_code_of_another_institution_names_it(
    judge_specs: Judge, change: dict[str, str], variant: str, column: str
) -> None:
    row = COMPLETE[0]
    result = judge_specs(_spec(_hei(row, **change)))
    (finding,) = _findings(result, "eche-identity-mismatch")
    assert finding.column == column and str(finding.severity) == "warning"
    assert " ".join(row["Legal Name"].split()) in " ".join(finding.message.split())
    assert f"with {variant} {row['OID'] if column == 'oid' else row['Pic']}" in finding.message
    assert finding.value == next(iter(change.values()))


def test_na_in_the_list_is_no_oid(judge_specs: Judge) -> None:
    """927 holders have ``#N/A`` for an OID: any OID on the row agrees with it,
    the PIC is still compared."""
    agreeing = judge_specs(_spec(_hei(WITHOUT_OID)))
    assert not _findings(agreeing, "eche-identity-mismatch")
    other_pic = judge_specs(_spec(_hei(WITHOUT_OID, pic="912345678")))
    assert [f.column for f in _findings(other_pic, "eche-identity-mismatch")] == ["pic"]


def test_every_call_year_is_checked_and_the_message_names_the_list(judge_specs: Judge) -> None:
    """actions.md: in every action, whatever the call year (a 2019 proposal too, or
    one whose call year is not known); the message says which list, of when."""
    row = COMPLETE[0]
    for project in ({"call_year": 2019}, {"call_year": None}):
        spec = {
            "base": "strategic-partnership",
            "proposal_id": "KA203-NO-YEAR",
            "project": project,
            "add": [_hei(row, "NL NOWHERE99"), _hei(row, oid="E10000077")],
        }
        fired = {f.rule: f.message for p in judge_specs(spec).proposals for f in p.findings}
        assert "eche-identity-mismatch" in fired, project
        assert f"ECHE holders list of {SHIPPED_DATE}" in fired["eche-not-found"]


# ------------------------------------------------------------------ the code as the fix


def test_an_institution_without_its_code_gets_the_code_as_its_fix(judge_specs: Judge) -> None:
    row = COMPLETE[3]
    result = judge_specs(_spec(_hei(row, "")))
    (finding,) = _findings(result, "eche-required")
    code = row["Erasmus Code"].replace("\u00a0", " ")
    assert finding.expected == code and code in finding.message
    fix = catalogue()["eche-required"].fix_for(finding, "nl")
    assert fix.startswith(f"Vul {code} in")
    # Known by its PIC alone, the same.
    by_pic = judge_specs(_spec(_hei(row, "", oid="E19999998")))
    assert _findings(by_pic, "eche-required")[0].expected == code


def test_an_identifier_given_to_two_institutions_suggests_nothing(judge_specs: Judge) -> None:
    shared = [r for r in SHIPPED if r["Pic"] == "887079648"]
    assert len(shared) == 2  # the list's own quirk
    result = judge_specs(_spec(_hei(shared[0], "", oid="E19999998")))
    (finding,) = _findings(result, "eche-required")
    assert finding.expected is None
    assert catalogue()["eche-required"].fix_for(finding, "en") == (
        catalogue()["eche-required"].text("fix", "en")
    )


def test_the_page_of_a_proposal_shows_the_code_to_enter(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _cli("audit", str(SAMPLES / "ka220-hed-missing-code.xlsx"), "-o", str(out), "--no-state")
    assert done.returncode == 1, done.stderr
    (page,) = (out / "proposals").glob("*.html")
    assert "Enter B  BRUSSEL43: the ECHE holders list gives" in page.read_text(encoding="utf-8")


# ------------------------------------------------------------------ the agency's list


def _write_list(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HEADER, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    return path


def _new_holder(country: str = "BE") -> dict[str, str]:
    return {
        **dict.fromkeys(HEADER, ""),
        "Erasmus Code": "B\u00a0 NAMUR09",
        "Pic": "911111111",
        "OID": "#N/A",
        "Legal Name": "Haute École de Namur-Liège-Luxembourg (nouvelle)",
        "Country Cd": country,
    }


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_an_agencys_newer_list_replaces_the_shipped_one(tmp_path: Path, encoding: str) -> None:
    gone = COMPLETE[-1]  # a charter withdrawn since the shipped list
    kept = [row for row in SHIPPED if row is not gone]
    newer = _write_list(tmp_path / "eche.csv", [*kept, _new_holder()], encoding)
    os.utime(newer, (1_767_225_600, 1_767_225_600))  # 2026-01-01
    book = load_rulebook((), newer)
    assert book.version != load_rulebook().version  # a new list judges every file again
    assert book.register.date == "2026-01-01"
    assert "Haute École" in book.register.frame.get_column("eche_name").to_list()[-1]
    known = _judge_with(book, _spec("partner|BE|HEI|erasmus_code=B NAMUR09|pic=911111111"))
    assert not _findings(known, "eche-not-found")
    # ... and only that list: a holder of the shipped list that it lacks is unknown.
    unknown = _judge_with(book, _spec(_hei(gone)))
    (finding,) = _findings(unknown, "eche-not-found")
    assert "2026-01-01" in finding.message


def test_an_agencys_list_as_a_workbook(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["ECHE holders 2021-2027, update"])  # a title row above the header
    sheet.append(HEADER)
    for row in [*SHIPPED[:5], _new_holder()]:
        sheet.append([row[h] for h in HEADER])
    workbook.save(tmp_path / "eche.xlsx")
    book = load_rulebook((), tmp_path / "eche.xlsx")
    assert book.register.frame.height == 6
    assert "B  NAMUR09" in book.register.frame.get_column("eche_code").to_list()


def test_a_country_the_list_gives_otherwise(tmp_path: Path) -> None:
    """The code's prefix agrees with the row, the list says another country."""
    holder = {**_new_holder(country="LU"), "Erasmus Code": "B  NAMUR09"}
    book = load_rulebook((), _write_list(tmp_path / "eche.csv", [holder]))
    result = _judge_with(book, _spec("partner|BE|HEI|erasmus_code=B  NAMUR09|pic=911111111"))
    (finding,) = _findings(result, "eche-identity-mismatch")
    assert finding.column == "country" and "Luxembourg" in finding.message


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"Name;City\nA;B\n", "no 'Erasmus Code' column"),
        (b"Erasmus Code;Pic\nD  BERLIN01;999994826\n", "lacks the column(s) ['country']"),
    ],
)
def test_a_file_that_is_not_the_list_is_refused(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "eche.csv"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_register(path)
    done = _cli("check", str(SAMPLES / "ka220-hed-eligible.xlsx"), "--eche", str(path))
    assert done.returncode == 2 and says in done.stderr


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(*args, env=env)


def test_check_shows_both_warnings_and_takes_the_list_from_the_environment(
    tmp_path: Path,
) -> None:
    sample = str(SAMPLES / "ka220-hed-eche-warnings.xlsx")
    shipped = _cli("check", sample)
    assert shipped.returncode == 0, shipped.stderr
    lines = shipped.stdout.splitlines()
    assert any("eche-not-found warning" in line and "of 2024-07" in line for line in lines)
    assert any("eche-identity-mismatch warning" in line and "of 2024-07" in line for line in lines)
    newer = _write_list(tmp_path / "eche.csv", [*SHIPPED, _new_holder()])
    os.utime(newer, (1_767_225_600, 1_767_225_600))
    agency = _cli("check", sample, env={"AUDITOR_ECHE": str(newer)})
    assert "eche-not-found" not in agency.stdout  # B  NAMUR09 is in the newer list
    assert "eche-identity-mismatch warning" in agency.stdout and "of 2026-01-01" in agency.stdout


def test_the_iso_form_gr_finds_the_greek_code(judge_specs: Judge) -> None:
    """actions.md v2 reads GR as Greece's G in Erasmus codes: the register too."""
    greek = next(r for r in SHIPPED if r["Country Cd"] == "EL" and r["OID"].startswith("E"))
    code = greek["Erasmus Code"].replace("\u00a0", " ")
    iso = "GR " + code[1:].strip()
    fired = {f.rule for p in judge_specs(_spec(_hei(greek, iso))).proposals for f in p.findings}
    assert not fired & {"eche-not-found", "eche-identity-mismatch", "erasmus-code-country"}, iso
