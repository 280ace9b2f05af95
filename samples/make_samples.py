"""Write the sample workbooks in this folder.

    python samples/make_samples.py            # rewrites samples/*.xlsx

Every action has an eligible and an ineligible proposal; some files are tidy
(the template's layout), some untidy the way real files are (Dutch headers,
title rows, shuffled and extra columns, blank rows, notes under the table,
numbers and dates as text, formulas with cached values); one agency export
holds several proposals; one file is broken. Higher education institutions
are real ones, with their identifiers from the Commission's ECHE holders list
(``auditor/data/eche-holders-2021-2027.csv``); other organisations are made up.

The writer functions are also used by the tests and the benchmark.
"""

from __future__ import annotations

import csv
import random
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Font

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auditor.core.tables import table_spec  # noqa: E402
from auditor.normalise.countries import country_code  # noqa: E402
from auditor.report.excel import put  # noqa: E402  (text stays text, as in real files)
from auditor.rules.examples import expand, partner_columns, project_rows  # noqa: E402

ECHE = ROOT / "auditor" / "data" / "eche-holders-2021-2027.csv"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Style:
    """How untidy a written workbook is."""

    lang: str = "en"
    title_rows: int = 0  # title and blank rows above the partner table
    start_column: int = 1  # 1 = column A
    shuffle_columns: bool = False
    extra_columns: tuple[str, ...] = ()
    blank_rows_between: bool = False
    notes_below: bool = False
    partner_sheet_name: str | None = None
    project_title: bool = False
    hidden_sheet: bool = False
    seed: int = 0
    column_labels: Mapping[str, str] = field(default_factory=dict)


def label(key: str, table: str, lang: str) -> str:
    return table_spec(table).columns[key].label(lang)


def write_proposal(path: Path, proposal: Mapping[str, Any], style: Style = Style()) -> None:
    """One proposal per workbook: a Project sheet and a Partners sheet."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = table_spec("project").sheet.label(style.lang)
    first = 1
    if style.project_title:
        sheet.cell(1, 1, "Erasmus+ " + ("aanvraag" if style.lang == "nl" else "proposal"))
        sheet.cell(1, 1).font = Font(bold=True, size=14)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=3)
        first = 3
    else:
        sheet.cell(1, 1, "Field" if style.lang == "en" else "Veld").font = Font(bold=True)
        sheet.cell(1, 2, "Value" if style.lang == "en" else "Waarde").font = Font(bold=True)
        first = 2
    for offset, key in enumerate(project_rows()):
        sheet.cell(first + offset, 1, label(key, "project", style.lang))
        value = proposal["project"].get(key)
        if value is not None:
            put(sheet, first + offset, 2, _cell_value(key, value))
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 44
    partners = workbook.create_sheet(
        style.partner_sheet_name or table_spec("partners").sheet.label(style.lang)
    )
    _partner_table(partners, proposal["partners"], style, include_proposal_id=False)
    if style.hidden_sheet:
        hidden = workbook.create_sheet("Lists")
        hidden.sheet_state = "hidden"
        hidden["A1"] = "coordinator"
    workbook.save(path)


def _cell_value(key: str, value: Any) -> Any:
    """Numbers stay numbers unless the spec wrote them as text on purpose."""
    if isinstance(value, str) and key in ("duration_months", "call_year") and value.isdigit():
        return int(value)
    if isinstance(value, str) and key == "requested_grant_eur" and value.isdigit():
        return int(value)
    return value


def _partner_table(
    sheet: Any,
    rows: Sequence[Mapping[str, Any]],
    style: Style,
    include_proposal_id: bool,
    proposal_ids: Sequence[str] | None = None,
) -> None:
    columns = list(partner_columns())
    if include_proposal_id:
        columns.insert(0, "proposal_id")
    columns = [
        c
        for c in columns
        if c
        in (
            "proposal_id",
            "partner_no",
            "role",
            "organisation_name",
            "oid",
            "pic",
            "country",
            "organisation_type",
        )
        or any(r.get(c) for r in rows)
    ]
    if style.shuffle_columns:
        random.Random(style.seed).shuffle(columns)
    headers = [style.column_labels.get(c) or label(c, "partners", style.lang) for c in columns]
    headers += list(style.extra_columns)
    row_number = 1
    if style.title_rows:
        sheet.cell(
            1,
            style.start_column,
            "Partnerorganisaties" if style.lang == "nl" else "Partner organisations",
        )
        sheet.cell(1, style.start_column).font = Font(bold=True, size=13)
        row_number = style.title_rows + 1
    for offset, header in enumerate(headers):
        cell = sheet.cell(row_number, style.start_column + offset, header)
        cell.font = Font(bold=True)
    for index, row in enumerate(rows):
        row_number += 1
        if style.blank_rows_between and index == 1:
            row_number += 1
        for offset, key in enumerate(columns):
            if key == "proposal_id":
                value: Any = (proposal_ids or [""])[index]
            else:
                value = row.get(key)
            if value is None:
                continue
            if key == "partner_no" and str(value).isdigit():
                value = int(value)
            put(sheet, row_number, style.start_column + offset, value)
        for offset, _extra in enumerate(style.extra_columns):
            sheet.cell(
                row_number,
                style.start_column + len(columns) + offset,
                f"contact{index + 1}@example.org",
            )
    if style.notes_below:
        sheet.cell(
            row_number + 2,
            style.start_column,
            "Opmerking: gegevens volgens het PIC-register."
            if style.lang == "nl"
            else "Note: data as in the Participant Register.",
        )
    for offset in range(len(headers)):
        letter = openpyxl.utils.get_column_letter(style.start_column + offset)
        sheet.column_dimensions[letter].width = 22


def write_export(
    path: Path,
    proposals: Sequence[Mapping[str, Any]],
    lang: str = "en",
    unlisted: Sequence[Mapping[str, Any]] = (),
) -> None:
    """An agency export: a Proposals sheet (one row each) and one Partners sheet for all.

    The partner rows of ``unlisted`` proposals are written, the proposals are not.
    """
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = table_spec("project").list_sheet.label(lang)  # type: ignore[union-attr]
    keys = list(project_rows())
    for offset, key in enumerate(keys):
        sheet.cell(1, offset + 1, label(key, "project", lang)).font = Font(bold=True)
    for index, proposal in enumerate(proposals):
        for offset, key in enumerate(keys):
            value = proposal["project"].get(key)
            if value is not None:
                sheet.cell(index + 2, offset + 1, _cell_value(key, value))
    partners = workbook.create_sheet(table_spec("partners").sheet.label(lang))
    rows: list[Mapping[str, Any]] = []
    ids: list[str] = []
    for proposal in [*proposals, *unlisted]:
        for row in proposal["partners"]:
            rows.append(row)
            ids.append(proposal["project"]["proposal_id"])
    _partner_table(partners, rows, Style(lang=lang), include_proposal_id=True, proposal_ids=ids)
    workbook.save(path)


def write_with_formulas(path: Path, proposal: Mapping[str, Any]) -> None:
    """A workbook saved the way Excel saves it: shared strings and formulas with cached values.

    The partner numbers are formulas (=ROW()-1), and so is the requested grant
    on the Project sheet (the sum of the partners' grants); each carries its
    computed value, as Excel stores it.
    """
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})  # no temporary files
    bold = workbook.add_format({"bold": True})
    project = workbook.add_worksheet("Project")
    partners = workbook.add_worksheet("Partners")
    columns = [c for c in partner_columns() if any(r.get(c) for r in proposal["partners"])]
    for offset, key in enumerate(columns):
        partners.write(0, offset, label(key, "partners", "en"), bold)
    grant_column = columns.index("requested_grant_eur")
    total = 0
    for index, row in enumerate(proposal["partners"]):
        for offset, key in enumerate(columns):
            value = row.get(key)
            if key == "partner_no":
                partners.write_formula(index + 1, offset, "=ROW()-1", None, index + 1)
            elif key == "requested_grant_eur" and value is not None:
                partners.write_number(index + 1, offset, float(value))
                total += float(value)
            elif value is not None:
                partners.write_string(index + 1, offset, str(value))
    project.write(0, 0, "Field", bold)
    project.write(0, 1, "Value", bold)
    letter = xlsxwriter.utility.xl_col_to_name(grant_column)
    for offset, key in enumerate(project_rows()):
        project.write_string(offset + 1, 0, label(key, "project", "en"))
        value = proposal["project"].get(key)
        if key == "requested_grant_eur":
            last = len(proposal["partners"]) + 1
            project.write_formula(
                offset + 1, 1, f"=SUM(Partners!{letter}2:{letter}{last})", None, total
            )
        elif value is not None:
            project.write(offset + 1, 1, _cell_value(key, value))
    workbook.close()


# ------------------------------------------------ real higher education institutions


@cache
def _eche_rows() -> list[dict[str, str]]:
    with ECHE.open(encoding="utf-8", newline="") as handle:
        return [
            row
            for row in csv.DictReader(handle, delimiter=";")
            if row["OID"].startswith("E") and row["Pic"].isdigit()
        ]


def hei(country: str, number: int = 0) -> dict[str, str]:
    """The ``number``-th ECHE holder of ``country`` as partner fields."""
    found = [r for r in _eche_rows() if r["Country Cd"] == country]
    row = found[number % len(found)]
    return {
        "organisation_name": " ".join(row["Legal Name"].split()),
        "oid": row["OID"],
        "pic": row["Pic"],
        "erasmus_code": row["Erasmus Code"].replace("\u00a0", " "),
        "city": row["City"].strip().title(),
    }


def org(role: str, country: str, kind: str, name: str, **extra: Any) -> dict[str, Any]:
    """A made-up organisation.

    Its OID and PIC are fictitious but well formed, and derived from its name
    and country, so the same organisation always gets the same identifiers.
    """
    serial = zlib.crc32(f"{name}|{country}".encode())
    row: dict[str, Any] = {
        "role": role,
        "country": country,
        "organisation_type": kind,
        "organisation_name": name,
        "oid": f"E1{serial % 10**7:07d}",
        "pic": f"8{serial % 10**8:08d}",
    }
    row.update(extra)
    return row


def uni(role: str, country: str, number: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "role": role,
        "country": country,
        "organisation_type": "HEI",
        **hei(country, number),
        **extra,
    }


def numbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"partner_no": str(i + 1), **row} for i, row in enumerate(rows)]


def proposal(project: dict[str, Any], partners: list[dict[str, Any]]) -> dict[str, Any]:
    return expand({"project": project, "partners": numbered(partners)}, {})


# ---------------------------------------------------------------- the samples


def samples() -> dict[str, tuple[dict[str, Any], Style | None]]:
    """File name -> (proposal, style); style None means written with formulas."""
    out: dict[str, tuple[dict[str, Any], Style | None]] = {}
    out["ka220-hed-eligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "2024-1-NL01-KA220-HED-000198765",
                "acronym": "DIGI-TEACH",
                "title": "Digital didactics for teacher education",
                "action": "KA220-HED",
                "call_year": 2024,
                "duration_months": 24,
                "requested_grant_eur": 250000,
                "start_date": "2024-11-01",
                "priorities": "Digital transformation; Inclusion and diversity",
            },
            [
                uni("coordinator", "NL", 1),
                uni("partner", "BE", 3),
                uni("partner", "DE", 7),
                org("partner", "ES", "ENTERPRISE", "Aula Digital Soluciones SL", city="Valencia"),
                org(
                    "associated",
                    "UA",
                    "NGO",
                    "Osvita Foundation",
                    city="Lviv",
                    justification="Brings teacher networks in Ukraine",
                ),
            ],
        ),
        Style(),
    )
    out["ka220-sch-ineligible-nl.xlsx"] = (
        proposal(
            {
                "proposal_id": "2024-1-BE02-KA220-SCH-000203344",
                "acronym": "BUITEN",
                "title": "Buitenklas voor iedereen",
                "action": "KA220-SCH",
                "call_year": 2024,
                "duration_months": 24,
                "requested_grant_eur": "200.000",
                "priorities": "Milieu en klimaat",
            },
            [
                org("coördinator", "België", "School", "Basisschool De Regenboog", city="Gent"),
                org("partner", "Nederland", "School", "OBS De Linde", city="Utrecht"),
                org(
                    "geassocieerd partner",
                    "Duitsland",
                    "Overheidsinstantie",
                    "Stadt Aachen",
                    city="Aachen",
                    requested_grant_eur="5000",
                ),
            ],
        ),
        Style(lang="nl"),
    )
    out["ka220-adu-warning.xlsx"] = (
        proposal(
            {
                "proposal_id": "2025-1-NL01-KA220-ADU-000287001",
                "acronym": "READ-ON",
                "title": "Literacy for adult newcomers",
                "action": "KA220-ADU",
                "call_year": 2025,
                "duration_months": 36,
                "requested_grant_eur": 400000,
                "priorities": "Inclusion and diversity",
            },
            [
                org("coordinator", "NL", "ADULT", "Stichting Taal Voor Allen", city="Rotterdam"),
                org("partner", "FI", "ADULT", "Helsingin Aikuisopisto Oy", city="Helsinki"),
                org("partner", "PT", "NGO", "Associação Ler Mais", city="Porto"),
                org("partner", "GE", "NGO", "Georgian Adult Learning Network", city="Tbilisi"),
            ],
        ),
        Style(),
    )
    # The ECHE holders list cross-check: a code the list does not hold, and a
    # code the list gives to an institution with another OID (two warnings).
    out["ka220-hed-eche-warnings.xlsx"] = (
        proposal(
            {
                "proposal_id": "2025-1-NL01-KA220-HED-000291010",
                "acronym": "OPEN-LAB",
                "title": "Open laboratories for first-year students",
                "action": "KA220-HED",
                "call_year": 2025,
                "duration_months": 24,
                "requested_grant_eur": 250000,
                "priorities": "Digital transformation",
            },
            [
                uni("coordinator", "NL", 4),
                uni("partner", "BE", 6, erasmus_code="B  NAMUR09"),
                uni("partner", "DE", 11, oid=hei("DE", 12)["oid"]),
                org("partner", "ES", "ENTERPRISE", "Laboratorios Abiertos SL", city="Sevilla"),
            ],
        ),
        Style(),
    )
    # An institution without its Erasmus code, known to the list by its OID:
    # the finding names the code to enter.
    out["ka220-hed-missing-code.xlsx"] = (
        proposal(
            {
                "proposal_id": "2025-1-NL01-KA220-HED-000291020",
                "acronym": "CODE-LESS",
                "title": "Shared curricula in water management",
                "action": "KA220-HED",
                "call_year": 2025,
                "duration_months": 24,
                "requested_grant_eur": 250000,
                "priorities": "Environment and fight against climate change",
            },
            [
                uni("coordinator", "NL", 5),
                uni("partner", "BE", 8, erasmus_code=None),
                uni("partner", "PT", 2),
            ],
        ),
        Style(),
    )
    out["ka210-vet-eligible-nl.xlsx"] = (
        proposal(
            {
                "proposal_id": "2024-1-NL01-KA210-VET-000201122",
                "acronym": "GROENWERK",
                "title": "Groene vaardigheden in de hovenierij",
                "action": "KA210-VET",
                "call_year": 2024,
                "duration_months": 12,
                "requested_grant_eur": "€ 60.000",
                "priorities": "Milieu en strijd tegen klimaatverandering",
            },
            [
                org(
                    "Coördinator (aanvrager)",
                    "Nederland",
                    "Aanbieder van beroepsonderwijs en -opleiding",
                    "ROC Groene Delta",
                    city="Arnhem",
                    requested_grant_eur="35000",
                ),
                org(
                    "Volwaardig partner",
                    "Griekenland",
                    "Onderneming",
                    "Kipos Landscaping IKE",
                    city="Thessaloniki",
                    requested_grant_eur="25000",
                ),
            ],
        ),
        Style(lang="nl", title_rows=2, partner_sheet_name="Partnerorganisaties"),
    )
    out["ka210-ineligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "2024-2-DE02-KA210-YOU-000255550",
                "acronym": "YOUTHMAP",
                "title": "Mapping youth participation",
                "action": "KA210-YOU",
                "call_year": 2024,
                "duration_months": 30,
                "requested_grant_eur": 60000,
                "priorities": "Participation",
            },
            [
                org("coordinator", "DE", "YOUTH", "Jugendwerk Hamburg e.V.", city="Hamburg"),
                org("partner", "UK", "YOUTH", "Youth Voices Leeds CIC", city="Leeds"),
            ],
        ),
        Style(),
    )
    out["knowledge-alliance-eligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "612542-EPP-1-2019-1-NL-EPPKA2-KA",
                "acronym": "ENTRE-LAB",
                "title": "Entrepreneurial labs between universities and SMEs",
                "action": "Knowledge Alliance",
                "call_year": 2019,
                "duration_months": 36,
                "requested_grant_eur": 995000,
            },
            [
                uni("coordinator", "NL", 4),
                uni("partner", "IT", 2),
                uni("partner", "PL", 5),
                org("partner", "SE", "ENTERPRISE", "Nordic Innovation Partners AB", city="Malmö"),
                org("partner", "IE", "ENTERPRISE", "Shannon Consulting Ltd", city="Limerick"),
                org(
                    "partner",
                    "HU",
                    "RESEARCH",
                    "Budapest Institute for Applied Research",
                    city="Budapest",
                ),
            ],
        ),
        Style(),
    )
    out["knowledge-alliance-ineligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "621639-EPP-1-2020-1-IT-EPPKA2-KA",
                "acronym": "FOODLINK",
                "title": "Food science and industry link",
                "action": "EPPKA2-KA",
                "call_year": 2020,
                "duration_months": 24,
                "requested_grant_eur": 850000,
            },
            [
                uni("coordinator", "IT", 9),
                org("partner", "FR", "HEI", "Institut Supérieur de l'Agroalimentaire", city="Lyon"),
                org("partner", "ES", "ENTERPRISE", "Conservas del Norte SA", city="Santander"),
                org("partner", "PT", "NGO", "Rede Alimentar", city="Lisboa"),
                org("partner", "AR", "HEI", "Universidad de Cuyo", city="Mendoza"),
                org("partner", "EL", "ENTERPRISE", "Olympia Foods AE", city="Patra"),
            ],
        ),
        Style(),
    )
    out["strategic-partnership-ka203-eligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "2019-1-BE02-KA203-046981",
                "acronym": "OPEN-STEM",
                "title": "Open STEM courses for first-year students",
                "action": "KA203",
                "call_year": 2019,
                "duration_months": 36,
                "requested_grant_eur": 420000,
                "partnership_type": "Innovation",
                "priorities": "Open education and innovative practices in a digital era",
            },
            [
                uni("coordinator", "BE", 12),
                uni("partner", "RS", 2),
                uni("partner", "CZ", 3),
                uni("partner", "LT", 1),
            ],
        ),
        Style(),
    )
    out["strategic-partnership-ka203-ineligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "2018-1-UK01-KA203-047700",
                "acronym": "CARE-ED",
                "title": "Care education exchange",
                "action": "KA203",
                "call_year": 2018,
                "duration_months": 18,
                "requested_grant_eur": 300000,
                "partnership_type": "Exchange of good practices",
                "priorities": "Social inclusion",
            },
            [
                org(
                    "coordinator",
                    "UK",
                    "HEI",
                    "University of Northshire",
                    city="Leeds",
                    erasmus_code="UK LEEDS99",
                ),
                uni("partner", "RS", 4),
                uni("partner", "SI", 2),
            ],
        ),
        Style(),
    )
    out["sector-skills-alliance-eligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "554187-EPP-1-2014-1-IE-EPPKA2-SSA",
                "acronym": "TOUR-SKILLS",
                "title": "Skills for sustainable tourism",
                "action": "KA2-SSA",
                "call_year": 2014,
                "duration_months": 36,
                "requested_grant_eur": 1000000,
            },
            [
                org("coordinator", "IE", "VET", "Cork Hospitality Training Centre", city="Cork"),
                org("partner", "IE", "CHAMBER", "Cork Chamber of Commerce", city="Cork"),
                org(
                    "partner",
                    "IE",
                    "QUALIFICATION_BODY",
                    "Irish Tourism Qualifications Authority",
                    city="Dublin",
                ),
                org("partner", "AT", "VET", "Tourismusschulen Salzburg", city="Salzburg"),
                org("partner", "AT", "SOCIAL_PARTNER", "Tourismus-Arbeitgeberverband", city="Wien"),
                org(
                    "partner",
                    "AT",
                    "PUBLIC_BODY",
                    "Land Salzburg, Bildungsdirektion",
                    city="Salzburg",
                ),
                org("partner", "NO", "VET", "Bergen Reiseliv Fagskole", city="Bergen"),
                org(
                    "partner", "NO", "PROFESSIONAL_ASSOCIATION", "NHO Reiseliv Vest", city="Bergen"
                ),
                org("partner", "NO", "PUBLIC_BODY", "Hordaland fylkeskommune", city="Bergen"),
            ],
        ),
        Style(),
    )
    out["sector-skills-alliance-ineligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "559900-EPP-1-2015-1-DK-EPPKA2-SSA",
                "acronym": "WIND-SKILLS",
                "title": "Wind turbine service skills",
                "action": "Sector Skills Alliance",
                "call_year": 2015,
                "duration_months": 36,
                "requested_grant_eur": 900000,
            },
            [
                org("coordinator", "DK", "VET", "Esbjerg Tekniske Skole", city="Esbjerg"),
                org(
                    "partner",
                    "DK",
                    "PROFESSIONAL_ASSOCIATION",
                    "Wind Denmark Service",
                    city="Aarhus",
                ),
                org(
                    "partner",
                    "DK",
                    "QUALIFICATION_BODY",
                    "Danish Qualifications Board",
                    city="Copenhagen",
                ),
                org("partner", "DE", "VET", "BBZ Husum", city="Husum"),
                org("partner", "DE", "ENTERPRISE", "Nordwind Service GmbH", city="Husum"),
                org("partner", "DE", "PUBLIC_BODY", "Land Schleswig-Holstein", city="Kiel"),
                org("partner", "NO", "VET", "Stavanger Fagskole", city="Stavanger"),
                org("partner", "NO", "SOCIAL_PARTNER", "Norsk Industri Vind", city="Oslo"),
                org("partner", "NO", "PUBLIC_BODY", "Rogaland fylkeskommune", city="Stavanger"),
            ],
        ),
        Style(),
    )
    out["afi-lot1-eligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "101140251",
                "acronym": "AI-CRAFT",
                "title": "AI skills for crafts SMEs",
                "action": "ERASMUS-EDU-2024-PI-ALL-INNO-EDU-ENTERP",
                "duration_months": 36,
                "requested_grant_eur": "1.500.000",
                "submitted_at": "2024-03-07 16:58:12",
            },
            [
                uni("coordinator", "AT", 4),
                uni("partner", "SK", 2),
                org("partner", "SK", "VET", "Stredná odborná škola Žilina", city="Žilina"),
                org("partner", "HR", "VET", "Obrtnička škola Split", city="Split"),
                org("partner", "AT", "CHAMBER", "Wirtschaftskammer Tirol", city="Innsbruck"),
                org("partner", "HR", "ENTERPRISE", "Dalmacija Digital d.o.o.", city="Split"),
                org("partner", "TR", "ENTERPRISE", "Ege Zanaat Teknolojileri A.Ş.", city="İzmir"),
                org(
                    "partner", "SK", "RESEARCH", "Slovak Centre for AI Research", city="Bratislava"
                ),
                org(
                    "associated",
                    "CH",
                    "PROFESSIONAL_ASSOCIATION",
                    "Swiss Crafts Association",
                    city="Bern",
                ),
            ],
        ),
        Style(),
    )
    out["afi-lot1-ineligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "101140777",
                "acronym": "GREEN-BUILD",
                "title": "Green building skills",
                "action": "AFI-LOT1",
                "call_year": 2025,
                "duration_months": 30,
                "requested_grant_eur": 1200000,
                "submitted_at": "6 maart 2025 17:04",
            },
            [
                uni("coordinator", "LV", 1),
                org("partner", "LV", "VET", "Rīgas Būvniecības tehnikums", city="Rīga"),
                org("partner", "EE", "VET", "Tallinna Ehituskool", city="Tallinn"),
                org("partner", "EE", "ENTERPRISE", "Roheline Maja OÜ", city="Tartu"),
                org("partner", "LT", "NGO", "Žalioji statyba", city="Vilnius"),
                org("partner", "US", "HEI", "Midwest Building Institute", city="Chicago"),
                org("partner", "LT", "RESEARCH", "Kaunas Building Research Centre", city="Kaunas"),
            ],
        ),
        Style(),
    )
    out["afi-lot2-eligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "101140999",
                "acronym": "BATT-SKILLS",
                "title": "Battery skills blueprint",
                "action": "AFI-LOT2",
                "call_year": 2024,
                "duration_months": 48,
                "requested_grant_eur": 4000000,
                "submitted_at": "2024-03-06T11:20:00+01:00",
                "industrial_ecosystem": "Mobility-Transport-Automotive",
                "eqf_levels": "4-5; 6; 7",
            },
            [
                uni("coordinator", "SE", 3),
                uni("partner", "FI", 2),
                org("partner", "PL", "VET", "Zespół Szkół Samochodowych Wrocław", city="Wrocław"),
                org("partner", "CZ", "VET", "SPŠ automobilní Praha", city="Praha"),
                org("partner", "FR", "VET", "Lycée professionnel Gustave Eiffel", city="Lyon"),
                org("partner", "DE", "ENTERPRISE", "Zellwerk Batterie GmbH", city="Salzgitter"),
                org("partner", "ES", "CHAMBER", "Cámara de Comercio de Navarra", city="Pamplona"),
                org("partner", "IT", "SOCIAL_PARTNER", "Federmeccanica Piemonte", city="Torino"),
                org("partner", "PL", "ENTERPRISE", "Baterie Polska sp. z o.o.", city="Wrocław"),
                org(
                    "partner",
                    "HU",
                    "PROFESSIONAL_ASSOCIATION",
                    "Hungarian Automotive Cluster",
                    city="Győr",
                ),
                org("partner", "SE", "RESEARCH", "Nordic Battery Institute", city="Västerås"),
                org("partner", "FR", "PUBLIC_BODY", "Région Auvergne-Rhône-Alpes", city="Lyon"),
            ],
        ),
        Style(),
    )
    out["afi-lot2-ineligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "101141000",
                "acronym": "TEX-FUTURE",
                "title": "Textile futures",
                "action": "Blueprint",
                "call_year": 2024,
                "duration_months": 48,
                "requested_grant_eur": 4200000,
                "industrial_ecosystem": "Textile; Retail",
                "eqf_levels": "3;4;5",
            },
            [
                uni("coordinator", "PT", 3),
                org("partner", "PT", "VET", "Escola Profissional Têxtil", city="Guimarães"),
                org("partner", "ES", "VET", "IES Textil Terrassa", city="Terrassa"),
                org("partner", "IT", "ENTERPRISE", "Tessiture Biellesi SpA", city="Biella"),
                org("partner", "BG", "CHAMBER", "Bulgarian Textile Chamber", city="Sofia"),
                org("partner", "RO", "ENTERPRISE", "Textila Moldova SRL", city="Iași"),
                org("partner", "BE", "PROFESSIONAL_ASSOCIATION", "Fedustria", city="Brussel"),
                org("partner", "PT", "RESEARCH", "CITEVE", city="Famalicão"),
                org("partner", "ES", "PUBLIC_BODY", "Generalitat de Catalunya", city="Barcelona"),
                org("partner", "IT", "NGO", "Moda Sostenibile", city="Prato"),
            ],
        ),
        Style(),
    )
    out["cove-eligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "101143210",
                "acronym": "HYDRO-COVE",
                "title": "Hydrogen vocational excellence",
                "action": "ERASMUS-EDU-2024-PEX-COVE",
                "duration_months": 48,
                "requested_grant_eur": 3999000,
                "submitted_at": "2024-05-07 15:00",
            },
            [
                org("coordinator", "NL", "VET", "Noorderpoort", city="Groningen"),
                org("partner", "NL", "ENTERPRISE", "Waterstof Noord BV", city="Groningen"),
                org("partner", "DK", "VET", "EUC Syd", city="Sønderborg"),
                org("partner", "DK", "CHAMBER", "Dansk Erhverv Syd", city="Sønderborg"),
                org("partner", "ES", "VET", "CIFP Hidrógeno Aragón", city="Zaragoza"),
                org("partner", "ES", "SOCIAL_PARTNER", "CEOE Aragón", city="Zaragoza"),
                org("partner", "MK", "VET", "SUGS Mihajlo Pupin", city="Skopje"),
                org("partner", "MK", "ENTERPRISE", "Vodorod Tech DOOEL", city="Skopje"),
                uni("partner", "NL", 2),
            ],
        ),
        Style(),
    )
    # Capacity Building in VET (actions.md 13): third countries of the admitted
    # regions count, and must be at least as many as the pool's organisations.
    out["cb-vet-eligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "101185010",
                "acronym": "SKILLS-BRIDGE",
                "title": "Work-based learning for renewable energy technicians",
                "action": "ERASMUS-EDU-2025-CB-VET-NE",
                "duration_months": 36,
                "requested_grant_eur": 399000,
                "submitted_at": "2025-02-26 14:30",
            },
            [
                org("coordinator", "FI", "VET", "Savon ammattiopisto", city="Kuopio"),
                org("partner", "LT", "VET", "Vilniaus technologijų mokymo centras", city="Vilnius"),
                org("partner", "GE", "VET", "Tbilisi Community College", city="Tbilisi"),
                org("partner", "GE", "ENTERPRISE", "Georgian Solar Works LLC", city="Tbilisi"),
                org("partner", "MD", "VET", "Centrul de Excelență în Energetică", city="Chișinău"),
                org("associated", "UA", "PUBLIC_BODY", "Kyiv Oblast VET Board", city="Kyiv"),
            ],
        ),
        Style(),
    )
    out["cb-vet-ineligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "101185020",
                "acronym": "AGRO-LINK",
                "title": "Agri-food skills in Southern Africa",
                "action": "CB-VET",
                "call_year": 2025,
                "duration_months": 36,
                "requested_grant_eur": 80000,
                "submitted_at": "2025-02-27 16:00",
            },
            [
                org("coordinator", "PT", "VET", "Escola Profissional Agrícola", city="Évora"),
                org("partner", "ES", "VET", "CIFP Agrario Albacete", city="Albacete"),
                org("partner", "FR", "ENTERPRISE", "AgroFormation SARL", city="Montpellier"),
                org("partner", "ZA", "VET", "Boland TVET College", city="Stellenbosch"),
                org("partner", "US", "NGO", "Farm Futures Foundation", city="Davis"),
            ],
        ),
        Style(),
    )

    # ---- actions.md sections 9-17 and KA229 (issue 13): one eligible and one
    # ineligible proposal each, real ECHE holders where the action wants HEIs.
    def add(name: str, project: dict[str, Any], partners: list[dict[str, Any]]) -> None:
        out[name] = (proposal(project, partners), Style())

    add(
        "emjm-eligible.xlsx",
        {
            "proposal_id": "101177001",
            "acronym": "EM-WATER",
            "title": "Erasmus Mundus master in water governance",
            "action": "ERASMUS-EDU-2025-PEX-EMJM-MOB",
            "duration_months": 74,
            "requested_grant_eur": 4900000,
            "submitted_at": "2025-02-12 16:00",
        },
        [
            uni("coordinator", "NL", 6),
            uni("partner", "ES", 3),
            org("partner", "CA", "HEI", "University of the Prairies", city="Saskatoon"),
            org("associated", "US", "ENTERPRISE", "Hydro Analytics Inc.", city="Denver"),
        ],
    )
    add(
        "emjm-ineligible.xlsx",
        {
            "proposal_id": "101177002",
            "acronym": "EM-ROBOT",
            "title": "Erasmus Mundus master in field robotics",
            "action": "EMJM",
            "call_year": 2025,
            "duration_months": 60,
            "requested_grant_eur": 5200000,
            "submitted_at": "2025-02-13 17:30",
        },
        [
            uni("coordinator", "DE", 9),
            org("partner", "DE", "RESEARCH", "Institut für Feldrobotik", city="Bremen"),
            org("partner", "BY", "HEI", "Belarusian Polytechnic Academy", city="Minsk"),
        ],
    )
    add(
        "emdm-eligible.xlsx",
        {
            "proposal_id": "101177101",
            "acronym": "DESIGN-AI",
            "title": "Designing a joint master in trustworthy AI",
            "action": "ERASMUS-EDU-2025-EMJM-DESIGN",
            "duration_months": 15,
            "requested_grant_eur": 60000,
            "submitted_at": "2025-02-10 11:00",
        },
        [
            {**uni("coordinator", "BE", 7), "requested_grant_eur": "60000"},
            uni("partner", "PT", 4),
            org("partner", "IN", "HEI", "Institute of Applied Computing Pune", city="Pune"),
        ],
    )
    add(
        "emdm-ineligible.xlsx",
        {
            "proposal_id": "101177102",
            "acronym": "DESIGN-SEA",
            "title": "Designing a joint master in marine biology",
            "action": "EMDM",
            "call_year": 2023,
            "duration_months": 18,
            "requested_grant_eur": 60000,
        },
        [
            {**uni("coordinator", "IT", 5), "requested_grant_eur": "50000"},
            {**uni("partner", "IT", 8), "requested_grant_eur": "10000"},
        ],
    )
    add(
        "flp-eligible.xlsx",
        {
            "proposal_id": "101188001",
            "acronym": "FUTURE-VET",
            "title": "Green skills foresight for VET",
            "action": "ERASMUS-EDU-2025-PI-FORWARD-VET-VE",
            "duration_months": 36,
            "requested_grant_eur": 990000,
            "submitted_at": "2025-05-26 12:00",
        },
        [
            org("coordinator", "AT", "VET", "Berufsschule Linz", city="Linz"),
            org(
                "partner",
                "SI",
                "PUBLIC_BODY",
                "Center RS za poklicno izobraževanje",
                city="Ljubljana",
            ),
            org("partner", "CZ", "ENTERPRISE", "Zelené Dovednosti s.r.o.", city="Brno"),
            org("associated", "UA", "NGO", "Green Skills Ukraine", city="Lviv"),
        ],
    )
    add(
        "flp-ineligible.xlsx",
        {
            "proposal_id": "101188002",
            "acronym": "DIGI-LOT1",
            "title": "Digital education foresight",
            "action": "ERASMUS-EDU-2023-PI-FORWARD-LOT1",
            "duration_months": 60,
            "requested_grant_eur": 1600000,
            "submitted_at": "2023-03-15 17:10",
        },
        [
            org("coordinator", "DK", "NGO", "Digital Skole Netværk", city="Aarhus"),
            org("partner", "SE", "SCHOOL", "Malmö Digitala Gymnasium", city="Malmö"),
        ],
    )
    add(
        "cbhe-eligible.xlsx",
        {
            "proposal_id": "101199001",
            "acronym": "CAUC-ACCESS",
            "title": "Access to engineering studies in the South Caucasus",
            "action": "CBHE",
            "strand": 1,
            "call_year": 2025,
            "duration_months": 36,
            "requested_grant_eur": 395000,
            "submitted_at": "2025-02-05 15:00",
        },
        [
            uni("coordinator", "PL", 6),
            uni("partner", "LT", 2),
            org("partner", "GE", "HEI", "Georgian Technical Academy", city="Tbilisi"),
            org("partner", "GE", "HEI", "Batumi Maritime University", city="Batumi"),
            org("partner", "AM", "HEI", "Yerevan Engineering Institute", city="Yerevan"),
            org("partner", "AM", "HEI", "Gyumri State College", city="Gyumri"),
        ],
    )
    add(
        "cbhe-ineligible.xlsx",
        {
            "proposal_id": "101199002",
            "acronym": "REFORM-ASIA",
            "title": "Quality assurance reform",
            "action": "ERASMUS-EDU-2026-CBHE-STRAND-3",
            "duration_months": 24,
            "requested_grant_eur": 500000,
            "submitted_at": "2026-02-09 12:00",
        },
        [
            org("coordinator", "FR", "NGO", "Réseau Qualité Sup", city="Lyon"),
            uni("partner", "FR", 12),
            org("partner", "US", "HEI", "Midwest State University", city="Columbus"),
            org("partner", "UZ", "HEI", "Tashkent Pedagogical University", city="Tashkent"),
        ],
    )
    add(
        "cb-you-eligible.xlsx",
        {
            "proposal_id": "101166001",
            "acronym": "YOUTH-VOICE",
            "title": "Youth participation in local democracy",
            "action": "ERASMUS-YOUTH-2024-CB",
            "duration_months": 24,
            "requested_grant_eur": 250000,
            "submitted_at": "2024-03-05 10:00",
        },
        [
            org("coordinator", "EE", "NGO", "Noorte Hääl MTÜ", city="Tartu"),
            org("partner", "LV", "YOUTH", "Jauniešu Padome", city="Riga"),
            org("partner", "MD", "NGO", "Tineri pentru Viitor", city="Chișinău"),
            org("partner", "UA", "NGO", "Molod Diy", city="Kharkiv"),
        ],
    )
    add(
        "cb-you-ineligible.xlsx",
        {
            "proposal_id": "101166002",
            "acronym": "BRIDGES",
            "title": "Youth work across regions",
            "action": "CB-YOU",
            "call_year": 2024,
            "duration_months": 18,
            "requested_grant_eur": 350000,
            "submitted_at": "2024-03-06 16:00",
        },
        [
            org("coordinator", "AZ", "NGO", "Baku Youth Network", city="Baku"),
            org("partner", "HU", "ENTERPRISE", "Ifjúsági Kft.", city="Debrecen"),
            org("partner", "TN", "NGO", "Jeunesse Active", city="Sfax"),
        ],
    )
    add(
        "cb-sport-eligible.xlsx",
        {
            "proposal_id": "101155001",
            "acronym": "PLAY-BALKANS",
            "title": "Grassroots sport for inclusion",
            "action": "ERASMUS-SPORT-2025-CB",
            "duration_months": 24,
            "requested_grant_eur": 180000,
            "submitted_at": "2025-03-04 12:00",
        },
        [
            org("coordinator", "ME", "NGO", "Sport za Sve", city="Podgorica"),
            org("partner", "HR", "NGO", "Sportska Zajednica Split", city="Split"),
            org("partner", "GE", "PUBLIC_BODY", "Tbilisi Sport Office", city="Tbilisi"),
        ],
    )
    add(
        "cb-sport-ineligible.xlsx",
        {
            "proposal_id": "101155002",
            "acronym": "RUN-GLOBAL",
            "title": "Running clubs worldwide",
            "action": "CB-SPORT",
            "call_year": 2025,
            "duration_months": 24,
            "requested_grant_eur": 250000,
            "submitted_at": "2025-03-04 12:00",
        },
        [
            org("coordinator", "EG", "NGO", "Cairo Runners", city="Cairo"),
            org("partner", "GR", "NGO", "Athens Running Club", city="Athens"),
            org("partner", "BR", "NGO", "Corrida Rio", city="Rio de Janeiro"),
        ],
    )
    add(
        "sport-scp-eligible.xlsx",
        {
            "proposal_id": "101144001",
            "acronym": "COACH-EU",
            "title": "Coaching standards for girls' football",
            "action": "ERASMUS-SPORT-2025-SCP",
            "duration_months": 24,
            "requested_grant_eur": 250000,
            "priorities": "Inclusion and diversity",
            "submitted_at": "2025-03-05 12:00",
        },
        [
            org("coordinator", "SE", "NGO", "Svenska Fotbollsakademin", city="Göteborg"),
            org("partner", "IE", "NGO", "Women in Sport Ireland", city="Cork"),
            org("partner", "CY", "PUBLIC_BODY", "Cyprus Sport Organisation", city="Nicosia"),
        ],
    )
    add(
        "sport-scp-ineligible.xlsx",
        {
            "proposal_id": "101144002",
            "acronym": "SWIM-SAFE",
            "title": "Safe swimming",
            "action": "SPORT-SCP",
            "call_year": 2024,
            "duration_months": 24,
            "requested_grant_eur": 125000,
            "priorities": "n/a",
        },
        [
            org("coordinator", "MT", "NGO", "Malta Swimming Club", city="Valletta"),
            org("partner", "MT", "NGO", "Gozo Aquatics", city="Victoria"),
        ],
    )
    add(
        "sport-sscp-eligible.xlsx",
        {
            "proposal_id": "101144101",
            "acronym": "CLIMB-LOCAL",
            "title": "Climbing for youngsters",
            "action": "ERASMUS-SPORT-2024-SSCP",
            "duration_months": 12,
            "requested_grant_eur": 30000,
            "priorities": "Participation in sport",
            "submitted_at": "2024-03-04 09:00",
        },
        [
            org("coordinator", "SK", "NGO", "Horolezecký Klub Tatry", city="Poprad"),
            org("partner", "AT", "NGO", "Kletterverein Graz", city="Graz"),
        ],
    )
    add(
        "sport-sscp-ineligible.xlsx",
        {
            "proposal_id": "101144102",
            "acronym": "CHESS-BOX",
            "title": "Chess boxing for all",
            "action": "SPORT-SSCP",
            "call_year": 2024,
            "duration_months": 30,
            "requested_grant_eur": 45000,
            "priorities": "Participation in sport",
        },
        [
            org("coordinator", "BG", "NGO", "Shah Boks Sofia", city="Sofia"),
            org("partner", "RO", "NGO", "Clubul de Șah-Box", city="Cluj"),
            org("associated", "RS", "NGO", "Šah Boks Beograd", city="Belgrade"),
            org("partner", "GE", "NGO", "Chess Boxing Georgia", city="Tbilisi"),
        ],
    )
    add(
        "nfpse-eligible.xlsx",
        {
            "proposal_id": "101133001",
            "acronym": "ROW-EU",
            "title": "European rowing week",
            "action": "ERASMUS-SPORT-2025-SNCESE",
            "duration_months": 12,
            "requested_grant_eur": 200000,
            "submitted_at": "2025-03-03 14:00",
        },
        [
            org("coordinator", "NL", "NGO", "Roeibond Holland", city="Amsterdam"),
            org("partner", "DK", "NGO", "Roklub København", city="Copenhagen"),
            org("partner", "PL", "NGO", "Wioślarze Poznań", city="Poznań"),
            org("partner", "LU", "NGO", "Aviron Luxembourg", city="Luxembourg"),
        ],
    )
    add(
        "nfpse-ineligible.xlsx",
        {
            "proposal_id": "101133002",
            "acronym": "CYCLE-EU",
            "title": "European cycling festival",
            "action": "NFPSE",
            "call_year": 2025,
            "duration_months": 12,
            "requested_grant_eur": 200000,
            "submitted_at": "2025-03-05 18:00",
        },
        [
            org("coordinator", "BE", "NGO", "Wielerbond Vlaanderen", city="Gent"),
            org("partner", "BE", "NGO", "Cyclisme Wallonie", city="Namur"),
            org("partner", "FR", "NGO", "Vélo Nord", city="Lille"),
            org("partner", "DE", "NGO", "Radsport Köln", city="Köln"),
            org("partner", "IT", "NGO", "Ciclismo Torino", city="Torino"),
            org("partner", "ES", "NGO", "Ciclismo Bilbao", city="Bilbao"),
        ],
    )
    add(
        "ka229-eligible.xlsx",
        {
            "proposal_id": "2019-1-NL01-KA229-060001",
            "acronym": "READ-TOGETHER",
            "title": "Reading across borders",
            "action": "KA229",
            "duration_months": 24,
            "requested_grant_eur": 90000,
            "priorities": "Inclusion and diversity",
        },
        [
            org("coordinator", "NL", "SCHOOL", "Basisschool De Regenboog", city="Utrecht"),
            org("partner", "FI", "SCHOOL", "Koulu Tampere", city="Tampere"),
            org("partner", "EL", "SCHOOL", "Dimotiko Scholeio Volou", city="Volos"),
        ],
    )
    add(
        "ka229-ineligible.xlsx",
        {
            "proposal_id": "2020-1-BE01-KA229-070002",
            "acronym": "SCIENCE-FAIR",
            "title": "School science fairs",
            "action": "KA229",
            "duration_months": 30,
            "requested_grant_eur": 120000,
            "priorities": "Open education",
        },
        [
            org("coordinator", "BE", "SCHOOL", "Athénée Royal Liège", city="Liège"),
            org("partner", "NL", "NGO", "Wetenschap voor Kinderen", city="Leiden"),
            org("partner", "DE", "SCHOOL", "Gymnasium Aachen", city="Aachen"),
            org("partner", "FR", "SCHOOL", "Collège Lille", city="Lille"),
            org("partner", "IT", "SCHOOL", "Scuola Milano", city="Milano"),
            org("partner", "ES", "SCHOOL", "Colegio Madrid", city="Madrid"),
            org("partner", "PT", "SCHOOL", "Escola Porto", city="Porto"),
        ],
    )
    out["cove-ineligible.xlsx"] = (
        proposal(
            {
                "proposal_id": "101143299",
                "acronym": "AGRI-COVE",
                "title": "Smart farming excellence",
                "action": "COVE",
                "call_year": 2025,
                "duration_months": 36,
                "requested_grant_eur": 4500000,
            },
            [
                org("coordinator", "IE", "VET", "Kildalton Agricultural College", city="Kilkenny"),
                org("partner", "IE", "ENTERPRISE", "Glanbia Farm Tech", city="Kilkenny"),
                org("partner", "FR", "VET", "Lycée agricole de Rennes", city="Rennes"),
                org("partner", "FR", "VET", "CFA agricole Bretagne", city="Rennes"),
                org("partner", "NL", "VET", "Aeres MBO", city="Barneveld"),
                org("partner", "NL", "ENTERPRISE", "Lely Services BV", city="Maassluis"),
                org("partner", "PL", "VET", "Zespół Szkół Rolniczych Poznań", city="Poznań"),
                org("associated", "PL", "CHAMBER", "Izba Rolnicza Wielkopolska", city="Poznań"),
            ],
        ),
        Style(),
    )
    # Untidy: everything a real file does at once.
    out["untidy/ka220-vet-untidy-nl.xlsx"] = (
        proposal(
            {
                "proposal_id": " 2024-1-NL01-KA220-VET-000199001\u00a0",
                "acronym": "ZORG-XR",
                "title": "Virtual reality in zorgopleidingen",
                "action": "ka220-vet",
                "call_year": "2024",
                "duration_months": "24 maanden",
                "requested_grant_eur": "250.000,00",
                "start_date": "01/11/2024",
                "priorities": "Digitale transformatie; Inclusie en diversiteit",
            },
            [
                org(
                    "coördinator",
                    "Nederland",
                    "Aanbieder van beroepsonderwijs en -opleiding",
                    "ROC Midden Nederland",
                    city="Utrecht",
                ),
                org("Partner", "Deutschland", "Bedrijf", "Medisim GmbH\u00a0", city="Köln"),
                org("partner", "Griekenland", "vet", "IEK Akmi Athens", city="Athina"),
                org(
                    "Geassocieerd partner",
                    "Noorwegen",
                    "Overheidsinstantie",
                    "Oslo kommune",
                    city="Oslo",
                ),
            ],
        ),
        Style(
            lang="nl",
            title_rows=3,
            start_column=2,
            shuffle_columns=True,
            extra_columns=("Contactpersoon",),
            blank_rows_between=True,
            notes_below=True,
            project_title=True,
            hidden_sheet=True,
            seed=7,
        ),
    )
    out["untidy/ka220-you-formulas.xlsx"] = (
        proposal(
            {
                "proposal_id": "2025-1-FR02-KA220-YOU-000301234",
                "acronym": "ECO-YOUTH",
                "title": "Youth climate action",
                "action": "KA220-YOU",
                "call_year": 2025,
                "duration_months": 24,
                "requested_grant_eur": 0,
                "priorities": "Environment",
            },
            [
                org(
                    "coordinator",
                    "FR",
                    "YOUTH",
                    "Jeunesse Verte",
                    city="Nantes",
                    requested_grant_eur="100000",
                ),
                org(
                    "partner",
                    "IT",
                    "YOUTH",
                    "Giovani per il Clima",
                    city="Bologna",
                    requested_grant_eur="80000",
                ),
                org(
                    "partner",
                    "PL",
                    "NGO",
                    "Fundacja Zielona Przyszłość",
                    city="Kraków",
                    requested_grant_eur="70000",
                ),
            ],
        ),
        None,
    )
    return out


def export_proposals() -> list[dict[str, Any]]:
    """The agency export: two eligible proposals, one ineligible, one row without its proposal."""
    return [
        proposal(
            {
                "proposal_id": "2024-1-NL01-KA220-SCH-000211001",
                "acronym": "MATH-PLAY",
                "title": "Playful maths",
                "action": "KA220-SCH",
                "call_year": 2024,
                "duration_months": 24,
                "requested_grant_eur": 120000,
                "priorities": "Inclusion",
            },
            [
                org("coordinator", "NL", "SCHOOL", "Basisschool Het Palet", city="Zwolle"),
                org("partner", "SI", "SCHOOL", "OŠ Ljubljana Center", city="Ljubljana"),
                org("partner", "CY", "SCHOOL", "Dimotiko Scholeio Lefkosias", city="Lefkosia"),
            ],
        ),
        proposal(
            {
                "proposal_id": "2024-1-NL01-KA210-ADU-000211002",
                "acronym": "SENIOR-DIG",
                "title": "Seniors online",
                "action": "KA210-ADU",
                "call_year": 2024,
                "duration_months": 12,
                "requested_grant_eur": 30000,
                "priorities": "Digital transformation",
            },
            [
                org("coordinator", "NL", "ADULT", "Volksuniversiteit Zwolle", city="Zwolle"),
                org("partner", "MT", "ADULT", "Malta Lifelong Learning", city="Valletta"),
            ],
        ),
        proposal(
            {
                "proposal_id": "2024-1-NL01-KA220-YOU-000211003",
                "acronym": "VOICES",
                "title": "Youth voices",
                "action": "KA220-YOU",
                "call_year": 2024,
                "duration_months": 40,
                "requested_grant_eur": 250000,
            },
            [
                org("coordinator", "NL", "YOUTH", "Jongerenwerk Deventer", city="Deventer"),
                org("partner", "NL", "YOUTH", "Jongerenwerk Deventer", city="Deventer"),
                org("partner", "LU", "YOUTH", "Jugendhaus Esch", city="Esch-sur-Alzette"),
            ],
        ),
        # Its partner rows are in the export, but the proposal itself is not on
        # the Proposals sheet (withdrawn, or a typing error in its ID).
        proposal(
            {"proposal_id": "2024-1-NL01-KA220-SCH-000299999", "action": "KA220-SCH"},
            [org("coordinator", "NL", "SCHOOL", "Openbare Basisschool De Wissel", city="Kampen")],
        ),
    ]


def main(folder: Path = HERE) -> None:
    for name, (data, style) in samples().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if style is None:
            write_with_formulas(path, data)
        else:
            write_proposal(path, data, style)
    exported = export_proposals()
    write_export(folder / "agency-export-2024.xlsx", exported[:-1], unlisted=exported[-1:])
    # The same proposal uploaded twice: both copies are flagged.
    first, _ = samples()["ka220-adu-warning.xlsx"]
    (folder / "duplicate-ids").mkdir(exist_ok=True)
    for name in ("first-upload.xlsx", "second-upload.xlsx"):
        copy = {
            "project": {**first["project"], "proposal_id": "2025-1-NL01-KA220-ADU-000287555"},
            "partners": first["partners"],
        }
        write_proposal(folder / "duplicate-ids" / name, copy)
    # A download that broke off: the first bytes of a workbook, nothing more.
    complete = folder / "ka220-hed-eligible.xlsx"
    (folder / "broken").mkdir(exist_ok=True)
    (folder / "broken" / "truncated-download.xlsx").write_bytes(complete.read_bytes()[:1500])
    print(f"wrote the samples in {folder}")


if __name__ == "__main__":
    main()


# ---------------------------------------------------------------- filling in the template


def fill_template(template: Path, target: Path, filled: Mapping[str, Any], lang: str) -> None:
    """Fill a template made by ``auditor template`` as an applicant would, from its dropdowns.

    ``filled`` is a proposal (``proposal()`` or ``expand()``): roles, types
    and countries are written as the template's dropdowns show them in
    ``lang``; numbers as numbers.
    """
    fill_templates(template, [(target, filled)], lang)


_ABSENT = object()


def _held(sheet: Any, row: int, column: int) -> Any:
    """What the template holds in a cell, or _ABSENT where it has none (openpyxl's
    cells by position: asking for one would make it)."""
    cell = sheet._cells.get((row, column))
    return _ABSENT if cell is None else cell.value


def fill_templates(
    template: Path, fillings: Iterable[tuple[Path, Mapping[str, Any]]], lang: str
) -> None:
    """``fill_template`` for several proposals in one template, loaded once.

    Each target holds its own proposal alone: the cells the one before wrote
    get back what the template held. (Loading the template is most of what a
    filling costs.)
    """
    from auditor.normalise.countries import dropdown_value
    from auditor.normalise.vocabulary import vocabulary
    from auditor.rules.examples import PARTNER_HEADER_ROW, PROJECT_FIRST_ROW

    workbook = openpyxl.load_workbook(template)
    project, partners = workbook.worksheets[1], workbook.worksheets[2]
    shown = {
        name: vocabulary(name)
        for name in ("role", "organisation_type", "partnership_type", "industrial_ecosystem")
    }

    def label(name: str, value: str) -> str:
        code = shown[name].lookup(value)
        return shown[name].label(code, lang) if code else value

    from auditor.core.tables import table_spec

    # The template shows the fields of its action only: each is found by its label.
    spec = table_spec("project")
    row_of = {
        project.cell(row, 1).value: row for row in range(PROJECT_FIRST_ROW, project.max_row + 1)
    }
    # cell -> the template's value, or _ABSENT where the template had no cell
    written: dict[tuple[Any, int, int], Any] = {}
    for target, filled in fillings:
        for (sheet, row, column), value in written.items():
            if value is _ABSENT:  # made by the filling: gone again, as the sheet's extent
                del sheet._cells[(row, column)]
            else:
                sheet.cell(row, column).value = value
        written.clear()
        for key in project_rows():
            value = filled["project"].get(key)
            if value is None or key == "action":
                continue  # the template fills in the action itself
            row = row_of.get(spec.columns[key].label(lang))
            if row is None:
                raise ValueError(f"the template has no field {key!r} to fill in")
            if key in ("partnership_type", "industrial_ecosystem"):
                value = label(key, str(value))
            elif key in ("duration_months", "call_year") and str(value).isdigit():
                value = int(value)
            elif key == "requested_grant_eur" and str(value).replace(".", "", 1).isdigit():
                value = float(value)
            written.setdefault((project, row, 2), _held(project, row, 2))
            put(project, row, 2, value)
        for number, row in enumerate(filled["partners"]):
            for offset, key in enumerate(partner_columns()):
                value = row.get(key)
                if value is None:
                    continue
                if key in ("role", "organisation_type"):
                    value = label(key, str(value))
                elif key == "country":
                    code = country_code(value)
                    value = dropdown_value(code, lang) if code else value
                elif key == "requested_grant_eur":
                    value = float(value)
                at = (PARTNER_HEADER_ROW + 1 + number, offset + 1)
                written.setdefault((partners, *at), _held(partners, *at))
                put(partners, *at, value)
        workbook.save(target)
