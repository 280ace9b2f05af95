"""Rule sets: which rules an action applies, with which parameters and sources.

A rule set is a YAML file (``auditor/rules/sets/*.yaml``). An agency adds or
overrides rule sets with ``--rules DIR``: a file there whose ``id`` matches a
shipped set replaces it, any other adds an action; a ``pools.yaml`` there adds
or replaces country pools. Adding an action is adding a data file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from auditor.core.catalogue import catalogue
from auditor.core.errors import RulesError
from auditor.core.findings import Severity
from auditor.core.resources import package_file, shipped_dir
from auditor.core.yamlfile import YAMLError, read_yaml
from auditor.normalise.text import match_key
from auditor.rules.params import check_params
from auditor.rules.register import Register, load_register, register_digest

# Keys of a rule entry that are not parameters of its check.
_ENTRY_KEYS = {"rule", "when", "source", "severity", "confirm"}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
ALL_ACTIONS = "*"
# What a rule set's action pattern may be, and how much of a cell it is run on.
MAX_PATTERN = 500
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

    def ruleset_of(self, action: str | None) -> RuleSet | None:
        return self._by_action.get(action) if action else None

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(self._by_action)

    def universal_sets(self) -> list[RuleSet]:
        return [s for s in self.sets.values() if s.universal]

    def action_sets(self) -> list[RuleSet]:
        return [s for s in self.sets.values() if not s.universal]

    def pool_frame(self) -> pl.DataFrame:
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
        return pl.DataFrame(
            list(self.eu_members),
            schema={"country": pl.String, "from_year": pl.Int64, "until_year": pl.Int64},
            orient="row",
        )

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


def _load_yaml(path: Path) -> Any:
    try:
        return read_yaml(path)
    except (OSError, UnicodeDecodeError, YAMLError) as error:
        raise RulesError(f"cannot read {path}: {error}") from error


def _entry(data: dict[str, Any], where: str) -> RuleEntry:
    name = data.get("rule")
    known = catalogue().rules
    if name not in known:
        raise RulesError(f"{where}: unknown rule {name!r} (see `auditor rules`)")
    from auditor.rules.registry import unit  # the units build on this module's types

    if unit(name) is None:
        raise RulesError(
            f"{where}: {name} is checked in every workbook as it is read and cannot be "
            "set per action"
        )
    severity = data.get("severity")
    if severity not in (None, "error", "warning"):
        raise RulesError(f"{where} ({name}): severity must be error or warning, not {severity!r}")
    for key in ("source", "confirm"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise RulesError(f"{where} ({name}): {key} must be a text")
    params = {k: v for k, v in data.items() if k not in _ENTRY_KEYS}
    check_params(name, params, data.get("when"), where)
    return RuleEntry(
        rule=name,
        params=params,
        when=data.get("when"),
        source=data.get("source"),
        severity=Severity(severity) if severity else None,
        confirm=data.get("confirm"),
    )


def _ruleset(data: Any, path: Path) -> RuleSet:
    if not isinstance(data, dict) or "id" not in data or "rules" not in data:
        raise RulesError(f"{path}: a rule set needs an 'id' and a list of 'rules'")
    actions = data.get("actions", [])
    years = data.get("years")
    try:
        return RuleSet(
            id=str(data["id"]),
            title=dict(data.get("title") or {"en": str(data["id"])}),
            actions=() if actions == ALL_ACTIONS else tuple(str(a) for a in actions),
            aliases={
                str(k): tuple(str(a) for a in v) for k, v in (data.get("aliases") or {}).items()
            },
            patterns={
                str(k): _pattern(str(v), f"{path} patterns {k}")
                for k, v in (data.get("patterns") or {}).items()
            },
            years=(int(years[0]), int(years[1])) if years else None,
            pool=_text_or_none(data.get("pool"), f"{path}: pool"),
            source=data.get("source"),
            note=dict(data.get("note") or {}),
            entries=tuple(
                _entry(entry, f"{path} rule {i + 1}") for i, entry in enumerate(data["rules"])
            ),
            path=str(path),
        )
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as error:
        raise RulesError(f"{path}: not a rule set the auditor reads ({error})") from error


def _text_or_none(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise RulesError(f"{where} must be the name of a pool, not {value!r}")
    return value


def _pattern(pattern: str, where: str) -> str:
    """A rule set's action pattern, refused unless polars' regex engine compiles it."""
    if len(pattern) > MAX_PATTERN:
        raise RulesError(f"{where}: the pattern is longer than {MAX_PATTERN} characters")
    try:
        pl.Series([""], dtype=pl.String).str.contains(f"(?i){pattern}")
    except pl.exceptions.PolarsError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise RulesError(f"{where}: not a regular expression the auditor runs: {first}") from None
    return pattern


def _members(
    entries: Iterable[dict[str, Any]], groups: dict[str, list[str]], where: str
) -> tuple[tuple[str, int | None, int | None], ...]:
    members: dict[str, tuple[str, int | None, int | None]] = {}
    for entry in entries:
        countries = groups[entry["group"]] if "group" in entry else entry.get("countries", [])
        for country in countries:
            if not isinstance(country, str) or not _COUNTRY.match(country):
                raise RulesError(
                    f"{where}: {country!r} is not a two-letter country code"
                    + (
                        ' (write "NO" in quotes: YAML reads a bare NO as false)'
                        if country is False
                        else ""
                    )
                )
            if country in members:
                raise RulesError(f"{where}: {country} is listed twice")
            years = (entry.get("from_year"), entry.get("until_year"))
            if any(
                y is not None and (not isinstance(y, int) or isinstance(y, bool)) for y in years
            ):
                raise RulesError(f"{where}: from_year and until_year must be years, not {years!r}")
            members[country] = (str(country), *years)
    return tuple(members.values())


def _pools(
    data: dict[str, Any], where: str
) -> tuple[dict[str, Pool], tuple[Any, ...], dict[str, Region]]:
    groups = data.get("groups", {})
    pools = {
        pool_id: Pool(
            id=pool_id,
            title=dict(spec.get("title", {"en": pool_id})),
            source=spec.get("source"),
            members=_members(spec["members"], groups, f"{where} pool {pool_id}"),
        )
        for pool_id, spec in (data.get("pools") or {}).items()
    }
    eu = _members(data.get("eu_member_states", []), groups, f"{where} eu_member_states")
    regions = {
        str(key): _region(str(key), spec, f"{where} region {key}")
        for key, spec in (data.get("regions") or {}).items()
    }
    return pools, eu, regions


def _region(key: str, spec: Any, where: str) -> Region:
    """A region: a list of countries (all confirmed), or {title, confirmed, countries}."""
    if isinstance(spec, list):
        spec = {"countries": spec, "confirmed": "all"}
    if not isinstance(spec, dict) or not isinstance(spec.get("countries"), list):
        raise RulesError(f"{where}: a list of countries, or {{title, confirmed, countries}}")
    countries = tuple(str(c) for c in spec["countries"])
    confirmed = spec.get("confirmed", "all")
    if confirmed != "all" and not isinstance(confirmed, list):
        raise RulesError(f"{where}: confirmed is 'all' or a list of its countries")
    return Region(
        id=key,
        title=str(spec.get("title", f"Region {key}")),
        countries=countries,
        confirmed=None if confirmed == "all" else frozenset(str(c) for c in confirmed),
    )


def _digest(parts: list[Any]) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_rulebook(extra_dirs: Iterable[Path] = (), eche: Path | None = None) -> RuleBook:
    """The shipped rule sets and pools, with those of ``extra_dirs`` on top,
    and the ECHE holders list (the shipped one, or ``eche``)."""
    return _load_rulebook(tuple(Path(d) for d in extra_dirs), eche)


@cache
def _load_rulebook(extra_dirs: tuple[Path, ...], eche: Path | None) -> RuleBook:
    shipped = package_file("rules", "sets")
    pool_data = _load_yaml(package_file("rules", "pools.yaml"))
    raw_parts: list[Any] = [pool_data]
    sets: dict[str, RuleSet] = {}
    for folder in (shipped, *extra_dirs):
        if not folder.is_dir():
            raise RulesError(f"the rules folder {folder} does not exist")
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            data = _load_yaml(path)
            if path.stem == "pools":
                if folder == shipped:
                    continue
                try:
                    pool_data = _merge_pools(pool_data, data, path)
                except (TypeError, ValueError, AttributeError) as error:
                    raise RulesError(
                        f"{path}: not a pools file the auditor reads ({error})"
                    ) from None
                raw_parts.append(data)
                continue
            ruleset = _ruleset(data, path)
            sets[ruleset.id] = ruleset
            raw_parts.append(data)
    try:
        pools, eu, regions = _pools(pool_data, "pools")
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as error:
        raise RulesError(f"the pools ({', '.join(map(str, extra_dirs))}): {error!r}") from error
    for ruleset in sets.values():
        if ruleset.pool is not None and ruleset.pool not in pools:
            raw = ruleset.path
            raise RulesError(f"{raw}: unknown pool {ruleset.pool!r}")
    catalogue_text = package_file("rules", "catalogue.yaml").read_text(encoding="utf-8")
    schemas = [
        (shipped_dir("schemas") / f"{name}.yaml").read_text(encoding="utf-8")
        for name in ("partners", "project")
    ]
    version = _digest([raw_parts, catalogue_text, schemas, register_digest(eche)])
    return RuleBook(
        sets=sets, pools=pools, eu_members=eu, regions=regions, version=version, eche=eche
    )


def _merge_pools(base: dict[str, Any], extra: Any, path: Path) -> dict[str, Any]:
    if not isinstance(extra, dict):
        raise RulesError(
            f"{path}: a pools file holds 'pools', 'groups', 'eu_member_states', 'regions'"
        )
    merged = dict(base)
    merged["groups"] = {**base.get("groups", {}), **extra.get("groups", {})}
    merged["pools"] = {**base.get("pools", {}), **extra.get("pools", {})}
    for key in ("eu_member_states", "regions"):
        if key in extra:
            merged[key] = extra[key]
    return merged
