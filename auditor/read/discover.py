"""Finding the workbooks to audit in the paths given on the command line."""

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
    seen: set[Path] = set()

    def add(path: Path, display: str, relative: str) -> None:
        try:
            key = path.resolve()
        except OSError:
            key = path.absolute()
        if key in seen:
            return
        seen.add(key)
        found.append((path, display, relative))

    for given in paths:
        root = Path(given)
        if root.is_dir():
            entries: list[tuple[str, str]] = []
            for folder, dirs, files in os.walk(root, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not _skipped(d))
                for name in files:
                    if _skipped(name) or Path(name).suffix.lower() not in WORKBOOK_SUFFIXES:
                        continue
                    found_at = Path(folder) / name
                    entries.append((str(found_at.relative_to(root)), str(found_at)))
            for relative, full in sorted(entries):
                add(Path(full), str(Path(given) / relative), relative)
        else:
            add(root, given, root.name)
    return [
        InputFile(path=path, display=display, relative=relative, index=index)
        for index, (path, display, relative) in enumerate(found)
    ]
