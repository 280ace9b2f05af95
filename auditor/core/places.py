"""Inputs, report folder and state: proved apart before anything is written.

The report folder is replaced as a whole on every run, and its staging and
previous copies lie beside it. Were an input inside it (or it inside an
input), a run would delete the very workbooks it audits, or audit its own
annotated copies; were the state inside it, the swap would delete the
state; were the state inside an inbox, whoever may upload there could
rewrite it. All paths are compared resolved (links followed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from auditor.core.errors import PlacesError
from auditor.core.filenames import printable


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(path))


def _within(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` is ``outer`` or lies below it."""
    return inner == outer or outer in inner.parents


def check_places(inputs: Sequence[str], outdir: Path, state: Path | None = None) -> None:
    """Raise PlacesError unless the inputs, ``outdir`` (with its staging) and ``state``
    are disjoint."""
    report = _resolved(outdir)
    kept = _resolved(state) if state is not None else None
    if kept is not None and _within(kept, report):
        raise PlacesError(
            f"the state file {printable(str(state))} lies inside the report folder "
            f"{printable(str(outdir))}, which every run replaces; keep it beside the folder"
        )
    for given in inputs:
        source = _resolved(given)
        shown = printable(str(given))
        if _within(source, report):
            raise PlacesError(
                f"the input {shown} lies inside the report folder {printable(str(outdir))}, "
                "which every run replaces as a whole: the input would be deleted. Choose "
                "another output folder (-o), outside the inputs"
            )
        if _within(report, source):
            raise PlacesError(
                f"the report folder {printable(str(outdir))} lies inside the input {shown}: "
                "the next run would audit its own reports. Choose an output folder (-o) "
                "outside the inputs"
            )
        if kept is not None and _within(kept, source):
            raise PlacesError(
                f"the state file {printable(str(state))} lies inside the input {shown}: "
                "whoever can put files there could change it. Keep the state outside the "
                "inputs (--state)"
            )
