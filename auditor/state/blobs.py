"""What the state keeps of a file, as data: compressed JSON with a format version.

A state file is written by the nightly user and read by the next run, so
anyone who can write it must not be able to make the auditor do more than
show wrong results: nothing in it is ever unpickled or executed. Every blob
is ``zlib(JSON)`` of ``{"v": BLOB_VERSION, "d": ...}`` (results.json's
entries: ``zlib`` of lines, the first the version); decoding checks the
version and the shape of every value, and anything else raises
:class:`DamagedBlob` (the caller reads the file again instead).

Kept apart from the state's database code: the reader processes pack what
they read, and import no more than this.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

import polars as pl

from auditor.core.findings import Cell, Finding, FindingDraft, Severity, Verdict
from auditor.core.results import (
    FileResult,
    HeldLinks,
    ProposalResult,
    RuleCheck,
    compact_json,
)
from auditor.read.model import FileRead, PartnerTable, ProposalSource
from auditor.read.workbook import FileContent

# 2: a finding keeps its file and params; 3: results.json entries are kept as a
# run without reports writes them (their links null), not without the links;
# 4: the entries in a blob of their own, one to a line (``pack_judged``).
BLOB_VERSION = 4
# What a compressed blob may unpack to: far above any real workbook's rows,
# low enough that a planted blob cannot take the machine's memory.
MAX_UNPACKED = 512 * 1024 * 1024
# The polars types partner rows are kept in (read/workbook.py reads text).
_DTYPES: dict[str, Any] = {
    "String": pl.String,
    "Int32": pl.Int32,
    "Int64": pl.Int64,
    "Float64": pl.Float64,
    "Boolean": pl.Boolean,
    "Null": pl.Null,
}
_T = TypeVar("_T")
_E = TypeVar("_E", Verdict, Severity)
# Control characters but the line break that parts kept entries (as bytes:
# deleting them is ten times faster than searching for them with re).
_CONTROL = bytes(code for code in range(32) if code != ord("\n"))


class DamagedBlob(ValueError):
    """A stored value that is not what this auditor writes."""


# Verdicts and severities by their text: a dictionary is looked up in a tenth
# of the time an enum's call takes, ten thousand times a nightly run.
_VERDICTS = {str(verdict): verdict for verdict in Verdict}
_SEVERITIES = {str(severity): severity for severity in Severity}


def _verdict(data: Any) -> Verdict:
    return _member(_VERDICTS, data)


def _severity(data: Any) -> Severity:
    return _member(_SEVERITIES, data)


def _member(members: Mapping[str, _E], data: Any) -> _E:
    member = members.get(_typed(data, str))
    if member is None:
        raise DamagedBlob(f"not one of {sorted(members)}: {data!r}")
    return member


# -- plain values ------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as JSON keeps it; tuples and datetimes tagged so they come back as they were."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, date):
        return {"__date__": value.isoformat()}
    return str(value)


def _value(data: Any) -> Any:
    if data is None or isinstance(data, str | bool | int | float):
        return data
    if isinstance(data, list):
        return [_value(v) for v in data]
    if isinstance(data, dict):
        if len(data) == 1:
            ((tag, inner),) = data.items()
            try:
                if tag == "__tuple__" and isinstance(inner, list):
                    return tuple(_value(v) for v in inner)
                if tag == "__datetime__" and isinstance(inner, str):
                    return datetime.fromisoformat(inner)
                if tag == "__date__" and isinstance(inner, str):
                    return date.fromisoformat(inner)
            except ValueError as error:
                raise DamagedBlob(str(error)) from None
        return {str(k): _value(v) for k, v in data.items()}
    raise DamagedBlob(f"unexpected value {type(data).__name__}")


def _typed(data: Any, kind: type[_T] | tuple[type, ...], optional: bool = False) -> Any:
    if data is None and optional:
        return None
    if not isinstance(data, kind) or (kind is int and isinstance(data, bool)):
        raise DamagedBlob(f"expected {kind}, found {type(data).__name__}")
    return data


def _text(data: Any) -> str | None:
    return _typed(data, str, optional=True)  # type: ignore[no-any-return]


def _strings(data: Any) -> list[str]:
    return [_typed(v, str) for v in _typed(data, list)]


def _text_map(data: Any) -> dict[str, str]:
    return {str(k): _typed(v, str) for k, v in _typed(data, dict).items()}


def _list_of(data: Any, decode: Callable[[Any], _T]) -> list[_T]:
    return [decode(v) for v in _typed(data, list)]


# -- findings and results ----------------------------------------------------


def _address(cell: Cell | None) -> str | None:
    """A cell as the state keeps it: its address ("F7")."""
    return str(cell) if cell else None


def _cell(data: Any) -> Cell | None:
    """A cell read back from the state: a damaged address is a damaged blob."""
    text = _text(data)
    return Cell.parse(text) if text else None


def _draft_data(draft: FindingDraft) -> dict[str, Any]:
    return {
        "rule": draft.rule,
        "params": _plain(draft.params),
        "sheet": draft.sheet,
        "cell": _address(draft.cell),
        "column": draft.column,
        "value": _plain(draft.value),
        "expected": _plain(draft.expected),
        "severity": str(draft.severity) if draft.severity else None,
        "source": draft.source,
    }


def _draft(data: Any) -> FindingDraft:
    data = _typed(data, dict)
    params = _value(data.get("params") or {})
    severity = _text(data.get("severity"))
    return FindingDraft(
        rule=_typed(data.get("rule"), str),
        params=_typed(params, dict),
        sheet=_text(data.get("sheet")),
        cell=_cell(data.get("cell")),
        column=_text(data.get("column")),
        value=_value(data.get("value")),
        expected=_value(data.get("expected")),
        severity=_severity(severity) if severity else None,
        source=_text(data.get("source")),
    )


def finding_data(finding: Finding) -> list[Any]:
    """A finding as the state keeps it (in blobs, and in the conclusions of a run)."""
    return [
        finding.code,
        finding.rule,
        str(finding.severity),
        finding.message,
        finding.sheet,
        finding.address,
        finding.column,
        _plain(finding.value),
        _plain(finding.expected),
        finding.source,
        finding.file,
        _plain(finding.params),
    ]


def finding(data: Any) -> Finding:
    """A finding read back from the state; anything but what ``finding_data`` wrote raises
    DamagedBlob."""
    try:
        return _finding(data)
    except DamagedBlob:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        raise DamagedBlob(f"{type(error).__name__}: {error}") from None


def _finding(data: Any) -> Finding:
    code, rule, severity, message, sheet, cell, column, value, expected, source, file, params = (
        _fields(data, 12)
    )
    return Finding(
        code=_typed(code, str),
        rule=_typed(rule, str),
        severity=_severity(severity),
        message=_typed(message, str),
        sheet=_text(sheet),
        cell=_cell(cell),
        column=_text(column),
        value=_value(value),
        expected=_value(expected),
        source=_text(source),
        file=_text(file),
        params=_typed(_value(params), dict),
    )


def _check_data(check: RuleCheck) -> list[Any]:
    return [
        check.rule,
        check.code,
        check.passed,
        _plain(check.measured),
        _plain(check.expected),
        str(check.severity),
        check.source,
    ]


def _check(data: Any) -> RuleCheck:
    rule, code, passed, measured, expected, severity, source = _fields(data, 7)
    return RuleCheck(
        rule=_typed(rule, str),
        code=_typed(code, str),
        passed=_typed(passed, bool, optional=True),
        measured=_value(measured),
        expected=_value(expected),
        severity=_severity(severity),
        source=_text(source),
    )


def _fields(data: Any, count: int) -> list[Any]:
    fields: list[Any] = _typed(data, list)
    if len(fields) != count:
        raise DamagedBlob(f"expected {count} fields, found {len(fields)}")
    return fields


def _file_result_data(file: FileResult) -> dict[str, Any]:
    return {
        "file": file.file,
        "relative": file.relative,
        "verdict": str(file.verdict),
        "proposals": list(file.proposals),
        "findings": [finding_data(f) for f in file.findings],
    }


def _file_result(data: Any) -> FileResult:
    data = _typed(data, dict)
    return FileResult(
        file=_typed(data.get("file"), str),
        relative=_typed(data.get("relative"), str),
        verdict=_verdict(data.get("verdict")),
        proposals=tuple(_strings(data.get("proposals"))),
        findings=tuple(_list_of(data.get("findings"), _finding)),
    )


def _proposal_data(proposal: ProposalResult) -> dict[str, Any]:
    return {
        "proposal_id": proposal.proposal_id,
        "file": proposal.file,
        "relative": proposal.relative,
        "action": proposal.action,
        "call_year": proposal.call_year,
        "verdict": str(proposal.verdict),
        "metrics": proposal.metrics,
        "findings": [finding_data(f) for f in proposal.findings],
        "title": proposal.title,
        "acronym": proposal.acronym,
        "key": proposal.key,
        "partner_sheet": proposal.partner_sheet,
        "partner_letters": proposal.partner_letters,
        "project_sheet": proposal.project_sheet,
        "id_cell": _address(proposal.id_cell),
        "in_export": proposal.in_export,
    }


def _metric(value: Any) -> int | float | None:
    return _typed(value, (int, float), optional=True)  # type: ignore[no-any-return]


def _proposal(data: Any) -> ProposalResult:
    data = _typed(data, dict)
    return ProposalResult(
        proposal_id=_typed(data.get("proposal_id"), str),
        file=_typed(data.get("file"), str),
        relative=_typed(data.get("relative"), str),
        action=_text(data.get("action")),
        call_year=_typed(data.get("call_year"), int, optional=True),
        verdict=_verdict(data.get("verdict")),
        metrics={str(k): _metric(v) for k, v in _typed(data.get("metrics"), dict).items()},
        findings=tuple(_list_of(data.get("findings"), _finding)),
        checks=(),
        title=_text(data.get("title")),
        acronym=_text(data.get("acronym")),
        key=_typed(data.get("key"), str),
        partner_sheet=_text(data.get("partner_sheet")),
        partner_letters=_text_map(data.get("partner_letters")),
        project_sheet=_text(data.get("project_sheet")),
        id_cell=_cell(data.get("id_cell")),
        in_export=_typed(data.get("in_export"), bool),
    )


# -- what a file gave the reader ---------------------------------------------


def _table_data(table: PartnerTable | None) -> dict[str, Any] | None:
    if table is None:
        return None
    return {"sheet": table.sheet, "header_row": table.header_row, "letters": table.letters}


def _table(data: Any) -> PartnerTable | None:
    if data is None:
        return None
    data = _typed(data, dict)
    return PartnerTable(
        sheet=_typed(data.get("sheet"), str),
        header_row=_typed(data.get("header_row"), int),
        letters=_text_map(data.get("letters")),
    )


def _source_data(source: ProposalSource) -> dict[str, Any]:
    return {
        "pkey": source.pkey,
        "file": source.file,
        "relative": source.relative,
        "layout": source.layout,
        "project_sheet": source.project_sheet,
        "project_cells": {key: str(cell) for key, cell in source.project_cells.items()},
        "project_row": source.project_row,
        "partners": _table_data(source.partners),
        "partners_complete": source.partners_complete,
    }


def _source(data: Any) -> ProposalSource:
    data = _typed(data, dict)
    return ProposalSource(
        pkey=_typed(data.get("pkey"), str),
        file=_typed(data.get("file"), str),
        relative=_typed(data.get("relative"), str),
        layout=_typed(data.get("layout"), str),
        project_sheet=_typed(data.get("project_sheet"), str),
        project_cells={k: Cell.parse(v) for k, v in _text_map(data.get("project_cells")).items()},
        project_row=_typed(data.get("project_row"), int, optional=True),
        partners=_table(data.get("partners")),
        partners_complete=_typed(data.get("partners_complete"), bool),
    )


def _frame_data(frame: pl.DataFrame | None) -> dict[str, Any] | None:
    if frame is None:
        return None
    return {
        "schema": [[name, str(dtype)] for name, dtype in frame.schema.items()],
        "columns": [frame.get_column(name).to_list() for name in frame.columns],
    }


def _frame(data: Any) -> pl.DataFrame | None:
    if data is None:
        return None
    data = _typed(data, dict)
    schema = {}
    for entry in _typed(data.get("schema"), list):
        name, dtype = _fields(entry, 2)
        if dtype not in _DTYPES:
            raise DamagedBlob(f"unexpected column type {dtype!r}")
        schema[_typed(name, str)] = _DTYPES[dtype]
    columns = _typed(data.get("columns"), list)
    if len(columns) != len(schema):
        raise DamagedBlob("columns and schema differ")
    try:
        return pl.DataFrame(
            {name: _typed(values, list) for name, values in zip(schema, columns, strict=True)},
            schema=schema,
            strict=True,
        )
    except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
        raise DamagedBlob(str(error)) from None


def _content_data(content: FileContent) -> dict[str, Any]:
    read = content.read
    return {
        "read": {
            "file": read.file,
            "relative": read.relative,
            "index": read.index,
            "proposals": read.proposals,
            "drafts": [_draft_data(d) for d in read.drafts],
            "unreadable": read.unreadable,
        },
        "sources": [_source_data(s) for s in content.sources],
        "project_rows": content.project_rows,
        "partner_rows": _frame_data(content.partner_rows),
        "partner_table": _table_data(content.partner_table),
        "proposal_ids": content.proposal_ids,
        "drafts": {k: [_draft_data(d) for d in v] for k, v in content.drafts.items()},
    }


def _row(data: Any) -> dict[str, str | None]:
    return {str(k): _text(v) for k, v in _typed(data, dict).items()}


def _content(data: Any) -> FileContent:
    data = _typed(data, dict)
    read = _typed(data.get("read"), dict)
    ids = data.get("proposal_ids")
    return FileContent(
        read=FileRead(
            file=_typed(read.get("file"), str),
            relative=_typed(read.get("relative"), str),
            index=_typed(read.get("index"), int),
            proposals=_strings(read.get("proposals")),
            drafts=_list_of(read.get("drafts"), _draft),
            unreadable=_typed(read.get("unreadable"), bool),
        ),
        sources=_list_of(data.get("sources"), _source),
        project_rows=_list_of(data.get("project_rows"), _row),
        partner_rows=_frame(data.get("partner_rows")),
        partner_table=_table(data.get("partner_table")),
        proposal_ids=None if ids is None else _text_map(ids),
        drafts={str(k): _list_of(v, _draft) for k, v in _typed(data.get("drafts"), dict).items()},
    )


# -- blobs -------------------------------------------------------------------


def _pack(data: Any) -> bytes:
    text = json.dumps({"v": BLOB_VERSION, "d": data}, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode("utf-8"), 1)


def _inflate(blob: Any) -> bytes:
    if not isinstance(blob, bytes):
        raise DamagedBlob("not a blob")
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(blob, MAX_UNPACKED)
    except zlib.error as error:
        raise DamagedBlob(str(error)) from None
    if inflater.unconsumed_tail:
        raise DamagedBlob("unpacks to more than the state ever holds")
    return data


def _unpack(blob: Any) -> Any:
    text = _inflate(blob)
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise DamagedBlob(str(error)) from None
    if not isinstance(document, dict) or document.get("v") != BLOB_VERSION:
        raise DamagedBlob("not a blob of this auditor")
    return document.get("d")


def _decoded(blob: Any, decode: Callable[[Any], _T]) -> _T:
    """Decode, turning every surprise in the data into DamagedBlob."""
    try:
        return decode(_unpack(blob))
    except DamagedBlob:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        raise DamagedBlob(f"{type(error).__name__}: {error}") from None


def pack_content(content: FileContent) -> bytes:
    """What a file gave the reader, for a rule change to re-judge it without reading."""
    return _pack(_content_data(content))


def unpack_content(blob: Any) -> FileContent:
    return _decoded(blob, _content)


class Packed(NamedTuple):
    """What the state keeps of a file's results (``pack_judged``)."""

    judged: bytes  # the file's and its proposals' results, without their rule checks
    checks: bytes  # the rule checks of its proposals
    entries: bytes  # the results.json entries of the file and its proposals


def pack_judged(
    files: Sequence[FileResult],
    proposals: Sequence[ProposalResult],
    texts: Mapping[str, str] | None,
    file_texts: Mapping[str, str] | None,
) -> dict[str, Packed]:
    """Per file, what the state keeps of its results: three blobs.

    A nightly run loads the first of every unchanged file; the second only
    for the few proposals it must show again (the entries hold the checks as
    text); the third, the entries as results.json has them, is text to be
    written as it is (``pack_entries``).
    """
    texts, file_texts = texts or {}, file_texts or {}
    mine: dict[str, list[ProposalResult]] = {}
    for proposal in proposals:
        mine.setdefault(proposal.file, []).append(proposal)
    packed = {}
    for file in files:
        theirs = mine.get(file.file, [])
        text = file_texts.get(file.file) or compact_json(file.entry())
        entries = [texts.get(p.key) or compact_json(p.entry()) for p in theirs]
        judged = {
            "file": _file_result_data(file),
            "proposals": [_proposal_data(p) for p in theirs],
        }
        checks = [[_check_data(c) for c in p.checks] for p in theirs]
        kept = pack_entries([text, *entries], [(None, None)] * (len(entries) + 1))
        packed[file.file] = Packed(_pack(judged), _pack(checks), kept)
    return packed


def pack_entries(lines: Sequence[str], held: Sequence[HeldLinks]) -> bytes:
    """A file's entry and its proposals' (the file's first), with the links each holds.

    Lines of text: the version, the links as JSON, then the entries, one a
    line (compact JSON has no line breaks), never parsed on the way out.
    """
    if any("\n" in line for line in lines):
        raise ValueError("an entry with a line break")
    if len(held) != len(lines):
        raise ValueError("entries and links differ")
    links = json.dumps([list(pair) for pair in held], ensure_ascii=False)
    return zlib.compress("\n".join([f"v{BLOB_VERSION}", links, *lines]).encode("utf-8"), 1)


def _judged(data: Any) -> tuple[FileResult, list[ProposalResult]]:
    data = _typed(data, dict)
    return _file_result(data.get("file")), _list_of(data.get("proposals"), _proposal)


def unpack_judged(blob: Any) -> tuple[FileResult, list[ProposalResult]]:
    """A file's result and its proposals' (without rule checks)."""
    return _decoded(blob, _judged)


def unpack_entries(blob: Any, proposals: int | None = None) -> tuple[list[str], list[HeldLinks]]:
    """The results.json entries of a file and of its ``proposals`` proposals (None: as
    many as there are; the file's first), and the links each holds."""
    data = _inflate(blob)
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError as error:
        raise DamagedBlob(str(error)) from None
    if lines[0] != f"v{BLOB_VERSION}":
        raise DamagedBlob("not a blob of this auditor")
    if len(lines) < 3 or (proposals is not None and len(lines) != proposals + 3):
        raise DamagedBlob("entries and proposals differ")
    # Written into results.json (and a terminal's --format json) as they are, so
    # what no entry of ours is, is refused: a line that does not open and close
    # as an object, or a control character (compact JSON escapes every one; a
    # terminal obeys some). Parsing each to be sure would cost what keeping
    # them as text saves; a state is its owner's file (store.py checks whose).
    clean = len(data.translate(None, _CONTROL)) == len(data)
    if not clean or any(line[:1] != "{" or line[-1:] != "}" for line in lines[2:]):
        raise DamagedBlob("an entry that is not one of ours")
    try:
        links = json.loads(lines[1])
    except (ValueError, RecursionError) as error:
        raise DamagedBlob(str(error)) from None
    held = [_held(pair) for pair in _typed(links, list)]
    if len(held) != len(lines) - 2:
        raise DamagedBlob("entries and links differ")
    return lines[2:], held


def _held(data: Any) -> HeldLinks:
    page, copy = _fields(data, 2)
    return _text(page), _text(copy)


def unpack_checks(blob: Any) -> list[tuple[RuleCheck, ...]]:
    """The rule checks of a file's proposals, in the order of ``unpack_judged``."""
    return _decoded(blob, lambda data: [tuple(_list_of(c, _check)) for c in _typed(data, list)])
