"""Counting as data: what a composition rule counts, declared in the rule set.

A count rule (``min-organisations``, ``min-hei``, ``max-organisations`` ...)
compares one number per proposal with its parameters. The number is a
:class:`Count`: organisations or countries, in a scope (actions.md "Counting
scopes"), of some categories, among some countries, perhaps per country.
Each rule name has its usual count (``DEFAULTS``); a rule set may say
another under ``count:``, so a new composition rule needs a data file, not
code::

    - rule: min-organisations
      count: {what: organisations, scope: eligible, categories: [hei]}
      min: 3

Every count of a rule set is measured in one polars query over the partner
rows of its proposals (``measure``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from auditor.normalise.frames import n
from auditor.normalise.vocabulary import categories
from auditor.read.model import PKEY

WHAT = ("organisations", "countries")
# actions.md "Counting scopes": who is counted at all.
SCOPES = ("pool", "eligible", "listed")
# Which countries' organisations: all of the scope, EU Member States, the
# pool's countries, or third countries outside the pool.
AMONG = ("any", "eu", "pool", "third")
PER = (None, "country")
FULL_ROLES = ("coordinator", "partner")
# The comparisons a count rule may make, as its parameters.
COMPARISONS = ("min", "max", "exactly", "one_of")


@dataclass(frozen=True, slots=True)
class Count:
    """One number per proposal (with ``per``: the smallest over the groups)."""

    what: str = "organisations"
    scope: str = "pool"
    categories: tuple[str, ...] = ()  # category names (vocabularies.yaml) or type codes
    among: str = "any"
    per: str | None = None

    @property
    def key(self) -> str:
        """A column name, equal for equal counts (one column per count per query)."""
        kinds = "+".join(self.categories) or "all"
        return f"_count:{self.what}:{self.scope}:{kinds}:{self.among}:{self.per or '-'}"

    def describe(self) -> str:
        parts = [self.what, f"scope {self.scope}"]
        if self.categories:
            parts.append("of " + ", ".join(self.categories))
        if self.among != "any":
            parts.append(f"among {self.among} countries")
        if self.per:
            parts.append(f"per {self.per}")
        return " ".join(parts)


_POOL = Count()
# The count each composition rule makes unless its rule set says otherwise.
DEFAULTS: dict[str, Count] = {
    "min-organisations": _POOL,
    "min-full-partners": _POOL,
    "min-countries": Count(what="countries"),
    "min-eu-member-states": Count(what="countries", among="eu"),
    "min-hei": Count(categories=("hei",)),
    "min-vet": Count(categories=("vet",)),
    "min-enterprises": Count(categories=("enterprise",)),
    "min-labour-market-actors": Count(categories=("labour_market_actor",)),
    "min-education-providers": Count(categories=("education_provider",)),
    # actions.md v2, "New rule names" (ka2-other-actions.md "Proposed new rule names").
    "min-third-countries": Count(what="countries", scope="eligible", among="third"),
    "min-third-country-organisations": Count(scope="eligible", among="third"),
    "min-hei-countries": Count(what="countries", categories=("hei",)),
    "min-hei-per-third-country": Count(
        scope="eligible", categories=("hei",), among="third", per="country"
    ),
    # Each third country taking part has its ministry (CBHE strand 3): one per country.
    "ministry-per-third-country": Count(
        scope="eligible", categories=("MINISTRY",), among="third", per="country"
    ),
    "max-organisations": _POOL,
    # Sport events: the lump sum asked selects a category, whose consortium it
    # checks (an entry per category, ``when`` on the requested grant).
    "lump-sum-tier": _POOL,
}
# third-country-balance: organisations from third countries against those of the pool.
BALANCE = (Count(scope="eligible", among="third"), Count(scope="eligible", among="pool"))


# The results.json metric (aggregate.METRICS) each rule's default count equals:
# the template's panel shows it under that name, and tests compare the two.
METRIC_OF_RULE = {
    "min-organisations": "organisations",
    "min-full-partners": "full_partners",
    "min-countries": "countries",
    "min-eu-member-states": "eu_member_states",
    "min-hei": "hei",
    "min-vet": "vet",
    "min-enterprises": "enterprises",
    "min-labour-market-actors": "labour_market_actors",
    "min-education-providers": "education_providers",
}


def balance_of(params: dict[str, Any]) -> tuple[Count, Count]:
    """third-country-balance's two counts, of the entry's ``categories`` if it names some."""
    kinds = tuple(str(c) for c in params.get("categories", ()))
    third, pool = BALANCE
    return replace(third, categories=kinds), replace(pool, categories=kinds)


# The counts the aggregation already made for results.json (aggregate.METRICS):
# the engine reads them there instead of counting again (tests/aggregate/test_counting.py
# proves each equal to its count).
AGGREGATED: dict[Count, str] = {DEFAULTS[rule]: metric for rule, metric in METRIC_OF_RULE.items()}


def count_of(rule: str, params: dict[str, Any]) -> Count:
    """The count of a rule entry: its rule's default, with the entry's ``count`` on top."""
    declared = params.get("count") or {}
    base = DEFAULTS.get(rule, _POOL)
    fields: dict[str, Any] = dict(declared)
    if "categories" in fields:
        fields["categories"] = tuple(str(c) for c in fields["categories"])
    return replace(base, **fields)


def type_codes(names: tuple[str, ...]) -> list[str]:
    """Organisation type codes of category names (a type code stands for itself)."""
    group = categories()
    codes: list[str] = []
    for name in names:
        codes.extend(group.get(name, (name,)))
    return codes


def _filter(count: Count) -> pl.Expr:
    role = pl.col(n("role"))
    if count.scope == "listed":
        # Every listed organisation except affiliated entities (mono-beneficiary actions).
        chosen = role.is_not_null() & (role != "affiliated")
    elif count.scope == "eligible":
        # Coordinator and full partners from any country: a country the action does
        # not admit has its own finding (third-country-*), and must not hide a count.
        chosen = role.is_in(FULL_ROLES)
    else:
        chosen = role.is_in(FULL_ROLES) & pl.col("in_pool")
    chosen = chosen & pl.col(n("country")).is_not_null()
    if count.categories:
        chosen = chosen & pl.col(n("organisation_type")).is_in(type_codes(count.categories))
    if count.among == "eu":
        chosen = chosen & pl.col("is_eu")
    elif count.among == "pool":
        chosen = chosen & pl.col("in_pool")
    elif count.among == "third":
        chosen = chosen & ~pl.col("in_pool") & ~pl.col("in_pool_unsure")
    return chosen.fill_null(False)


def _counted(count: Count) -> pl.Expr:
    column = pl.col("org") if count.what == "organisations" else pl.col(n("country"))
    return column.filter(_filter(count)).n_unique()


def measure(partners: pl.DataFrame, counts: list[Count]) -> pl.DataFrame:
    """Per proposal of ``partners``, one column per count (``Count.key``), 0 where none."""
    unique = {count.key: count for count in counts}
    flat = [c for c in unique.values() if c.per is None]
    grouped = [c for c in unique.values() if c.per is not None]
    frame = partners.group_by(PKEY).agg(_counted(c).alias(c.key) for c in flat)
    for count in grouped:
        # The smallest group decides ("at least 2 HEIs in every third country").
        # The groups are the countries taking part (of any category); each
        # counts the organisations of the count's categories.
        per_group = (
            partners.filter(_filter(replace(count, categories=())))
            .group_by(PKEY, n("country"))
            .agg(_counted(count).alias(count.key))
            .group_by(PKEY)
            .agg(pl.col(count.key).min())
        )
        frame = frame.join(per_group, on=PKEY, how="left")
    # A proposal without any group has no smallest group: null, not 0.
    return frame.with_columns(
        (pl.col(c.key).fill_null(0) if c.per is None else pl.col(c.key)).cast(pl.Int64)
        for c in unique.values()
    )


def comparison(params: dict[str, Any]) -> tuple[str, Any]:
    """The entry's comparison and its operand (one of COMPARISONS)."""
    for name in COMPARISONS:
        if name in params:
            return name, params[name]
    raise KeyError("a count rule needs min, max, exactly or one_of")
