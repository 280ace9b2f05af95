"""The reports people read: annotated copies, HTML pages, summary.xlsx, atomic output."""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.api import audit
from auditor.core.config import AuditConfig
from auditor.core.errors import OutputError
from auditor.core.findings import Severity
from auditor.core.results import AuditResult
from auditor.report import summary
from auditor.report.jobs import Staging
from auditor.report.json import EntryCache, results_document
from auditor.report.names import Links
from auditor.report.outputs import ReportOptions, write_reports
from samples.make_samples import Style, org, write_proposal
from samples.make_samples import proposal as make_proposal
from tests import programs
from tests.cells import cell_values
from tests.corpus import small, tidy
from tests.whole.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
RED, AMBER = "FFF4C7CE", "FFFFE699"


def _audit_samples(lang: str = "en") -> AuditResult:
    cwd = Path.cwd()
    os.chdir(ROOT)  # the samples are audited as "samples", relative to the repository
    try:
        return audit(["samples"], AuditConfig(lang=lang))
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditResult, Path]:
    result = _audit_samples("nl")
    outdir = tmp_path_factory.mktemp("report") / "out"
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        write_reports(result, outdir, ReportOptions(annotate="all"))
    finally:
        os.chdir(cwd)
    return result, outdir


def test_all_five_outputs(report: tuple[AuditResult, Path]) -> None:
    result, outdir = report
    assert (outdir / "results.json").is_file()
    assert (outdir / "index.html").is_file()
    assert (outdir / "summary.xlsx").is_file()
    pages = sorted((outdir / "proposals").glob("*.html"))
    assert len(pages) == len(result.proposals)
    document = json.loads((outdir / "results.json").read_text(encoding="utf-8"))
    for entry in document["proposals"]:
        assert (outdir / entry["report"]["page"]).is_file()
    copies = [f["annotated"] for f in document["files"] if f["annotated"]]
    readable = [f for f in document["files"] if f["verdict"] != "unreadable"]
    assert len(copies) == len(readable)  # --annotate all
    assert all((outdir / c).is_file() for c in copies)


@pytest.mark.parametrize("entries", [0, 1, 3])
def test_results_json_is_written_one_entry_a_line(tmp_path: Path, entries: int) -> None:
    """Written piece by piece, the document is still one JSON document, each entry
    on a line of its own, whatever the number of entries (none included)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for number in range(entries):
        tidy(inbox / f"p{number}.xlsx", f"2024-1-NL01-KA220-SCH-00000000{number}")
    result = audit([str(inbox)])
    write_reports(result, tmp_path / "out", ReportOptions(results_only=True))
    text = (tmp_path / "out" / "results.json").read_text(encoding="utf-8")
    document = json.loads(text)
    # The document as data, made without the streaming writer.
    assert document == json.loads(json.dumps(results_document(result, Links())))
    assert len(document["proposals"]) == len(document["files"]) == entries
    lines = text.splitlines()
    assert sum(line.startswith('    {"proposal_id"') for line in lines) == entries
    assert sum(line.startswith('    {"file"') for line in lines) == entries


@functools.cache
def _judged_once() -> AuditResult:
    return audit([str(ROOT / "samples" / "ka220-hed-eligible.xlsx")])


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(), min_size=1, max_size=6), files=st.lists(st.text(), max_size=3))
def test_entries_kept_in_a_spool_come_back_as_they_were_given(
    texts: list[str], files: list[str]
) -> None:
    """results.json's entries wait in a file, not in memory, and come back the same:
    any text (sizes counted in bytes, not characters), added a few at a time."""
    result = _judged_once()
    proposals = [replace(result.proposals[0], key=f"k{n}") for n in range(len(texts))]
    file_results = [replace(result.files[0], file=f"f{n}.xlsx") for n in range(len(files))]
    with tempfile.TemporaryDirectory() as folder:
        spooled, held = EntryCache(spool=Path(folder)), EntryCache()
        by_key = {proposal.key: text for proposal, text in zip(proposals, texts, strict=True)}
        for cache in (spooled, held):
            half = len(proposals) // 2  # in two calls, as two chunks come
            cache.add(proposals[:half], by_key)
            cache.add(proposals[half:], by_key)
            named = zip(file_results, files, strict=True)
            cache.add_files(file_results, {file.file: text for file, text in named})
        assert list(Path(folder).iterdir()) == []  # the spool has no name
        links = Links()
        for proposal, text in zip(proposals, texts, strict=True):
            assert spooled.text(proposal, links) == held.text(proposal, links) == text
            assert spooled.fingerprint(proposal, links) == held.fingerprint(proposal, links)
        for file, text in zip(file_results, files, strict=True):
            assert spooled.file_text(file, links) == held.file_text(file, links) == text
        # Not in memory: where each text is, no text.
        kept = [*spooled._entries.values(), *spooled._files.values()]
        assert not any(isinstance(place, str) for _, place, _ in kept)
        spooled.close()


def test_index_lists_every_proposal_in_dutch(report: tuple[AuditResult, Path]) -> None:
    result, outdir = report
    html = (outdir / "index.html").read_text(encoding="utf-8")
    assert '<html lang="nl">' in html
    for proposal in result.proposals:
        assert proposal.proposal_id in html
    assert "niet ontvankelijk" in html and "Bevindingen per regel" in html
    assert "truncated-download.xlsx" in html  # the unreadable file is listed
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    assert "<link" not in html and "@import" not in html and "@font-face" not in html


def test_proposal_page_shows_rules_findings_and_marked_cells(
    report: tuple[AuditResult, Path],
) -> None:
    result, outdir = report
    proposal = next(p for p in result.proposals if p.proposal_id == "101140777")
    html = (outdir / "proposals" / "101140777.html").read_text(encoding="utf-8")
    for check in proposal.checks:
        assert check.code in html
    assert "minstens 4" in html  # measured against threshold, in words
    assert 'class="mark-error"' in html  # the US partner's country cell and the duration
    assert "Partners!F7" in html
    assert "Programme Guide 2025, Alliances for Innovation" in html  # sources


def test_annotated_copies_mark_every_finding_and_keep_every_cell(
    report: tuple[AuditResult, Path],
) -> None:
    result, outdir = report
    document = json.loads((outdir / "results.json").read_text(encoding="utf-8"))
    by_file = {f["file"]: f["annotated"] for f in document["files"]}
    checked = 0
    for proposal in result.proposals:
        copy = outdir / by_file[proposal.file]
        workbook = openpyxl.load_workbook(copy)
        assert workbook.sheetnames[0] == "Controle"
        for finding in proposal.findings:
            if not finding.cell:
                continue
            cell = workbook[finding.sheet][finding.address]
            assert cell.comment is not None and finding.code in cell.comment.text
            expected = (
                RED
                if any(
                    f.severity == "error"
                    for f in proposal.findings
                    if f.cell == finding.cell and f.sheet == finding.sheet
                )
                else AMBER
            )
            assert cell.fill.start_color.rgb == expected, (proposal.file, finding.cell)
            checked += 1
        original = cell_values(ROOT / proposal.file)
        annotated = cell_values(copy)
        assert {k: v for k, v in annotated.items() if k[0] != "Controle"} == original
    assert checked > 40


def test_audit_sheet_links_to_the_cells(report: tuple[AuditResult, Path]) -> None:
    _, outdir = report
    copy = outdir / "annotated" / "afi-lot1-ineligible.xlsx"
    sheet = openpyxl.load_workbook(copy)["Controle"]
    links = {
        cell.value: cell.hyperlink.location
        for row in sheet.iter_rows()
        for cell in row
        if cell.hyperlink is not None
    }
    assert links["Partners!F7"] == "'Partners'!F7"
    assert links["Project!B7"] == "'Project'!B7"
    texts = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "Oordeel: niet ontvankelijk" in texts and "101140777" in texts
    assert "ongewijzigd" not in sheet["A3"].value and "opmerkingen" in sheet["A3"].value


def test_the_audit_sheet_shows_a_long_proposal_id_whole(report: tuple[AuditResult, Path]) -> None:
    """The ID runs on over empty cells up to the verdict: they must hold its width."""
    _, outdir = report
    checked = 0
    for copy in (outdir / "annotated").rglob("*.xlsx"):
        sheet = openpyxl.load_workbook(copy)["Controle"]
        for row in sheet.iter_rows(min_col=1, max_col=5):
            if row[0].value != "Aanvraag" or not row[1].value:
                continue
            assert row[2].value is None and row[3].value is None, copy
            room = sum(sheet.column_dimensions[c].width for c in "BCD")
            assert len(str(row[1].value)) <= room, (copy, row[1].value, room)
            checked += 1
    assert checked > 10


def test_formulas_and_macro_flags_survive(report: tuple[AuditResult, Path]) -> None:
    _, outdir = report
    copy = outdir / "annotated" / "untidy" / "ka220-you-formulas.xlsx"
    workbook = openpyxl.load_workbook(copy)
    assert str(workbook["Project"]["B8"].value).startswith("=SUM(Partners!")
    hidden = openpyxl.load_workbook(outdir / "annotated" / "untidy" / "ka220-vet-untidy-nl.xlsx")
    assert hidden["Lists"].sheet_state == "hidden"


def test_every_output_names_the_same_first_finding(report: tuple[AuditResult, Path]) -> None:
    """summary.xlsx and the terminal pick it as the batch page does (core.findings.by_importance):
    errors first; the samples hold proposals whose first finding by place is a warning."""
    from rich.console import Console

    from auditor.report.text import print_summary

    result, outdir = report
    mixed = [
        p
        for p in result.proposals
        if p.findings[:1]
        and p.findings[0].severity is Severity.WARNING
        and any(f.severity is Severity.ERROR for f in p.findings)
    ]
    assert mixed
    sheet = openpyxl.load_workbook(outdir / "summary.xlsx")["Aanvragen"]
    first_in_summary = {
        (sheet.cell(r, 2).value, sheet.cell(r, sheet.max_column - 1).value)
        for r in range(2, sheet.max_row + 1)
    }
    console = Console(record=True, width=300)
    print_summary(result, console)
    terminal = console.export_text()
    for proposal in mixed:
        error = next(f for f in proposal.findings if f.severity is Severity.ERROR)
        assert (proposal.proposal_id, f"{error.code} {error.message}") in first_in_summary
        assert f"{error.code} {error.rule}" in terminal


def test_summary_workbook(report: tuple[AuditResult, Path]) -> None:
    result, outdir = report
    workbook = openpyxl.load_workbook(outdir / "summary.xlsx")
    assert workbook.sheetnames == ["Aanvragen", "Bevindingen"]
    proposals, findings = workbook["Aanvragen"], workbook["Bevindingen"]
    assert proposals.freeze_panes == "A2" and proposals.auto_filter.ref
    assert findings.freeze_panes == "A2" and findings.auto_filter.ref
    assert proposals.max_row == 1 + len(result.proposals) + result.summary.unreadable
    assert findings.max_row == 1 + len(result.all_findings())
    verdicts = {
        proposals.cell(r, 2).value: proposals.cell(r, 1) for r in range(2, proposals.max_row + 1)
    }
    assert verdicts["101140777"].value == "niet ontvankelijk"
    assert verdicts["101140777"].fill.start_color.rgb == RED
    links = [c.hyperlink.target for c in proposals["AA"] if c.hyperlink is not None] or [
        c.hyperlink.target for row in proposals.iter_rows() for c in row if c.hyperlink is not None
    ]
    assert any(link.startswith("annotated/") for link in links)


def test_libreoffice_opens_an_annotated_copy(
    report: tuple[AuditResult, Path], tmp_path: Path
) -> None:
    soffice = programs.soffice()
    copy = report[1] / "annotated" / "afi-lot1-ineligible.xlsx"
    done = programs.convert(
        soffice,
        [copy],
        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
        tmp_path,
        tmp_path / "profile",
    )
    assert done.returncode == 0, done.stderr
    converted = sorted(tmp_path.glob("*.csv"))
    assert converted, done.stdout + done.stderr
    text = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in converted)
    assert "Midwest Building Institute" in text and "101140777" in text


HOSTILE = {
    "script": "<script>alert('x')</script>",
    "quotes": "\"Quoted\" & 'apostrophes' <b>bold</b>",
    "formula": '=HYPERLINK("http://evil.example","click")',
}


def test_hostile_names_stay_inert(tmp_path: Path) -> None:
    path = tmp_path / "hostile.xlsx"
    write_proposal(
        path,
        make_proposal(
            {
                "proposal_id": "2024-1-NL01-KA220-SCH-<script>",
                "acronym": HOSTILE["quotes"],
                "title": HOSTILE["script"],
                "action": "KA220-SCH",
                "call_year": 2024,
                "duration_months": 24,
                "requested_grant_eur": 1,
                "priorities": "x",
            },
            [
                org("coordinator", "NL", "SCHOOL", HOSTILE["script"]),
                org("partner", "BE", "SCHOOL", HOSTILE["formula"], oid=HOSTILE["formula"]),
                org("partner", HOSTILE["quotes"], "SCHOOL", HOSTILE["quotes"]),
            ],
        ),
        Style(),
    )
    result = audit([str(path)])
    outdir = tmp_path / "out"
    write_reports(result, outdir)
    for page in [outdir / "index.html", *(outdir / "proposals").glob("*.html")]:
        html = page.read_text(encoding="utf-8")
        assert "<script>alert" not in html
        assert "<b>bold</b>" not in html
        assert "&lt;script&gt;alert" in html or page.name == "index.html"
    for name in ("summary.xlsx", "annotated/hostile.xlsx"):
        workbook = openpyxl.load_workbook(outdir / name)
        cells = [c for s in workbook.worksheets for r in s.iter_rows() for c in r if c.value]
        formulas = [c for c in cells if c.data_type == "f"]
        assert not formulas, [(c.parent.title, c.coordinate, c.value) for c in formulas]
        assert any(c.value == HOSTILE["formula"] for c in cells), name
    (page,) = (outdir / "proposals").glob("*.html")
    assert "script" in page.name and "<" not in page.name


def test_a_failed_run_keeps_the_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "in" / "a.xlsx"
    path.parent.mkdir()
    small(path, "P-1")
    outdir = tmp_path / "out"
    write_reports(audit([str(path)]), outdir)
    before = (outdir / "results.json").read_text()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    def unwritable(*args: object, **kwargs: object) -> list[summary.SummarySheet]:
        return [summary.SummarySheet("Sheet", ["A"], [[(object(), None, None)]])]

    # It fails here, or in the worker that writes summary.xlsx (openpyxl
    # cannot write that value): either way the run fails as a whole.
    for failing, error in ((broken, RuntimeError), (unwritable, ValueError)):
        monkeypatch.setattr(summary, "summary_sheets", failing)
        with pytest.raises(error):
            write_reports(audit([str(path)], AuditConfig(lang="nl")), outdir)
        assert (outdir / "results.json").read_text() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "in", "out"]
        assert not list((outdir / "proposals").glob("*-2.html"))
    monkeypatch.undo()
    write_reports(audit([str(path)], AuditConfig(lang="nl")), outdir)
    assert '"lang": "nl"' in (outdir / "results.json").read_text()


def test_a_folder_the_auditor_did_not_write_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "thesis.docx").write_text("precious")
    result = _audit_samples()
    monkeypatch.chdir(ROOT)
    with pytest.raises(OutputError, match="did not write"):
        write_reports(result, tmp_path)
    assert (tmp_path / "thesis.docx").read_text() == "precious"


def test_annotate_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _audit_samples()
    monkeypatch.chdir(ROOT)
    none = write_reports(result, tmp_path / "none", ReportOptions(annotate="none"))
    failing = write_reports(result, tmp_path / "failing", ReportOptions(annotate="failing"))
    assert not none.annotated and not (tmp_path / "none" / "annotated").exists()
    readable = {f.file for f in result.files if f.verdict != "unreadable"}
    failing_files = {f.file for f in result.files if f.findings} | {
        p.file for p in result.proposals if p.findings
    }
    assert set(failing.annotated) == failing_files & readable
    assert "samples/ka220-hed-eligible.xlsx" not in failing.annotated


def _hashes(folder: Path) -> dict[str, tuple[str, int]]:
    import hashlib

    return {
        str(path.relative_to(folder)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_every_input_is_byte_identical_after_a_full_run(tmp_path: Path) -> None:
    before = _hashes(ROOT / "samples")
    out = str(tmp_path / "out")
    done = run("audit", "samples", "-o", out, "--annotate", "all", "--lang", "nl", "-q")
    assert done.returncode == 1, done.stderr
    assert _hashes(ROOT / "samples") == before
    # Every workbook but the broken download gets its copy.
    workbooks = [p for p in (ROOT / "samples").rglob("*.xlsx") if p.parent.name != "broken"]
    assert len(list((tmp_path / "out" / "annotated").rglob("*.xlsx"))) == len(workbooks)


def test_nothing_is_written_outside_the_report_folder(tmp_path: Path) -> None:
    staging = Staging(tmp_path)
    with pytest.raises(OutputError, match="outside"):
        staging.path("../escape.txt")
    with pytest.raises(OutputError, match="outside"):
        staging.path("/etc/passwd")


def test_a_file_taken_from_the_previous_report_replaces_and_never_writes_through(
    tmp_path: Path,
) -> None:
    """A link lands over a file made earlier in the run (replaced, the earlier one
    untouched); a link out of the folder is refused; a previous file that is gone
    is told (the page is then made again)."""
    staging = Staging(tmp_path / "staging")
    previous = tmp_path / "previous.html"
    previous.write_text("before", encoding="utf-8")
    made = tmp_path / "made.html"
    made.write_text("made this run", encoding="utf-8")
    assert staging.link("proposals/p.html", made)
    assert staging.link("proposals/p.html", str(previous))
    page = tmp_path / "staging" / "proposals" / "p.html"
    assert page.read_text(encoding="utf-8") == "before"
    assert page.samefile(previous)
    assert made.read_text(encoding="utf-8") == "made this run"
    assert not staging.link("proposals/q.html", tmp_path / "gone.html")
    with pytest.raises(OutputError, match="outside"):
        staging.link("../p.html", previous)


def test_numbers_and_times_are_written_as_the_language_writes_them(
    report: tuple[AuditResult, Path],
) -> None:
    """Dutch pages: 250.000, not 250000.0; times in Brussels time with the zone."""
    _result, outdir = report
    pages = [p.read_text(encoding="utf-8") for p in (outdir / "proposals").glob("*.html")]
    grants = [re.search(r"Gevraagde subsidie \(EUR\)</th><td>([^<]*)</td>", page) for page in pages]
    shown = [g.group(1) for g in grants if g]
    assert len(shown) > 30
    assert all(re.fullmatch(r"\d{1,3}(\.\d{3})*(,\d\d)?|—", value) for value in shown), shown
    assert "250.000" in shown
    assert not [page for page in pages if re.search(r">\d+\.0<", page)]
    index = (outdir / "index.html").read_text(encoding="utf-8")
    assert re.search(r"\d{1,2} [a-z]+ 20\d\d \d\d:\d\d (CET|CEST)", index), "the run's time"
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", index.split("<footer")[1])


def test_summary_and_audit_sheets_print_on_landscape_pages_one_wide(
    report: tuple[AuditResult, Path],
) -> None:
    _, outdir = report
    summary = openpyxl.load_workbook(outdir / "summary.xlsx")
    audit_sheet = openpyxl.load_workbook(outdir / "annotated" / "afi-lot1-ineligible.xlsx")[
        "Controle"
    ]
    for sheet in [*summary.worksheets, audit_sheet]:
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.print_title_rows, sheet.title  # the header on every printed page


def test_pages_carry_no_working_notes(report: tuple[AuditResult, Path]) -> None:
    """Seed pages and spec sections are our notes (auditor explain), not the pages'."""
    _, outdir = report
    notes = re.compile(r"\b(seeds?|zaad) ?\d{3}|actions\.md", re.IGNORECASE)
    pages = [outdir / "index.html", *(outdir / "proposals").glob("*.html")]
    assert len(pages) > 40
    for page in pages:
        found = notes.search(page.read_text(encoding="utf-8"))
        assert found is None, (page.name, found)


def test_the_rules_table_says_each_requirement_in_words(report: tuple[AuditResult, Path]) -> None:
    """'minstens 3', 'een van 24 of 36', 'geen': never '≥', never the engine's 'a / b'."""
    _, outdir = report
    required = set()
    for page in (outdir / "proposals").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        rules = html[html.index('id="rules"') : html.index('id="findings"')]
        # The requirement is the cell after the result and before the measured value.
        required |= set(re.findall(r'</span></td>\s*<td>([^<]*)</td>\s*<td class="num">', rules))
    lines = {line.lower() for line in required}
    wanted = ("minstens 3 ", "een van 24 of 36 ", "precies één ", "uiterlijk 7 maart 2024 17:00")
    for words in wanted:
        assert any(line.startswith(words) or f" {words}" in line for line in lines), words
    assert not [r for r in required if "/" in r or "≥" in r or "≤" in r], required


@pytest.mark.parametrize("named", ["relatively", "absolutely"])
def test_an_unreadable_files_link_works_from_the_report_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    """The batch page links an unreadable input (it has no annotated copy) by a path that
    leads to it from where the page is, however the input was named."""
    broken = tmp_path / "in" / "kapot bestand.xlsx"
    broken.parent.mkdir()
    broken.write_bytes(b"not a workbook")
    monkeypatch.chdir(tmp_path)
    given = "in" if named == "relatively" else str(tmp_path / "in")
    outdir = Path("reports") / "out"
    write_reports(audit([given], AuditConfig()), outdir, ReportOptions(pdf=False))
    page = (outdir / "index.html").read_text(encoding="utf-8")
    (href,) = re.findall(r'<a href="([^"]*kapot[^"]*)"', page)
    if named == "relatively":
        from urllib.parse import unquote

        assert not href.startswith(("/", "file:"))
        assert (outdir / unquote(href)).resolve() == broken.resolve()
    else:
        assert href == broken.as_uri()


@given(st.lists(st.text(max_size=120), min_size=1, max_size=5), st.text(max_size=60))
def test_every_name_the_report_gives_is_one_a_later_run_takes_again(
    ids: list[str], relative: str
) -> None:
    """Names kept by the state are taken again only if the report could have given them
    (a forged state's are not): every page and copy name it gives is one of them."""
    from auditor.report.names import UniqueNames, safe_relative, safe_stem
    from auditor.report.reuse import _ours

    pages, copies = UniqueNames(), UniqueNames()
    for proposal_id in ids:  # repeats too: names with -2, -3
        for _ in range(2):
            assert _ours(f"proposals/{pages.take(safe_stem(proposal_id), '.html')}", "page")
    path = safe_relative(relative)
    for _ in range(2):
        name = f"annotated/{copies.take(str(path.with_suffix('')), path.suffix)}"
        assert _ours(name, "copy"), name
    for outside in ("../x.html", "proposals/../../x.html", "/etc/passwd", "proposals", "x/y.html"):
        assert not _ours(outside, "page")
    assert not _ours("proposals/x.html", "copy") and not _ours("annotated/a.xlsx", "page")
