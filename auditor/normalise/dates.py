"""Dates and date-times as they arrive: Excel cells, ISO text, European text.

A submission time without a zone is Brussels time (the Commission's deadlines
are stated in it); a zone written in the text (``CET``, ``UTC``, ``+02:00``)
wins.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo

BRUSSELS = "Europe/Brussels"

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "januari"),
            ("february", "feb", "februari"),
            ("march", "mar", "maart", "mrt"),
            ("april", "apr"),
            ("may", "mei"),
            ("june", "jun", "juni"),
            ("july", "jul", "juli"),
            ("august", "aug", "augustus"),
            ("september", "sep", "sept"),
            ("october", "oct", "oktober", "okt"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

_ZONES = {
    "utc": UTC,
    "gmt": UTC,
    "z": UTC,
    "cet": timezone(timedelta(hours=1)),
    "cest": timezone(timedelta(hours=2)),
}
_BRUSSELS_WORDS = re.compile(
    r"(?i)\(?\b(brussels|brussel|bruxelles|belgian|belgische)(\s+(local\s+)?time|\s+tijd)?\)?"
)
# A zone at the end (workbook-format.md v2): a name (UTC, GMT, Z, CET, CEST),
# UTC or GMT with an offset (UTC+1, UTC+01:00, GMT+1), or an offset alone
# (+01:00, +0100, +01) right after a time; in brackets or not.
_ZONE_SUFFIX = re.compile(
    r"(?i)\s*\(?\s*(?:"
    r"(?P<base>utc|gmt)\s*(?:(?P<bsign>[+-])\s*(?P<bh>\d{1,2})(?::?(?P<bm>\d{2}))?)?"
    r"|(?P<name>cest|cet|z)"
    r"|(?P<sign>[+-])(?P<h>\d{2})(?::?(?P<m>\d{2}))?"
    r")\s*\)?\s*$"
)
_AFTER_TIME = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?$")
_TIME = (
    r"(?:[ T,]+(?:om\s+|at\s+)?(\d{1,2})[:hu.](\d{2})(?:[:.](\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(?:uur|h)?)?"
)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + "$")
_EUROPEAN = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})" + _TIME + "$")
_WORDS = re.compile(r"(?i)^(\d{1,2})\.?\s+([a-z]+)\.?\s+(\d{4})" + _TIME + "$")
_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30)


@cache
def _brussels() -> ZoneInfo:
    return ZoneInfo(BRUSSELS)


def _zone(text: str) -> tuple[str, timezone | ZoneInfo]:
    """Strip a zone suffix from ``text`` and return the zone it names."""
    text = _BRUSSELS_WORDS.sub("", text).strip()
    match = _ZONE_SUFFIX.search(text)
    if match is None:
        return text, _brussels()
    rest = text[: match.start()].strip()
    if match["name"]:
        return rest, _ZONES[match["name"].lower()]
    if match["base"] and not match["bsign"]:
        return rest, UTC
    if match["base"]:
        sign, hours, minutes = match["bsign"], match["bh"], match["bm"]
    else:
        # An offset alone must follow a time: "2024-03-07" does not end in a zone.
        if not _AFTER_TIME.search(rest):
            return text, _brussels()
        sign, hours, minutes = match["sign"], match["h"], match["m"]
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if offset > timedelta(hours=14) or int(minutes or 0) > 59:  # no zone on earth
        return text, _brussels()
    return rest, timezone(-offset if sign == "-" else offset)


def _build(year: int, month: int, day: int, groups: tuple[str | None, ...]) -> datetime | None:
    hour, minute, second = (int(g) if g else 0 for g in groups[:3])
    fraction = groups[3] if len(groups) > 3 else None
    # A fraction counts: 17:00:00.250 is after 17:00:00 (a deadline to the second).
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        return None


def parse_datetime(text: str | None) -> datetime | None:
    """A timezone-aware date-time, or None when the text is not a date.

    Accepts what calamine gives for date cells ("2024-03-07 17:00:00"), ISO
    text with an optional zone, European "07/03/2024 16:59", "7.3.2024",
    "7 maart 2024 17:00", and Excel serial numbers stored as text.
    """
    if text is None:
        return None
    raw, zone = _zone(str(text).strip())
    if "T" in raw and _ISO.match(raw.replace("T", " ")):
        raw = raw.replace("T", " ")
    naive: datetime | None = None
    if match := _ISO.match(raw):
        naive = _build(int(match[1]), int(match[2]), int(match[3]), match.groups()[3:])
    elif match := _EUROPEAN.match(raw):
        naive = _build(int(match[3]), int(match[2]), int(match[1]), match.groups()[3:])
    elif match := _WORDS.match(raw):
        month = _MONTHS.get(match[2].lower())
        if month is not None:
            naive = _build(int(match[3]), month, int(match[1]), match.groups()[3:])
    elif _SERIAL.match(raw) and 20000 <= float(raw) <= 80000:
        naive = _EXCEL_EPOCH + timedelta(days=float(raw))
        naive = naive.replace(microsecond=0)
    if naive is None:
        return None
    return naive.replace(tzinfo=zone)


def parse_date(text: str | None) -> date | None:
    moment = parse_datetime(text)
    return moment.date() if moment is not None else None


def to_brussels(moment: datetime) -> datetime:
    return moment.astimezone(_brussels())


def brussels_datetime(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=_brussels())
