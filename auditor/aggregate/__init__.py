"""Per-proposal metrics for the whole batch in one polars pass.

Counting follows actions.md ("Words"): the coordinator plus the full partners
established in a pool country of the proposal's action, each organisation
counted once. Two rows are the same organisation when they share an OID, or a
PIC, or (neither given) the same legal name and country. Associated partners
and affiliated entities never count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from auditor.normalise.frames import n
from auditor.normalise.vocabulary import categories
from auditor.read.model import PKEY, ROW
from auditor.validate import Validated

# The metrics of results.json (outputs.md), in their documented order.
METRICS = (
    "organisations",
    "countries",
    "full_partners",
    "hei",
    "vet",
    "enterprises",
    "labour_market_actors",
    "education_providers",
    "eu_member_states",
    "duration_months",
    "requested_grant_eur",
)
# Counts by organisation category (vocabularies.yaml "categories").
CATEGORY_METRICS = {
    "hei": "hei",
    "vet": "vet",
    "enterprises": "enterprise",
    "labour_market_actors": "labour_market_actor",
    "education_providers": "education_provider",
    "schools": "school",
}
COUNTING_ROLES = ("coordinator", "partner")


@dataclass(frozen=True, slots=True)
class Aggregates:
    """The batch after aggregation.

    ``partners``: every partner row with ``in_pool``, ``is_eu``,
    ``org`` (organisation identity within its proposal) and ``counted``.
    ``proposals``: one row per proposal with its context and metrics.
    ``countries``: one row per proposal and counted country, with the
    categories present there and the first row of that country.
    ``validated``: what they were aggregated from (the next stages need its
    sources and drafts).
    """

    partners: pl.DataFrame
    proposals: pl.DataFrame
    countries: pl.DataFrame
    validated: Validated


def organisation_identity(partners: pl.DataFrame) -> pl.Series:
    """A label per row, equal for rows that are the same organisation of a proposal.

    Rows linked by a shared OID or PIC are joined transitively (an OID row and
    a PIC row of the same organisation meet through a row that has both), by
    propagating the smallest row number over both links until nothing moves.
    """
    frame = partners.select(
        PKEY,
        pl.col(n("oid")).alias("oid"),
        pl.col(n("pic")).alias("pic"),
        pl.col("name_key"),
        pl.col(n("country")).alias("country"),
    ).with_row_index("label")
    frame = frame.with_columns(pl.col("label").cast(pl.Int64))
    no_id = pl.col("oid").is_null() & pl.col("pic").is_null()
    # The name and country join only rows with neither identifier (actions.md:
    # "(neither given) the same normalised legal name and country"): a row
    # with an OID is never this way the same as one without, whatever the order.
    frame = frame.with_columns(no_id.alias("_no_id")).with_columns(
        pl.when(pl.col("_no_id") & pl.col("name_key").is_not_null())
        .then(pl.col("label").min().over(PKEY, "name_key", "country", "_no_id"))
        .otherwise(pl.col("label"))
        .alias("label")
    )
    for _ in range(8):
        before = frame.get_column("label")
        frame = frame.with_columns(
            pl.when(pl.col("oid").is_not_null())
            .then(pl.col("label").min().over(PKEY, "oid"))
            .otherwise(pl.col("label"))
            .alias("label")
        ).with_columns(
            pl.when(pl.col("pic").is_not_null())
            .then(pl.col("label").min().over(PKEY, "pic"))
            .otherwise(pl.col("label"))
            .alias("label")
        )
        if frame.get_column("label").equals(before):
            break
    return frame.get_column("label").alias("org")


def aggregate(
    validated: Validated,
    pool_of: Mapping[str, str],
    pools: pl.DataFrame,
    eu_members: pl.DataFrame,
) -> Aggregates:
    """Metrics of every proposal of ``validated``.

    ``pool_of`` names the country pool of each action; ``pools`` holds
    (pool, country, from_year, until_year), ``eu_members`` (country,
    from_year, until_year).
    """
    partners = validated.partners
    proposals = _with_context(validated, pool_of)
    context = proposals.select(PKEY, "pool", "year", n("topic_region"))
    rows = partners.join(context, on=PKEY, how="left").with_columns(organisation_identity(partners))
    rows = _flag_membership(rows, pools, ["pool"], "in_pool")
    rows = _flag_membership(rows, eu_members, [], "is_eu")
    rows = rows.with_columns(
        (pl.col(n("role")).is_in(COUNTING_ROLES) & pl.col("in_pool")).alias("counted")
    )
    group = categories()
    counted = pl.col("counted")
    kind = pl.col(n("organisation_type"))
    per_proposal = rows.group_by(PKEY).agg(
        pl.col("org").filter(counted).n_unique().alias("organisations"),
        pl.col(n("country")).filter(counted).n_unique().alias("countries"),
        pl.col(n("country")).filter(counted & pl.col("is_eu")).n_unique().alias("eu_member_states"),
        *[
            pl.col("org").filter(counted & kind.is_in(group[category])).n_unique().alias(metric)
            for metric, category in CATEGORY_METRICS.items()
        ],
        (pl.col(n("role")) == "coordinator").sum().alias("coordinators"),
        # School-only (actions.md v2): every coordinator and full partner, from
        # any country, is a school (not only those that count).
        (
            pl.col(n("role")).is_in(COUNTING_ROLES).any()
            & (
                pl.col(n("role")).is_in(COUNTING_ROLES)
                & ~kind.is_in(group["school"]).fill_null(False)
            )
            .any()
            .not_()
        ).alias("schools_only"),
        pl.col(n("requested_grant_eur")).sum().alias("partners_grant_total"),
        # Grants "given" means given for a beneficiary: a 0 on an associated
        # partner alone does not make the partners' grants a budget to add up.
        (pl.col(n("requested_grant_eur")).is_not_null() & (pl.col(n("role")) != "associated"))
        .sum()
        .alias("partners_grant_count"),
        pl.len().alias("partner_rows"),
        # Every row's role, country and type understood, and its membership of the
        # pool known (not hanging on a call year not known): the counts can be trusted.
        pl.all_horizontal(
            pl.col(n("role")).is_not_null(),
            pl.col(n("country")).is_not_null(),
            pl.col(n("organisation_type")).is_not_null(),
            ~pl.col("in_pool_unsure"),
            ~pl.col("is_eu_unsure"),
        )
        .all()
        .alias("rows_clear"),
    )
    count_columns = [
        c
        for c in per_proposal.columns
        if c not in (PKEY, "partners_grant_total", "rows_clear", "schools_only")
    ]
    result = (
        proposals.join(per_proposal, on=PKEY, how="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in count_columns)
        .with_columns(pl.col("rows_clear").fill_null(True), pl.col("schools_only").fill_null(False))
        .with_columns(
            pl.col("organisations").alias("full_partners"),
            pl.col(n("duration_months")).alias("duration_months"),
            pl.col(n("requested_grant_eur")).alias("requested_grant_eur"),
        )
    )
    countries = country_categories(rows, counted)
    return Aggregates(rows, result, countries, validated)


def _with_context(validated: Validated, pool_of: Mapping[str, str]) -> pl.DataFrame:
    """The proposals with their action's pool and whether their partner table can be judged."""
    complete = {key: source.partners_complete for key, source in validated.sources.items()}
    return validated.projects.with_columns(
        pl.col(n("action"))
        .replace_strict(dict(pool_of), default=None, return_dtype=pl.String)
        .alias("pool"),
        pl.col(PKEY)
        .replace_strict(complete, default=False, return_dtype=pl.Boolean)
        .alias("partners_complete"),
    )


def country_categories(rows: pl.DataFrame, chosen: pl.Expr) -> pl.DataFrame:
    """Per proposal and country of the ``chosen`` rows: which categories are there
    (``has_<category>``) and the country's first row."""
    kind = pl.col(n("organisation_type"))
    return (
        rows.filter(chosen & pl.col(n("country")).is_not_null())
        .group_by(PKEY, n("country"))
        .agg(
            *[
                kind.is_in(codes).any().alias(f"has_{category}")
                for category, codes in categories().items()
            ],
            pl.col(ROW).min().alias("first_row"),
        )
        .sort(PKEY, "first_row")
    )


def _flag_membership(
    rows: pl.DataFrame, members: pl.DataFrame, keys: list[str], flag: str
) -> pl.DataFrame:
    """Add a boolean ``flag``: the row's country is a member (for its call year)."""
    table = members.rename({"country": n("country")}).with_columns(pl.lit(True).alias("_member"))
    year = pl.col("year")
    joined = rows.join(
        table.select(*keys, n("country"), "from_year", "until_year", "_member"),
        on=[*keys, n("country")],
        how="left",
    )
    member = pl.col("_member").fill_null(False)
    bounded = pl.col("from_year").is_not_null() | pl.col("until_year").is_not_null()
    within = (
        member
        & (pl.col("from_year").is_null() | (year >= pl.col("from_year")))
        & (pl.col("until_year").is_null() | (year <= pl.col("until_year")))
    ).fill_null(False)
    # A membership of some call years only (Serbia from 2019, the United Kingdom
    # until 2020) with the call year not known: not a member, and the row is
    # "unsure", so a count that fails without it is not judged (actions.md v2).
    unsure = member & bounded & year.is_null()
    return joined.with_columns(within.alias(flag), unsure.alias(f"{flag}_unsure")).drop(
        "from_year", "until_year", "_member"
    )
