"""Numbers as people type them: amounts in European or English notation, whole numbers, lists."""

from __future__ import annotations

import math
import re

from auditor.normalise.text import is_placeholder

# Larger whole numbers are not durations, years or partner numbers (and do not
# fit the 64-bit columns they go into).
_LARGEST = 2**53

_CURRENCY = re.compile(r"(?i)(€|eur(o|os)?\b|\beur\.?)")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_WHOLE_UNIT = re.compile(r"(?i)^\s*([+-]?[\d.,\s]+?)\s*(months?|maanden|maand|mnd|m)?\.?\s*$")


def parse_amount(text: str | None) -> float | None:
    """Read "1.000.000", "1,000,000", "€ 250 000", "250.000,50" and plain numbers.

    Where one separator could be either, the reading that suits an amount in
    euro wins: a single separator followed by exactly three digits groups
    thousands ("60.000" is sixty thousand), otherwise it marks decimals.
    Returns None when the text is not an amount.
    """
    if text is None:
        return None
    value = _CURRENCY.sub("", str(text))
    value = _SPACES.sub("", value).strip()
    if value.endswith((",-", ".-")):
        value = value[:-2]
    if not value:
        return None
    sign = ""
    if value[0] in "+-":
        sign, value = value[0], value[1:]
    if not value or not re.fullmatch(r"[\d.,]+", value) or not value[0].isdigit():
        return None
    dots, commas = value.count("."), value.count(",")
    if dots and commas:
        decimal = "." if value.rfind(".") > value.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        if value.count(decimal) > 1:
            return None
        whole, _, fraction = value.partition(decimal)
        if not _grouped(whole, thousands):
            return None
        value = whole.replace(thousands, "") + "." + fraction
    elif dots + commas:
        separator = "." if dots else ","
        parts = value.split(separator)
        if len(parts) > 2:
            if not _grouped(value, separator):
                return None
            value = value.replace(separator, "")
        elif len(parts[1]) == 3 and parts[0] not in ("", "0"):
            value = parts[0] + parts[1]
        else:
            value = parts[0] + "." + parts[1]
    if not _NUMBER.match(value):
        return None
    number = float(sign + value)
    return number if math.isfinite(number) else None


def _grouped(text: str, separator: str) -> bool:
    """True when ``text`` is digits in groups of three after the first group."""
    groups = text.split(separator)
    return (
        1 <= len(groups[0]) <= 3
        and all(len(g) == 3 for g in groups[1:])
        and all(g.isdigit() for g in groups)
    )


def parse_whole(text: str | None) -> int | None:
    """A whole number such as "24", "24.0" or "24 months"; None if it is not one."""
    if text is None:
        return None
    match = _WHOLE_UNIT.match(str(text))
    if match is None:
        return None
    number = parse_amount(match.group(1))
    if number is None or not number.is_integer() or abs(number) > _LARGEST:
        return None
    return int(number)


def parse_year(text: str | None) -> int | None:
    """A call year between 2000 and 2099."""
    number = parse_whole(text)
    if number is None or not 2000 <= number <= 2099:
        return None
    return number


_LEVEL_RANGE = re.compile(r"^(\d+)\s*(?:-|–|to|tot)\s*(\d+)$")


def parse_levels(text: str | None) -> list[int] | None:
    """EQF levels written as "4;5;6", "3-5, 6" or "EQF 4, 6"; None if unreadable.

    Levels must lie between 1 and 8.
    """
    if text is None:
        return None
    cleaned = re.sub(r"(?i)\b(eqf|niveaus?|levels?)\b", " ", str(text))
    cleaned = re.sub(r"(?i)\s*(t/m|tot en met)\s*", "-", cleaned)
    levels: set[int] = set()
    for raw_part in re.split(r"[;,/\n]+|\s+(?:and|en|&)\s+", cleaned):
        part = raw_part.strip()
        if not part:
            continue
        number = parse_whole(part)
        if number is not None:
            levels.add(number)
            continue
        match = _LEVEL_RANGE.match(part)
        if match is None:
            return None
        low, high = int(match.group(1)), int(match.group(2))
        if low > high:
            return None
        levels.update(range(low, high + 1))
    if not levels or not all(1 <= level <= 8 for level in levels):
        return None
    return sorted(levels)


def split_list(text: str | None) -> list[str]:
    """A ``;``-separated (or one-per-line) list, trimmed, without empty items or
    placeholders ("n/a; Inclusion" is one item)."""
    if text is None:
        return []
    items = (item.strip() for item in re.split(r"[;\n]+", str(text)))
    return [item for item in items if item and not is_placeholder(item)]
