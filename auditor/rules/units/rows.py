"""Rules on partner rows: each failing row is a finding on its own cell.

All row rules of a rule set are computed in one query (``failing_rows``);
the ECHE holders list is joined onto the rows when a rule reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from string import ascii_lowercase
from typing import Any

import polars as pl

from auditor.core.findings import FindingDraft
from auditor.normalise.frames import n
from auditor.normalise.vocabulary import categories
from auditor.read.model import PKEY, ROW, partner_place
from auditor.rules.context import ALL_ROLES, Context
from auditor.rules.model import Admitted, RuleBook, RuleEntry, RuleSet
from auditor.rules.register import code_key


@dataclass(frozen=True, slots=True)
class RowRule:
    """A check on partner rows: which rows fail, and which cell to show.

    ``register``: the rule reads the ECHE holders list, joined onto the rows
    (``_with_register``). ``locate`` picks the cell per row where the column
    at fault differs from row to row; ``expected`` is what the row should hold.
    """

    failing: Callable[[RuleEntry, RuleBook], pl.Expr]
    column: str
    fallback: str = "organisation_name"
    params: Callable[[dict[str, Any]], dict[str, Any]] = lambda row: {"country": row[n("country")]}
    value_column: str | None = None
    register: bool = False
    locate: Callable[[dict[str, Any]], str] | None = None
    expected: Callable[[dict[str, Any]], Any] | None = None
    # The rule a failing row is a finding of, where it is not the entry's own
    # (a region limit: an error, or a warning where the region is not
    # confirmed), and what its message adds.
    rule_of: Callable[[dict[str, Any], RuleEntry, RuleBook], tuple[str, dict[str, Any]]] | None = (
        None
    )


def admitted(entry: RuleEntry, book: RuleBook, topic: str | None = None) -> Admitted:
    """What the entry's region limit admits (``regions``, ``excluded``); with
    ``topic: true``, a regional call topic admits its own region only."""
    regions = tuple(str(r) for r in entry.params.get("regions", ["1", "2", "3"]))
    if topic is not None and entry.params.get("topic"):
        # The topic narrows the action's regions (Region 5 to the action's
        # window 5a), never widens them: a topic of a region the action does
        # not admit admits no third country.
        regions = tuple(r for r in regions if r == topic or r.rstrip(ascii_lowercase) == topic)
    excluded = tuple(str(c) for c in entry.params.get("excluded", ["BY"]))
    return book.admitted(regions, excluded)


def _topic_of(row: dict[str, Any]) -> str | None:
    topic: str | None = row.get("_topic") and row[n("topic_region")]
    return topic


def _region_admits(entry: RuleEntry, book: RuleBook) -> pl.Expr:
    """Whether a row's country is confirmed in a region the limit admits: its
    topic's region where the entry follows topics and the proposal has one."""
    country = pl.col(n("country"))
    usual = country.is_in(sorted(admitted(entry, book).confirmed))
    if not entry.params.get("topic"):
        return usual
    topic = pl.col(n("topic_region"))
    expression: Any = pl.when(topic.is_null()).then(usual)
    for region in sorted(book.regions):
        expression = expression.when(topic == region).then(
            country.is_in(sorted(admitted(entry, book, region).confirmed))
        )
    result: pl.Expr = expression.otherwise(False)
    return result


def _region_rule(
    row: dict[str, Any], entry: RuleEntry, book: RuleBook
) -> tuple[str, dict[str, Any]]:
    """A region limit's failing row: an error where the country is certainly
    outside; a warning where only unconfirmed data place it, or where only a
    regional topic's reading that is not confirmed (``topic_confirm``) keeps it out."""
    country, topic = row[n("country")], _topic_of(row)
    if not admitted(entry, book, topic).certainly_out(country):
        return "region-unconfirmed", {}
    unsure = entry.params.get("topic_confirm")
    if topic and unsure and not admitted(entry, book).certainly_out(country):
        return "region-unconfirmed", {"variant": "topic", "topic": topic, "confirm": unsure}
    return "third-country-region", {}


def roles(entry: RuleEntry, default: tuple[str, ...]) -> list[str]:
    return [str(r) for r in entry.params.get("roles", default)]


# Outside the pool for sure: a membership that hangs on a call year not known
# is neither in nor out (aggregate: in_pool_unsure).
OUTSIDE = ~pl.col("in_pool") & ~pl.col("in_pool_unsure") & pl.col(n("country")).is_not_null()


def _coordinator_outside(entry: RuleEntry, book: RuleBook) -> pl.Expr:
    """A coordinator from a country that may not coordinate the action.

    The pool may coordinate, and where the action says so also any third
    country (``third_countries: true``) or those of some regions
    (``regions``); ``excluded`` countries never (CB-YOU 2024: AM, AZ).
    """
    country = pl.col(n("country"))
    allowed = ~OUTSIDE
    if entry.params.get("third_countries"):
        allowed = allowed | country.is_not_null()
    elif "regions" in entry.params:
        admitted = book.admitted(tuple(str(r) for r in entry.params["regions"]), ())
        allowed = allowed | country.is_in(sorted(admitted.confirmed))
    refused = country.is_in([str(c) for c in entry.params.get("excluded", [])])
    return (pl.col(n("role")) == "coordinator") & country.is_not_null() & (~allowed | refused)


def _types_of(entry: RuleEntry) -> list[str]:
    group = categories()
    return [code for name in entry.params["allowed"] for code in group.get(name, (name,))]


def _type_not_allowed(entry: RuleEntry, default_roles: tuple[str, ...]) -> pl.Expr:
    kind = pl.col(n("organisation_type"))
    return (
        pl.col(n("role")).is_in(roles(entry, default_roles))
        & kind.is_not_null()
        & ~kind.is_in(_types_of(entry))
    )


def _type_params(row: dict[str, Any]) -> dict[str, Any]:
    return {"type": row[n("organisation_type")], "vocabulary": "organisation_type"}


ROW_RULES: dict[str, RowRule] = {
    "coordinator-country": RowRule(failing=_coordinator_outside, column="country"),
    "coordinator-type": RowRule(
        failing=lambda e, book: _type_not_allowed(e, ("coordinator",)),
        column="organisation_type",
        params=_type_params,
        expected=lambda row: tuple(row["_allowed"]),
    ),
    "partner-type": RowRule(
        failing=lambda e, book: _type_not_allowed(e, ("coordinator", "partner", "affiliated")),
        column="organisation_type",
        params=_type_params,
        expected=lambda row: tuple(row["_allowed"]),
    ),
    "country-excluded": RowRule(
        failing=lambda e, book: (
            pl.col(n("role")).is_in(roles(e, ALL_ROLES))
            & pl.col(n("country")).is_in([str(c) for c in e.params["countries"]])
        ),
        column="country",
    ),
    "third-country-full-partner": RowRule(
        failing=lambda e, book: (
            OUTSIDE & pl.col(n("role")).is_in(roles(e, ("partner", "affiliated")))
        ),
        column="role",
    ),
    "mono-beneficiary-grant": RowRule(
        failing=lambda e, book: (
            (pl.col(n("role")) != "coordinator")
            & (pl.col(n("requested_grant_eur")).fill_null(0) > 0)
        ),
        column="requested_grant_eur",
        value_column=n("requested_grant_eur"),
    ),
    "third-country-justification": RowRule(
        failing=lambda e, book: (
            OUTSIDE
            & pl.col(n("role")).is_in(roles(e, ALL_ROLES))
            & pl.col("justification").is_null()
        ),
        column="justification",
        fallback="country",
    ),
    "third-country-not-allowed": RowRule(
        failing=lambda e, book: OUTSIDE & pl.col(n("role")).is_in(roles(e, ALL_ROLES)),
        column="country",
    ),
    "third-country-region": RowRule(
        failing=lambda e, book: (
            OUTSIDE
            & pl.col(n("role")).is_in(roles(e, ("partner", "affiliated")))
            & ~_region_admits(e, book)
        ),
        column="country",
        params=lambda row: {
            "country": row[n("country")],
            "from_year": str(row["_from_year"]),
            "regions": _topic_of(row) or row["_regions"],
        },
        rule_of=lambda row, e, book: _region_rule(row, e, book),
    ),
    "associated-partner-grant": RowRule(
        failing=lambda e, book: (
            (pl.col(n("role")) == "associated")
            & (pl.col(n("requested_grant_eur")).fill_null(0) > 0)
        ),
        column="requested_grant_eur",
        value_column=n("requested_grant_eur"),
    ),
    "eche-required": RowRule(
        failing=lambda e, book: (
            (pl.col(n("organisation_type")) == "HEI")
            & pl.col("in_pool")
            & pl.col(n("role")).is_in(roles(e, ("coordinator", "partner", "affiliated")))
            & pl.col("erasmus_code").is_null()
        ),
        column="erasmus_code",
        # The list knows the institution by its OID or PIC: say which code to enter.
        params=lambda row: (
            {"variant": "listed", "list_date": row["_list_date"], "code": _suggested(row)}
            if _suggested(row)
            else {}
        ),
        register=True,
        expected=lambda row: _suggested(row),
    ),
    "eche-not-found": RowRule(
        failing=lambda e, book: (
            (pl.col(n("organisation_type")) == "HEI")
            & pl.col("erasmus_country").is_not_null()
            & pl.col("eche_code").is_null()
        ),
        column="erasmus_code",
        params=lambda row: {"list_date": row["_list_date"]},
        register=True,
    ),
    "eche-identity-mismatch": RowRule(
        failing=lambda e, book: (
            pl.col("eche_code").is_not_null() & pl.col("_eche_differs").is_not_null()
        ),
        column="erasmus_code",
        params=lambda row: {
            "variant": row["_eche_differs"],
            "list_date": row["_list_date"],
            "code": row["eche_code"],
            "listed": row[f"eche_{row['_eche_differs']}"],
            "listed_name": row["eche_name"] or "",
            "country": row[n("country")],
            "code_country": row["eche_country"],
        },
        register=True,
        locate=lambda row: str(row["_eche_differs"]),
        value_column="_eche_value",
    ),
    "erasmus-code-country": RowRule(
        failing=lambda e, book: (
            pl.col("erasmus_country").is_not_null()
            & pl.col(n("country")).is_not_null()
            & (pl.col("erasmus_country") != pl.col(n("country")))
        ),
        column="erasmus_code",
        params=lambda row: {"country": row[n("country")], "code_country": row["erasmus_country"]},
    ),
}


def _suggested(row: dict[str, Any]) -> str | None:
    code: str | None = row["eche_code_by_oid"] or row["eche_code_by_pic"]
    return code


# Which identity the ECHE list gives an Erasmus code otherwise than the row
# does, the first of OID, PIC, country. A country is only at odds when the
# code's prefix agrees with the row (else erasmus-code-country says it).
_IDENTITIES = (
    ("oid", pl.col(n("oid")), pl.col("eche_oid")),
    ("pic", pl.col(n("pic")), pl.col("eche_pic")),
    ("country", pl.col(n("country")), pl.col("eche_country")),
)
# The cells a contradicted identity is shown with, as the row gives them.
_RAW = [name for name, _, _ in _IDENTITIES]


def _register_view(partners: pl.LazyFrame, book: RuleBook) -> pl.LazyFrame:
    """What the ECHE list says of the rows the register rules read (a code
    given, or a higher education institution), by proposal and row: the
    list's code, OID, PIC, country and name, the code it gives the row's OID
    or PIC, and which identity of the row it contradicts."""
    register = book.register
    differs = pl.lit(None, pl.String)
    value = pl.lit(None, pl.String)
    for name, given, listed in reversed(_IDENTITIES):
        at_odds = given.is_not_null() & listed.is_not_null() & (given != listed)
        if name == "country":
            at_odds = at_odds & (pl.col("erasmus_country") == given)
        differs = pl.when(at_odds).then(pl.lit(name)).otherwise(differs)
        value = pl.when(at_odds).then(pl.col(name).cast(pl.String)).otherwise(value)
    by_oid, by_pic = book.compiled(
        "register_by_identifier",
        lambda: (register.by_identifier("oid"), register.by_identifier("pic")),
    )
    read = [n("erasmus_code"), n("oid"), n("pic"), n("country"), "erasmus_country", *_RAW]
    return (
        partners.filter(
            pl.col(n("erasmus_code")).is_not_null() | (pl.col(n("organisation_type")) == "HEI")
        )
        .select(PKEY, ROW, *read)
        .with_columns(code_key(pl.col(n("erasmus_code"))).alias("eche_key"))
        .join(register.frame.lazy(), on="eche_key", how="left")
        .join(by_oid.lazy(), left_on=n("oid"), right_on="_by", how="left")
        .join(by_pic.lazy(), left_on=n("pic"), right_on="_by", how="left")
        .with_columns(differs.alias("_eche_differs"), value.alias("_eche_value"))
        .drop(*read, "eche_key")
    )


def row_findings(
    ctx: Context, ruleset: RuleSet, entry: RuleEntry, failing: list[dict[str, Any]]
) -> dict[str, int]:
    """The findings of a row rule's failing rows (ordered by proposal and row), counted."""
    spec = ROW_RULES[entry.rule]
    extra = {
        "_allowed": [str(a) for a in entry.params.get("allowed", [])],
        "_from_year": entry.params.get("from_year"),
        "_list_date": ctx.book.register.date,
        "_regions": tuple(str(r) for r in entry.params.get("regions", ["1", "2", "3"])),
        "_topic": bool(entry.params.get("topic")),
    }
    counts: dict[str, int] = {}
    for row in failing:
        pkey = row[PKEY]
        rule, more = (
            spec.rule_of({**row, **extra}, entry, ctx.book) if spec.rule_of else (entry.rule, {})
        )
        if rule == entry.rule:  # a warning of another rule does not fail this one
            counts[pkey] = counts.get(pkey, 0) + 1
        table = ctx.sources[pkey].partners
        place = partner_place(table, spec.locate(row) if spec.locate else spec.column, row[ROW])
        if place.cell is None and table is not None:  # the column is absent: its fallback
            place = partner_place(table, spec.fallback, row[ROW])
        column = place.column or spec.column
        ctx.finding(
            pkey,
            ruleset,
            entry,
            FindingDraft.at(
                rule,
                place,
                params={**spec.params({**row, **extra}), **more},
                value=row[spec.value_column or column],
                expected=spec.expected({**row, **extra}) if spec.expected else None,
            ),
        )
    return counts


def failing_rows(
    ctx: Context,
    entries: dict[int, RuleEntry],
    conditions: dict[int, pl.Expr],
    masks: pl.DataFrame,
) -> dict[int, list[dict[str, Any]]]:
    """Each row rule's failing partner rows, from one query for the rule set.

    ``conditions`` holds each row rule's ``RowRule.failing`` expression, and
    ``masks``, per proposal, ``_w<i>``: whether row rule ``i`` applies.
    """
    failing = {i: pl.col(f"_w{i}") & conditions[i] for i in entries}
    partners = ctx.aggregates.partners.lazy()
    if any(ROW_RULES[e.rule].register for e in entries.values()):
        # Looked up once per batch, for the rows that give a code or are an
        # HEI only, whichever rule sets read the register.
        if "register" not in ctx.derived:
            ctx.derived["register"] = _register_view(partners, ctx.book).collect()
        partners = partners.join(ctx.derived["register"].lazy(), on=[PKEY, ROW], how="left")
    rows = (
        partners.join(masks.lazy(), on=PKEY, how="inner")
        .with_columns(expression.alias(f"_f{i}") for i, expression in failing.items())
        .filter(pl.any_horizontal(f"_f{i}" for i in entries))
        .sort(PKEY, ROW)
        .collect()
    )
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in entries}
    for row in rows.iter_rows(named=True):
        for i in entries:
            if row[f"_f{i}"]:
                found[i].append(row)
    return found
