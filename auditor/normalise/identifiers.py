"""Organisation identifiers: OID, PIC and Erasmus (ECHE) codes."""

from __future__ import annotations

import re

OID_PATTERN = r"^E\d{8}$"
PIC_PATTERN = r"^\d{9}$"

# Erasmus codes start with a country prefix that is not always the ISO code
# (actions.md, erasmus-code-country): one to three letters, then padding spaces,
# the city letters and a serial number, e.g. "NL AMSTERD01", "D  BERLIN01",
# "IRLDUBLIN01" (three-letter prefixes need no padding).
ERASMUS_PREFIXES = {
    "A": "AT",
    "B": "BE",
    "D": "DE",
    "E": "ES",
    "F": "FR",
    "G": "EL",
    "I": "IT",
    "N": "NO",
    "P": "PT",
    "S": "SE",
    "SF": "FI",
    "IRL": "IE",
    "LUX": "LU",
    # The ISO forms some applicants write (actions.md v2): Greece and the
    # United Kingdom, never a mismatch on their own country.
    "GR": "EL",
    "GB": "UK",
}
ERASMUS_PATTERN = r"^(?:(IRL|LUX) *|([A-Z]{1,2}) *)([A-Z][A-Z .'\-]{1,11}?) *(\d{1,3})$"
_ERASMUS = re.compile(ERASMUS_PATTERN)


def clean_oid(text: str | None) -> str | None:
    return None if text is None else re.sub(r"\s+", "", text).upper()


def clean_pic(text: str | None) -> str | None:
    if text is None:
        return None
    value = re.sub(r"\s+", "", text)
    # A PIC typed into a number cell comes back as "999660855" or "999660855.0".
    return value[:-2] if value.endswith(".0") else value


def clean_erasmus_code(text: str | None) -> str | None:
    """Upper case, invisible spaces made plain; the padding is kept as written."""
    if text is None:
        return None
    return text.replace("\u00a0", " ").upper().strip()


def erasmus_code_country(code: str | None) -> str | None:
    """The country (EU code) an Erasmus code's prefix stands for, or None if malformed."""
    if code is None:
        return None
    match = _ERASMUS.match(clean_erasmus_code(code) or "")
    if match is None:
        return None
    prefix = match.group(1) or match.group(2)
    if prefix in ERASMUS_PREFIXES:
        return ERASMUS_PREFIXES[prefix]
    if len(prefix) == 2:
        return prefix
    return None


def is_erasmus_code(code: str | None) -> bool:
    return erasmus_code_country(code) is not None
