"""Controlled vocabularies: organisation types, roles, partnership types, ecosystems.

A :class:`Vocabulary` maps everything people write for a value (code, English
and Dutch labels, aliases) to its canonical code, and gives the label to show
in either language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from auditor.core.resources import package_file
from auditor.core.yamlfile import read_yaml
from auditor.normalise.text import match_key

LANGUAGES = ("en", "nl")


@dataclass(frozen=True)
class Vocabulary:
    """Canonical codes with their labels and the aliases that mean them."""

    name: str
    labels: Mapping[str, Mapping[str, str]]  # code -> lang -> label
    _lookup: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        name: str,
        labels: Mapping[str, Mapping[str, str]],
        aliases: Mapping[str, Iterable[str]] | None = None,
    ) -> Vocabulary:
        vocabulary = cls(name, labels)
        for code, by_lang in labels.items():
            vocabulary._add(code, code)
            for label in by_lang.values():
                vocabulary._add(label, code)
                # "Vakbond / Werkgeversorganisatie" also matches either half.
                for part in label.split(" / "):
                    vocabulary._add(part, code)
        for code, words in (aliases or {}).items():
            for word in words:
                vocabulary._add(word, code)
        return vocabulary

    def _add(self, text: str, code: str) -> None:
        key = match_key(text)
        if key:
            self._lookup.setdefault(key, code)

    def lookup(self, text: object) -> str | None:
        """The code ``text`` stands for, or ``None`` when it is not in the vocabulary."""
        return self._lookup.get(match_key(text))

    def label(self, code: str, lang: str = "en") -> str:
        by_lang = self.labels.get(code)
        if by_lang is None:
            return code
        return by_lang.get(lang) or by_lang.get("en") or code

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.labels)

    def accepted_words(self) -> dict[str, str]:
        """Every matching key the vocabulary knows, with its code."""
        return dict(self._lookup)


@cache
def _vocabulary_data() -> dict[str, Any]:
    data: dict[str, Any] = read_yaml(package_file("data", "vocabularies.yaml"))
    return data


@cache
def vocabulary(name: str) -> Vocabulary:
    """One of the built-in vocabularies (``organisation_type``, ``role``, ...)."""
    entries: dict[str, dict[str, Any]] = _vocabulary_data()[name]
    labels = {
        code: {lang: str(entry[lang]) for lang in LANGUAGES} for code, entry in entries.items()
    }
    aliases = {code: [str(a) for a in entry.get("aliases", [])] for code, entry in entries.items()}
    return Vocabulary.build(name, labels, aliases)


@cache
def categories() -> dict[str, tuple[str, ...]]:
    """Category name -> organisation type codes (actions.md "Words")."""
    data: dict[str, list[str]] = _vocabulary_data()["categories"]
    return {name: tuple(codes) for name, codes in data.items()}
