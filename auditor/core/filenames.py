"""File names as every output shows them: valid UTF-8, one line, no control characters.

A file name on Linux is bytes: it may not be UTF-8 (Python keeps such bytes as
lone surrogates, which no UTF-8 writer accepts), and it may hold a newline or
a terminal escape. The auditor opens files by their real name and shows them
by their printable one everywhere else (terminal, JSON, HTML, Excel, the
state), so one odd name never aborts a batch or forges a line of a log.
"""

from __future__ import annotations

import os
import unicodedata
from functools import lru_cache

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


@lru_cache(maxsize=65_536)
def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if char in _NAMED:
        return _NAMED[char]
    if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def printable(name: str) -> str:
    """``name`` with undecodable bytes as ``\\xNN`` and control characters escaped.

    A backslash is doubled, so two names never print the same (the printable
    name is a file's identity in results and in the state).
    """
    if name.isprintable() and "\\" not in name:  # almost every name: no work
        return name
    return "".join(_escaped(char) for char in name)


def one_line(text: str) -> str:
    """Text from a workbook as a terminal or log line shows it: control characters
    (newlines, escape sequences) escaped, so no cell can forge a line or move the cursor."""
    if text.isprintable():
        return text
    return "".join(_escaped(char) if char != "\\" else char for char in text)


def state_key(path: str | os.PathLike[str]) -> str:
    """The absolute path of a file as the state of incremental runs keys it."""
    return printable(os.path.abspath(path))  # noqa: PTH100 (a string, as discover keeps it)
