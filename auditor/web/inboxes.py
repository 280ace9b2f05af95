"""Inboxes: one per call round or action, each a folder with its files, report and state.

    DATA/inboxes/<id>/files/              what officers uploaded (the audit's input)
    DATA/inboxes/<id>/report/             the last run's report (replaced whole by each run)
    DATA/inboxes/<id>/report.state.sqlite the inbox's state: its runs are incremental

Folders are named by the inbox's number, never by anything a user typed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from auditor.core.errors import ConfigError
from auditor.read.discover import WORKBOOK_SUFFIXES
from auditor.web.accounts import User
from auditor.web.db import Database, now
from auditor.web.uploads import safe_relative


@dataclass(frozen=True)
class Inbox:
    id: int
    name: str
    created: str
    folder: Path

    @property
    def files(self) -> Path:
        return self.folder / "files"

    @property
    def report(self) -> Path:
        return self.folder / "report"

    @property
    def label(self) -> str:
        """How the reports name the inbox's folder: its name, with no path separator."""
        return self.name.replace("/", "-").replace("\\", "-")


def inbox_folder(data: Path, inbox_id: int) -> Path:
    return data / "inboxes" / str(inbox_id)


def _inbox(data: Path, row: sqlite3.Row | None) -> Inbox | None:
    if row is None:
        return None
    return Inbox(row["id"], row["name"], row["created"], inbox_folder(data, row["id"]))


def create_inbox(db: Database, data: Path, name: str, members: list[User]) -> Inbox:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 120:
        raise ConfigError("an inbox's name has 1 to 120 characters")
    try:
        inbox_id = db.run("INSERT INTO inboxes (name, created) VALUES (?, ?)", name, now())
    except sqlite3.IntegrityError as error:
        raise ConfigError(f"there is already an inbox {name!r}") from error
    for user in members:
        add_member(db, inbox_id, user)
    inbox = get_inbox(db, data, inbox_id)
    assert inbox is not None
    # A new number has no folder; one that exists is not this inbox's to take.
    inbox.folder.parent.mkdir(parents=True, exist_ok=True)
    inbox.folder.mkdir()
    inbox.files.mkdir()
    return inbox


def get_inbox(db: Database, data: Path, inbox_id: int) -> Inbox | None:
    return _inbox(data, db.one("SELECT * FROM inboxes WHERE id = ?", inbox_id))


def visible_inboxes(db: Database, data: Path, user: User) -> list[Inbox]:
    """The inboxes ``user`` may open: all for an admin, their own for an officer."""
    if user.admin:
        rows = db.all("SELECT * FROM inboxes ORDER BY name")
    else:
        rows = db.all(
            "SELECT inboxes.* FROM inboxes JOIN members ON members.inbox_id = inboxes.id "
            "WHERE members.user_id = ? ORDER BY name",
            user.id,
        )
    return [i for r in rows if (i := _inbox(data, r))]


def may_open(db: Database, user: User, inbox_id: int) -> bool:
    if user.admin:
        return True
    row = db.one("SELECT 1 FROM members WHERE inbox_id = ? AND user_id = ?", inbox_id, user.id)
    return row is not None


def add_member(db: Database, inbox_id: int, user: User) -> None:
    db.run("INSERT OR IGNORE INTO members (inbox_id, user_id) VALUES (?, ?)", inbox_id, user.id)


def remove_member(db: Database, inbox_id: int, user: User) -> None:
    db.run("DELETE FROM members WHERE inbox_id = ? AND user_id = ?", inbox_id, user.id)


def member_names(db: Database, inbox_id: int) -> list[str]:
    rows = db.all(
        "SELECT users.name FROM members JOIN users ON users.id = members.user_id "
        "WHERE members.inbox_id = ? ORDER BY users.name",
        inbox_id,
    )
    return [r["name"] for r in rows]


def delete_inbox(db: Database, inbox: Inbox) -> None:
    """The inbox, its files, report, state and jobs: gone. (The log keeps the deletion.)"""
    db.run("DELETE FROM inboxes WHERE id = ?", inbox.id)
    # Renamed first, so a crash half-way leaves no half-deleted inbox behind a number.
    trash = inbox.folder.with_name(f".deleted-{inbox.id}-{os.getpid()}")
    if inbox.folder.exists():
        inbox.folder.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)


@dataclass(frozen=True)
class Moved:
    kept: list[str]  # relative names now in the inbox
    replaced: int  # of which replaced a file of the same name
    skipped: int  # not workbooks: the audit would not read them anyway


class Clash(Exception):
    """A received name needs a folder where the inbox has a file, or a link (``name``)."""


def move_in(inbox: Inbox, staging: Path, names: list[str]) -> Moved:
    """Move received workbooks into the inbox, replacing files of the same name.

    Everything is checked before anything moves: each folder on the way must
    be a real folder of the inbox (or not exist yet), never a file or a
    symbolic link, and the target must not be a folder; else nothing moves.
    The caller holds the inbox (``JobQueue.change``), so nothing changes
    between the check and the move.
    """
    plan, skipped = [], 0
    for name in names:
        relative = safe_relative(name)
        if relative is None or PurePosixPath(relative).suffix.lower() not in WORKBOOK_SUFFIXES:
            skipped += 1
            continue
        parts = PurePosixPath(relative).parts
        for depth in range(1, len(parts) + 1):
            step = inbox.files.joinpath(*parts[:depth])
            last = depth == len(parts)
            if step.is_symlink() or (step.exists() and step.is_dir() == last):
                raise Clash(relative)
        plan.append((staging / name, inbox.files / relative, relative))
    replaced = 0
    for source, target, _ in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        replaced += target.exists()
        source.replace(target)
    return Moved([relative for _, _, relative in plan], replaced, skipped)


@dataclass(frozen=True)
class StoredFile:
    name: str  # relative POSIX path within the inbox
    size: int
    modified: float


def list_files(inbox: Inbox) -> list[StoredFile]:
    """The inbox's files, without following links (there should be none)."""
    found = []
    for root, dirs, files in os.walk(inbox.files, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            status = path.lstat()
            relative = path.relative_to(inbox.files).as_posix()
            found.append(StoredFile(relative, status.st_size, status.st_mtime))
    return found


def same_names(files: list[StoredFile]) -> list[list[str]]:
    """Workbooks of one name in different folders (likely two versions of one proposal)."""
    by_name: dict[str, list[str]] = {}
    for file in files:
        by_name.setdefault(PurePosixPath(file.name).name.casefold(), []).append(file.name)
    return [names for names in by_name.values() if len(names) > 1]


def remove_file(inbox: Inbox, relative: str) -> bool:
    """Remove one of the inbox's files by its listed name; False if it is not one."""
    if relative not in {f.name for f in list_files(inbox)}:
        return False  # only names the listing gives, so no path can point elsewhere
    path = inbox.files / relative
    path.unlink()
    for parent in path.parents:
        if parent == inbox.files or not parent.is_relative_to(inbox.files):
            break
        try:
            parent.rmdir()  # folders emptied by the removal go too
        except OSError:
            break
    return True
