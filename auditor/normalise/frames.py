"""Normalising the batch's raw frames in one go.

For every raw column ``key`` whose text has a canonical form, the normalised
value goes into ``n__<key>`` (null when the text cannot be understood, so the
schema can tell "empty" from "not understood"). Partner columns are mapped
through their distinct values only, which keeps a 200,000-row export cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import polars as pl

from auditor.normalise.countries import country_code
from auditor.normalise.dates import parse_datetime
from auditor.normalise.identifiers import clean_erasmus_code, erasmus_code_country
from auditor.normalise.numbers import (
    parse_amount,
    parse_levels,
    parse_whole,
    parse_year,
    split_list,
)
from auditor.normalise.text import clean_expr
from auditor.normalise.vocabulary import vocabulary

PREFIX = "n__"

ActionLookup = Callable[[str], tuple[str | None, int | None]]
# The action an action given with a Strand reads as (rule sets' ``strands``).
StrandLookup = Callable[[str, int], str | None]


def n(key: str) -> str:
    """Name of the column holding the normalised value of ``key``."""
    return PREFIX + key


def _map_unique(
    frame: pl.DataFrame, column: str, func: Callable[[str], Any], dtype: pl.DataType, out: str
) -> pl.Expr:
    values = frame.get_column(column).drop_nulls().unique().to_list()
    mapping = {value: func(value) for value in values}
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=dtype).alias(out)


def _amount_or_none(text: str) -> float | None:
    return parse_amount(text)


def normalise_partners(raw: pl.DataFrame) -> pl.DataFrame:
    """Clean every partner cell and add the ``n__`` columns.

    Adds: role, country (EU code), organisation type, OID, PIC, Erasmus code,
    requested grant, partner number, the Erasmus code's country, and a name
    key for recognising the same organisation written twice.
    """
    text_columns = [c for c in raw.columns if not c.startswith("_")]
    frame = raw.with_columns(clean_expr(c) for c in text_columns)
    roles, types = vocabulary("role"), vocabulary("organisation_type")
    return frame.with_columns(
        _map_unique(frame, "role", lambda v: roles.lookup(v), pl.String(), n("role")),
        _map_unique(frame, "country", country_code, pl.String(), n("country")),
        _map_unique(
            frame,
            "organisation_type",
            lambda v: types.lookup(v),
            pl.String(),
            n("organisation_type"),
        ),
        # Identifiers are nearly all distinct: cleaned by expressions, not mapped.
        pl.col("oid").str.replace_all(r"\s+", "").str.to_uppercase().alias(n("oid")),
        pl.col("pic").str.replace_all(r"\s+", "").str.replace(r"\.0$", "").alias(n("pic")),
        _map_unique(frame, "erasmus_code", clean_erasmus_code, pl.String(), n("erasmus_code")),
        _map_unique(
            frame, "requested_grant_eur", _amount_or_none, pl.Float64(), n("requested_grant_eur")
        ),
        _map_unique(frame, "partner_no", parse_whole, pl.Int64(), n("partner_no")),
        _map_unique(frame, "erasmus_code", erasmus_code_country, pl.String(), "erasmus_country"),
        # The normalised legal name (actions.md v2) for the same-name-and-country
        # test: compatibility forms and accents removed ("Università" is
        # "UNIVERSITA"), case folded ("ß" is "ss"), punctuation and spaces
        # collapsed. Names are nearly all distinct: vectorised, not mapped.
        pl.col("organisation_name")
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}+", "")
        .str.to_lowercase()
        .str.replace_all("ß", "ss")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .alias("name_key"),
    )


_LEADING_YEAR = re.compile(r"^(\d{4})(?!\d)")


def _utc(moment: datetime | None) -> datetime | None:
    # polars keeps one zone per column; UTC holds every instant, reports convert.
    return moment.astimezone(UTC) if moment is not None else None


# Regional call topics (ka2-other-actions.md 12-14): ...-CB-VET-NE, ...-CB-SMC,
# ...-CBHE-REGION-3. The suffix names the one region the topic admits.
_TOPIC_REGIONS = {"WB": "1", "NE": "2", "SMC": "3", "SSA": "9", "LA": "10", "CA": "11"}
_TOPIC = re.compile(r"-(?:REGION-(\d{1,2})|(WB|NE|SMC|SSA|LA|CA))\s*$", re.IGNORECASE)


def topic_region(text: str | None) -> str | None:
    """The region a regional call topic admits, or None (no topic, or not regional)."""
    match = _TOPIC.search(text or "")
    if match is None:
        return None
    return match.group(1) or _TOPIC_REGIONS[match.group(2).upper()]


def normalise_projects(
    raw: pl.DataFrame, lookup_action: ActionLookup, strand_action: StrandLookup | None = None
) -> pl.DataFrame:
    """Clean the project fields and add the ``n__`` columns and ``year``, the effective call year.

    One row per proposal, so this works row by row. The call year is the
    field when it is readable, otherwise the leading year of the proposal ID,
    the year in an action topic id (ERASMUS-EDU-2024-...), or the year of
    submission (workbook-format.md).
    """
    text_columns = [c for c in raw.columns if not c.startswith("_")]
    frame = raw.with_columns(clean_expr(c) for c in text_columns)
    ecosystems = vocabulary("industrial_ecosystem")
    partnership_types = vocabulary("partnership_type")
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            n("action"),
            n("call_year"),
            n("duration_months"),
            n("requested_grant_eur"),
            n("start_date"),
            n("submitted_at"),
            n("eqf_levels"),
            n("industrial_ecosystem"),
            "ecosystem_count",
            n("priorities"),
            n("partnership_type"),
            n("strand"),
            n("number_of_sports"),
            n("topic_region"),
            "year",
        )
    }
    for row in frame.iter_rows(named=True):
        action, topic_year = lookup_action(row["action"]) if row["action"] else (None, None)
        call_year = parse_year(row["call_year"])
        submitted = parse_datetime(row["submitted_at"])
        start = parse_datetime(row["start_date"])
        named = split_list(row["industrial_ecosystem"])
        codes = [ecosystems.lookup(name) for name in named]
        effective = call_year
        if effective is None and row["proposal_id"]:
            match = _LEADING_YEAR.match(row["proposal_id"])
            effective = parse_year(match.group(1)) if match else None
        if effective is None:
            effective = topic_year
        if effective is None and submitted is not None:
            effective = submitted.year
        strand = parse_whole(row.get("strand"))
        # An action with its Strand may be the strand's own (actions.md 12: CBHE-S1 ... S3).
        if action is not None and strand is not None and strand_action is not None:
            # A strand the action does not have leaves it as it is: validation
            # says so (schemas/project.yaml required_for).
            action = strand_action(action, strand) or action
        columns[n("action")].append(action)
        columns[n("call_year")].append(call_year)
        columns[n("duration_months")].append(parse_whole(row["duration_months"]))
        columns[n("requested_grant_eur")].append(parse_amount(row["requested_grant_eur"]))
        columns[n("start_date")].append(_utc(start))
        columns[n("submitted_at")].append(_utc(submitted))
        columns[n("eqf_levels")].append(parse_levels(row["eqf_levels"]))
        columns[n("industrial_ecosystem")].append(
            codes[0] if len(codes) == 1 and codes[0] is not None else None
        )
        columns["ecosystem_count"].append(len(named))
        columns[n("priorities")].append(len(split_list(row["priorities"])))
        columns[n("partnership_type")].append(
            partnership_types.lookup(row["partnership_type"]) if row["partnership_type"] else None
        )
        columns[n("strand")].append(strand)
        columns[n("number_of_sports")].append(parse_whole(row.get("number_of_sports")))
        columns[n("topic_region")].append(topic_region(row.get("topic_id") or row["action"]))
        columns["year"].append(effective)
    moment = pl.Datetime("us", "UTC")
    return frame.with_columns(
        pl.Series(n("action"), columns[n("action")], dtype=pl.String),
        pl.Series(n("call_year"), columns[n("call_year")], dtype=pl.Int64),
        pl.Series(n("duration_months"), columns[n("duration_months")], dtype=pl.Int64),
        pl.Series(n("requested_grant_eur"), columns[n("requested_grant_eur")], dtype=pl.Float64),
        pl.Series(n("start_date"), columns[n("start_date")], dtype=moment, strict=False),
        pl.Series(n("submitted_at"), columns[n("submitted_at")], dtype=moment, strict=False),
        pl.Series(n("eqf_levels"), columns[n("eqf_levels")], dtype=pl.List(pl.Int64)),
        pl.Series(n("industrial_ecosystem"), columns[n("industrial_ecosystem")], dtype=pl.String),
        pl.Series("ecosystem_count", columns["ecosystem_count"], dtype=pl.Int64),
        pl.Series(n("priorities"), columns[n("priorities")], dtype=pl.Int64),
        pl.Series(n("partnership_type"), columns[n("partnership_type")], dtype=pl.String),
        pl.Series(n("strand"), columns[n("strand")], dtype=pl.Int64),
        pl.Series(n("number_of_sports"), columns[n("number_of_sports")], dtype=pl.Int64),
        pl.Series(n("topic_region"), columns[n("topic_region")], dtype=pl.String),
        pl.Series("year", columns["year"], dtype=pl.Int64),
    )
