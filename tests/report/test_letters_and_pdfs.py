"""PDFs of the report pages and draft letters to the coordinators of ineligible proposals.

The samples are audited twice with a state (the second run takes most pages
from the first, so what is checked is what an incremental run leaves): every
proposal page has a PDF holding every partner row, every ineligible proposal
a letter (.docx and .pdf) naming each of its error findings with its cell.
Dutch letters are made by a run of their own.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from auditor.core.catalogue import catalogue
from auditor.core.config import AuditConfig
from auditor.core.errors import OutputError
from auditor.core.findings import Severity, Verdict
from auditor.core.results import AuditResult, RuleCheck
from auditor.report.letters import (
    letter_context,
    letter_template,
    read_template,
    render_letter,
    sample_context,
)
from auditor.report.requirements import requirement_line
from auditor.rules.rulebook import load_rulebook
from auditor.runner import AuditRun
from samples.make_samples import org, proposal, write_proposal
from tests import programs
from tests.whole.test_cli import run

ROOT = Path(__file__).resolve().parents[2]


def _audit_twice(outdir: Path, lang: str, inbox: str = "samples", **options: Any) -> AuditResult:
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        result = None
        for _ in range(2):
            with AuditRun([inbox], outdir, AuditConfig(lang=lang), **options) as run:
                outcome = run.execute()
            assert outcome.notices == []
            result = outcome.result
    finally:
        os.chdir(cwd)
    assert result is not None
    return result


# The samples printed: those with the longest partner lists, an agency export
# (several proposals in one file), two uploads of one proposal ID, the untidy
# ones (text as the applicant typed it, formulas), warnings, a Dutch one and
# fourteen ineligible proposals (each gets a letter). Printing all 47 sample files
# took three times as long.
PRINTED = (
    "afi-lot1-ineligible.xlsx",
    "afi-lot2-eligible.xlsx",
    "afi-lot2-ineligible.xlsx",
    "agency-export-2024.xlsx",
    "cb-vet-ineligible.xlsx",
    "cbhe-ineligible.xlsx",
    "cove-ineligible.xlsx",
    "duplicate-ids/first-upload.xlsx",
    "duplicate-ids/second-upload.xlsx",
    "ka210-ineligible.xlsx",
    "ka220-hed-eche-warnings.xlsx",
    "ka220-hed-missing-code.xlsx",
    "ka220-sch-ineligible-nl.xlsx",
    "ka229-ineligible.xlsx",
    "sector-skills-alliance-ineligible.xlsx",
    "sport-sscp-ineligible.xlsx",
    "untidy/ka220-vet-untidy-nl.xlsx",
    "untidy/ka220-you-formulas.xlsx",
)
LONG = 60  # the partners of a proposal whose table runs over several printed pages


def _long_proposal(path: Path) -> None:
    countries = ("NL", "BE", "DE", "FR", "ES", "IT", "PL", "SE", "AT", "PT")
    partners = [org("coordinator", "NL", "NGO", "Long List Foundation")] + [
        org("partner", countries[n % len(countries)], "NGO", f"Partner number {n}")
        for n in range(1, LONG)
    ]
    spec = proposal(
        {
            "proposal_id": "2025-1-NL01-KA220-ADU-000000888",
            "action": "KA220-ADU",
            "call_year": 2025,
            "duration_months": 24,
            "requested_grant_eur": 250000,
        },
        partners,
    )
    write_proposal(path, spec)


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AuditResult]:
    programs.chromium()  # the pages' PDFs
    programs.soffice()  # the letters'
    base = tmp_path_factory.mktemp("printed")
    inbox = base / "inbox"
    inbox.mkdir()
    for name in PRINTED:
        shutil.copyfile(ROOT / "samples" / name, inbox / name.replace("/", "-"))
    _long_proposal(inbox / "long-list.xlsx")
    outdir = base / "out"
    return outdir, _audit_twice(outdir, "en", str(inbox), pdf=True)


def _pages(outdir: Path) -> dict[tuple[str, str], str]:
    """Each proposal page's name by file and proposal ID, as results.json links them."""
    import json

    data = json.loads((outdir / "results.json").read_text(encoding="utf-8"))
    return {(p["file"], p["proposal_id"]): p["report"]["page"] for p in data["proposals"]}


def _squeezed(text: str) -> str:
    """Text as compared with a PDF's: one Unicode form (a PDF may split "é" in two),
    no white space (a PDF breaks lines where a page wraps a cell)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _pdf_text(path: Path) -> str:
    return _squeezed("".join(page.extract_text() or "" for page in PdfReader(path).pages))


def _partner_rows(outdir: Path, page: str) -> list[list[str]]:
    """The cells of each row of the page's partner table, as the HTML page shows them."""
    import html

    source = (outdir / page).read_text(encoding="utf-8")
    table = source[source.find('id="partners"') :]
    body = table[table.find("<tbody>") : table.find("</tbody>")]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        texts = [
            html.unescape(re.sub(r"<span class=\"visually-hidden\">.*?</span>", "", c))
            for c in cells
        ]
        rows.append([re.sub(r"<[^>]+>", "", text) for text in texts])
    return rows


@pytest.mark.slow
def test_every_page_has_a_pdf_holding_every_partner_row(english: tuple[Path, AuditResult]) -> None:
    outdir, result = english
    pages = _pages(outdir)
    assert len(pages) == result.summary.proposals
    index = _pdf_text(outdir / "index.pdf")
    assert any(Path(file).name == "long-list.xlsx" for file, _ in pages)
    ids = {proposal_id for _, proposal_id in pages}
    rows = 0
    for (file, proposal_id), page in pages.items():
        pdf = (outdir / page).with_suffix(".pdf")
        text = _pdf_text(pdf)
        assert _squeezed(proposal_id) in text, pdf.name
        assert _squeezed(proposal_id) in index
        # Printed in a tab that printed other pages before: none of theirs in it.
        assert not [other for other in ids - {proposal_id} if _squeezed(other) in text], pdf.name
        table = _partner_rows(outdir, page)  # the row number, the values, counted
        for cells in table:
            for cell in cells:
                assert _squeezed(cell) in text, (pdf.name, cells[0], cell)
        rows += len(table)
        if Path(file).name == "long-list.xlsx":
            assert len(table) == LONG
            assert len(PdfReader(pdf).pages) >= 3  # the table crosses page breaks
    assert rows > LONG + 80  # the partner rows, not an empty table read as a pass


@pytest.mark.slow
def test_every_ineligible_proposal_has_a_letter_naming_each_error(
    english: tuple[Path, AuditResult],
) -> None:
    outdir, result = english
    _check_letters(outdir, result, "Subject")
    for letter in (outdir / "letters").glob("*.docx"):
        pdf = letter.with_suffix(".pdf")
        assert len(PdfReader(pdf).pages) >= 1
        assert "Subject" in _pdf_text(pdf)


def test_dutch_letters(tmp_path: Path) -> None:
    outdir = tmp_path / "uit"
    result = _audit_twice(outdir, "nl", pdf=False)
    _check_letters(outdir, result, "Betreft")
    assert not list(outdir.rglob("*.pdf"))  # --no-pdf: none


def test_a_letter_gone_from_the_previous_report_is_made_again(tmp_path: Path) -> None:
    """An unchanged page is linked from the previous report only with its letter."""
    outdir = tmp_path / "uit"
    _audit_twice(outdir, "nl", pdf=False)
    gone = sorted((outdir / "letters").glob("*.docx"))[0]
    gone.unlink()
    result = _audit_twice(outdir, "nl", pdf=False)
    assert gone.is_file()
    _check_letters(outdir, result, "Betreft")


def _check_letters(outdir: Path, result: AuditResult, subject: str) -> None:
    pages = _pages(outdir)
    letters = {p.name for p in (outdir / "letters").glob("*.docx")}
    expected = set()
    for judged in result.proposals:
        name = f"{Path(pages[judged.file, judged.proposal_id]).stem}.docx"
        if judged.verdict is not Verdict.INELIGIBLE:
            assert name not in letters
            continue
        expected.add(name)
        document = docx.Document(str(outdir / "letters" / name))
        text = "\n".join(p.text for p in document.paragraphs)
        cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
        assert subject in text and judged.proposal_id in text
        errors = [f for f in judged.findings if f.severity is Severity.ERROR]
        assert errors
        for finding in errors:
            assert finding.message in cells, (name, finding.code)
            assert finding.location in cells, (name, finding.code)
        assert len(document.tables[0].rows) == 1 + len(errors)  # each ground once, nothing else
    assert letters == expected and len(expected) >= 10


def _ineligible_workbook(folder: Path, name: str) -> Path:
    """A school partnership of one organisation (it needs three)."""
    spec = proposal(
        {
            "proposal_id": "2025-1-NL01-KA220-SCH-000000777",
            "action": "KA220-SCH",
            "call_year": 2025,
            "duration_months": 24,
            "requested_grant_eur": 250000,
        },
        [org("coordinator", "NL", "SCHOOL", name=name)],
    )
    path = folder / "in" / "p.xlsx"
    path.parent.mkdir(parents=True)
    write_proposal(path, spec)
    return path


@settings(max_examples=15, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30
    )
)
def test_a_letter_keeps_any_text_as_text(name: str) -> None:
    """Whatever a workbook holds (markup, jinja2 tags, control characters), the letter
    opens and shows it as text: it is never read as a tag or as XML."""
    from auditor.core.results import ProposalResult

    proposal_result = ProposalResult(
        "P-1", "p.xlsx", "p.xlsx", "KA220-SCH", 2025, Verdict.INELIGIBLE, {}, (), ()
    )
    partners = [(2, True, {"role": "coordinator", "organisation_name": name, "country": "NL"})]
    context = letter_context(proposal_result, partners, "en", None, "2026-12-03T10:00:00+00:00")
    document = docx.Document(io.BytesIO(render_letter(letter_template("en"), context)))
    first = document.paragraphs[0].text
    cleaned = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", name)
    # Word keeps a tab or line break as its own element: compare the text around them.
    assert re.sub(r"\s", "", first) == re.sub(r"\s", "", cleaned)


def test_an_agency_template_cannot_reach_outside_its_sandbox(tmp_path: Path) -> None:
    document = docx.Document(io.BytesIO(letter_template("en")))
    document.add_paragraph("{{ grounds.__class__.__mro__[1].__subclasses__() }}")
    path = tmp_path / "hostile.docx"
    document.save(str(path))
    with pytest.raises(OutputError, match=r"hostile\.docx"):
        read_template(path)


def test_a_template_that_is_not_a_word_document_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "letter.docx"
    path.write_bytes(b"not a zip")
    with pytest.raises(OutputError, match="not a Word document"):
        read_template(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(OutputError, match="not a Word document"):
        read_template(path)


def test_an_agencys_template_makes_the_letters(tmp_path: Path) -> None:
    made = run("letter-template", "--lang", "nl", "-o", "brief.docx", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    document = docx.Document(str(tmp_path / "brief.docx"))
    document.paragraphs[0].text = "Agentschap Voorbeeld · {{ coordinator.organisation }}"
    document.save(str(tmp_path / "brief.docx"))
    _ineligible_workbook(tmp_path, "Basisschool <De Regenboog> & co")
    done = run(
        "audit", "in", "-o", "out", "--no-pdf", "--letter-template", "brief.docx", cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    (letter,) = (tmp_path / "out" / "letters").glob("*.docx")
    first = docx.Document(str(letter)).paragraphs[0].text
    assert first == "Agentschap Voorbeeld · Basisschool <De Regenboog> & co"
    page = (tmp_path / "out" / "proposals" / f"{letter.stem}.html").read_text(encoding="utf-8")
    assert f'href="../letters/{letter.name}"' in page and ".pdf" not in page


@pytest.mark.slow
def test_a_page_that_will_not_print_costs_only_its_pdf(tmp_path: Path) -> None:
    """The printers reuse their tab from page to page: one that failed is not
    reused, and the pages after it print all the same."""
    from auditor.report.printing import PrintJob, print_pages

    chromium = programs.chromium()
    pages = []
    for number in range(4):
        page = tmp_path / f"p{number}.html"
        page.write_text(f"<html><body><h1>Page number {number}</h1></body></html>")
        pages.append(page)
    jobs = [
        PrintJob(pages[0], tmp_path / "p0.pdf"),
        PrintJob(pages[1], tmp_path / "no such folder" / "p1.pdf"),  # printed, not written
        PrintJob(tmp_path / "gone.html", tmp_path / "gone.pdf"),  # nothing to print
        PrintJob(pages[2], tmp_path / "p2.pdf"),
        PrintJob(pages[3], tmp_path / "p3.pdf"),
    ]
    failed = print_pages(chromium, jobs, 1, timeout=30)  # one printer: the jobs in turn
    assert [line.split(":")[0] for line in failed] == ["gone.html", "p1.html"]
    for number in (0, 2, 3):
        text = _pdf_text(tmp_path / f"p{number}.pdf")
        assert f"Pagenumber{number}" in text
        assert [n for n in range(4) if f"Pagenumber{n}" in text] == [number]  # its own only
    assert not (tmp_path / "gone.pdf").exists()


def test_pdf_asked_for_without_chromium_is_an_error_and_left_out_by_default(
    tmp_path: Path,
) -> None:
    programs.soffice()  # the letters' PDFs are made without Chromium
    _ineligible_workbook(tmp_path, "School")
    # AUDITOR_PDF unset: the default is "where Chromium is found" (the suite sets it to 0).
    nowhere = {"AUDITOR_CHROMIUM": str(tmp_path / "no-chromium"), "AUDITOR_PDF": ""}
    asked = run("audit", "in", "-o", "out", "--pdf", cwd=tmp_path, env=nowhere)
    assert asked.returncode == 2 and "--pdf: no Chromium was found" in asked.stderr
    assert not (tmp_path / "out").exists()
    always = {**nowhere, "AUDITOR_PDF": "1"}
    by_variable = run("audit", "in", "-o", "out", cwd=tmp_path, env=always)
    assert by_variable.returncode == 2 and "--pdf: no Chromium was found" in by_variable.stderr
    default = run("audit", "in", "-o", "out", cwd=tmp_path, env=nowhere)
    assert default.returncode == 1 and "no PDFs: no Chromium was found" in default.stderr
    assert not (tmp_path / "out" / "index.pdf").exists()
    assert not list((tmp_path / "out" / "proposals").glob("*.pdf"))
    assert "index.pdf" not in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    # Letters need no Chromium (their PDF is LibreOffice's).
    assert [p.suffix for p in sorted((tmp_path / "out" / "letters").iterdir())] == [".docx", ".pdf"]


def test_letters_without_libreoffice_are_said_and_left_as_word_documents(
    tmp_path: Path,
) -> None:
    _ineligible_workbook(tmp_path, "School")
    nowhere = {
        "AUDITOR_SOFFICE": str(tmp_path / "no-soffice"),
        "AUDITOR_CHROMIUM": str(tmp_path / "no-chromium"),
        "AUDITOR_PDF": "",
    }
    done = run("audit", "in", "-o", "out", cwd=tmp_path, env=nowhere)
    assert done.returncode == 1, done.stderr
    assert "letters without PDF: LibreOffice (soffice) was not found" in done.stderr
    assert [p.suffix for p in sorted((tmp_path / "out" / "letters").iterdir())] == [".docx"]


def _check(rule: str, expected: Any) -> RuleCheck:
    return RuleCheck(rule, catalogue()[rule].code, False, 0, expected, Severity.ERROR, None)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_every_judged_rule_says_its_requirement_in_one_line(lang: str) -> None:
    """Rules with a requirement (those a proposal's rules table lists) say it in words,
    with the number in its place and the noun in the number's form."""
    rules = catalogue().rules
    judged = {entry.rule for rs in load_rulebook(()).action_sets() for entry in rs.entries}
    assert len(judged) >= 40
    for name in sorted(judged):
        rule = rules[name]
        assert rule.wants is not None and set(rule.wants) == {"en", "nl"}, name
        for expected in (1, 3):
            line = requirement_line(_check(name, expected), lang)
            assert "{" not in line and "|" not in line, (name, line)
            assert line[0].isupper(), (name, line)
    one = requirement_line(_check("min-organisations", 1), lang)
    three = requirement_line(_check("min-organisations", 3), lang)
    assert one != three.replace("3", "1")  # the noun follows the number
    assert requirement_line(_check("lump-sum", "120000 / 250000 / 400000"), "en") == (
        "Grant requested: one of 120,000, 250,000 or 400,000 EUR"
    )


def test_the_sample_context_fills_every_field_the_templates_use() -> None:
    for lang in ("en", "nl"):
        document = docx.Document(
            io.BytesIO(render_letter(letter_template(lang), sample_context(lang)))
        )
        text = "\n".join(p.text for p in document.paragraphs)
        assert "{{" not in text and "{%" not in text
        assert "Sample school" in text


def test_letters_of_different_templates_in_one_process_each_say_their_own() -> None:
    """Each part of a template is compiled once a process: a letter is never rendered
    from another template's parts (English, Dutch, an agency's, then English again)."""
    agency = docx.Document(io.BytesIO(letter_template("en")))
    agency.add_paragraph("Agency letterhead {{ coordinator.organisation }}")
    own = io.BytesIO()
    agency.save(own)
    templates = [
        (letter_template("en"), "Sample school", "Agency letterhead"),
        (letter_template("nl"), "Sample school", "Agency letterhead"),
        (own.getvalue(), "Agency letterhead Sample school", None),
        (letter_template("en"), "Sample school", "Agency letterhead"),
    ]
    texts = []
    for template, present, absent in templates:
        lang = "nl" if template == letter_template("nl") else "en"
        document = docx.Document(io.BytesIO(render_letter(template, sample_context(lang))))
        text = "\n".join(p.text for p in document.paragraphs)
        assert present in text
        assert absent is None or absent not in text
        texts.append(text)
    assert texts[0] == texts[3] and texts[0] != texts[1]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_our_letter_template_defines_the_styles_its_letters_use_and_carries_no_ballast(
    lang: str,
) -> None:
    """The styles a letter refers to are all defined (the table keeps its grid); what
    python-docx's blank document carries besides (800 KB of unused styles, their
    Word 2010 copy, a thumbnail) is left out, or every letter would parse and
    compress it again."""
    from docx.oxml.ns import qn

    data = render_letter(letter_template(lang), sample_context(lang))
    document = docx.Document(io.BytesIO(data))
    referring = ("w:pStyle", "w:rStyle", "w:tblStyle")
    used = {e.get(qn("w:val")) for t in referring for e in document.element.iter(qn(t))}
    defined = {s.get(qn("w:styleId")) for s in document.styles.element.iter(qn("w:style"))}
    assert "TableGrid" in used and used <= defined
    assert len(defined) < 10, sorted(defined)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert not [n for n in names if "stylesWithEffects" in n or "thumbnail" in n], names
        assert max(info.file_size for info in archive.infolist()) < 64_000
