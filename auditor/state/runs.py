"""Reading the state's history: the runs, and what changed between two of them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from auditor.core.errors import ConfigError
from auditor.state.changes import Changes, RunRef, compare
from auditor.state.memory import snapshot


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    started_at: str
    ended_at: str
    seconds: float
    inputs: list[str]
    rules_version: str
    tool_version: str
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "seconds": self.seconds,
            "inputs": self.inputs,
            "rules_version": self.rules_version,
            "tool_version": self.tool_version,
            **self.counts,
        }


COUNTS = (
    "files",
    "proposals",
    "eligible",
    "ineligible",
    "unreadable",
    "errors",
    "warnings",
    "read",
    "rejudged",
    "reused",
    "withdrawn",
)


def runs(db: sqlite3.Connection) -> list[RunRow]:
    """Every run, oldest first."""
    columns = ", ".join(COUNTS)
    return [
        RunRow(
            row[0],
            row[1],
            row[2],
            row[3],
            json.loads(row[4]),
            row[5],
            row[6],
            dict(zip(COUNTS, row[7:], strict=True)),
        )
        for row in db.execute(
            "SELECT id, started_at, ended_at, seconds, inputs, rules_version, tool_version,"
            f" {columns} FROM runs ORDER BY id"
        )
    ]


def resolve_run(db: sqlite3.Connection, given: str) -> RunRef:
    """A run by number, or ``last`` / ``previous`` (the one before the last)."""
    known = [RunRef(row[0], row[1]) for row in db.execute("SELECT id, started_at FROM runs")]
    if not known:
        raise ConfigError("the state holds no run yet")
    known.sort(key=lambda r: r.id)
    aliases = {"last": -1, "latest": -1, "previous": -2}
    if given in aliases:
        if len(known) < -aliases[given]:
            raise ConfigError(f"the state holds only {len(known)} run(s); there is no {given!r}")
        return known[aliases[given]]
    try:
        number = int(given)
    except ValueError:
        raise ConfigError(f"a run is a number, 'last' or 'previous', not {given!r}") from None
    for run in known:
        if run.id == number:
            return run
    raise ConfigError(f"no run {number} in the state (runs {known[0].id} to {known[-1].id})")


def diff(db: sqlite3.Connection, earlier: RunRef, later: RunRef) -> Changes:
    """What changed from run ``earlier`` to run ``later``."""
    return compare(snapshot(db, earlier.id), snapshot(db, later.id), earlier)
