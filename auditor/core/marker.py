"""The report folder's marker: the file that says a folder is an auditor report, and whose.

The auditor replaces its report folder as a whole, so it must never take
another folder for its own: it replaces only a folder whose marker says
the auditor wrote it, and, with a state, this state. Nor does it ever read
a folder carrying a marker as input (its annotated copies are not proposals).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MARKER = ".auditor-report"
_HEAD = "written by auditor; replaced as a whole on every run"


@dataclass(frozen=True, slots=True)
class Marker:
    run_id: int | None  # the run of the state that wrote the folder
    state_id: str | None  # the state that wrote it (None: a run without a state)
    state_path: str | None = None  # where that state file was (absolute)


def marker_text(run_id: int | None, state_id: str | None, state_path: str | None = None) -> str:
    lines = [_HEAD]
    if run_id is not None:
        lines.append(f"run {run_id}")
    if state_id is not None:
        lines.append(f"state {state_id}")
    if state_path is not None and "\n" not in state_path:
        lines.append(f"state-file {state_path}")
    return "\n".join(lines) + "\n"


def inside_report(folder: str) -> bool:
    """Whether ``folder`` or a folder above it is an auditor report (carries a marker)."""
    path = Path(folder).absolute()
    return any(read_marker(p) is not None for p in (path, *path.parents))


def read_marker(folder: Path) -> Marker | None:
    """The marker of ``folder``, or None if it has none (or one the auditor cannot read)."""
    try:
        with (folder / MARKER).open("rb") as handle:
            text = handle.read(4096).decode("utf-8", "replace")
    except OSError:
        return None
    if not text.startswith(_HEAD):
        return None  # an empty or foreign file by that name proves nothing
    run_id: int | None = None
    state_id: str | None = None
    state_path: str | None = None
    for line in text.splitlines()[1:]:
        key, _, value = line.partition(" ")
        if key == "run" and value.isdigit():
            run_id = int(value)
        elif key == "state" and value:
            state_id = value.strip()
        elif key == "state-file" and value:
            state_path = value
    return Marker(run_id, state_id, state_path)
