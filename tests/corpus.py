"""The fault corpus: every kind of hostile or broken input, generated.

    python tests/corpus.py FOLDER     # writes the corpus into FOLDER

``build(folder)`` writes the files and returns what the auditor must say
about each one: the verdict and the rule (and message variant) of the finding
that explains it. No binary is checked in: every file is made here, the
password-protected one with msoffcrypto-tool, the .xls and .ods with
LibreOffice, the bomb and the million-row sheet by writing their XML
straight into the zip.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from samples.make_samples import Style, org, proposal, write_proposal  # noqa: E402
from tests.programs import convert, found  # noqa: E402


@dataclass(frozen=True)
class Expected:
    verdict: str  # eligible | ineligible | unreadable | skipped
    rule: str | None = None  # a rule that must be among the file's findings
    variant: str | None = None  # for unreadable-file: which limit or problem
    proposals: int = 1


def _project(proposal_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "proposal_id": proposal_id,
        "action": "KA220-SCH",
        "call_year": 2024,
        "duration_months": 24,
        "requested_grant_eur": 250000,
        "priorities": "Inclusion",
        **changes,
    }


def _partners(**names: str) -> list[dict[str, Any]]:
    return [
        org("coordinator", "NL", "SCHOOL", names.get("a", "Basisschool De Linde")),
        org("partner", "BE", "SCHOOL", names.get("b", "GO! Atheneum Gent")),
        org("partner", "DE", "NGO", names.get("c", "Verein Lernen e.V.")),
    ]


def small(path: Path, proposal_id: str) -> Path:
    """A two-organisation KA210-SCH proposal: eligible, and quick to write and read."""
    project = {
        "proposal_id": proposal_id,
        "action": "KA210-SCH",
        "call_year": 2024,
        "duration_months": 12,
        "requested_grant_eur": 30000,
        "priorities": "x",
    }
    partners = [org("coordinator", "NL", "SCHOOL", "A"), org("partner", "BE", "SCHOOL", "B")]
    write_proposal(path, proposal(project, partners), Style())
    return path


def tidy(path: Path, proposal_id: str, **changes: Any) -> Path:
    write_proposal(path, proposal(_project(proposal_id, **changes), _partners()), Style())
    return path


def _rewrite(
    source: Path, target: Path, replace: dict[str, Iterator[bytes] | bytes], level: int = 9
) -> None:
    """Copy a workbook, streaming new content into some of its parts (compressed at
    ``level``: 9 packs a bomb tightest, 1 writes a large part seven times faster)."""
    with (
        zipfile.ZipFile(source) as old,
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as new,
    ):
        for member in old.infolist():
            content = replace.get(member.filename)
            if content is None:
                new.writestr(member, old.read(member.filename))
            elif isinstance(content, bytes):
                new.writestr(member.filename, content)
            else:
                with new.open(member.filename, "w", force_zip64=True) as stream:
                    # Pieces gathered into blocks of a megabyte: a million rows
                    # written one by one cost a million calls into zlib.
                    block: list[bytes] = []
                    size = 0
                    for piece in content:
                        block.append(piece)
                        size += len(piece)
                        if size >= 1 << 20:
                            stream.write(b"".join(block))
                            block, size = [], 0
                    stream.write(b"".join(block))


def _sheet_xml(rows: Iterator[bytes], dimension: str, padding: int = 0) -> Iterator[bytes]:
    yield (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="' + dimension.encode() + b'"/><sheetData>'
    )
    block = b" " * 1_000_000
    for _ in range(padding // len(block)):
        yield block
    yield from rows
    yield b"</sheetData></worksheet>"


def _inline_row(number: int, values: list[str]) -> bytes:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
        for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'.encode()


def _million_rows() -> Iterator[bytes]:
    yield _inline_row(1, ["Role", "Organisation", "Country"])
    # The rows _inline_row writes, formatted ten thousand at a time (a million
    # calls of it were most of what building the corpus cost).
    cells = (("A", "partner"), ("B", "Organisation {0}"), ("C", "NL"))
    row = '<row r="{0}">' + "".join(
        f'<c r="{column}{{0}}" t="inlineStr"><is><t>{value}</t></is></c>' for column, value in cells
    )
    row += "</row>"
    for start in range(2, 1_000_002, 10_000):
        stop = min(start + 10_000, 1_000_002)
        yield "".join(row.format(number) for number in range(start, stop)).encode()


# The legacy .xls and the .ods are made by LibreOffice; a machine without it
# builds the corpus without them (test_hostile's own test of them skips there).
CONVERTED = ("legacy.xls", "open-document.ods")


def _libreoffice(soffice: str, source: Path, folder: Path, kind: str) -> Path:
    done = convert(soffice, [source], kind, folder, folder / ".lo")
    assert done.returncode == 0, done.stderr
    shutil.rmtree(folder / ".lo", ignore_errors=True)
    return folder / f"{source.stem}.{kind}"


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    b"</sheetData></worksheet>"
)


def build(folder: Path) -> dict[str, Expected]:
    """Write the corpus into ``folder``; return the expected answer for each file."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder.parent / f".{folder.name}-scratch"
    scratch.mkdir(exist_ok=True)
    expected: dict[str, Expected] = {}
    base = tidy(scratch / "base.xlsx", "2024-1-NL01-KA220-SCH-000000100")

    (folder / "truncated.xlsx").write_bytes(base.read_bytes()[: base.stat().st_size // 3])
    expected["truncated.xlsx"] = Expected("unreadable", "unreadable-file", "not-zip", 0)
    (folder / "csv-renamed.xlsx").write_text("Role;Country\ncoordinator;NL\n", encoding="utf-8")
    expected["csv-renamed.xlsx"] = Expected("unreadable", "unreadable-file", "not-zip", 0)
    (folder / "empty.xlsx").write_bytes(b"")
    expected["empty.xlsx"] = Expected("unreadable", "unreadable-file", "empty", 0)
    # Other Office files (and any zip) renamed .xlsx: said what they are.
    for name, part, variant in (
        ("letter-renamed.xlsx", "word/document.xml", "word-document"),
        ("slides-renamed.xlsm", "ppt/presentation.xml", "presentation"),
        ("archive-renamed.xlsx", "data/notes.txt", "not-workbook"),
    ):
        with zipfile.ZipFile(folder / name, "w") as document:
            document.writestr("[Content_Types].xml", "<Types/>")
            document.writestr(part, "<document/>")
        expected[name] = Expected("unreadable", "unreadable-file", variant, 0)

    from msoffcrypto.format.ooxml import OOXMLFile

    with (folder / "password.xlsx").open("wb") as target, base.open("rb") as source:
        OOXMLFile(source).encrypt("geheim", target)
    expected["password.xlsx"] = Expected("unreadable", "unreadable-file", "encrypted", 0)

    soffice = found("soffice", "libreoffice")
    if soffice is not None:
        legacy = tidy(scratch / "legacy.xlsx", "2024-1-NL01-KA220-SCH-000000101")
        shutil.move(_libreoffice(soffice, legacy, scratch, "xls"), folder / "legacy.xls")
        expected["legacy.xls"] = Expected("eligible")
        document = tidy(scratch / "open-document.xlsx", "2024-1-NL01-KA220-SCH-000000102")
        shutil.move(_libreoffice(soffice, document, scratch, "ods"), folder / "open-document.ods")
        expected["open-document.ods"] = Expected("eligible")

    no_partners = tidy(folder / "no-partners.xlsx", "2024-1-NL01-KA220-SCH-000000103")
    workbook = openpyxl.load_workbook(no_partners)
    del workbook["Partners"]
    workbook.save(no_partners)
    expected["no-partners.xlsx"] = Expected("ineligible", "missing-sheet")

    no_column = tidy(folder / "no-country-column.xlsx", "2024-1-NL01-KA220-SCH-000000104")
    workbook = openpyxl.load_workbook(no_column)
    workbook["Partners"].delete_cols(6)
    workbook.save(no_column)
    expected["no-country-column.xlsx"] = Expected("ineligible", "missing-column")

    headers = tidy(folder / "only-headers.xlsx", "2024-1-NL01-KA220-SCH-000000105")
    workbook = openpyxl.load_workbook(headers)
    workbook["Partners"].delete_rows(2, 10)
    workbook.save(headers)
    expected["only-headers.xlsx"] = Expected("ineligible", "coordinator-missing")

    merged = tidy(folder / "merged-headers.xlsx", "2024-1-NL01-KA220-SCH-000000106")
    workbook = openpyxl.load_workbook(merged)
    sheet = workbook["Partners"]
    sheet.insert_rows(1)
    sheet["A1"] = "Consortium"
    sheet.merge_cells("A1:F1")
    sheet.insert_cols(4)  # an empty column under a header merged over two columns
    sheet.merge_cells("C2:D2")
    workbook.save(merged)
    expected["merged-headers.xlsx"] = Expected("eligible")

    _rewrite(
        base,
        folder / "million-rows.xlsx",
        {"xl/worksheets/sheet2.xml": _sheet_xml(_million_rows(), "A1:C1000001")},
        level=1,  # as small as at 9 (14 MB): its rows differ, it is no bomb
    )
    expected["million-rows.xlsx"] = Expected("unreadable", "unreadable-file", "too-many-rows", 0)

    _rewrite(
        base,
        folder / "bomb.xlsx",
        {
            "xl/worksheets/sheet2.xml": _sheet_xml(
                iter([_inline_row(1, ["Role", "Organisation", "Country"])]),
                "A1:C1",
                padding=300_000_000,
            )
        },
    )
    expected["bomb.xlsx"] = Expected("unreadable", "unreadable-file", "compression-ratio", 0)

    _rewrite(base, folder / "entities.xlsx", {"xl/worksheets/sheet1.xml": BILLION_LAUGHS})
    expected["entities.xlsx"] = Expected("unreadable", "unreadable-file", "xml-entities", 0)

    many = tidy(folder / "many-sheets.xlsx", "2024-1-NL01-KA220-SCH-000000107")
    workbook = openpyxl.load_workbook(many)
    for number in range(200):
        workbook.create_sheet(f"Notes {number}")["A1"] = f"page {number}"
    workbook.save(many)
    expected["many-sheets.xlsx"] = Expected("eligible")

    long_text = ("Lorem ipsum dolor sit amet. " * 1200)[:32767]
    write_proposal(
        folder / "long-cells.xlsx",
        proposal(
            _project("2024-1-NL01-KA220-SCH-000000108", title=long_text),
            [{**row, "city": long_text} for row in _partners()],
        ),
        Style(),
    )
    expected["long-cells.xlsx"] = Expected("eligible")

    write_proposal(
        folder / "scripts-and-languages.xlsx",
        proposal(
            _project(
                "2024-1-NL01-KA220-SCH-000000109",
                acronym="<script>alert('x')</script>",
                title="\"Quoted\" & 'apostrophes' =SUM(A1:A2)",
            ),
            [
                *_partners(
                    a="جامعة القاهرة <script>alert(1)</script>",
                    b="Πανεπιστήμιο Αθηνών 北京大学 🎓",
                    c='=HYPERLINK("http://evil","x")',
                ),
                org("associated", "FR", "NGO", "+33 Association"),
                org("associated", "IT", "NGO", "-minus"),
                org("associated", "ES", "NGO", "@mention"),
            ],
        ),
        Style(),
    )
    expected["scripts-and-languages.xlsx"] = Expected("eligible")

    tidy(folder / "id-traversal.xlsx", "../../../etc/passwd")
    expected["id-traversal.xlsx"] = Expected("eligible")
    tidy(folder / "id-illegal-characters.xlsx", 'A<B>:C"D/E\\F|G?H*')
    expected["id-illegal-characters.xlsx"] = Expected("eligible")

    for name in ("duplicate-first.xlsx", "duplicate-second.xlsx"):
        tidy(folder / name, "2024-1-NL01-KA220-SCH-000000110")
        expected[name] = Expected("ineligible", "duplicate-proposal-id")

    (folder / "~$many-sheets.xlsx").write_bytes(b"\x00lock")
    expected["~$many-sheets.xlsx"] = Expected("skipped", proposals=0)
    loop = folder / "loop"
    if not loop.exists():
        loop.symlink_to(folder, target_is_directory=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return expected


def files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.iterdir() if p.is_file())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("corpus")
    answers = build(target)
    width = max(len(name) for name in answers)
    for name, answer in answers.items():
        print(f"{name:<{width}}  {answer.verdict:<10}  {answer.rule or ''} {answer.variant or ''}")
    print(
        f"{len(answers)} files in {target} ({(target / 'bomb.xlsx').stat().st_size:,} bytes bomb)"
    )
