"""The state of an inbox between runs, in one SQLite file.

What is kept (schema version 3; every blob is data, state/blobs.py):

- ``runs``: one row per completed run: when, over what, with which rules and
  tool, its counts, and how many files it read, re-judged or reused;
- ``files``: per file (by absolute path) its size, modification time and
  SHA-256, the reader and rules that judged it, its parsed rows (so a rule
  change re-judges without re-reading), its judged results and their
  results.json entries;
- ``outputs``: the pages and annotated copies of the last run's report, each
  with a fingerprint of what it was made from (report/reuse.py);
- ``proposal_states`` and ``file_states``: what each run concluded, stored as
  ranges of runs (``first_run``..``last_run``): a proposal whose verdict and
  findings did not change only moves its ``last_run`` on, so a nightly run
  over thousands of unchanged proposals writes almost nothing.

A run writes everything in one transaction, committed after its reports are
in place: a run killed half-way leaves the previous state as it was.
Two runs never share a state file at once (``lock``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from pathlib import Path

from auditor.core.errors import StateError
from auditor.core.locks import held, hold

SCHEMA_VERSION = 3

# Migration N brings a state file from schema version N-1 to N. Add to the
# end; never edit a migration that has been released.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        seconds REAL NOT NULL,
        inputs TEXT NOT NULL,
        rules_version TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        lang TEXT NOT NULL,
        files INTEGER NOT NULL,
        proposals INTEGER NOT NULL,
        eligible INTEGER NOT NULL,
        ineligible INTEGER NOT NULL,
        unreadable INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        read INTEGER NOT NULL,
        rejudged INTEGER NOT NULL,
        reused INTEGER NOT NULL,
        withdrawn INTEGER NOT NULL
    );
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        display TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        read_key TEXT NOT NULL,
        judge_key TEXT NOT NULL,
        content BLOB,
        judged BLOB NOT NULL,
        checks BLOB NOT NULL,
        first_run INTEGER NOT NULL,
        last_run INTEGER NOT NULL,
        withdrawn_run INTEGER
    );
    CREATE TABLE proposal_states (
        id INTEGER PRIMARY KEY,
        file TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        first_run INTEGER NOT NULL,
        last_run INTEGER NOT NULL,
        verdict TEXT NOT NULL,
        findings TEXT NOT NULL
    );
    CREATE INDEX proposal_states_by_run ON proposal_states (last_run, first_run);
    CREATE INDEX proposal_states_by_id ON proposal_states (proposal_id);
    CREATE TABLE file_states (
        id INTEGER PRIMARY KEY,
        file TEXT NOT NULL,
        first_run INTEGER NOT NULL,
        last_run INTEGER NOT NULL,
        verdict TEXT NOT NULL,
        findings TEXT NOT NULL
    );
    CREATE INDEX file_states_by_run ON file_states (last_run, first_run);
    CREATE TABLE outputs (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        file TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL
    );
    """,
    # 2: the state's identity (report markers name it), and no pickles: the
    # blobs of version 1 were pickles, never read again (those files are read
    # anew on the next run; the history of conclusions stays).
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    DELETE FROM files;
    DELETE FROM outputs;
    """,
    # 3: results.json's entries in a column of their own (state/blobs.py
    # pack_judged). Results stored before are not used again: their files are
    # judged anew from the rows kept (no workbook is read again).
    """
    ALTER TABLE files ADD COLUMN entries BLOB;
    UPDATE files SET judge_key = '';
    """,
)
# The tables and columns a state of this schema has: anything else is not a
# state this auditor can use.
TABLES = {
    "runs": 19,
    "files": 14,
    "proposal_states": 7,
    "file_states": 6,
    "outputs": 5,
    "meta": 2,
}


def default_state_path(outdir: Path) -> Path:
    """The state file of a report folder: beside it (the folder is replaced on every run)."""
    return outdir.parent / f"{outdir.name}.state.sqlite"


def connect(path: Path, create: bool = True) -> sqlite3.Connection:
    """Open the state file, bringing its schema up to date.

    A state holds personal data (organisations, grant figures): it is made
    readable by its owner only. A file that is not a state of this auditor,
    or a damaged one, is refused here, before the run, with the way out.
    """
    way_out = "move it aside (a new state is made), or run with --no-state"
    if not create and not path.exists():
        raise StateError(f"no state file at {path} (it is written by `auditor audit`)")
    if path.exists() and not path.is_file():
        raise StateError(f"the state file {path} is not a file; {way_out}")
    if create and path.exists():
        _check_owner(path)
    previous = os.umask(0o077)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    except (sqlite3.Error, OSError) as error:
        raise StateError(f"the state file {path} cannot be opened: {error}; {way_out}") from error
    finally:
        os.umask(previous)
    try:
        # Another program's database is refused before anything is written to it.
        _check_is_state(connection, path)
        # WAL: readers (``auditor history`` during a run) never wait for the
        # writer; NORMAL sync is durable across a killed process, and the
        # commit at the end of a run is the only point that matters.
        if create:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            migrate(connection, path)
            _check_schema(connection, path)
        if create:
            connection.execute(
                "INSERT OR IGNORE INTO meta VALUES ('id', ?)", (secrets.token_hex(8),)
            )
    except StateError:
        connection.close()
        raise
    except sqlite3.DatabaseError as error:
        connection.close()
        unwritable = "readonly" in str(error) or not (
            os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        )
        problem = "cannot be written" if unwritable else "is damaged or not a state"
        raise StateError(f"the state file {path} {problem} ({error}); {way_out}") from error
    return connection


# The tables each schema version has (a file claiming a version without them
# is not a state: it is never migrated, so nothing in it is changed).
_TABLES_OF = {
    1: {"runs", "files", "proposal_states", "file_states", "outputs"},
    2: {"runs", "files", "proposal_states", "file_states", "outputs", "meta"},
    3: {"runs", "files", "proposal_states", "file_states", "outputs", "meta"},
}


def _check_is_state(connection: sqlite3.Connection, path: Path) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    tables = {
        name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    if version > SCHEMA_VERSION:
        migrate(connection, path)  # says it was written by a newer auditor
    if version == 0 and not tables:
        return  # a new state
    expected = _TABLES_OF.get(version)
    if expected is not None and expected <= tables:
        return
    raise StateError(
        f"the state file {path} is another program's database or a damaged state; nothing "
        "was written to it. Use another --state (or --no-state)"
    )


def _check_owner(path: Path) -> None:
    """A state planted by someone else is refused (it would receive the agency's data);
    our own is made readable by us only, if it was not."""
    status = path.stat()
    if status.st_uid != os.geteuid():
        raise StateError(
            f"the state file {path} belongs to another user; the auditor writes personal data "
            "only into its own state. Use another --state"
        )
    if status.st_mode & 0o077:
        path.chmod(status.st_mode & 0o700)  # (a read-only state stays read-only)


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    found = {
        name: len(connection.execute(f"PRAGMA table_info({name})").fetchall())
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    for table, columns in TABLES.items():
        if found.get(table) != columns:
            raise StateError(
                f"the state file {path} is damaged or not a state (table {table} is "
                "missing or changed); move it aside (a new state is made), or run with --no-state"
            )


def state_id(connection: sqlite3.Connection) -> str | None:
    """The state's identity, written into the markers of the reports it makes."""
    row = connection.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()
    return str(row[0]) if row else None


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StateError(
            f"the state file {path} was written by a newer auditor (schema {version}, "
            f"this one knows {SCHEMA_VERSION}); upgrade the auditor or use another --state"
        )
    for number in range(version, SCHEMA_VERSION):
        connection.execute("BEGIN IMMEDIATE")
        try:
            _apply(connection, MIGRATIONS[number], number + 1)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def _apply(connection: sqlite3.Connection, script: str, version: int) -> None:
    # executescript would commit the open transaction first; run the
    # statements one by one so a failed migration leaves the file as it was.
    for statement in script.split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.execute(f"PRAGMA user_version = {version}")


def busy(path: Path) -> bool:
    """Whether another run holds the state now (a hint for the user; ``lock`` decides)."""
    return held(path.with_name(f"{path.name}.lock"))


def lock(path: Path, wait: float) -> contextlib.AbstractContextManager[None]:
    """Hold the state file for this run; a second run waits ``wait`` seconds, then gives up."""
    return hold(
        path.with_name(f"{path.name}.lock"),
        wait,
        lambda holder: (
            f"another auditor run ({holder}) is using the state {path}; "
            f"gave up after waiting {wait:g} s (--wait)"
        ),
    )
