"""Generate a folder of realistic proposal workbooks for benchmarks.

    python bench/generate.py OUT --count 2000 [--seed 1] [--jobs 2]

Proposals of every action, 5 to 60 partners, about 30% ineligible (a rule
broken on purpose), in English and Dutch layouts. Workbooks are written with
the sample writer (openpyxl), in parallel.
"""

from __future__ import annotations

import argparse
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samples.make_samples import Style, hei, org, write_proposal  # noqa: E402

# action, call year, duration, grant, pool countries to draw from, composition
ACTIONS: list[dict[str, Any]] = [
    {
        "action": "KA220-SCH",
        "year": 2024,
        "duration": 24,
        "grant": 250000,
        "types": ["SCHOOL", "NGO"],
    },
    {
        "action": "KA220-HED",
        "year": 2024,
        "duration": 36,
        "grant": 400000,
        "types": ["HEI", "ENTERPRISE"],
    },
    {
        "action": "KA220-VET",
        "year": 2025,
        "duration": 24,
        "grant": 120000,
        "types": ["VET", "ENTERPRISE"],
    },
    {"action": "KA210-ADU", "year": 2024, "duration": 12, "grant": 60000, "types": ["ADULT"]},
    {
        "action": "KA2-KA",
        "year": 2019,
        "duration": 36,
        "grant": 990000,
        "types": ["HEI", "ENTERPRISE"],
    },
    {"action": "KA203", "year": 2019, "duration": 24, "grant": 300000, "types": ["HEI"]},
    {
        "action": "AFI-LOT1",
        "year": 2024,
        "duration": 24,
        "grant": 1000000,
        "types": ["HEI", "VET", "ENTERPRISE", "CHAMBER"],
    },
    {
        "action": "COVE",
        "year": 2024,
        "duration": 48,
        "grant": 4000000,
        "types": ["VET", "ENTERPRISE"],
    },
]
COUNTRIES = [
    "NL",
    "BE",
    "DE",
    "FR",
    "IT",
    "ES",
    "PL",
    "AT",
    "SE",
    "FI",
    "PT",
    "CZ",
    "RS",
    "NO",
    "TR",
]
TYPE_NL = {
    "SCHOOL": "School",
    "NGO": "Stichting",
    "HEI": "Hogeschool",
    "ENTERPRISE": "Bedrijf",
    "VET": "Aanbieder van beroepsonderwijs en -opleiding",
    "ADULT": "Aanbieder van volwasseneneducatie",
    "CHAMBER": "Kamer van koophandel",
}


def make(index: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed * 1_000_003 + index)
    spec = dict(rng.choice(ACTIONS))
    size = rng.randint(5, 60) if spec["action"] not in ("KA210-ADU",) else rng.randint(5, 12)
    dutch = rng.random() < 0.3
    partners: list[dict[str, Any]] = []
    for number in range(size):
        country = COUNTRIES[number % len(COUNTRIES)] if number < 8 else rng.choice(COUNTRIES)
        kind = spec["types"][number % len(spec["types"])]
        role = "coordinator" if number == 0 else rng.choice(["partner"] * 6 + ["associated"])
        if kind == "HEI":
            row = {
                "role": role,
                "country": country,
                "organisation_type": "HEI",
                **hei(country, number),
            }
        else:
            row = org(role, country, kind, f"Organisation {index}-{number}", city="City")
        if dutch:
            row["role"] = {
                "coordinator": "Coördinator (aanvrager)",
                "partner": "Volwaardig partner",
                "associated": "Geassocieerd partner",
            }[role]
            row["organisation_type"] = TYPE_NL.get(kind, kind)
        partners.append({"partner_no": str(number + 1), **row})
    project = {
        "proposal_id": f"{spec['year']}-1-NL01-{spec['action']}-{index:09d}",
        "action": spec["action"],
        "call_year": spec["year"],
        "duration_months": spec["duration"],
        "requested_grant_eur": spec["grant"],
        "priorities": "Inclusion and diversity",
        "industrial_ecosystem": None,
        "eqf_levels": None,
        "partnership_type": "innovation" if spec["action"] == "KA203" else None,
    }
    if rng.random() < 0.3:  # break one rule on purpose
        broken = rng.choice(["duration", "grant", "coordinator", "country", "oid"])
        if broken == "duration":
            project["duration_months"] = 99
        elif broken == "grant":
            project["requested_grant_eur"] = 9_999_999
        elif broken == "coordinator":
            partners[0]["role"] = "partner"
        elif broken == "country":
            partners[1]["country"] = "Atlantis"
        else:
            partners[2]["oid"] = "E12"
    return {
        "project": {k: (str(v) if v is not None else None) for k, v in project.items()},
        "partners": partners,
        "lang": "nl" if dutch else "en",
    }


def _write(args: tuple[Path, int, int]) -> None:
    folder, index, seed = args
    proposal = make(index, seed)
    write_proposal(folder / f"proposal-{index:05d}.xlsx", proposal, Style(lang=proposal["lang"]))


def generate(folder: Path, count: int, seed: int = 1, jobs: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [(folder, i, seed) for i in range(count)]
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_write, tasks, chunksize=50))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args()
    generate(options.folder, options.count, options.seed, options.jobs)
    print(f"wrote {options.count} workbooks in {options.folder}")


if __name__ == "__main__":
    main()
