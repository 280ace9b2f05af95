"""Uploads: streamed to disk, names kept below the staging folder, zips checked before unpacking.

Each test posts a real multipart body to a small Starlette app that calls
``receive`` and ``extract_zips`` as the web application does, then looks at
the disk: the bytes written, and after a refusal that the staging folder and
anything outside it are gone or untouched.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import anyio
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from auditor.core.config import Limits
from auditor.read.guard import RATIO_FLOOR
from auditor.web.uploads import (
    Received,
    UploadLimits,
    UploadRefused,
    extract_zips,
    receive,
    safe_relative,
)

BOUNDARY = "auditor-test-boundary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A body built by hand, so names reach the server exactly as written here."""
    body = bytearray()
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + data + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    return bytes(body)


def staging_of(root: Path) -> Path:
    return root / "uploads" / "staging"


def post(
    root: Path,
    limits: UploadLimits | None = None,
    **request: Any,
) -> tuple[int, dict[str, Any]]:
    """POST to an app doing what the web application does; its status and JSON answer."""
    chosen = limits or UploadLimits()

    async def upload(http: Request) -> JSONResponse:
        staging = staging_of(root)
        length = http.headers.get("content-length")
        try:
            received = await receive(http, staging, chosen)
            files = extract_zips(staging, received, chosen)
        except UploadRefused as refusal:
            answer = {"reason": refusal.reason, "params": refusal.params, "length": length}
            return JSONResponse(answer, status_code=refusal.status)
        return JSONResponse({"files": files, "fields": received.fields, "length": length})

    app = Starlette(routes=[Route("/upload", upload, methods=["POST"])])
    with TestClient(app) as client:
        response = client.post("/upload", **request)
    return response.status_code, response.json()


def post_zip(root: Path, archive: bytes) -> tuple[int, dict[str, Any]]:
    return post(root, content=multipart(("files", "a.zip", archive)), headers=MULTIPART)


def everything_under(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))


def assert_refused_cleanly(root: Path) -> None:
    """Nothing left: no staging folder, nothing written beside it or above it."""
    assert not staging_of(root).exists()
    assert everything_under(root) in ([], ["uploads"])


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def patched(data: bytes, offset: int, value: bytes) -> bytes:
    """The zip with a field of its (last) central directory entry rewritten."""
    entry = data.rindex(b"PK\x01\x02") + offset
    return data[:entry] + value + data[entry + len(value) :]


def with_declared_size(data: bytes, size: int) -> bytes:
    return patched(data, 24, struct.pack("<L", size))  # the inflated size


# --- receiving files -------------------------------------------------------------------------


def test_files_and_a_folder_upload_keep_their_paths_and_bytes(tmp_path: Path) -> None:
    sent = {
        "a.xlsx": b"first workbook",
        "round1/b.xlsx": bytes(range(256)) * 40,
        "round1/sub/c.xlsx": b"\r\n--not-a-boundary\r\n" * 100,
        "round1/sub/d é.xlsx": b"",
    }
    files = [("files", (name, data, "application/octet-stream")) for name, data in sent.items()]
    status, answer = post(tmp_path, files=files, data={"csrf": "token-123"})
    assert status == 200, answer
    assert answer["files"] == list(sent)
    assert answer["fields"] == {"csrf": "token-123"}
    staging = staging_of(tmp_path)
    for name, data in sent.items():
        assert (staging / name).read_bytes() == data
    assert sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()) == (
        sorted(sent)
    )


def test_backslashes_dots_and_repeated_slashes_are_normalised(tmp_path: Path) -> None:
    body = multipart(("files", "round1\\sub\\a.xlsx", b"A"), ("files", "./round1//b.xlsx", b"B"))
    status, answer = post(tmp_path, content=body, headers=MULTIPART)
    assert status == 200, answer
    assert answer["files"] == ["round1/sub/a.xlsx", "round1/b.xlsx"]
    assert (staging_of(tmp_path) / "round1/sub/a.xlsx").read_bytes() == b"A"


def test_a_name_sent_twice_keeps_the_later_file(tmp_path: Path) -> None:
    body = multipart(
        ("files", "a.xlsx", b"old"), ("files", "b.xlsx", b"b"), ("files", "a.xlsx", b"new")
    )
    status, answer = post(tmp_path, content=body, headers=MULTIPART)
    assert status == 200, answer
    assert answer["files"] == ["b.xlsx", "a.xlsx"]
    assert (staging_of(tmp_path) / "a.xlsx").read_bytes() == b"new"


def test_an_empty_file_input_is_skipped(tmp_path: Path) -> None:
    body = multipart(("csrf", None, b"t"), ("files", "", b""), ("files", "a.xlsx", b"A"))
    status, answer = post(tmp_path, content=body, headers=MULTIPART)
    assert status == 200, answer
    assert answer == {"files": ["a.xlsx"], "fields": {"csrf": "t"}, "length": str(len(body))}
    assert everything_under(staging_of(tmp_path)) == ["a.xlsx"]


@pytest.mark.parametrize(
    "name", ["../x.xlsx", "..%2Fx.xlsx", "/etc/passwd", "C:\\x.xlsx", "a/../../x", "a\x00.xlsx"]
)
def test_names_that_leave_the_folder_refuse_the_whole_upload(tmp_path: Path, name: str) -> None:
    body = multipart(("files", "good.xlsx", b"good"), ("files", name, b"evil"))
    status, answer = post(tmp_path, content=body, headers=MULTIPART)
    assert (status, answer["reason"], answer["params"]) == (400, "malformed", {"file": name})
    assert_refused_cleanly(tmp_path)
    assert not (tmp_path.parent / "x.xlsx").exists()


def test_a_file_where_a_folder_is_needed_is_refused(tmp_path: Path) -> None:
    body = multipart(("files", "round1", b"a file"), ("files", "round1/a.xlsx", b"A"))
    status, answer = post(tmp_path, content=body, headers=MULTIPART)
    assert (status, answer["reason"]) == (400, "malformed")
    assert_refused_cleanly(tmp_path)


@example(name="./A:")  # a drive letter behind "./" (found by this test)
@example(name=".//c:/x")
@given(
    st.one_of(
        st.text(),
        st.lists(
            st.sampled_from(
                ["..", ".", "", "a", "b\\..", "C:", "%2e%2e", "..%2F", "%00", "\x1b", "é" * 130]
            )
        ).map("/".join),
    )
)
def test_safe_relative_stays_below_any_folder(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    folder = tmp_path_factory.getbasetemp().resolve()
    relative = safe_relative(name)
    if relative is None:
        return
    assert ".." not in PurePosixPath(relative).parts
    assert (folder / relative).resolve().is_relative_to(folder)
    assert (folder / relative).resolve() != folder
    assert safe_relative(relative) == relative  # the application checks names again
    assert all(len(part.encode()) <= 255 for part in relative.split("/"))


# --- limits ---------------------------------------------------------------------------------


def test_a_content_length_over_the_limit_is_refused(tmp_path: Path) -> None:
    body = multipart(("files", "a.xlsx", b"x" * 20_000))
    limits = UploadLimits(max_request_bytes=10_000)
    status, answer = post(tmp_path, limits, content=body, headers=MULTIPART)
    assert (status, answer["reason"], answer["params"]) == (413, "too-large", {"limit_mb": 0.0})
    assert answer["length"] == str(len(body))
    assert_refused_cleanly(tmp_path)


def test_a_chunked_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    body = multipart(("files", "a.xlsx", b"x" * 20_000))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1_000):
            yield body[start : start + 1_000]

    limits = UploadLimits(max_request_bytes=10_000)
    status, answer = post(tmp_path, limits, content=chunks(), headers=MULTIPART)
    assert (status, answer["reason"]) == (413, "too-large")
    assert answer["length"] is None  # no Content-Length: counted while streaming
    assert_refused_cleanly(tmp_path)


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    body = multipart(*[("files", f"{n}.xlsx", b"x") for n in range(4)])
    status, answer = post(tmp_path, UploadLimits(max_files=3), content=body, headers=MULTIPART)
    assert (status, answer["reason"], answer["params"]) == (413, "too-many-files", {"limit": 3})
    assert_refused_cleanly(tmp_path)


def test_a_file_over_the_readers_limit_is_refused(tmp_path: Path) -> None:
    limits = UploadLimits(reader=Limits(max_file_bytes=1_000))
    body = multipart(("files", "small.xlsx", b"x" * 1_000), ("files", "big.xlsx", b"x" * 1_001))
    status, answer = post(tmp_path, limits, content=body, headers=MULTIPART)
    assert (status, answer["reason"], answer["params"]["file"]) == (
        413,
        "file-too-large",
        "big.xlsx",
    )
    assert_refused_cleanly(tmp_path)


def test_form_fields_are_limited_together(tmp_path: Path) -> None:
    limits = UploadLimits(max_field_bytes=100)
    body = multipart(("a", None, b"x" * 60), ("b", None, b"x" * 60))
    status, answer = post(tmp_path, limits, content=body, headers=MULTIPART)
    assert (status, answer["reason"]) == (413, "fields-too-large")
    assert_refused_cleanly(tmp_path)


def test_a_body_that_is_not_multipart_or_ends_early_is_refused(tmp_path: Path) -> None:
    status, answer = post(tmp_path, data={"csrf": "t"})
    assert (status, answer["reason"]) == (400, "not-multipart")
    body = multipart(("files", "a.xlsx", b"x" * 1_000))
    status, answer = post(tmp_path, content=body[:600], headers=MULTIPART)
    assert (status, answer["reason"]) == (400, "malformed")
    assert_refused_cleanly(tmp_path)


# --- the stream itself, below the test client ----------------------------------------------


Receive = Callable[[], Awaitable[dict[str, Any]]]


def replay(messages: list[dict[str, Any]], seen: list[int] | None = None) -> Receive:
    """An ASGI receive giving ``messages`` in turn, noting each call in ``seen``."""

    async def next_message() -> dict[str, Any]:
        if seen is not None:
            seen.append(len(seen))
        return messages.pop(0)

    return next_message


def request_of(receive_message: Receive, headers: dict[str, str] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/upload",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in {**MULTIPART, **(headers or {})}.items()],
    }
    return Request(scope, receive_message)


T = TypeVar("T")


def run(call: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(call)


def received_whole(body: bytes, staging: Path) -> Received:
    request = request_of(replay([{"type": "http.request", "body": body}]))
    return run(lambda: receive(request, staging, UploadLimits()))


def test_a_content_length_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    seen: list[int] = []
    request = request_of(replay([], seen), {"content-length": "10001"})
    staging = tmp_path / "staging"
    with pytest.raises(UploadRefused) as refused:
        run(lambda: receive(request, staging, UploadLimits(max_request_bytes=10_000)))
    assert (refused.value.status, refused.value.reason) == (413, "too-large")
    assert seen == []  # not one message of the body was asked for
    assert not staging.exists()


def test_a_lying_content_length_is_refused_the_moment_the_body_passes_the_limit(
    tmp_path: Path,
) -> None:
    body = multipart(("files", "a.xlsx", b"x" * 10_000))
    messages = [
        {"type": "http.request", "body": body[start : start + 2_000], "more_body": True}
        for start in range(0, len(body), 2_000)
    ]
    seen: list[int] = []
    request = request_of(replay(messages, seen), {"content-length": "100"})
    staging = tmp_path / "staging"
    with pytest.raises(UploadRefused) as refused:
        run(lambda: receive(request, staging, UploadLimits(max_request_bytes=5_000)))
    assert refused.value.reason == "too-large"
    assert len(seen) == 3  # 6,000 bytes: over at the third message, the rest never read
    assert not staging.exists()


def test_a_client_gone_midway_leaves_nothing(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    body = multipart(("files", "a.xlsx", b"x" * 10_000))
    partial: list[bool] = []

    async def next_message() -> dict[str, Any]:
        if not partial:
            partial.append(False)
            return {"type": "http.request", "body": body[:5_000], "more_body": True}
        partial.append((staging / "a.xlsx").is_file())  # written so far, then the client goes
        return {"type": "http.disconnect"}

    request = request_of(next_message)
    with pytest.raises(ClientDisconnect):
        run(lambda: receive(request, staging, UploadLimits()))
    assert partial == [False, True]
    assert not staging.exists()


def test_a_staging_folder_that_exists_is_never_reused(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "theirs.xlsx").write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        received_whole(multipart(), staging)
    assert (staging / "theirs.xlsx").read_bytes() == b"theirs"


# --- zips -----------------------------------------------------------------------------------


def test_a_zip_is_unpacked_into_a_folder_of_its_name(tmp_path: Path) -> None:
    inner = zipped({"x.xlsx": b"x"})
    archive = zipped(
        {
            "top.xlsx": b"top",
            "round1/": b"",
            "round1/sub/a.xlsx": b"A" * 5_000,
            "nested.zip": inner,
        }
    )
    body = multipart(("files", "plain.xlsx", b"P"), ("files", "in/Batch.ZIP", archive))
    status, answer = post(tmp_path, content=body, headers=MULTIPART)
    assert status == 200, answer
    assert answer["files"] == [
        "plain.xlsx",
        "in/Batch/top.xlsx",
        "in/Batch/round1/sub/a.xlsx",
        "in/Batch/nested.zip",
    ]
    staging = staging_of(tmp_path)
    assert not (staging / "in/Batch.ZIP").exists()
    assert (staging / "in/Batch/round1/sub/a.xlsx").read_bytes() == b"A" * 5_000
    assert (staging / "in/Batch/nested.zip").read_bytes() == inner  # left as it came
    assert not (staging / "in/Batch/nested").exists()


def symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.xlsx", b"fine")
        link = zipfile.ZipInfo("link.xlsx")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("archive", "reason", "member"),
    [
        (zipped({"fine.xlsx": b"fine", "../evil.xlsx": b"evil"}), "zip-path", "../evil.xlsx"),
        (zipped({"fine.xlsx": b"fine", "/abs.xlsx": b"evil"}), "zip-path", "/abs.xlsx"),
        (zipped({"fine.xlsx": b"fine", "a\\..\\..\\w.xlsx": b"evil"}), "zip-path", None),
        (symlink_zip(), "zip-link", "link.xlsx"),
    ],
    ids=["parent", "absolute", "backslashes", "symlink"],
)
def test_zips_with_members_that_leave_their_folder_are_refused_whole(
    tmp_path: Path, archive: bytes, reason: str, member: str | None
) -> None:
    body = multipart(("files", "a.zip", archive))
    status, answer = post(tmp_path, content=body, headers=MULTIPART)
    assert (status, answer["reason"], answer["params"]["zip"]) == (400, reason, "a.zip")
    if member is not None:
        assert answer["params"]["member"] == member
    assert_refused_cleanly(tmp_path)
    assert not (tmp_path.parent / "evil.xlsx").exists()
    assert not (tmp_path.parent / "abs.xlsx").exists()


@cache
def bomb() -> bytes:
    """60 MB of zeros in one member: some 60 kB compressed, a ratio near 1,000."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("sheet.xlsx", "w") as member,
    ):
        for _ in range(60):
            member.write(bytes(1_000_000))
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    status, answer = post(
        tmp_path, content=multipart(("files", "a.zip", bomb())), headers=MULTIPART
    )
    assert RATIO_FLOOR <= 60_000_000  # the ratio applies to a member this large
    assert (status, answer["reason"], answer["params"]["member"]) == (413, "zip-bomb", "sheet.xlsx")
    assert answer["params"]["ratio"] > Limits().max_ratio
    assert_refused_cleanly(tmp_path)


def test_members_too_large_together_are_refused(tmp_path: Path) -> None:
    # Small members (below the ratio's floor) that add up past the inflated limit.
    limits = UploadLimits(reader=Limits(max_unzipped_bytes=1_000_000))
    first = zipped({"a.xlsx": bytes(600_000)})
    second = zipped({"b.xlsx": bytes(600_000)})
    body = multipart(("files", "one.zip", first), ("files", "two.zip", second))
    status, answer = post(tmp_path, limits, content=body, headers=MULTIPART)
    assert (status, answer["reason"], answer["params"]["zip"]) == (413, "zip-too-large", "two.zip")
    assert_refused_cleanly(tmp_path)


def test_zip_members_count_with_the_files(tmp_path: Path) -> None:
    archive = zipped({f"{n}.xlsx": b"x" for n in range(3)})
    body = multipart(("files", "a.xlsx", b"a"), ("files", "b.zip", archive))
    status, answer = post(tmp_path, UploadLimits(max_files=3), content=body, headers=MULTIPART)
    assert (status, answer["reason"]) == (413, "too-many-files")
    assert_refused_cleanly(tmp_path)


def test_a_member_inflating_past_its_declared_size_is_stopped(tmp_path: Path) -> None:
    archive = with_declared_size(zipped({"a.xlsx": bytes(1_000_000)}), 1_000)
    assert zipfile.ZipFile(io.BytesIO(archive)).getinfo("a.xlsx").file_size == 1_000
    status, answer = post(
        tmp_path, content=multipart(("files", "a.zip", archive)), headers=MULTIPART
    )
    assert (status, answer["reason"], answer["params"]["member"]) == (413, "zip-bomb", "a.xlsx")
    assert_refused_cleanly(tmp_path)


def test_a_member_shorter_than_declared_is_unreadable(tmp_path: Path) -> None:
    archive = with_declared_size(zipped({"a.xlsx": bytes(1_000)}), 2_000)
    status, answer = post(
        tmp_path, content=multipart(("files", "a.zip", archive)), headers=MULTIPART
    )
    assert (status, answer["reason"]) == (400, "zip-unreadable")
    assert_refused_cleanly(tmp_path)


def test_encrypted_and_broken_zips_are_unreadable(tmp_path: Path) -> None:
    # zipfile writes no encrypted zips: the directory's flag says it is (bit 0).
    locked = patched(zipped({"locked.xlsx": b"x"}), 8, struct.pack("<H", 0x1))
    assert zipfile.ZipFile(io.BytesIO(locked)).getinfo("locked.xlsx").flag_bits & 0x1
    # What zipfile does not implement (it raises NotImplementedError): a zip that
    # needs version 9.9 to extract, a member of "compressed patched data".
    later = patched(zipped({"a.xlsx": b"x"}), 6, struct.pack("<H", 99))
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(io.BytesIO(later))
    patch_data = patched(zipped({"a.xlsx": b"x"}), 8, struct.pack("<H", 0x20))
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(io.BytesIO(patch_data)).read("a.xlsx")
    for data in (locked, later, patch_data, b"PK\x03\x04 not a zip at all"):
        status, answer = post(
            tmp_path, content=multipart(("files", "a.zip", data)), headers=MULTIPART
        )
        assert (status, answer["reason"], answer["params"]["zip"]) == (
            400,
            "zip-unreadable",
            "a.zip",
        )
        assert_refused_cleanly(tmp_path)


def test_a_member_over_the_file_limit_is_refused(tmp_path: Path) -> None:
    limits = UploadLimits(reader=Limits(max_file_bytes=10_000))
    archive = zipped({"a.xlsx": bytes(9_000), "b.xlsx": bytes(11_000)})
    body = multipart(("files", "a.zip", archive))
    status, answer = post(tmp_path, limits, content=body, headers=MULTIPART)
    assert (status, answer["reason"], answer["params"]["member"]) == (
        413,
        "file-too-large",
        "b.xlsx",
    )
    assert_refused_cleanly(tmp_path)


def test_extraction_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    # The first zip is fine, the second is not: the first is not unpacked either.
    good = zipped({"a.xlsx": b"a"})
    bad = zipped({"../b.xlsx": b"b"})
    staging = tmp_path / "staging"
    received = received_whole(
        multipart(("files", "good.zip", good), ("files", "bad.zip", bad)), staging
    )
    assert received.files == ["good.zip", "bad.zip"]
    listing: list[str] = []
    original = os.open

    def spy(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            listing.append(str(path))
        return original(path, flags, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "open", spy)
        with pytest.raises(UploadRefused) as refused:
            extract_zips(staging, received, UploadLimits())
    assert refused.value.reason == "zip-path"
    assert listing == []
    assert not staging.exists()


def crowded_zip(count: int, zip64: bool) -> bytes:
    """A zip of ``count`` empty members; with ``zip64``, one whose plain end record says 1."""
    with pytest.MonkeyPatch.context() as patch:
        if zip64:  # zipfile writes a ZIP64 end record past this many entries
            patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
        data = zipped({f"{n}.xlsx": b"" for n in range(count)})
    if zip64:
        end = data.rindex(b"PK\x05\x06")
        data = data[: end + 8] + struct.pack("<2H", 1, 1) + data[end + 12 :]
    assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == count  # as zipfile reads it
    return data


@pytest.mark.parametrize("zip64", [False, True], ids=["plain", "zip64"])
def test_a_crowded_directory_is_refused_before_zipfile_reads_it(
    tmp_path: Path, zip64: bool
) -> None:
    staging = tmp_path / "staging"
    received = received_whole(multipart(("files", "a.zip", crowded_zip(7, zip64))), staging)

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("zipfile read the directory")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile, "ZipFile", never)
        with pytest.raises(UploadRefused) as refused:
            extract_zips(staging, received, UploadLimits(max_files=3))
    assert (refused.value.status, refused.value.reason) == (413, "too-many-files")
    assert not staging.exists()
