"""Taking pages and annotated copies unchanged from the previous report.

In an incremental run most proposals are as they were last night. Their
pages and annotated copies would come out byte for byte the same, so they are
linked from the previous report instead of made again (openpyxl's load and
save of a workbook costs tens of milliseconds, a page a couple). Whether an
output would be the same is told by its fingerprint: a hash of everything it
is made from (the file's content hash, the proposal's results and links, its
verdict history, the language, rules and tool versions), kept in the state
beside the output's name.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The rows (partners, projects) of some files, for pages of proposals whose
# results were reused without them.
RowsSource = Callable[[Sequence[str]], tuple[Any, Any]]
# What the parts of a page's or copy's name are made of (report/names.py).
_SAFE_PART = re.compile(r"[A-Za-z0-9._-]+")


def _ours(name: str, kind: str) -> bool:
    """Whether ``name`` could be a name the report gives a page or a copy: in its
    folder, in parts of the characters report/names.py keeps, none of them "." or ".."."""
    folder = {"page": "proposals", "copy": "annotated"}.get(kind)
    parts = name.split("/")
    return (
        parts[0] == folder
        and len(parts) > 1
        and all(_SAFE_PART.fullmatch(part) and part not in (".", "..") for part in parts[1:])
    )


@dataclass(frozen=True, slots=True)
class Output:
    """A page or an annotated copy as this run made it (or took it)."""

    kind: str  # "page" | "copy"
    file: str
    proposal_id: str  # "" for a copy
    fingerprint: str


@dataclass
class Reuse:
    """What the previous report of an incremental run offers this one.

    ``folder`` is the previous report, when it is the one the state's last
    run wrote (None: nothing can be taken from it); ``outputs`` its pages and
    copies by name; ``salt`` what every output depends on (tool, rules,
    language, reader); ``stamps`` gives a file's content hash; ``rows`` the
    rows of files whose results were reused, for the pages that must be made,
    and ``complete`` their proposals' rule checks.
    """

    folder: Path | None
    outputs: Mapping[str, Output]
    salt: str
    stamps: Callable[[str], str | None]
    rows: RowsSource
    # A reused proposal with its rule checks (state/memory.py Memory.complete).
    complete: Callable[[Any], Any] = lambda proposal: proposal
    pages: dict[tuple[str, str], str] = field(init=False)
    copies: dict[str, str] = field(init=False)
    # The folder as text: ten thousand pages are looked up a run.
    _folder: str | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._folder = None if self.folder is None else str(self.folder)
        # Only names this auditor gives: a name from a forged state is never
        # given to a page or a copy again (nor looked up in the previous report).
        self.outputs = {name: o for name, o in self.outputs.items() if _ours(name, o.kind)}
        self.pages = {
            (o.file, o.proposal_id): name for name, o in self.outputs.items() if o.kind == "page"
        }
        self.copies = {o.file: name for name, o in self.outputs.items() if o.kind == "copy"}

    def fingerprint(self, file: str, parts: Iterable[str]) -> str:
        digest = hashlib.sha256(self.salt.encode())
        digest.update(b"\x00" + (self.stamps(file) or "unknown").encode())
        for part in parts:
            digest.update(b"\x00" + part.encode())
        return digest.hexdigest()

    def previous(self, name: str, fingerprint: str) -> str | None:
        """The previous report's file of that name, if it was made from the same things."""
        known = self.outputs.get(name)
        if known is None or known.fingerprint != fingerprint:
            return None
        return self.file(name)

    def file(self, name: str) -> str | None:
        """The previous report's file of that name, if it has one."""
        if self._folder is None:
            return None
        path = os.path.join(self._folder, name)  # noqa: PTH118
        return path if os.path.isfile(path) else None  # noqa: PTH113
