"""The reader survives what real workbooks look like, and keeps every cell's address."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.api import audit
from auditor.core.config import AuditConfig, Limits
from auditor.core.findings import Verdict
from auditor.core.results import AuditResult
from auditor.core.tables import table_spec
from auditor.read.discover import discover
from samples.make_samples import (
    Style,
    org,
    proposal,
    write_export,
    write_proposal,
    write_with_formulas,
)

KA220 = {
    "proposal_id": "2024-1-NL01-KA220-SCH-000000042",
    "action": "KA220-SCH",
    "call_year": 2024,
    "duration_months": 24,
    "requested_grant_eur": 250000,
    "priorities": "Inclusion",
}


def _partners(**changes: Any) -> list[dict[str, Any]]:
    rows = [
        org("coordinator", "NL", "SCHOOL", "School A"),
        org("partner", "BE", "SCHOOL", "School B"),
        org("partner", "DE", "NGO", "Verein C"),
    ]
    for index, values in changes.items():
        rows[int(index.removeprefix("p"))].update(values)
    return rows


def _audit(*paths: Path, **config: Any) -> AuditResult:
    return audit([str(p) for p in paths], AuditConfig(**config))


def _only(result: AuditResult) -> Any:
    (single,) = result.proposals
    return single


def _cell_of(path: Path, sheet: str, text: str) -> str:
    """Where ``text`` sits in the sheet (found with openpyxl, independently of the reader)."""
    workbook = openpyxl.load_workbook(path)
    for row in workbook[sheet].iter_rows():
        for cell in row:
            if cell.value == text:
                return str(cell.coordinate)
    raise AssertionError(f"{text!r} not in {sheet}")


def test_tidy_workbook(tmp_path: Path) -> None:
    path = tmp_path / "tidy.xlsx"
    write_proposal(path, proposal(KA220, _partners()))
    result = _only(_audit(path))
    assert result.verdict is Verdict.ELIGIBLE
    assert result.proposal_id == KA220["proposal_id"]
    assert result.metrics["organisations"] == 3


@pytest.mark.parametrize(
    "style",
    [
        Style(title_rows=3),
        Style(start_column=3),
        Style(title_rows=2, start_column=2),
        Style(shuffle_columns=True, seed=3),
        Style(lang="nl"),
        Style(lang="nl", partner_sheet_name="Partnerorganisaties", project_title=True),
        Style(extra_columns=("Contact person", "E-mail")),
        Style(blank_rows_between=True, notes_below=True),
        Style(hidden_sheet=True),
    ],
    ids=[
        "title-rows",
        "start-column",
        "offset-both",
        "shuffled",
        "dutch",
        "dutch-sheet-names",
        "extra-columns",
        "blanks-and-notes",
        "hidden-sheet",
    ],
)
def test_layout_irregularities_keep_results_and_addresses(tmp_path: Path, style: Style) -> None:
    path = tmp_path / "untidy.xlsx"
    rows = _partners(p1={"oid": "E123"})
    write_proposal(path, proposal(KA220, rows), style)
    result = _only(_audit(path))
    assert result.metrics["organisations"] == 3
    (finding,) = [f for f in result.findings if f.rule == "invalid-oid"]
    sheet = style.partner_sheet_name or "Partners"
    assert finding.sheet == sheet
    assert finding.address == _cell_of(path, sheet, "E123")
    assert {f.rule for f in result.findings} == {"invalid-oid"}


def test_dutch_values_country_names_and_text_numbers(tmp_path: Path) -> None:
    path = tmp_path / "nl.xlsx"
    project = {
        **KA220,
        "duration_months": "24 maanden",
        "requested_grant_eur": "€ 250.000,00",
        "action": "ka220-sch",
        "proposal_id": " 2024-1-NL01-KA220-SCH-000000042\u00a0",
    }
    rows = [
        org("Coördinator (aanvrager)", "Nederland", "School", "School A"),
        org("Volwaardig partner", "Griekenland", "school", "School B\u00a0"),
        org("partner", "Deutschland", "Niet-gouvernementele organisatie (ngo)", "Verein C"),
    ]
    write_proposal(path, proposal(project, rows), Style(lang="nl"))
    result = _only(_audit(path))
    assert result.verdict is Verdict.ELIGIBLE, [f.message for f in result.findings]
    assert result.proposal_id == "2024-1-NL01-KA220-SCH-000000042"
    assert result.metrics["requested_grant_eur"] == 250000
    assert result.metrics["countries"] == 3


def test_formulas_are_read_by_their_cached_values(tmp_path: Path) -> None:
    path = tmp_path / "formulas.xlsx"
    rows = [
        org("coordinator", "FR", "YOUTH", "A", requested_grant_eur="100000"),
        org("partner", "IT", "YOUTH", "B", requested_grant_eur="100000"),
        org("partner", "PL", "NGO", "C", requested_grant_eur="50000"),
    ]
    write_with_formulas(path, proposal({**KA220, "action": "KA220-YOU"}, rows))
    workbook = openpyxl.load_workbook(path)
    assert str(workbook["Project"]["B8"].value).startswith("=SUM(")  # a formula indeed
    result = _only(_audit(path))
    assert result.metrics["requested_grant_eur"] == 250000
    assert result.verdict is Verdict.ELIGIBLE, [f.message for f in result.findings]


def test_dates_as_text_and_as_excel_dates(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "dates.xlsx"
    project = {**KA220, "action": "AFI-LOT1", "submitted_at": "07/03/2024 17:05"}
    write_proposal(path, proposal(project, _partners()))
    late = [f for f in _only(_audit(path)).findings if f.rule == "deadline"]
    assert late and late[0].address == "B10"
    workbook = openpyxl.load_workbook(path)
    workbook["Project"]["B10"] = dt.datetime(2024, 3, 7, 16, 30)
    workbook.save(path)
    assert not [f for f in _only(_audit(path)).findings if f.rule == "deadline"]


def test_empty_required_value_is_one_finding_at_its_cell(tmp_path: Path) -> None:
    path = tmp_path / "missing.xlsx"
    write_proposal(path, proposal(KA220, _partners(p2={"country": None})))
    result = _only(_audit(path))
    missing = [f for f in result.findings if f.column == "country"]
    assert [f.rule for f in missing] == ["missing-value"]
    assert missing[0].address == "F4"


def test_project_sheet_without_a_required_field(tmp_path: Path) -> None:
    path = tmp_path / "no-duration.xlsx"
    write_proposal(path, proposal(KA220, _partners()))
    workbook = openpyxl.load_workbook(path)
    workbook["Project"].delete_rows(7)  # the Duration row
    workbook.save(path)
    result = _only(_audit(path))
    (finding,) = [f for f in result.findings if f.rule == "missing-value"]
    assert finding.column == "duration_months" and finding.sheet == "Project"


def test_missing_partners_sheet_and_missing_column(tmp_path: Path) -> None:
    no_sheet = tmp_path / "no-partners.xlsx"
    write_proposal(no_sheet, proposal(KA220, _partners()))
    workbook = openpyxl.load_workbook(no_sheet)
    del workbook["Partners"]
    workbook.save(no_sheet)
    no_column = tmp_path / "no-country.xlsx"
    write_proposal(no_column, proposal({**KA220, "proposal_id": "2024-other"}, _partners()))
    workbook = openpyxl.load_workbook(no_column)
    workbook["Partners"].delete_cols(6)  # Country
    workbook.save(no_column)
    result = _audit(no_sheet, no_column)
    by_file = {Path(p.file).name: {f.rule for f in p.findings} for p in result.proposals}
    assert by_file["no-partners.xlsx"] == {"missing-sheet"}
    # The consortium cannot be judged without countries: no cascade of min-* findings.
    assert by_file["no-country.xlsx"] == {"missing-column"}


def test_workbook_without_any_known_sheet(tmp_path: Path) -> None:
    path = tmp_path / "sheet1.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "hello"
    workbook.save(path)
    result = _audit(path)
    assert not result.proposals
    (file,) = result.files
    assert file.verdict is Verdict.UNREADABLE
    assert [f.rule for f in file.findings] == ["missing-sheet"]


def test_partner_sheet_without_a_header_row(tmp_path: Path) -> None:
    path = tmp_path / "no-header.xlsx"
    write_proposal(path, proposal(KA220, _partners()))
    workbook = openpyxl.load_workbook(path)
    workbook["Partners"].delete_rows(1)
    workbook.save(path)
    result = _only(_audit(path))
    assert {(f.rule, f.sheet) for f in result.findings} == {("missing-column", "Partners")}


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("empty.xlsx", b"", "empty"),
        ("csv-renamed.xlsx", b"Role,Country\ncoordinator,NL\n", "not a complete .xlsx"),
        ("garbage.xlsm", os.urandom(2000), ""),
        ("notes.txt.xlsx", b"Proposal notes\n", ""),
    ],
)
def test_unreadable_files_get_a_finding_and_the_batch_goes_on(
    tmp_path: Path, name: str, content: bytes, detail: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    good = tmp_path / "good.xlsx"
    write_proposal(good, proposal(KA220, _partners()))
    result = _audit(tmp_path)
    assert [p.verdict for p in result.proposals] == [Verdict.ELIGIBLE]
    (broken,) = [f for f in result.files if f.file.endswith(name)]
    assert broken.verdict is Verdict.UNREADABLE
    (finding,) = broken.findings
    assert finding.rule == "unreadable-file" and finding.code == "IO001"
    assert detail in finding.message


def test_truncated_zip(tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    write_proposal(good, proposal(KA220, _partners()))
    (tmp_path / "cut.xlsx").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    result = _audit(tmp_path)
    verdicts = {Path(f.file).name: f.verdict for f in result.files}
    assert verdicts == {"cut.xlsx": Verdict.UNREADABLE, "good.xlsx": Verdict.ELIGIBLE}


def test_size_and_row_limits(tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    write_proposal(path, proposal(KA220, _partners()))
    too_big = _audit(path, limits=Limits(max_file_bytes=1000))
    assert "--max-file-size" in too_big.files[0].findings[0].message
    too_long = _audit(path, limits=Limits(max_rows=3))
    assert "--max-rows" in too_long.files[0].findings[0].message
    assert too_long.files[0].verdict is Verdict.UNREADABLE


def test_lock_files_hidden_files_and_other_files_are_skipped(tmp_path: Path) -> None:
    write_proposal(tmp_path / "a.xlsx", proposal(KA220, _partners()))
    (tmp_path / "~$a.xlsx").write_bytes(b"lock")
    (tmp_path / ".hidden.xlsx").write_bytes(b"x")
    (tmp_path / "readme.pdf").write_bytes(b"%PDF")
    (tmp_path / "sub").mkdir()
    write_proposal(
        tmp_path / "sub" / "b.xlsx", proposal({**KA220, "proposal_id": "2024-X"}, _partners())
    )
    found = [item.relative for item in discover([str(tmp_path)])]
    assert found == ["a.xlsx", str(Path("sub") / "b.xlsx")]


def test_symlink_loop_does_not_trap_the_walk(tmp_path: Path) -> None:
    write_proposal(tmp_path / "a.xlsx", proposal(KA220, _partners()))
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert [i.relative for i in discover([str(tmp_path)])] == ["a.xlsx"]


def test_paths_stay_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "inbox").mkdir()
    write_proposal(tmp_path / "inbox" / "a.xlsx", proposal(KA220, _partners()))
    monkeypatch.chdir(tmp_path)
    assert audit(["inbox"]).proposals[0].file == str(Path("inbox") / "a.xlsx")


def test_inputs_are_not_modified(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    write_proposal(path, proposal(KA220, _partners(p1={"oid": "bad"})))
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    _audit(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_worker_processes_give_the_same_result(tmp_path: Path) -> None:
    for index in range(6):
        rows = _partners(p1={"oid": "E1"} if index % 2 else {})
        write_proposal(
            tmp_path / f"p{index}.xlsx", proposal({**KA220, "proposal_id": f"2024-{index}"}, rows)
        )
    (tmp_path / "broken.xlsx").write_bytes(b"nope")
    one = _audit(tmp_path, workers=1).to_dict()
    two = _audit(tmp_path, workers=2).to_dict()
    for document in (one, two):
        document["run"].pop("started_at")
    assert one == two


def test_hidden_rows_and_merged_title_cells(tmp_path: Path) -> None:
    path = tmp_path / "hidden.xlsx"
    write_proposal(path, proposal(KA220, _partners()), Style(title_rows=2))
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Partners"]
    sheet.merge_cells("A1:F1")
    sheet.row_dimensions[4].hidden = True  # the second partner
    workbook.save(path)
    result = _only(_audit(path))
    assert result.metrics["organisations"] == 3  # a hidden row is still a partner
    assert result.verdict is Verdict.ELIGIBLE


def test_total_row_under_the_table_is_not_a_partner(tmp_path: Path) -> None:
    path = tmp_path / "total.xlsx"
    rows = _partners()
    for row, grant in zip(rows, ("100000", "100000", "50000"), strict=True):
        row["requested_grant_eur"] = grant
    write_proposal(path, proposal(KA220, rows))
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Partners"]
    sheet["C5"] = "Total"
    sheet["I5"] = "=SUM(I2:I4)"
    workbook.save(path)
    result = _only(_audit(path))
    assert result.verdict is Verdict.ELIGIBLE, [f.message for f in result.findings]
    assert result.metrics["organisations"] == 3


@pytest.mark.parametrize("grown", [0.0, 0.3, 0.99])
def test_a_file_that_grows_while_it_is_read_is_read_whole_or_refused_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grown: float
) -> None:
    """The guard reads a file's size and a byte more; a file larger by then (saved
    again while the run reads it) is read on, to the limit and never past it."""
    from auditor.read import guard

    samples = Path(__file__).resolve().parents[2] / "samples"
    data = (samples / "ka220-hed-eligible.xlsx").read_bytes()
    path, far = tmp_path / "growing.xlsx", tmp_path / "grown-far.xlsx"
    path.write_bytes(data)
    far.write_bytes(data + b"\0" * 1_000_000)  # grown by a megabyte
    before = 1 + int(grown * (len(data) - 2))  # the size it had (1 to len - 1 bytes)
    real_fstat = os.fstat

    def earlier(descriptor: int) -> os.stat_result:  # the size before it grew
        status = list(real_fstat(descriptor))
        status[6] = before  # st_size
        return os.stat_result(status)

    monkeypatch.setattr(guard.os, "fstat", earlier)  # os's own: restored after the test
    whole, refused = guard.load(path, Limits(max_file_bytes=len(data)))
    assert (whole, refused) == (data, None)
    limit = len(data) - 1  # the file as it is now is over the limit: refused, as too large
    held, refusal = guard.load(path, Limits(max_file_bytes=limit))
    assert held is None and refusal is not None and refusal.params["variant"] == "too-large"
    # Grown far past the limit: read to a byte over it, not to its end.
    held, refusal = guard.load(far, Limits(max_file_bytes=len(data)))
    assert held is None and refusal is not None and refusal.params["variant"] == "too-large"
    assert refusal.params["size_mb"] == guard._megabytes(len(data) + 1)
    assert refusal.params["size_mb"] != guard._megabytes(far.stat().st_size)


@settings(max_examples=15, deadline=None)
@given(
    sheet=st.sampled_from(table_spec("project").list_sheet.names()),  # type: ignore[union-attr]
    lang=st.sampled_from(["en", "nl"]),
    above=st.integers(0, 4),  # title rows above the header
    below=st.lists(st.sampled_from([None, "", "  "]), max_size=5),  # rows that hold nothing
    partners=st.booleans(),
    one=st.booleans(),  # a proposal row after all
)
def test_an_export_sheet_without_proposals_is_said_so(
    sheet: str,
    lang: str,
    above: int,
    below: list[str | None],
    partners: bool,
    one: bool,
) -> None:
    """An export's list sheet with its header and nothing under it holds no
    proposal: the file gets a finding that names the sheet and the header's
    row (it had none, and was called unreadable without a word)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "export.xlsx"
        write_export(path, [proposal(KA220, _partners())] if one else [], lang)
        workbook = openpyxl.load_workbook(path)
        listed = workbook.worksheets[0]
        listed.title = sheet
        header = above + 1
        if above:  # (openpyxl inserts a row when asked for none)
            listed.insert_rows(1, above)
        for row in range(1, header):
            listed.cell(row, 1, "Erasmus+ export")
        if below:  # between the header and any proposal
            listed.insert_rows(header + 1, len(below))
        for offset, blank in enumerate(below, start=1):
            listed.cell(header + offset, 1, blank)
        if not partners:
            del workbook[workbook.worksheets[1].title]
        workbook.save(path)
        result = _audit(path)
    (file,) = result.files
    if one:
        assert len(result.proposals) == 1 and file.verdict is not Verdict.UNREADABLE
        return
    assert not result.proposals and file.verdict is Verdict.UNREADABLE
    (finding,) = file.findings
    assert (finding.rule, finding.sheet, finding.params["row"]) == (
        "unreadable-file",
        sheet,
        header,
    )
    assert sheet in finding.message and f"row {header}" in finding.message
