"""The words of the reports and the terminal, in English and Dutch."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from auditor.core.yamlfile import read_yaml


@cache
def catalogue() -> dict[str, dict[str, str]]:
    path = Path(__file__).with_name("messages.yaml")
    data: dict[str, dict[str, str]] = read_yaml(path)
    return data


def t(key: str, lang: str, **values: Any) -> str:
    """The text of ``key`` in ``lang`` (English if missing), with ``values`` filled in."""
    texts = catalogue()
    text = texts.get(lang, {}).get(key) or texts["en"][key]
    return text.format(**values) if values else text
