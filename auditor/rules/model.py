"""The rule book's types: rule entries, rule sets, pools, regions, the book itself.

What the rule units (rules/units/) and the engine work with; rules/rulebook.py
reads them from the YAML files. Kept apart so that the units, which the loader
consults (rules/registry.py), need not import the loader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from auditor.core.errors import RulesError
from auditor.core.findings import Severity
from auditor.normalise.text import match_key
from auditor.rules.register import Register, load_register

T = TypeVar("T")

# How much of a cell the action patterns are run on.
MAX_SEARCHED = 500


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """One rule as an action applies it."""

    rule: str
    params: dict[str, Any]
    when: dict[str, Any] | None = None
    source: str | None = None
    severity: Severity | None = None
    # actions.md confidence policy: a value from one secondary source, or
    # uncertain, is checked as a warning naming the call text to check.
    confirm: str | None = None

    @property
    def own_severity(self) -> Severity | None:
        """The severity the entry sets: its own, or a warning for a value to confirm."""
        if self.severity is not None:
            return self.severity
        return Severity.WARNING if self.confirm else None


@dataclass(frozen=True, slots=True)
class RuleSet:
    id: str
    title: dict[str, str]
    actions: tuple[str, ...]  # empty for the set that applies to every action
    aliases: dict[str, tuple[str, ...]]
    patterns: dict[str, str]
    years: tuple[int, int] | None
    pool: str | None
    source: str | None
    note: dict[str, str]
    entries: tuple[RuleEntry, ...]
    path: str
    # What the action's rules leave unchecked because no source gives a value
    # (actions.md confidence policy): said wherever its rules are listed.
    not_checked: dict[str, str] = field(default_factory=dict)
    # An action given with a Strand that reads as another action (CBHE with
    # Strand 2 is CBHE-S2): action -> strand -> action.
    strands: dict[str, dict[int, str]] = field(default_factory=dict)

    @property
    def universal(self) -> bool:
        return not self.actions

    def text(self, part: str, lang: str) -> str:
        values: dict[str, str] = getattr(self, part)
        return values.get(lang) or values.get("en", "")


@dataclass(frozen=True, slots=True)
class Pool:
    id: str
    title: dict[str, str]
    source: str | None
    members: tuple[tuple[str, int | None, int | None], ...]  # country, from, until


@dataclass(frozen=True, slots=True)
class Region:
    """A region of third countries not associated to the Programme (pools.yaml)."""

    id: str  # "1" ... "14", and windows such as "5a"
    title: str
    countries: tuple[str, ...]
    confirmed: frozenset[str] | None  # None: every country confirmed

    @property
    def fully_confirmed(self) -> bool:
        return self.confirmed is None

    @property
    def confirmed_countries(self) -> frozenset[str]:
        return frozenset(self.countries) if self.confirmed is None else self.confirmed


@dataclass(frozen=True, slots=True)
class Admitted:
    """Which third countries a region limit admits, and how sure that is.

    ``confirmed``: the countries confirmed in an admitted region (and not
    excluded). A country outside them is certainly out when every admitted
    region's list is confirmed in full, when the country is confirmed in a
    region that is not admitted (nor one of its windows: 5 for 5a), or when
    it is excluded; otherwise only unconfirmed data says where it belongs.
    """

    confirmed: frozenset[str]
    complete: bool
    out: frozenset[str]

    def certainly_out(self, country: str) -> bool:
        return self.complete or country in self.out


@dataclass(slots=True)
class RuleBook:
    """Every rule set and pool of a run, with the lookups the stages need."""

    sets: dict[str, RuleSet]
    pools: dict[str, Pool]
    eu_members: tuple[tuple[str, int | None, int | None], ...]
    regions: dict[str, Region]
    version: str
    eche: Path | None  # the ECHE holders list (None: the one shipped), read when first used
    _aliases: dict[str, str] = field(default_factory=dict)
    _patterns: list[tuple[str, str]] = field(default_factory=list)  # (regex, action)
    _found: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)
    _by_action: dict[str, RuleSet] = field(default_factory=dict)
    _admitted: dict[tuple[tuple[str, ...], tuple[str, ...]], Admitted] = field(default_factory=dict)
    _compiled: dict[str, Any] = field(default_factory=dict)
    _strands: dict[str, dict[int, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for ruleset in self.sets.values():
            for action in ruleset.actions:
                if action in self._by_action:
                    raise RulesError(
                        f"action {action} is in two rule sets: "
                        f"{self._by_action[action].id} and {ruleset.id}"
                    )
                self._by_action[action] = ruleset
                self._aliases.setdefault(match_key(action), action)
            for action, aliases in ruleset.aliases.items():
                for alias in aliases:
                    self._aliases.setdefault(match_key(alias), action)
            for action, pattern in ruleset.patterns.items():
                self._patterns.append((f"(?i){pattern}", action))
            self._strands.update(ruleset.strands)

    def lookup_action(self, text: str) -> tuple[str | None, int | None]:
        """(action key, year named in a topic id) for what a workbook says."""
        action = self._aliases.get(match_key(text))
        if action is not None:
            return action, None
        found = self._found.get(text)
        if found is None:
            if len(self._found) > 10_000:  # the distinct texts of a batch: kept bounded
                self._found.clear()
            found = self._found[text] = self._search(text.strip()[:MAX_SEARCHED])
        return found

    def _search(self, text: str) -> tuple[str | None, int | None]:
        # Rule sets' patterns run on polars' regex engine (Rust's): its time
        # is linear in the text, so no pattern can hang a run however it is
        # written (Python's ``re`` backtracks: ``(a+)+$`` takes for ever).
        cell = pl.Series([text], dtype=pl.String)
        for pattern, key in self._patterns:
            if cell.str.contains(pattern).item():
                year = None
                if "(?P<year>" in pattern or "(?<year>" in pattern:
                    groups = cell.str.extract_groups(pattern).struct.field("year").item()
                    year = int(groups) if groups and str(groups).isdigit() else None
                return key, year
        return None, None

    @property
    def actions_with_strands(self) -> tuple[str, ...]:
        """Actions that a Strand turns into others (rule sets' ``strands``)."""
        return tuple(self._strands)

    def strand_action(self, action: str, strand: int) -> str | None:
        """The action ``action`` given with ``strand`` reads as: itself where
        the action has no strands, None where ``strand`` is not one of them."""
        strands = self._strands.get(action)
        return action if strands is None else strands.get(strand)

    def ruleset_of(self, action: str | None) -> RuleSet | None:
        return self._by_action.get(action) if action else None

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(self._by_action)

    def universal_sets(self) -> list[RuleSet]:
        return [s for s in self.sets.values() if s.universal]

    def action_sets(self) -> list[RuleSet]:
        return [s for s in self.sets.values() if not s.universal]

    @property
    def pool_of(self) -> dict[str, str]:
        """The country pool of each action (by rule set)."""
        return self.compiled(
            "pool_of", lambda: {a: s.pool for s in self.action_sets() for a in s.actions if s.pool}
        )

    def pool_frame(self) -> pl.DataFrame:
        return self.compiled("pool_frame", self._pool_frame)

    def _pool_frame(self) -> pl.DataFrame:
        rows = [
            (pool.id, country, start, end)
            for pool in self.pools.values()
            for country, start, end in pool.members
        ]
        return pl.DataFrame(
            rows,
            schema={
                "pool": pl.String,
                "country": pl.String,
                "from_year": pl.Int64,
                "until_year": pl.Int64,
            },
            orient="row",
        )

    def eu_frame(self) -> pl.DataFrame:
        return self.compiled("eu_frame", self._eu_frame)

    def _eu_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            list(self.eu_members),
            schema={"country": pl.String, "from_year": pl.Int64, "until_year": pl.Int64},
            orient="row",
        )

    def compiled(self, key: str, build: Callable[[], T]) -> T:
        """What is derived from the rules alone (a rule set's expressions, the
        pool frames), built once per process: a run judges many chunks."""
        if key not in self._compiled:
            self._compiled[key] = build()
        found: T = self._compiled[key]
        return found

    @property
    def register(self) -> Register:
        """The ECHE holders list, parsed the first time a rule reads it (rules/register.py)."""
        return load_register(self.eche)

    def admitted(self, regions: tuple[str, ...], excluded: tuple[str, ...]) -> Admitted:
        """The third countries a limit to ``regions`` admits (see :class:`Admitted`)."""
        key = (regions, excluded)
        if key not in self._admitted:
            chosen = [self.regions[r] for r in regions if r in self.regions]
            confirmed = {c for region in chosen for c in region.confirmed_countries}
            windows_of = {r.rstrip("abcdefghijklmnopqrstuvwxyz") for r in regions}
            out = {
                country
                for region in self.regions.values()
                if region.id not in regions and region.id not in windows_of
                for country in region.confirmed_countries
            }
            self._admitted[key] = Admitted(
                frozenset(confirmed - set(excluded)),
                all(region.fully_confirmed for region in chosen),
                frozenset((out - confirmed) | set(excluded)),
            )
        return self._admitted[key]
