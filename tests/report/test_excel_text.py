"""Text from a workbook stays text in every Excel output, whichever way it is written."""

from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

from auditor.report.excel import put, written

# Formulas, control characters, and the rest of Unicode (surrogates excepted:
# no workbook holds them).
_texts = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.text(alphabet="=+-@()\"'!A1\x0b\x01\t", max_size=12).map(lambda s: "=" + s),
    st.sampled_from(ERROR_CODES),  # "#N/A", "#REF!" ...: Excel's error values, as text
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_texts, min_size=1, max_size=8))
def test_text_written_either_way_reads_back_as_the_same_text(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        streamed = openpyxl.Workbook(write_only=True)
        sheet = streamed.create_sheet("S")
        sheet.append([written(sheet, text) for text in texts])
        streamed.save(Path(scratch) / "streamed.xlsx")
        whole = openpyxl.Workbook()
        for column, text in enumerate(texts, start=1):
            put(whole.active, 1, column, text)
        whole.save(Path(scratch) / "whole.xlsx")
        for name in ("streamed.xlsx", "whole.xlsx"):
            cells = list(openpyxl.load_workbook(Path(scratch) / name).worksheets[0].iter_rows())
            read = cells[0] if cells else ()
            values = [cell.value for cell in read]
            values += [None] * (len(texts) - len(values))
            # Never a formula, never an error value: text.
            assert not [cell for cell in read if cell.data_type in ("f", "e")], name
            for text, value in zip(texts, values, strict=True):
                # A control character the file format cannot hold is shown escaped.
                shown = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
                assert value == (shown or None), (name, text, value)
