"""Checks made before a file is parsed, from its size and its zip directory.

A workbook is a zip archive of XML parts. Before calamine inflates anything,
the directory says how large each part becomes, and the first bytes of each
sheet say how many rows it claims: enough to refuse decompression bombs,
oversized sheets and XML entity tricks without spending the memory they aim
at. Each refusal names the limit and the option that raises it.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from auditor.core.config import Limits
from auditor.core.findings import FindingDraft

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: .xls, or an encrypted .xlsx
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
ZIP_FORMATS = (".xlsx", ".xlsm", ".ods")
# Members below this size are never a bomb, whatever their ratio.
RATIO_FLOOR = 10_000_000
_HEAD = 4_096  # DTDs and the <dimension> element come first
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]*\d*:?[A-Z]*(\d+)"')
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_ELEMENT = re.compile(rb"<(?:\w+:)?(sheet|Relationship)\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'([\w:]+)="([^"]*)"')


def refuse(variant: str, **params: Any) -> FindingDraft:
    return FindingDraft("unreadable-file", params={"variant": variant, **params})


def _megabytes(count: int) -> float:
    return round(count / 1_000_000, 1)


def load(path: Path, limits: Limits) -> tuple[bytes | None, FindingDraft | None]:
    """The file's bytes, read once, or why it must not be parsed.

    Files are small next to the memory they may cost once parsed, so reading
    them whole (within ``max_file_bytes``) and parsing from memory is both
    safe and faster than letting the parser open the file again.
    """
    try:
        size = path.stat().st_size
        if size == 0:
            return None, refuse("empty")
        if size > limits.max_file_bytes:
            return None, refuse(
                "too-large", size_mb=_megabytes(size), limit_mb=_megabytes(limits.max_file_bytes)
            )
        data = path.read_bytes()
    except OSError as error:
        return None, refuse("default", detail=error.strerror or str(error))
    refusal = inspect(data, path.suffix.lower(), limits)
    return (None, refusal) if refusal else (data, None)


def inspect(data: bytes, suffix: str, limits: Limits) -> FindingDraft | None:
    """Why a workbook's bytes must not be parsed, or None when they may be."""
    if data[: len(CFB_MAGIC)] == CFB_MAGIC:
        if suffix == ".xls":
            return None
        return refuse("encrypted") if ENCRYPTED_STREAM in data else refuse("legacy", suffix=suffix)
    if suffix not in ZIP_FORMATS:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _inspect_archive(archive, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
        return refuse("not-zip", suffix=suffix, detail=str(error))


def _inspect_archive(archive: zipfile.ZipFile, limits: Limits) -> FindingDraft | None:
    members = archive.infolist()
    total = sum(member.file_size for member in members)
    if total > limits.max_unzipped_bytes:
        return refuse(
            "too-large-unzipped",
            size_mb=_megabytes(total),
            limit_mb=_megabytes(limits.max_unzipped_bytes),
        )
    for member in members:
        if member.file_size > RATIO_FLOOR:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.max_ratio:
                return refuse(
                    "compression-ratio",
                    part=member.filename,
                    ratio=round(ratio),
                    limit=limits.max_ratio,
                )
    for member in members:
        if not _parsed(member.filename):
            continue
        head = _head(archive, member)
        if _DTD.search(head):
            return refuse("xml-entities", part=member.filename)
        if "worksheets/" in member.filename:
            match = _DIMENSION.search(head)
            if match and int(match.group(1)) > limits.max_rows:
                sheet = _sheet_names(archive).get(member.filename, member.filename)
                return refuse(
                    "too-many-rows", sheet=sheet, rows=int(match.group(1)), limit=limits.max_rows
                )
    return None


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
# The parts a parser reads for values: the workbook, its strings and styles,
# the sheets (.xlsx), the content (.ods). Themes and document properties are
# not looked at.
_PARSED = re.compile(
    r"^(xl/(workbook|sharedStrings|styles)\.xml|xl/worksheets/[^/]+\.xml|content\.xml)$"
)


def _parsed(name: str) -> bool:
    return _PARSED.match(name) is not None


def _head(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """The first bytes of a part, inflating no more than that.

    Read straight from the archive's file: zipfile's own stream objects cost
    more than the few kilobytes they would inflate.
    """
    handle = archive.fp
    if handle is None:
        return b""
    handle.seek(member.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size:
        return b""
    name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
    handle.seek(name_length + extra_length, 1)
    raw = handle.read(min(member.compress_size, _HEAD))
    if member.compress_type == zipfile.ZIP_STORED:
        return raw[:_HEAD]
    if member.compress_type != zipfile.ZIP_DEFLATED:
        return b""
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, _HEAD)


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part -> sheet name, for messages: "xl/worksheets/sheet2.xml" -> "Partners"."""
    try:
        workbook = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for _, attributes in _ELEMENT.findall(relations):
        found = dict(_ATTRIBUTE.findall(attributes))
        targets[found.get(b"Id", b"").decode()] = found.get(b"Target", b"").decode()
    names = {}
    for _, attributes in _ELEMENT.findall(workbook):
        found = dict(_ATTRIBUTE.findall(attributes))
        target = targets.get(found.get(b"r:id", b"").decode(), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        names[part] = found.get(b"name", b"").decode("utf-8", "replace")
    return names
