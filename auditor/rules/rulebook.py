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
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from auditor.core.catalogue import catalogue
from auditor.core.errors import RulesError
from auditor.core.findings import Severity
from auditor.core.resources import package_file, shipped_dir
from auditor.core.yamlfile import YAMLError, read_yaml
from auditor.rules import params
from auditor.rules.model import Admitted, Pool, Region, RuleBook, RuleEntry, RuleSet
from auditor.rules.register import register_digest
from auditor.rules.registry import declared_params, unit

__all__ = ["Admitted", "Pool", "Region", "RuleBook", "RuleEntry", "RuleSet", "load_rulebook"]

# Keys of a rule entry that are not parameters of its check.
_ENTRY_KEYS = {"rule", "when", "source", "severity", "confirm"}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
ALL_ACTIONS = "*"
# What a rule set's action pattern may be, and how much of a cell it is run on.
MAX_PATTERN = 500


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
    values = {k: v for k, v in data.items() if k not in _ENTRY_KEYS}
    _check_params(name, values, data.get("when"), where)
    return RuleEntry(
        rule=name,
        params=values,
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
            not_checked=dict(data.get("not_checked") or {}),
            strands=_strands(data.get("strands") or {}, actions, path),
            entries=tuple(
                _entry(entry, f"{path} rule {i + 1}") for i, entry in enumerate(data["rules"])
            ),
            path=str(path),
        )
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as error:
        raise RulesError(f"{path}: not a rule set the auditor reads ({error})") from error


def _strands(data: Any, actions: Any, path: Path) -> dict[str, dict[int, str]]:
    """``strands:`` of a rule set: each names actions of the set."""
    if not isinstance(data, dict):
        raise RulesError(f"{path}: strands must map an action to its strands' actions")
    out: dict[str, dict[int, str]] = {}
    for action, by_strand in data.items():
        numbers_to_actions = isinstance(by_strand, dict) and all(
            isinstance(k, int) and not isinstance(k, bool) and isinstance(v, str)
            for k, v in by_strand.items()
        )
        if not numbers_to_actions:
            raise RulesError(
                f"{path}: strands of {action} must map whole numbers to actions "
                f"(e.g. {{1: {action}-S1}}), not {by_strand!r}"
            )
        out[str(action)] = {int(k): str(v) for k, v in by_strand.items()}
        unknown = {str(action), *out[str(action)].values()} - {str(a) for a in actions}
        if unknown:
            raise RulesError(
                f"{path}: strands name actions the set does not have: {sorted(unknown)}"
            )
    return out


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


def _check_params(rule: str, values: dict[str, Any], when: Any, where: str) -> None:
    """Raise RulesError naming ``where`` (file and rule), the parameter and what it must be."""
    if when is not None:
        problem = params.condition(when)
        if problem is not None:
            raise RulesError(f"{where} ({rule}): 'when' must be {problem}")
    declared = declared_params(rule)
    for name, value in values.items():
        if name not in declared:
            takes = ", ".join(declared) or "no parameters"
            raise RulesError(f"{where} ({rule}): unknown parameter {name!r} (it takes {takes})")
        problem = declared[name][0](value)
        if problem is not None:
            raise RulesError(f"{where} ({rule}): {name} must be {problem}, not {value!r}")
    for name, (_, required) in declared.items():
        if required and name not in values:
            raise RulesError(f"{where} ({rule}): the parameter {name!r} is missing")
    comparisons = ("min", "max", "exactly", "one_of")
    if "one_of" in declared and not any(c in values for c in comparisons):
        raise RulesError(f"{where} ({rule}): give one of min, max, exactly or one_of")
