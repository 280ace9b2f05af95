"""Proposals written as compact data: the catalogue's rule examples (which
``auditor explain`` judges and shows), and the test cases and samples.

A spec names a base proposal of the catalogue and changes it::

    {base: ka220, project: {duration_months: 48}, add: ["partner|UA|NGO"]}

A partner is ``"role|country|type"`` with ``|key=value`` extras (name, oid,
pic, erasmus_code, grant, justification, city). A partner without an OID
gets a made-up one (``E1000000n`` for the n-th partner), unless ``oid=``
says it has none.

:func:`batch_from_specs` turns specs into exactly what the reader produces for
a workbook in the template's layout (same sheets, rows and columns), so an
example is checked the same way a file is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from auditor.core.findings import Cell, column_letter
from auditor.read.model import (
    PKEY,
    ROW,
    FileRead,
    PartnerTable,
    ProposalSource,
    ReadBatch,
    empty_partners,
    empty_projects,
    partner_keys,
    project_keys,
)

# The template's layout: Project fields from row 2 (labels in A, values in B);
# the partner table's header on row 1 of Partners, columns in declaration order.
PROJECT_FIRST_ROW = 2
PARTNER_HEADER_ROW = 1
_PARTNER_SHORT = {
    "type": "organisation_type",
    "name": "organisation_name",
    "grant": "requested_grant_eur",
}


def partner_columns() -> tuple[str, ...]:
    """The partner table's columns in the template, without the export's Proposal ID."""
    return tuple(k for k in partner_keys() if k != "proposal_id")


def project_rows() -> tuple[str, ...]:
    return project_keys()


def parse_partner(text: str, number: int) -> dict[str, str | None]:
    """``"partner|BE|HEI|erasmus_code=B  GENT01"`` as a partner row."""
    parts = [part.strip() for part in text.split("|")]
    role, country, kind = ([*parts, "", "", ""])[:3]
    extras = parts[3:]
    row: dict[str, str | None] = {
        "partner_no": str(number),
        "role": role or None,
        "country": country or None,
        "organisation_type": kind or None,
        "organisation_name": f"{kind.title().replace('_', ' ')} {country} {number}"
        if kind
        else None,
        "oid": f"E{10000000 + number}",
    }
    for extra in extras:
        key, _, value = extra.partition("=")
        row[_PARTNER_SHORT.get(key, key)] = value if value != "" else None
    return row


def expand(spec: Mapping[str, Any], bases: Mapping[str, Any]) -> dict[str, Any]:
    """A spec with its base applied: project fields plus a list of partner rows."""
    base: dict[str, Any] = dict(bases[spec["base"]]) if "base" in spec else {}
    partners = list(spec.get("partners", base.pop("partners", [])))
    base.pop("partners", None)
    partners.extend(spec.get("add", []))
    project = {
        **base,
        **{k: v for k, v in spec.items() if k not in ("base", "partners", "add", "project")},
    }
    project.update(spec.get("project", {}))
    project.setdefault("proposal_id", _proposal_id(project))
    rows = [
        parse_partner(p, i + 1) if isinstance(p, str) else {"partner_no": str(i + 1), **p}
        for i, p in enumerate(partners)
    ]
    return {"project": {k: _text(v) for k, v in project.items()}, "partners": rows}


def _proposal_id(project: Mapping[str, Any]) -> str:
    year = project.get("call_year", 2024)
    action = str(project.get("action", "KA220-SCH"))
    return f"{year}-1-NL01-{action}-000000001"


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def batch_from_specs(
    specs: Sequence[Mapping[str, Any]], bases: Mapping[str, Any], name: str = "example"
) -> ReadBatch:
    """A read batch holding one template-layout workbook per spec."""
    batch = ReadBatch()
    project_data: list[dict[str, str | None]] = []
    partner_data: list[dict[str, Any]] = []
    columns = partner_columns()
    letters = {key: column_letter(i + 1) for i, key in enumerate(columns)}
    for index, spec in enumerate(specs):
        proposal = expand(spec, bases)
        pkey = f"{index}:0"
        file = f"{name}-{index + 1}.xlsx"
        cells = {key: Cell("B", PROJECT_FIRST_ROW + i) for i, key in enumerate(project_rows())}
        batch.sources[pkey] = ProposalSource(
            pkey=pkey,
            file=file,
            relative=file,
            layout="single",
            project_sheet="Project",
            project_cells=cells,
            project_row=None,
            partners=PartnerTable("Partners", PARTNER_HEADER_ROW, letters),
        )
        batch.files.append(FileRead(file=file, relative=file, index=index, proposals=[pkey]))
        project_data.append({PKEY: pkey, **{k: proposal["project"].get(k) for k in project_keys()}})
        for offset, row in enumerate(proposal["partners"]):
            partner_data.append(
                {
                    PKEY: pkey,
                    ROW: PARTNER_HEADER_ROW + 1 + offset,
                    **{k: _text(row.get(k)) for k in partner_keys()},
                }
            )
    batch.projects = (
        pl.from_dicts(project_data, schema=empty_projects().schema)
        if project_data
        else (empty_projects())
    )
    batch.partners = (
        pl.from_dicts(partner_data, schema=empty_partners().schema)
        if partner_data
        else (empty_partners())
    )
    return batch
