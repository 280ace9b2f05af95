"""Receiving uploaded workbooks: streamed to disk, every name and archive checked first.

An upload is where a stranger's bytes and a stranger's file names reach the
server's disk. The body is parsed as it arrives and written straight into a
staging folder, so a 500 MB batch never sits in memory, and every limit is
counted on the bytes actually received rather than on what the client says
it will send. Names come from the client (a folder upload sends
``round1/sub/file.xlsx``) and are kept only when they stay below the staging
folder; zips are checked on their whole directory before one member is
written, then inflated while counting, since a directory can lie.

Whatever goes wrong, the staging folder goes with it: the caller either gets
every file or none, never a partial one to trip over later.
"""

from __future__ import annotations

import copy
import lzma
import os
import re
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Generator
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from auditor.core.config import Limits
from auditor.core.errors import ConfigError
from auditor.read.guard import RATIO_FLOOR

# Refusals a bigger limit would have let through; the rest are 400.
_TOO_LARGE = frozenset(
    {
        "too-large",
        "too-many-files",
        "fields-too-large",
        "zip-bomb",
        "zip-too-large",
        "file-too-large",
    }
)
_MAX_COMPONENT_BYTES = 255  # NAME_MAX of every common file system
# Deeper paths would still be created (files are opened one folder at a time),
# but later readers that open the whole path would fail on PATH_MAX.
_MAX_PATH_BYTES = 1_024
# The end of a zip: its end record (followed by up to 64 kB of comment), preceded
# in a ZIP64 archive by a 56-byte record and a 20-byte locator; the ZIP64 record
# holds the real counts when the end record's fields overflow.
_END = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_SIGNATURE = b"PK\x06\x06"
_LOCATOR_SIZE = 20
_END_WINDOW = _END.size + 65_535 + _LOCATOR_SIZE + _END64.size
# A directory entry: 46 fixed bytes, the name (at most _MAX_PATH_BYTES once
# accepted), and room for the extra fields (timestamps, ZIP64 sizes).
_ENTRY_BYTES = 46 + _MAX_PATH_BYTES + 1_024
_DRIVE = re.compile(r"[A-Za-z]:")
_CHUNK = 1 << 20  # bytes inflated at a time from a zip member
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# What zipfile and the decompressors raise on an archive they cannot read.
_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    ValueError,
    # RuntimeError covers zipfile's refusal of a zip whose features it lacks
    # (a later version to extract, a member of patched data, strong
    # encryption): that error class derives from it.
    RuntimeError,
    OSError,
)
_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
# A quoted-string (RFC 7578 §4.2: no RFC 5987 ``filename*``) or a bare token.
_PARAMETER = re.compile(r'\s*;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """What one upload may cost the server: its body, its files, its forms.

    ``max_files`` counts file parts and the members of all zips together:
    every one becomes a file on disk and a workbook for the audit to open.
    ``reader`` holds the reader's own limits, applied here too, so nothing
    is stored that the audit would refuse to open anyway.
    """

    max_request_bytes: int = 500_000_000
    max_files: int = 2_000
    max_field_bytes: int = 65_536  # all non-file form fields together
    reader: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if min(self.max_request_bytes, self.max_files, self.max_field_bytes) <= 0:
            raise ConfigError("upload limits must be positive numbers")


class UploadRefused(Exception):
    """Why an upload was refused, as a stable key the pages translate.

    ``status`` is 413 when a larger limit would have let the upload through,
    400 when the request itself is wrong; ``params`` are the values a message
    shows (the limit, the offending name).
    """

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason, params)
        self.reason = reason
        self.params: dict[str, object] = params
        self.status = 413 if reason in _TOO_LARGE else 400

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{self.reason} ({details})" if details else self.reason


@dataclass(frozen=True, slots=True)
class Received:
    """The form as received: its fields (a CSRF token) and the files written."""

    fields: dict[str, str]
    files: list[str]  # relative POSIX paths below the staging folder


def _megabytes(count: int) -> float:
    return round(count / 1_000_000, 1)


def safe_relative(name: str) -> str | None:
    """The name as a relative POSIX path below a folder, or None if it may not be one.

    Windows clients send backslashes; a name meant to climb out (``..``, an
    absolute path, a drive letter) or to confuse a log or a terminal (control
    characters) is refused outright rather than repaired, since a repaired
    name could land on another upload's file. A name that only climbs out
    once percent-decoded (``..%2Fx``) is refused too: something further on
    (a URL, a link in a report) may decode it. The name itself is kept as
    sent, never decoded.
    """
    relative = _normalised(name)
    if relative is None:
        return None
    decoded = unquote(name)
    if decoded != name and _normalised(decoded) is None:
        return None
    return relative


def _normalised(name: str) -> str | None:
    name = name.replace("\\", "/")
    if name.startswith("/"):
        return None
    # Cs: a lone surrogate (a byte that was not UTF-8) cannot be written back as a name.
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    if any(len(part.encode()) > _MAX_COMPONENT_BYTES for part in parts):
        return None
    relative = "/".join(parts)
    # On the name as it will be written: "./C:x" is the drive-relative "C:x"
    # once "./" is gone.
    if _DRIVE.match(relative):
        return None
    return relative if len(relative.encode()) <= _MAX_PATH_BYTES else None


def _create(root: Path, relative: str) -> int:
    """A new file at ``relative`` below ``root``, open for writing.

    Walked one folder at a time from a descriptor of ``root``, never
    following a link, so the file is below ``root`` whatever appears in it
    meanwhile. A file already there (an earlier part of the same name) is
    replaced; a folder where a file should be, or the reverse, raises
    NotADirectoryError or IsADirectoryError for the caller to name.
    """
    *folders, leaf = relative.split("/")
    directory = os.open(root, _DIRECTORY)
    try:
        for folder in folders:
            with suppress(FileExistsError):
                os.mkdir(folder, 0o700, dir_fd=directory)
            inner = os.open(folder, _DIRECTORY, dir_fd=directory)
            os.close(directory)
            directory = inner
        try:
            return os.open(leaf, _NEW_FILE, 0o600, dir_fd=directory)
        except FileExistsError:
            if not stat.S_ISREG(os.stat(leaf, dir_fd=directory, follow_symlinks=False).st_mode):
                raise IsADirectoryError(relative) from None
            os.unlink(leaf, dir_fd=directory)
            return os.open(leaf, _NEW_FILE, 0o600, dir_fd=directory)
    finally:
        os.close(directory)


def _disposition(raw: bytes) -> tuple[str, dict[str, str]]:
    """A Content-Disposition header's type and parameters, filename as sent.

    python_multipart's own parser cuts ``C:\\dir\\x.xlsx`` down to ``x.xlsx``
    (an old Internet Explorer habit); here the name stays whole so that a
    client sending paths it should not is refused, not silently renamed.
    """
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise UploadRefused("malformed", detail="a part's name is not UTF-8") from None
    kind, separator, rest = text.partition(";")
    rest = separator + rest
    parameters: dict[str, str] = {}
    position = 0
    while position < len(rest.rstrip(" \t;")):
        match = _PARAMETER.match(rest, position)
        if match is None:
            raise UploadRefused("malformed", detail=f"Content-Disposition: {text[:200]}")
        key, value = match.group(1).lower(), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        if "*" not in key:
            parameters[key] = value
        position = match.end()
    return kind.strip().lower(), parameters


class _Parts:
    """One request's parts, fed to disk by the multipart parser's callbacks."""

    def __init__(self, staging: Path, limits: UploadLimits) -> None:
        self.staging = staging
        self.limits = limits
        self.fields: dict[str, str] = {}
        self.files: dict[str, None] = {}  # an ordered set: a name sent again moves to the end
        self.ended = False
        self._count = 0
        self._field_bytes = 0
        self._headers: dict[str, bytes] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._file: BinaryIO | None = None
        self._path = ""
        self._size = 0
        self._field: str | None = None
        self._value = bytearray()

    def parser(self, boundary: bytes) -> MultipartParser:
        return MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _part_begin(self) -> None:
        self._headers = {}
        self._field = None
        self._value = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        raw = self._headers.get("content-disposition")
        if raw is None:
            raise UploadRefused("malformed", detail="a part without Content-Disposition")
        kind, parameters = _disposition(raw)
        if kind != "form-data" or "name" not in parameters:
            raise UploadRefused("malformed", detail=f"a part that is not a form field: {kind}")
        if "filename" in parameters:
            self._begin_file(parameters["filename"])
        else:
            self._begin_field(parameters["name"])

    def _begin_file(self, name: str) -> None:
        if not name:
            return  # an empty file input: the browser sends the part all the same
        relative = safe_relative(name)
        if relative is None:
            raise UploadRefused("malformed", file=name)
        self._count += 1
        if self._count > self.limits.max_files:
            raise UploadRefused("too-many-files", limit=self.limits.max_files)
        try:
            descriptor = _create(self.staging, relative)
        except (NotADirectoryError, IsADirectoryError):
            raise UploadRefused("malformed", file=name, detail="a file and a folder") from None
        self._file = os.fdopen(descriptor, "wb")
        self._path = relative
        self._size = 0
        self.files.pop(relative, None)
        self.files[relative] = None

    def _begin_field(self, name: str) -> None:
        self._count_field(len(name.encode()))
        self._field = name

    def _count_field(self, size: int) -> None:
        self._field_bytes += size
        if self._field_bytes > self.limits.max_field_bytes:
            raise UploadRefused(
                "fields-too-large", limit_mb=_megabytes(self.limits.max_field_bytes)
            )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._size += end - start
            if self._size > self.limits.reader.max_file_bytes:
                raise UploadRefused(
                    "file-too-large",
                    file=self._path,
                    limit_mb=_megabytes(self.limits.reader.max_file_bytes),
                )
            self._file.write(memoryview(data)[start:end])
        elif self._field is not None:
            self._count_field(end - start)
            self._value += data[start:end]
        # else: the body of an empty file input, dropped

    def _part_end(self) -> None:
        self.close()
        if self._field is not None:
            try:
                self.fields[self._field] = self._value.decode()
            except UnicodeDecodeError:
                raise UploadRefused("malformed", field=self._field) from None
            self._field = None

    def _end(self) -> None:
        self.ended = True


async def receive(request: Request, staging: Path, limits: UploadLimits) -> Received:
    """Stream a multipart/form-data body into ``staging``, refusing as soon as a limit is passed.

    ``staging`` must not exist: it is made here and removed here on any
    refusal or error (a client gone mid-upload included), so a folder that
    is there belongs to someone else and is never written into. The
    Content-Length, when sent, refuses an oversized body before a byte is
    read; the count of bytes received refuses one that lied or was chunked.
    Parsing and writing run in a worker thread to keep the event loop free.
    """
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRefused("not-multipart", content_type=content_type.decode("latin-1"))
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise UploadRefused("malformed", detail="Content-Length is not a number")
        if int(declared) > limits.max_request_bytes:
            raise UploadRefused("too-large", limit_mb=_megabytes(limits.max_request_bytes))
    staging.parent.mkdir(parents=True, exist_ok=True)
    staging.mkdir(mode=0o700)  # FileExistsError: not ours to fill, nor to remove
    parts = _Parts(staging, limits)
    try:
        try:
            parser = parts.parser(boundary)
            arrived = 0
            async for chunk in request.stream():
                arrived += len(chunk)
                if arrived > limits.max_request_bytes:
                    raise UploadRefused("too-large", limit_mb=_megabytes(limits.max_request_bytes))
                if chunk:
                    await run_in_threadpool(parser.write, chunk)
        except FormParserError as error:
            raise UploadRefused("malformed", detail=str(error)) from error
        if not parts.ended:
            raise UploadRefused("malformed", detail="the body ends before its last boundary")
    except BaseException:
        parts.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Received(parts.fields, list(parts.files))


def extract_zips(staging: Path, received: Received, limits: UploadLimits) -> list[str]:
    """Unpack the received zips in place; the files to audit, as paths below ``staging``.

    Every zip's directory is checked before any member is written, so a
    refused upload leaves nothing half unpacked. A zip's members go to a
    folder of the zip's name (``batch.zip`` -> ``batch/...``), where a
    folder upload would have put them; zips inside a zip stay files.
    Inflated sizes count against the reader's ``max_unzipped_bytes`` for all
    zips together, since they share the same disk. On any refusal
    ``staging`` is removed.
    """
    try:
        return _extract_all(staging, received, limits)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _is_zip(name: str) -> bool:
    return name.lower().endswith(".zip")


def _extract_all(staging: Path, received: Received, limits: UploadLimits) -> list[str]:
    zips = [name for name in received.files if _is_zip(name)]
    zip_names = set(zips)
    files = {name: None for name in received.files if not _is_zip(name)}
    plans: list[tuple[str, list[tuple[zipfile.ZipInfo, str]]]] = []
    count, inflated = len(files), 0
    for name in zips:
        members = _plan(staging, name, zip_names, limits)
        count += len(members)
        if count > limits.max_files:
            raise UploadRefused("too-many-files", limit=limits.max_files, zip=name)
        inflated += sum(info.file_size for info, _ in members)
        if inflated > limits.reader.max_unzipped_bytes:
            raise UploadRefused(
                "zip-too-large",
                zip=name,
                size_mb=_megabytes(inflated),
                limit_mb=_megabytes(limits.reader.max_unzipped_bytes),
            )
        plans.append((name, members))
    for name, members in plans:
        with _archive(staging, name) as archive:
            for info, target in members:
                _inflate(staging, archive, info, target, name)
                files.pop(target, None)
                files[target] = None
        (staging / name).unlink()
    return list(files)


def _archive(staging: Path, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(staging / name)
    except _UNREADABLE as error:
        raise UploadRefused("zip-unreadable", zip=name, detail=str(error)) from error


def _crowded(path: Path, max_files: int) -> bool:
    """Whether the zip's end record declares a directory far beyond ``max_files`` entries.

    zipfile turns a whole directory into objects some seven times its size,
    and a 100 MB zip of empty members has a million entries, so the count is
    checked before zipfile reads anything. Generous on purpose (folders have
    entries too; the exact count follows): the point is the cost of reading,
    not the limit. A directory whose end record understates it is still
    read by zipfile and counted exactly; only the cost is not spared.
    """
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - _END_WINDOW))
        tail = handle.read()
    end = tail.rfind(_END_SIGNATURE)
    if end < 0 or end + _END.size > len(tail):
        return False  # not a zip: zipfile says so
    *_, entries, directory, _offset, _comment = _END.unpack_from(tail, end)
    record = end - _LOCATOR_SIZE - _END64.size
    if record >= 0 and tail[record : record + 4] == _END64_SIGNATURE:  # ZIP64: the real counts
        *_, entries, directory, _offset = _END64.unpack_from(tail, record)
    return bool(entries > 2 * max_files or directory > 2 * max_files * _ENTRY_BYTES)


def _plan(
    staging: Path, name: str, zips: set[str], limits: UploadLimits
) -> list[tuple[zipfile.ZipInfo, str]]:
    """The zip's files and where each goes, once every entry of its directory passed."""
    folder = name[: -len(".zip")].rstrip("/")
    if _crowded(staging / name, limits.max_files):
        raise UploadRefused("too-many-files", limit=limits.max_files, zip=name)
    with _archive(staging, name) as archive:
        entries = archive.infolist()
    members = []
    for info in entries:
        member = safe_relative(info.filename)
        target = None
        if member is not None:
            target = safe_relative(f"{folder}/{member}") if folder else member
        # A member landing on a zip not yet unpacked would swap that zip's bytes
        # under its checked directory.
        if target is None or target in zips:
            raise UploadRefused("zip-path", zip=name, member=info.filename)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            # Only links are expected; any other special file is refused alike.
            shown = "link" if kind == stat.S_IFLNK else "special"
            raise UploadRefused("zip-link", zip=name, member=info.filename, kind=shown)
        if info.flag_bits & 0x1 or info.compress_type not in _METHODS:
            detail = "encrypted" if info.flag_bits & 0x1 else "compression method"
            raise UploadRefused("zip-unreadable", zip=name, member=info.filename, detail=detail)
        if info.is_dir():
            continue  # folders are made for the files in them
        if info.file_size > limits.reader.max_file_bytes:
            raise UploadRefused(
                "file-too-large",
                zip=name,
                member=info.filename,
                size_mb=_megabytes(info.file_size),
                limit_mb=_megabytes(limits.reader.max_file_bytes),
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_FLOOR and ratio > limits.reader.max_ratio:
            raise UploadRefused(
                "zip-bomb",
                zip=name,
                member=info.filename,
                ratio=round(ratio),
                limit=limits.reader.max_ratio,
            )
        members.append((info, target))
    return members


def _inflate(
    staging: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: str, name: str
) -> None:
    """Write one member to ``target``, refusing it the moment it outgrows its directory entry."""
    try:
        descriptor = _create(staging, target)
    except (NotADirectoryError, IsADirectoryError):
        raise UploadRefused(
            "zip-path", zip=name, member=info.filename, detail="a file and a folder"
        ) from None
    size, crc = 0, 0
    with os.fdopen(descriptor, "wb") as handle, closing(_chunks(archive, info, name)) as chunks:
        for chunk in chunks:
            size += len(chunk)
            if size > info.file_size:
                raise UploadRefused(
                    "zip-bomb",
                    zip=name,
                    member=info.filename,
                    declared_mb=_megabytes(info.file_size),
                )
            crc = zlib.crc32(chunk, crc)
            handle.write(chunk)
    if size != info.file_size or crc != info.CRC:
        raise UploadRefused(
            "zip-unreadable", zip=name, member=info.filename, detail="damaged member"
        )


def _chunks(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str
) -> Generator[bytes, None, None]:
    """The member's bytes as inflated, up to one byte more than its entry declares.

    zipfile stops at the declared size and then checks the CRC, which would
    hide a member that inflates past it behind a "bad CRC"; reading through a
    copy of the entry one byte larger and without a CRC lets the caller see
    the byte too many, and check the CRC itself.
    """
    probe = copy.copy(info)
    probe.file_size = info.file_size + 1
    del probe.CRC
    try:
        with archive.open(probe) as stream:
            while chunk := stream.read(_CHUNK):
                yield chunk
    except _UNREADABLE as error:
        raise UploadRefused(
            "zip-unreadable", zip=name, member=info.filename, detail=str(error)
        ) from error
