"""Accounts, sessions and API tokens: argon2 for passwords, random tokens for the rest.

There is no default account: the first admin is made on the command line
(``auditor users add NAME --role admin``), and every password is chosen by a
person. Sessions and tokens are 32 random bytes; only their SHA-256 is kept.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auditor.core.config import LANGUAGES
from auditor.core.errors import ConfigError
from auditor.web.db import Database, digest, now

ROLES = ("admin", "officer")
SESSION_SECONDS = 8 * 3600  # one working day; signing in again costs little
MIN_PASSWORD = 12
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_HASHER = PasswordHasher()
# Checked when the name is unknown, so that an unknown name takes as long as a
# wrong password and the login does not tell which names exist.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    lang: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def _user(row: sqlite3.Row | None) -> User | None:
    return None if row is None else User(row["id"], row["name"], row["role"], row["lang"])


def add_user(db: Database, name: str, password: str, role: str, lang: str = "en") -> User:
    if not _NAME.match(name):
        raise ConfigError(f"a user name is 1-64 letters, digits or . _ @ -, not {name!r}")
    if lang not in LANGUAGES:
        raise ConfigError(f"the language is one of {', '.join(LANGUAGES)}, not {lang!r}")
    if role not in ROLES:
        raise ConfigError(f"the role is one of {', '.join(ROLES)}, not {role!r}")
    _check_password(password)
    try:
        db.run(
            "INSERT INTO users (name, password, role, lang, created) VALUES (?, ?, ?, ?, ?)",
            name,
            _HASHER.hash(password),
            role,
            lang,
            now(),
        )
    except sqlite3.IntegrityError as error:
        raise ConfigError(f"there is already a user {name!r}") from error
    user = find_user(db, name)
    assert user is not None
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password has at least {MIN_PASSWORD} characters")


def set_password(db: Database, name: str, password: str) -> None:
    """A new password; the user's sessions end (whoever knew the old one is out)."""
    user = find_user(db, name)
    if user is None:
        raise ConfigError(f"there is no user {name!r}")
    _check_password(password)
    db.run("UPDATE users SET password = ? WHERE id = ?", _HASHER.hash(password), user.id)
    db.run("DELETE FROM sessions WHERE user_id = ?", user.id)


def remove_user(db: Database, name: str) -> None:
    """Remove the account; its sessions, tokens and memberships go with it."""
    if find_user(db, name) is None:
        raise ConfigError(f"there is no user {name!r}")
    db.run("DELETE FROM users WHERE name = ?", name)


def find_user(db: Database, name: str) -> User | None:
    return _user(db.one("SELECT * FROM users WHERE name = ?", name))


def list_users(db: Database) -> list[User]:
    return [u for r in db.all("SELECT * FROM users ORDER BY name") if (u := _user(r))]


def set_lang(db: Database, user: User, lang: str) -> None:
    db.run("UPDATE users SET lang = ? WHERE id = ?", lang, user.id)


def verify(db: Database, name: str, password: str) -> User | None:
    """The user if the password is theirs, else None (in the same time either way)."""
    row = db.one("SELECT * FROM users WHERE name = ?", name)
    try:
        _HASHER.verify(row["password"] if row else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _HASHER.check_needs_rehash(row["password"]):
        db.run("UPDATE users SET password = ? WHERE id = ?", _HASHER.hash(password), row["id"])
    return _user(row)


def open_session(db: Database, user: User) -> str:
    """A new session for ``user``; the cookie's value (only its hash is kept).

    It gets its own CSRF token: forms of a signed-in user carry the
    session's token, which no cookie planted from elsewhere can match.
    """
    token = secrets.token_urlsafe(32)
    db.run(
        "INSERT INTO sessions (token, user_id, csrf, expires) VALUES (?, ?, ?, ?)",
        digest(token),
        user.id,
        secrets.token_urlsafe(32),
        time.time() + SESSION_SECONDS,
    )
    # Expired sessions are of no use to anyone: sweep them while we are here.
    db.run("DELETE FROM sessions WHERE expires < ?", time.time())
    return token


def session_user(db: Database, token: str | None) -> tuple[User, str] | None:
    """The session's user and its CSRF token, if the session is live."""
    if not token:
        return None
    row = db.one(
        "SELECT users.*, sessions.csrf AS csrf FROM sessions "
        "JOIN users ON users.id = sessions.user_id "
        "WHERE sessions.token = ? AND sessions.expires > ?",
        digest(token),
        time.time(),
    )
    user = _user(row)
    return None if user is None or row is None else (user, row["csrf"])


def close_session(db: Database, token: str | None) -> None:
    if token:
        db.run("DELETE FROM sessions WHERE token = ?", digest(token))


def add_token(db: Database, user: User, name: str) -> str:
    """A new API token for scripts; shown once, only its hash is kept."""
    token = "aud_" + secrets.token_urlsafe(32)
    db.run(
        "INSERT INTO tokens (token, user_id, name, created) VALUES (?, ?, ?, ?)",
        digest(token),
        user.id,
        name,
        now(),
    )
    return token


def revoke_token(db: Database, user: User, rowid: str) -> str | None:
    """Revoke one of ``user``'s tokens (by its row); its name, or None if it is not theirs."""
    row = db.one("SELECT name FROM tokens WHERE rowid = ? AND user_id = ?", rowid, user.id)
    if row is None:
        return None
    db.run("DELETE FROM tokens WHERE rowid = ? AND user_id = ?", rowid, user.id)
    name: str = row["name"]
    return name


def token_user(db: Database, token: str) -> User | None:
    row = db.one(
        "SELECT users.* FROM tokens JOIN users ON users.id = tokens.user_id WHERE tokens.token = ?",
        digest(token),
    )
    return _user(row)
