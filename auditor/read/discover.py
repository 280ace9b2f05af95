"""Finding the workbooks to audit in the paths given on the command line.

Paths are handled as strings with os.path while walking: a nightly inbox holds
tens of thousands of files, and a Path object per file and per step costs
more than the walk itself. The walk uses ``os.scandir``, whose entries know
their type without a system call per file.

Only regular files are ever opened: a FIFO would hang the reader, a device
(``/dev/zero``) would feed it for ever. A symbolic link is followed only when
it stays inside the folder being audited (or with ``follow_links``); links to
folders are never followed, so a link loop cannot trap the walk. A folder
carrying the report marker is an auditor report, never input.
"""

# ruff: noqa: PTH100, PTH110, PTH112, PTH116, PTH118, PTH119, PTH122

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from auditor.core.filenames import printable
from auditor.core.marker import MARKER, inside_report

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods"})


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file to audit.

    ``path`` is the file's real name (opened); ``display`` is the path as the
    user would write it (relative stays relative, outputs.md), made
    printable (core/filenames.py); ``relative`` is the path below the folder
    it was found in, used to name its annotated copy. ``refusal`` says why
    the file must not be opened at all (the reader answers it with a
    finding): ``not-regular`` or ``link-outside``, with ``detail``.
    """

    path: Path
    display: str
    relative: str
    index: int
    refusal: str | None = None
    detail: str = ""
    # (device, inode) of the file found: what is opened later must be it.
    identity: tuple[int, int] | None = None


def _skipped(name: str) -> bool:
    # Excel's lock files (~$name.xlsx) and hidden files are never proposals.
    return name.startswith(("~$", "."))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISDIR(mode):
        return "folder"
    return "other"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(os.path.join(root, ""))


@dataclass(slots=True)
class _Found:
    path: str
    display: str
    relative: str
    refusal: str | None = None
    detail: str = ""
    identity: tuple[int, int] | None = None


def _judge_link(full: str, root: str, follow_links: bool) -> tuple[str | None, str]:
    """Why a link met in the walk must not be read (None: read its target)."""
    target = os.path.realpath(full)
    if not follow_links and not _inside(target, root):
        return "link-outside", printable(target)
    try:
        mode = os.stat(full).st_mode
    except OSError:
        return None, ""  # a broken link: reading it gives the finding
    if not stat.S_ISREG(mode):
        return "not-regular", _kind(mode)
    return None, ""


def _walk(given: str, follow_links: bool, label: str | None = None) -> list[_Found]:
    root = os.path.realpath(given)
    # As Path writes it ("samples/" -> "samples"), or the name the caller shows it by.
    base = str(Path(given)) if label is None else label
    if inside_report(given):
        return []  # an auditor report, or a folder of one
    found: list[_Found] = []
    pending = [""]
    while pending:
        below = pending.pop()
        folder = os.path.join(given, below) if below else given
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if _skipped(name):
                continue
            relative = os.path.join(below, name) if below else name
            if entry.is_dir(follow_symlinks=False):
                if not os.path.exists(os.path.join(entry.path, MARKER)) or not inside_report(
                    entry.path
                ):
                    pending.append(relative)
                continue
            if os.path.splitext(name)[1].lower() not in WORKBOOK_SUFFIXES:
                continue
            refusal, detail = None, ""
            if entry.is_symlink():
                refusal, detail = _judge_link(entry.path, root, follow_links)
            elif not entry.is_file(follow_symlinks=False):
                try:
                    mode = entry.stat(follow_symlinks=False).st_mode
                except OSError:
                    mode = 0
                refusal, detail = "not-regular", _kind(mode)
            display = os.path.join(base, relative)
            found.append(_Found(entry.path, display, relative, refusal, detail))
    found.sort(key=lambda f: f.relative)
    return found


def _named(given: str, label: str | None = None) -> _Found:
    """A file named on the command line: taken whatever its suffix, if it is a regular file."""
    found = _Found(given, given if label is None else label, os.path.basename(given))
    try:
        mode = os.stat(given).st_mode
    except OSError:
        return found  # reading it gives the finding
    if not stat.S_ISREG(mode):
        found.refusal, found.detail = "not-regular", _kind(mode)
    return found


def discover(
    paths: list[str] | tuple[str, ...],
    follow_links: bool = False,
    labels: Mapping[str, str] | None = None,
) -> list[InputFile]:
    """Every workbook under ``paths``, in a stable order, each once.

    Folders are walked recursively (see the module docstring); a file named
    explicitly is taken whatever its suffix, so a CSV renamed to .xlsx still
    gets an answer. ``labels`` names a path as its files are to be shown
    (a web inbox's files by the inbox's name, not by where they lie on the
    server); a path without one is shown as given.
    """
    found: list[_Found] = []
    seen: set[object] = set()
    labels = labels or {}
    for given in paths:
        label = labels.get(given)
        if os.path.isdir(given):
            candidates = _walk(given, follow_links, label)
        else:
            candidates = [_named(given, label)]
        for candidate in candidates:
            # The same file twice (named twice, or through a link) is audited
            # once; its device and inode say so with one system call, where
            # resolving the path costs one per folder on the way.
            try:
                # A refused entry is itself (a FIFO, a link), not what it leads to.
                refused = candidate.refusal is not None
                status = os.lstat(candidate.path) if refused else os.stat(candidate.path)
                key: object = (status.st_dev, status.st_ino)
                if not refused:
                    candidate.identity = (status.st_dev, status.st_ino)
            except OSError:
                key = os.path.abspath(candidate.path)
            if key in seen:
                continue
            seen.add(key)
            found.append(candidate)
    return [
        InputFile(
            path=Path(f.path),
            display=printable(f.display),
            relative=printable(f.relative),
            index=index,
            refusal=f.refusal,
            detail=f.detail,
            identity=f.identity,
        )
        for index, f in enumerate(found)
    ]
