"""Rules that look at several rows of a proposal at once, evaluated one by one.

EQF coverage, deadlines, the composition of every country, organisations
listed twice.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from auditor.aggregate import COUNTING_ROLES, country_categories
from auditor.core.findings import FindingDraft
from auditor.normalise.dates import parse_datetime, to_brussels
from auditor.normalise.frames import n
from auditor.read.model import PKEY, ROW, partner_place
from auditor.rules.context import Context, complete
from auditor.rules.model import RuleEntry, RuleSet


def eqf(ctx: Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    ranges = [(int(low), int(high)) for low, high in entry.params["ranges"]]
    # A value that is there but unreadable is an invalid-number finding already.
    unreadable = pl.col("eqf_levels").is_not_null() & pl.col(n("eqf_levels")).is_null()
    for pkey, raw, levels in (
        rows.filter(~unreadable).select(PKEY, "eqf_levels", n("eqf_levels")).rows()
    ):
        missing = [
            f"{low}-{high}"
            for low, high in ranges
            if not any(low <= lv <= high for lv in levels or [])
        ]
        expected = ", ".join(f"{low}-{high}" for low, high in ranges)
        ctx.check(pkey, ruleset, entry, not missing, raw, expected)
        if missing:
            ctx.finding(
                pkey,
                ruleset,
                entry,
                ctx.anchored(
                    pkey,
                    entry.rule,
                    value=raw,
                    expected=tuple(missing),
                    params={"variant": "missing" if raw is None else "default"},
                ),
            )


def deadline(ctx: Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    deadlines: dict[int, datetime] = {}
    for year, text in entry.params["deadlines"].items():
        moment = parse_datetime(str(text))
        if moment is not None:
            deadlines[int(year)] = moment
    for pkey, year, submitted in rows.select(PKEY, "year", n("submitted_at")).rows():
        if submitted is None or year not in deadlines:
            continue
        deadline = deadlines[year]
        local = to_brussels(submitted)
        passed = submitted <= deadline
        ctx.check(pkey, ruleset, entry, passed, local, deadline)
        if not passed:
            ctx.finding(
                pkey,
                ruleset,
                entry,
                ctx.anchored(
                    pkey,
                    entry.rule,
                    value=local.replace(tzinfo=None),
                    expected=deadline.replace(tzinfo=None),
                ),
            )


def per_country(ctx: Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    required = [str(c) for c in entry.params["require"]]
    scope = complete(rows).select(PKEY, "rows_clear")
    clear = dict(scope.rows())
    if entry.params.get("countries", "pool") == "involved":
        # Every country of the coordinator and the full partners, third countries too.
        full = pl.col(n("role")).is_in(COUNTING_ROLES)
        involved = ctx.aggregates.partners.join(scope, on=PKEY, how="semi")
        present = country_categories(involved, full)
    else:
        present = ctx.aggregates.countries
    countries = present.join(scope, on=PKEY, how="semi")
    failures: dict[str, list[tuple[str, str, int]]] = {}
    totals: dict[str, int] = {}
    for row in countries.iter_rows(named=True):
        pkey = row[PKEY]
        totals[pkey] = totals.get(pkey, 0) + 1
        for category in required:
            if not row[f"has_{category}"]:
                failures.setdefault(pkey, []).append(
                    (row[n("country")], category, row["first_row"])
                )
    for pkey in scope.get_column(PKEY).to_list():
        lacking = failures.get(pkey, [])
        countries_short = len({country for country, _, _ in lacking})
        total = totals.get(pkey, 0)
        if lacking and not clear[pkey]:  # see _compare: an unclear cell is the finding
            ctx.check(pkey, ruleset, entry, None, total - countries_short, total)
            continue
        ctx.check(pkey, ruleset, entry, not lacking, total - countries_short, total)
        table = ctx.sources[pkey].partners
        for country, category, first_row in lacking:
            ctx.finding(
                pkey,
                ruleset,
                entry,
                FindingDraft.at(
                    entry.rule,
                    partner_place(table, "country", first_row),
                    params={"country": country, "category": category},
                    value=country,
                    expected=category,
                ),
            )


def duplicates(ctx: Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    """The same OID or PIC twice in one proposal: every repeat after the first."""
    scope = rows.select(PKEY)
    partners = ctx.aggregates.partners.join(scope, on=PKEY, how="semi")
    counts: dict[str, int] = {}
    flagged: set[tuple[str, int]] = set()
    for key in ("oid", "pic"):
        ident = pl.col(n(key))
        repeats = (
            partners.filter(ident.is_not_null())
            .with_columns(pl.col(ROW).min().over(PKEY, ident).alias("_first"))
            .filter(pl.col(ROW) != pl.col("_first"))
            .sort(PKEY, ROW)
        )
        for row in repeats.iter_rows(named=True):
            pkey = row[PKEY]
            if (pkey, row[ROW]) in flagged:
                continue
            flagged.add((pkey, row[ROW]))
            counts[pkey] = counts.get(pkey, 0) + 1
            table = ctx.sources[pkey].partners
            ctx.finding(
                pkey,
                ruleset,
                entry,
                FindingDraft.at(
                    entry.rule,
                    partner_place(table, key, row[ROW]),
                    params={"other_row": row["_first"]},
                    value=row[key],
                ),
            )
    for pkey in scope.get_column(PKEY).to_list():
        ctx.check(pkey, ruleset, entry, counts.get(pkey, 0) == 0, counts.get(pkey, 0), 0)


def single_region(ctx: Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    """The third-country full partners all come from one region (CB-YOU 2024).

    A country's region is the numbered region that lists it (a window such as
    5a is part of its region); a country in no region has its own finding.
    """
    region_of = {
        country: region.id
        for region in ctx.book.regions.values()
        if region.id.isdigit()
        for country in region.countries
    }
    scope = complete(rows).select(PKEY)
    third = (
        ctx.aggregates.partners.join(scope, on=PKEY, how="semi")
        .filter(
            pl.col(n("role")).is_in(COUNTING_ROLES)
            & ~pl.col("in_pool")
            & ~pl.col("in_pool_unsure")
            & pl.col(n("country")).is_not_null()
        )
        .sort(PKEY, ROW)
    )
    seen: dict[str, dict[str, int]] = {}
    for pkey, country, row in third.select(PKEY, n("country"), ROW).rows():
        region = region_of.get(country)
        if region is not None:
            seen.setdefault(pkey, {}).setdefault(region, row)
    for pkey in scope.get_column(PKEY).to_list():
        regions = seen.get(pkey, {})
        ctx.check(pkey, ruleset, entry, len(regions) <= 1, len(regions), 1)
        if len(regions) > 1:
            table = ctx.sources[pkey].partners
            second_row = sorted(regions.values())[1]
            ctx.finding(
                pkey,
                ruleset,
                entry,
                FindingDraft.at(
                    entry.rule,
                    partner_place(table, "country", second_row),
                    params={"regions": ", ".join(sorted(regions, key=regions.__getitem__))},
                    value=len(regions),
                    expected=1,
                ),
            )
