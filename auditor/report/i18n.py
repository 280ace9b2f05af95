"""The words of the reports and the terminal, in English and Dutch."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from auditor.core.yamlfile import read_yaml


@cache
def catalogue() -> dict[str, dict[str, str]]:
    path = Path(__file__).with_name("messages.yaml")
    data: dict[str, dict[str, str]] = read_yaml(path)
    return data


# "{errors:error|errors}": the singular when ``errors`` is 1, else the plural.
# (English and Dutch both have just these two forms: CLDR's "one" is n = 1.)
_PLURAL = re.compile(r"\{(\w+):([^{}|]*)\|([^{}]*)\}")


def plural(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with its plural choices made for ``values``."""
    if ":" not in text:
        return text
    return _PLURAL.sub(lambda m: m.group(2) if values.get(m.group(1)) == 1 else m.group(3), text)


def t(key: str, lang: str, **values: Any) -> str:
    """The text of ``key`` in ``lang`` (English if missing), with ``values`` filled in."""
    texts = catalogue()
    text = texts.get(lang, {}).get(key) or texts["en"][key]
    return plural(text, values).format(**values) if values else text


BRUSSELS = "Europe/Brussels"  # the programme's deadlines and its agencies' clocks
LOCALES = {"en": "en_GB", "nl": "nl_NL"}


def moment(stamp: str | None, lang: str) -> str:
    """An ISO timestamp as people read it, in Brussels time with the zone:
    ``2026-12-03T07:03:15+00:00`` -> ``3 December 2026 08:03 CET`` (nl: ``3 december …``)."""
    if not stamp:
        return "—"
    from babel.dates import format_datetime

    try:
        instant = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if instant.tzinfo is None:  # written without a zone: taken as the machine's
        instant = instant.astimezone()
    return format_datetime(
        instant, "d MMMM y HH:mm zzz", tzinfo=ZoneInfo(BRUSSELS), locale=LOCALES.get(lang, "en_GB")
    )
