"""Finding the workbooks to audit in the paths given on the command line.

Paths are handled as strings with os.path while walking: a nightly inbox holds
tens of thousands of files, and a Path object per file and per step costs
more than the walk itself.
"""

# ruff: noqa: PTH100, PTH112, PTH116, PTH118, PTH119, PTH122

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods"})


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file to audit.

    ``display`` is the path as the user would write it (relative stays
    relative, outputs.md); ``relative`` is the path below the folder it was
    found in, used to name its annotated copy.
    """

    path: Path
    display: str
    relative: str
    index: int


def _skipped(name: str) -> bool:
    # Excel's lock files (~$name.xlsx) and hidden files are never proposals.
    return name.startswith(("~$", "."))


def discover(paths: list[str] | tuple[str, ...]) -> list[InputFile]:
    """Every workbook under ``paths``, in a stable order, each once.

    Folders are walked recursively without following symbolic links to folders
    (a link loop cannot trap the walk); a file named explicitly is taken
    whatever its suffix, so a CSV renamed to .xlsx still gets an answer.
    """
    found: list[tuple[Path, str, str]] = []
    seen: set[object] = set()

    def add(path: str, display: str, relative: str) -> None:
        # The same file twice (named twice, or through a link) is audited
        # once; its device and inode say so with one system call, where
        # resolving the path costs one per folder on the way.
        try:
            status = os.stat(path)
            key: object = (status.st_dev, status.st_ino)
        except OSError:
            key = os.path.abspath(path)
        if key in seen:
            return
        seen.add(key)
        found.append((Path(path), display, relative))

    for given in paths:
        if os.path.isdir(given):
            entries: list[tuple[str, str]] = []
            for folder, dirs, files in os.walk(given, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not _skipped(d))
                below = os.path.relpath(folder, given)
                for name in files:
                    if _skipped(name) or os.path.splitext(name)[1].lower() not in WORKBOOK_SUFFIXES:
                        continue
                    relative = name if below == "." else os.path.join(below, name)
                    entries.append((relative, os.path.join(folder, name)))
            base = str(Path(given))  # as Path writes it: "samples/" -> "samples"
            for relative, full in sorted(entries):
                add(full, os.path.join(base, relative), relative)
        else:
            add(given, given, os.path.basename(given))
    return [
        InputFile(path=path, display=display, relative=relative, index=index)
        for index, (path, display, relative) in enumerate(found)
    ]
