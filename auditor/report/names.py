"""Output file names that are safe whatever a workbook calls its proposal.

A proposal ID can contain ``../``, slashes, characters no file system takes,
or be empty; two proposals can share one. Page names keep the readable part
and are unique within a run; ``results.json`` records which is whose.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# The workbooks openpyxl can write an annotated copy of.
ANNOTATABLE = (".xlsx", ".xlsm")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX = 100


def safe_stem(text: str, fallback: str = "proposal") -> str:
    """``"2024/1 <NL>"`` -> ``"2024_1_NL"``: letters, digits, dot, dash and underscore only."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE.sub("_", ascii_text).strip("._-")[:_MAX].strip("._-")
    return stem or fallback


class UniqueNames:
    """Hands out names once each, adding -2, -3, ... to repeats (case-insensitively)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        # The number to try next for a stem: thousands of proposals sharing an
        # ID get their names in linear time, not by counting up from 2 each.
        self._next: dict[str, int] = {}

    def reserve(self, name: str) -> None:
        """Keep ``name`` from being handed out (it is given by other means)."""
        self._taken.add(name.lower())

    def take(self, stem: str, suffix: str = "") -> str:
        key = f"{stem}{suffix}".lower()
        candidate, number = f"{stem}{suffix}", self._next.get(key, 1)
        if number > 1:
            candidate = f"{stem}-{number}{suffix}"
        while candidate.lower() in self._taken:
            number += 1
            candidate = f"{stem}-{number}{suffix}"
        self._taken.add(candidate.lower())
        self._next[key] = number + 1
        return candidate


def safe_relative(path: str) -> PurePosixPath:
    """A relative path below the output folder: no absolute parts, no ``..``, safe names."""
    # A backslash is part of a name here (and of the escapes of odd names,
    # core/filenames.py), never a separator: it becomes "_" like any other.
    parts = [p for p in PurePosixPath(path).parts if p not in ("/", ".", "..")]
    cleaned = []
    for part in parts:
        stem, dot, suffix = part.rpartition(".")
        if dot and stem:
            cleaned.append(f"{safe_stem(stem, 'file')}.{safe_stem(suffix, 'xlsx')}")
        else:
            cleaned.append(safe_stem(part, "file"))
    return PurePosixPath(*cleaned) if cleaned else PurePosixPath("file.xlsx")


@dataclass
class Links:
    """Where each proposal's page and each file's annotated copy are, relative to OUTDIR."""

    pages: dict[str, str] = field(default_factory=dict)  # proposal key -> "proposals/x.html"
    annotated: dict[str, str] = field(default_factory=dict)  # input file -> "annotated/x.xlsx"
