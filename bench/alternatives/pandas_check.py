"""The alternative a competent analyst would write by hand: pandas + openpyxl.

    python bench/alternatives/pandas_check.py LIST_FILE OUT.csv

For every workbook listed in LIST_FILE (one path per line): read the Project
and Partners sheets with pandas (openpyxl engine), find the partner header row
(English or Dutch headers), check every partner row (required values, OID,
PIC, known country, role and organisation type) and count, per proposal, the
organisations, countries and coordinators; check those counts, the duration
and the grant against the action's limits. Findings go to OUT.csv. Written
plainly, the way such scripts are written; no tricks in either direction.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import pandas as pd

HEADERS = {
    "no.": "partner_no",
    "nr.": "partner_no",
    "role": "role",
    "rol": "role",
    "organisation": "organisation_name",
    "organisatie": "organisation_name",
    "oid": "oid",
    "pic": "pic",
    "country": "country",
    "land": "country",
    "organisation type": "organisation_type",
    "type organisatie": "organisation_type",
    "erasmus code": "erasmus_code",
    "erasmuscode": "erasmus_code",
    "requested grant (eur)": "requested_grant_eur",
    "gevraagde subsidie (eur)": "requested_grant_eur",
    "city": "city",
    "plaats": "city",
}
FIELDS = {
    "proposal id": "proposal_id",
    "aanvraagnummer": "proposal_id",
    "action": "action",
    "actie": "action",
    "call year": "call_year",
    "oproepjaar": "call_year",
    "duration (months)": "duration_months",
    "looptijd (maanden)": "duration_months",
    "requested grant (eur)": "requested_grant_eur",
    "gevraagde subsidie (eur)": "requested_grant_eur",
}
ROLES = {
    "coordinator": "coordinator",
    "coördinator (aanvrager)": "coordinator",
    "partner": "partner",
    "volwaardig partner": "partner",
    "associated": "associated",
    "geassocieerd partner": "associated",
}
TYPES = {
    "hei": "HEI",
    "hogeschool": "HEI",
    "vet": "VET",
    "aanbieder van beroepsonderwijs en -opleiding": "VET",
    "school": "SCHOOL",
    "ngo": "NGO",
    "stichting": "NGO",
    "enterprise": "ENTERPRISE",
    "bedrijf": "ENTERPRISE",
    "adult": "ADULT",
    "aanbieder van volwasseneneducatie": "ADULT",
    "chamber": "CHAMBER",
    "kamer van koophandel": "CHAMBER",
}
# Programme countries, copied from the Programme Guide.
COUNTRIES = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
    "MK", "RS", "TR",
}  # fmt: skip
# action: (organisations, countries, duration range, grant ceiling)
LIMITS = {
    "KA220-SCH": (3, 3, (12, 36), 400_000),
    "KA220-HED": (3, 3, (12, 36), 400_000),
    "KA220-VET": (3, 3, (12, 36), 400_000),
    "KA210-ADU": (2, 2, (6, 24), 60_000),
    "KA2-KA": (6, 3, (24, 36), 1_000_000),
    "KA203": (3, 3, (12, 36), 450_000),
    "AFI-LOT1": (8, 4, (24, 36), 1_000_000),
    "COVE": (8, 4, (48, 48), 4_000_000),
}
OID = re.compile(r"^E\d{8}$")
PIC = re.compile(r"^\d{9}$")


def text(value: object) -> str:
    return "" if pd.isna(value) else str(value).strip()


def check_file(path: str, findings: list[list[str]]) -> None:
    def finding(proposal: str, where: str, rule: str, detail: str) -> None:
        findings.append([path, proposal, where, rule, detail])

    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")
    except Exception as error:
        finding("", "", "unreadable-file", str(error))
        return
    project = sheets.get("Project")
    partners = sheets.get("Partners")
    if project is None or partners is None:
        finding("", "", "missing-sheet", ", ".join(sheets))
        return

    fields = {}
    for _, row in project.iterrows():
        key = FIELDS.get(text(row.iloc[0]).lower())
        if key and len(row) > 1:
            fields[key] = text(row.iloc[1])
    proposal = fields.get("proposal_id", "")

    header = None
    for index, row in partners.head(20).iterrows():
        if sum(text(v).lower() in HEADERS for v in row) >= 2:
            header = index
            break
    if header is None:
        finding(proposal, "Partners", "missing-column", "no header row")
        return
    names = [HEADERS.get(text(v).lower(), f"extra{i}") for i, v in enumerate(partners.loc[header])]
    rows = partners.loc[header + 1 :].copy()
    rows.columns = names
    rows = rows.dropna(how="all")

    organisations = set()
    countries = set()
    coordinators = 0
    for index, row in rows.iterrows():
        excel_row = index + 1
        name = text(row.get("organisation_name"))
        country = text(row.get("country")).upper()
        role = ROLES.get(text(row.get("role")).lower())
        kind = TYPES.get(text(row.get("organisation_type")).lower())
        oid = text(row.get("oid"))
        pic = text(row.get("pic"))
        if not name:
            finding(proposal, f"Partners row {excel_row}", "missing-value", "organisation")
        if country not in COUNTRIES:
            finding(proposal, f"Partners row {excel_row}", "unknown-country", country)
        if role is None:
            finding(proposal, f"Partners row {excel_row}", "unknown-role", text(row.get("role")))
        if kind is None:
            kind_text = text(row.get("organisation_type"))
            finding(proposal, f"Partners row {excel_row}", "unknown-type", kind_text)
        if oid and not OID.match(oid):
            finding(proposal, f"Partners row {excel_row}", "invalid-oid", oid)
        if pic and not PIC.match(pic):
            finding(proposal, f"Partners row {excel_row}", "invalid-pic", pic)
        if role == "coordinator":
            coordinators += 1
        if role in ("coordinator", "partner"):
            organisations.add(oid or pic or name)
            countries.add(country)

    if coordinators != 1:
        finding(proposal, "Partners", "coordinator", f"{coordinators} coordinators")
    limits = LIMITS.get(fields.get("action", ""))
    if limits is None:
        finding(proposal, "Project", "unknown-action", fields.get("action", ""))
        return
    minimum_organisations, minimum_countries, (shortest, longest), ceiling = limits
    if len(organisations) < minimum_organisations:
        finding(proposal, "Partners", "min-organisations", str(len(organisations)))
    if len(countries) < minimum_countries:
        finding(proposal, "Partners", "min-countries", str(len(countries)))
    try:
        duration = int(float(fields.get("duration_months", "")))
        if not shortest <= duration <= longest:
            finding(proposal, "Project", "duration", str(duration))
    except ValueError:
        finding(proposal, "Project", "duration", fields.get("duration_months", ""))
    try:
        grant = float(fields.get("requested_grant_eur", ""))
        if grant > ceiling:
            finding(proposal, "Project", "grant-ceiling", str(grant))
    except ValueError:
        finding(proposal, "Project", "grant", fields.get("requested_grant_eur", ""))


def main() -> None:
    paths = [line for line in Path(sys.argv[1]).read_text().splitlines() if line]
    findings: list[list[str]] = []
    for path in paths:
        check_file(path, findings)
    with Path(sys.argv[2]).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "proposal", "where", "rule", "detail"])
        writer.writerows(findings)
    print(f"{len(paths)} files, {len(findings)} findings")


if __name__ == "__main__":
    main()
