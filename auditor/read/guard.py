"""Checks made before a file is parsed, from its size and its zip directory.

A workbook is a zip archive of XML parts. Before calamine inflates anything,
the directory says how large each part becomes, and the first bytes of each
sheet say how many rows it claims: enough to refuse decompression bombs,
oversized sheets and XML entity tricks without spending the memory they aim
at. Each refusal names the limit and the option that raises it.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, NamedTuple

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


def load(
    path: Path, limits: Limits, identity: tuple[int, int] | None = None
) -> tuple[bytes | None, FindingDraft | None]:
    """The file's bytes, read once, or why it must not be parsed.

    Files are small next to the memory they may cost once parsed, so reading
    them whole (within ``max_file_bytes``) and parsing from memory is both
    safe and faster than letting the parser open the file again. The type
    and size are those of the file opened (not of a name that may have been
    replaced meanwhile): a FIFO or a device is never read from, and no more
    than the limit is ever read.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        return None, refuse("default", detail=error.strerror or str(error))
    try:
        status = os.fstat(descriptor)
        if identity is not None and (status.st_dev, status.st_ino) != identity:
            # Replaced since it was found (a link to elsewhere swapped in): not read.
            return None, refuse("changed")
        if not stat.S_ISREG(status.st_mode):
            kind = "fifo" if stat.S_ISFIFO(status.st_mode) else "device"
            return None, refuse("not-regular", kind=kind)
        size = status.st_size
        if size == 0:
            return None, refuse("empty")
        if size > limits.max_file_bytes:
            return None, refuse(
                "too-large", size_mb=_megabytes(size), limit_mb=_megabytes(limits.max_file_bytes)
            )
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            # Asked for its size and a byte more: a read of the whole limit
            # sets aside the limit's bytes first, for every file.
            data = handle.read(size + 1)
            if len(data) > size:  # grown since: read on, up to a byte over the limit
                data += handle.read(max(0, limits.max_file_bytes + 1 - len(data)))
        if len(data) > limits.max_file_bytes:  # grew while it was read
            return None, refuse(
                "too-large",
                size_mb=_megabytes(len(data)),
                limit_mb=_megabytes(limits.max_file_bytes),
            )
    except OSError as error:
        return None, refuse("default", detail=error.strerror or str(error))
    finally:
        os.close(descriptor)
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
        members = _directory(data)
        if members is None:  # ZIP64 or unusual: let zipfile read the directory
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [
                    _Member(
                        m.filename, m.compress_type, m.compress_size, m.file_size, m.header_offset
                    )
                    for m in archive.infolist()
                ]
        return _other_document(members, suffix) or _inspect_archive(data, members, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error) as error:
        return refuse("not-zip", suffix=suffix, detail=str(error))


# The part every workbook of a format has, and what other Office files hold instead.
_WORKBOOK_PART = {".xlsx": "xl/workbook.xml", ".xlsm": "xl/workbook.xml", ".ods": "content.xml"}
_OTHER_DOCUMENTS = (
    ("word/document.xml", "word-document"),
    ("ppt/presentation.xml", "presentation"),
)


def _other_document(members: list[_Member], suffix: str) -> FindingDraft | None:
    """A Word document or a presentation renamed .xlsx (or any zip that holds no workbook)."""
    names = {member.filename for member in members}
    if _WORKBOOK_PART[suffix] in names:
        return None
    for part, variant in _OTHER_DOCUMENTS:
        if part in names:
            return refuse(variant, suffix=suffix)
    return refuse("not-workbook", suffix=suffix)


class _Member(NamedTuple):
    filename: str
    compress_type: int
    compress_size: int
    file_size: int
    header_offset: int


_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END_SIGNATURE = b"PK\x05\x06"
_ENTRY = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header
_ENTRY_SIGNATURE = b"PK\x01\x02"
_ZIP64 = 0xFFFFFFFF


def _directory(data: bytes) -> list[_Member] | None:
    """The archive's members, from its central directory.

    Read with struct rather than zipfile, whose objects cost more than the
    rest of this guard; None for the rare archive that needs zipfile's care
    (ZIP64, a directory that does not add up).
    """
    end = data.rfind(_END_SIGNATURE, max(0, len(data) - 65_557))
    if end < 0 or end + _END.size > len(data):
        raise zipfile.BadZipFile("File is not a zip file")
    *_, count, size, offset, _comment = _END.unpack_from(data, end)
    if offset == _ZIP64 or count == 0xFFFF or offset + size > end:
        return None
    members = []
    position = offset
    for _ in range(count):
        if data[position : position + 4] != _ENTRY_SIGNATURE:
            return None
        fields = _ENTRY.unpack_from(data, position)
        flags, method = fields[5], fields[6]
        compressed, size_, name_length, extra_length, comment_length = (
            fields[10],
            fields[11],
            fields[12],
            fields[13],
            fields[14],
        )
        local = fields[18]
        if _ZIP64 in (compressed, size_, local):
            return None
        start = position + _ENTRY.size
        raw_name = data[start : start + name_length]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        members.append(_Member(name, method, compressed, size_, local))
        position = start + name_length + extra_length + comment_length
    return members


def _inspect_archive(data: bytes, members: list[_Member], limits: Limits) -> FindingDraft | None:
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
        head = _head(data, member)
        if _DTD.search(head):
            return refuse("xml-entities", part=member.filename)
        if "worksheets/" in member.filename:
            match = _DIMENSION.search(head)
            if match and int(match.group(1)) > limits.max_rows:
                sheet = _sheet_names(data).get(member.filename, member.filename)
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


def _head(data: bytes, member: _Member) -> bytes:
    """The first bytes of a part, inflating no more than that.

    Read straight from the archive's bytes: zipfile's own stream objects cost
    more than the few kilobytes they would inflate.
    """
    if member.header_offset + _LOCAL_HEADER.size > len(data):
        return b""
    name_length, extra_length = _LOCAL_HEADER.unpack_from(data, member.header_offset)[-2:]
    start = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    raw = data[start : start + min(member.compress_size, _HEAD)]
    if member.compress_type == zipfile.ZIP_STORED:
        return raw[:_HEAD]
    if member.compress_type != zipfile.ZIP_DEFLATED:
        return b""
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, _HEAD)


def _sheet_names(data: bytes) -> dict[str, str]:
    """Worksheet part -> sheet name, for messages: "xl/worksheets/sheet2.xml" -> "Partners"."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            workbook = archive.read("xl/workbook.xml")
            relations = archive.read("xl/_rels/workbook.xml.rels")
    except (KeyError, zipfile.BadZipFile, zlib.error):
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
