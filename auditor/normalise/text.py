"""Text cleaning and the matching key used for every label, header and vocabulary value."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import polars as pl

# Characters Excel users paste without seeing them: non-breaking and thin
# spaces, zero-width joiners, byte-order marks.
_INVISIBLE = "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003"
_ZERO_WIDTH = "\u200b\u200c\u200d\ufeff"
_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w]+")


def match_key(text: object) -> str:
    """The form two labels are compared in.

    Trimmed, case-folded, accents removed, punctuation and repeated spaces
    collapsed: ``"  Coördinator (aanvrager) "`` -> ``"coordinator aanvrager"``.
    """
    if text is None:
        return ""
    return _match_key(text if isinstance(text, str) else str(text))


# The same labels, headers and vocabulary words come back in every file.
@lru_cache(maxsize=65536)
def _match_key(text: str) -> str:
    value = text
    for char in _ZERO_WIDTH:
        value = value.replace(char, "")
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = stripped.casefold().replace("_", " ")
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", folded)).strip()


_CLEANING = str.maketrans({**dict.fromkeys(_ZERO_WIDTH, None), **dict.fromkeys(_INVISIBLE, " ")})

# What people write for "nothing here" (workbook-format.md v2, "Placeholders
# are empty"), compared case-folded: the value was not given.
PLACEHOLDERS = frozenset({"n/a", "nvt", "n.v.t.", "-", "–", "—", "none", "geen"})


def is_placeholder(text: str) -> bool:
    return text.casefold() in PLACEHOLDERS


def clean_cell(text: str | None) -> str | None:
    """Trim a cell value and make invisible spaces plain; empty (or a placeholder) becomes None."""
    if text is None:
        return None
    cleaned = text.translate(_CLEANING).strip()
    return None if not cleaned or is_placeholder(cleaned) else cleaned


def clean_expr(column: str) -> pl.Expr:
    """The vectorised :func:`clean_cell` for a whole string column."""
    expr = pl.col(column).str.replace_all(f"[{_ZERO_WIDTH}]", "")
    expr = expr.str.replace_all(f"[{_INVISIBLE}]", " ").str.strip_chars()
    empty = (expr.str.len_chars() == 0) | expr.str.to_lowercase().is_in(list(PLACEHOLDERS))
    return pl.when(empty).then(None).otherwise(expr).alias(column)
