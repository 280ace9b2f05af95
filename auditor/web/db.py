"""The web application's own records, in one SQLite file in the data folder.

Accounts, sessions, API tokens, inboxes and their members, jobs and the
audit log. (Each inbox's audit state is a separate file beside its report,
the one ``auditor audit`` keeps: runs of an inbox are incremental.) Secrets
are stored as hashes: a stolen database gives neither passwords (argon2) nor
live sessions or tokens (SHA-256 of 32 random bytes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.core.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'officer')),
    lang TEXT NOT NULL DEFAULT 'en',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,  -- the forms' token while signed in: tied to this session
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- a deleted inbox's number is never given again
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, user_id)
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    lang TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'done', 'failed', 'interrupted')),
    created TEXT NOT NULL,
    started TEXT,
    ended TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    summary TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    inbox_id INTEGER,
    detail TEXT NOT NULL DEFAULT ''
);
"""


def now() -> str:
    """A timestamp in UTC, as the log and the jobs record it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def digest(secret: str) -> str:
    """How a session or API token is stored: it is random, so a plain hash suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Database:
    """The SQLite file; one short connection per use, so threads never share one."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        if not path.exists() and not create:
            raise ConfigError(f"{path.parent} is not an auditor serve data folder (no {path.name})")
        if not path.parent.exists():
            path.parent.mkdir(parents=True)
            path.parent.chmod(0o700)  # proposals hold personal data
        if not path.exists():
            # Password hashes and the log are nobody else's business.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        try:
            yield db
        finally:
            db.close()

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self.connect() as db:
            row: sqlite3.Row | None = db.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self.connect() as db:
            return list(db.execute(sql, args).fetchall())

    def run(self, sql: str, *args: Any) -> int:
        """Execute one statement; the new row's id (for an INSERT)."""
        with self.connect() as db:
            return db.execute(sql, args).lastrowid or 0

    def log(self, user: str, action: str, inbox: int | None = None, detail: str = "") -> None:
        """One line of the audit log: who did what, where, when."""
        self.run(
            "INSERT INTO log (at, user_name, action, inbox_id, detail) VALUES (?, ?, ?, ?, ?)",
            now(),
            user,
            action,
            inbox,
            detail,
        )
