"""A finding kept by the state comes back as the very finding: one shape, every field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.core.findings import Cell, Finding, Severity, column_letter
from auditor.state.blobs import DamagedBlob, finding, finding_data
from auditor.state.changes import Observation, RunRef, Snapshot, compare

_text = st.text(max_size=30)
_scalar = st.none() | st.booleans() | st.integers(-(10**9), 10**9) | _text
_value = _scalar | st.tuples(_scalar, _scalar) | st.tuples()
_cells = (
    st.builds(Cell, st.integers(1, 16384).map(column_letter), st.integers(1, 1_048_576)) | st.none()
)
_findings = st.builds(
    Finding,
    code=st.from_regex(r"\A(IO|VAL|ELG)[0-9]{3}\Z"),
    rule=st.from_regex(r"\A[a-z]+(-[a-z]+)*\Z"),
    severity=st.sampled_from(Severity),
    message=_text,
    sheet=_text | st.none(),
    cell=_cells,
    column=_text | st.none(),
    value=_value,
    expected=_value,
    source=_text | st.none(),
    file=_text | st.none(),
    params=st.dictionaries(_text, _value, max_size=4),
)


@given(_findings)
def test_a_kept_finding_comes_back_with_every_field(original: Finding) -> None:
    stored = json.loads(json.dumps(finding_data(original)))
    assert finding(stored) == original


@pytest.mark.parametrize(
    "damaged",
    [
        ["ELG301", "x", "error", "m"],  # fields missing
        ["ELG301", "x", "fatal", "m", None, None, None, None, None, None, None, {}],
        ["ELG301", "x", "error", "m", "Partners", "7F", None, None, None, None, None, {}],
        ["ELG301", "x", "error", "m", None, None, None, None, None, None, None, []],
        {"code": "ELG301"},
    ],
)
def test_a_damaged_finding_is_a_damaged_blob(damaged: Any) -> None:
    with pytest.raises(DamagedBlob):
        finding(damaged)


def _at(code: str, sheet: str | None, cell: Cell | None, message: str) -> Finding:
    return Finding(code, "a-rule", Severity.ERROR, message, sheet, cell, file="a.xlsx")


def test_the_conclusions_of_a_state_written_before_compare_with_todays() -> None:
    """An earlier auditor kept (code, rule, severity, location, message): the same
    finding at the same place is no change, whatever its message now says."""
    old_rows = [
        ["ELG301", "a-rule", "error", "Project!C9", "Duration 6 months"],
        ["VAL101", "a-rule", "error", "Partners!F7", "Country XX"],
        ["IO001", "a-rule", "error", "", "Unreadable"],
    ]
    before = Snapshot({("a.xlsx", "P1"): Observation("ineligible", json.dumps(old_rows))})
    now = [
        _at("ELG301", "Project", Cell("C", 9), "The project lasts 6 months"),
        _at("IO001", None, None, "Unreadable"),
        _at("VAL102", "Partners", Cell("F", 8), "Type YY"),
    ]
    after = Snapshot({("a.xlsx", "P1"): Observation.of("ineligible", now)})
    changes = compare(before, after, RunRef(1, "2026-12-01T00:00:00+00:00"))
    (change,) = changes.changed
    assert [(f.code, f.location) for f in change.added] == [("VAL102", "Partners!F8")]
    assert [(f.code, f.location) for f in change.resolved] == [("VAL101", "Partners!F7")]


def test_a_damaged_conclusion_is_compared_as_having_no_findings() -> None:
    before = Snapshot({("a.xlsx", "P1"): Observation("ineligible", '[["ELG301", 5]]')})
    now = [_at("ELG301", "Project", Cell("C", 9), "m")]
    after = Snapshot({("a.xlsx", "P1"): Observation.of("ineligible", now)})
    (change,) = compare(before, after, None).changed
    assert [f.code for f in change.added] == ["ELG301"]


def test_results_kept_by_an_earlier_blob_version_are_judged_again() -> None:
    """Blob version 2 kept results.json entries without their links, version 3 inside
    the results' blob; today's entries have them (null), in a blob of their own.
    Blobs of an earlier version are not this auditor's: their file is judged again
    rather than their entries written as they were."""
    import zlib

    from auditor.core.findings import Verdict
    from auditor.core.results import FileResult, ProposalResult
    from auditor.state.blobs import BLOB_VERSION, pack_judged, unpack_entries, unpack_judged

    proposal = ProposalResult(
        "P-1", "a.xlsx", "a.xlsx", "KA220-SCH", 2025, Verdict.ELIGIBLE, {}, (), (), key="0:0"
    )
    file = FileResult("a.xlsx", "a.xlsx", Verdict.ELIGIBLE, ("P-1",), ())
    blob, _, kept = pack_judged([file], [proposal], None, None)["a.xlsx"]
    assert unpack_judged(blob)[1] == [proposal]
    (text, *entries), held = unpack_entries(kept, 1)
    assert held == [(None, None), (None, None)]
    assert json.loads(entries[0])["report"] == {"page": None, "annotated": None}
    assert json.loads(text)["annotated"] is None
    document = json.loads(zlib.decompress(blob))
    assert document["v"] == BLOB_VERSION
    older = zlib.compress(json.dumps({**document, "v": BLOB_VERSION - 1}).encode())
    with pytest.raises(DamagedBlob):
        unpack_judged(older)
    lines = zlib.decompress(kept).decode().split("\n")
    assert lines[0] == f"v{BLOB_VERSION}"
    for damaged in (
        ["v3", *lines[1:]],  # another version
        lines[:-1],  # an entry short
        [*lines, lines[-1]],  # an entry too many
        [lines[0], "[[null, null]]", *lines[2:]],  # links short
        [lines[0], "[[null, null], [null, 7]]", *lines[2:]],  # a link not a name
        [lines[0], "[[", *lines[2:]],  # links not JSON
        [*lines[:2], '{"file": "a.xlsx"', *lines[3:]],  # an entry not one object
        [*lines[:3], '{"proposal_id": "\x1b[2J"}'],  # a control character, raw
    ):
        with pytest.raises(DamagedBlob):
            unpack_entries(zlib.compress("\n".join(damaged).encode()), 1)
    for garbage in (b"not zlib", zlib.compress(b"\xff\xfe"), "text"):
        with pytest.raises(DamagedBlob):
            unpack_entries(garbage, 1)


_entry_texts = st.dictionaries(_text, _scalar, max_size=4).map(
    lambda entry: json.dumps(entry, ensure_ascii=False, separators=(", ", ": "))
)
_links = st.tuples(_text | st.none(), _text | st.none())


@given(st.lists(st.tuples(_entry_texts, _links), min_size=1, max_size=6))
def test_entries_and_their_links_come_back_as_they_were_kept(
    kept: list[tuple[str, tuple[str | None, str | None]]],
) -> None:
    """Any entries (compact JSON of any text: line breaks, separators, any script) with
    any links come back as given, the file's first; a count that is not theirs is a
    damaged blob."""
    from auditor.state.blobs import pack_entries, unpack_entries

    texts = [text for text, _ in kept]
    held = [links for _, links in kept]
    blob = pack_entries(texts, held)
    assert unpack_entries(blob, len(texts) - 1) == (texts, held)
    assert unpack_entries(blob) == (texts, held)
    with pytest.raises(DamagedBlob):
        unpack_entries(blob, len(texts))
