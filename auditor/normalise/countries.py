"""Countries: every way people write one, to the EU's two-letter code.

The names come from pycountry (ISO 3166-1 with its translations), so English,
Dutch and each country's own language are recognised without a hand-written
list. On top of ISO the EU uses its own codes: ``EL`` for Greece and ``UK``
for the United Kingdom; Kosovo is ``XK``. Reports show the EU code.
"""

from __future__ import annotations

import gettext
import re
from functools import cache, lru_cache
from pathlib import Path

import pycountry

from auditor.normalise.text import match_key

# ISO code -> EU code where they differ (Eurostat country-code glossary).
_ISO_TO_EU = {"GR": "EL", "GB": "UK"}
_EU_TO_ISO = {eu: iso for iso, eu in _ISO_TO_EU.items()}

# Kosovo has no ISO 3166-1 entry; the EU and the ECHE list use XK.
_KOSOVO = {"en": "Kosovo", "nl": "Kosovo"}
_KOSOVO_NAMES = ("Kosovo", "XKX", "Kosova", "Kosovë", "Kosovo*", "Republic of Kosovo")

# Names that are no longer ISO's but that people still write, in English.
_FORMER_NAMES = {
    "TR": ("Turkey", "Republic of Turkey"),
    "CZ": ("Czech Republic",),
    "MK": ("Macedonia", "FYROM", "Former Yugoslav Republic of Macedonia", "Republic of Macedonia"),
    "GB": ("Great Britain", "England", "Scotland", "Wales", "Northern Ireland", "Britain"),
    "NL": ("Holland", "The Netherlands"),
    "RU": ("Russia",),
    "MD": ("Moldova",),
    "PS": ("Palestine",),
    "SY": ("Syria",),
    "SZ": ("Swaziland",),
    "CV": ("Cape Verde",),
    "CI": ("Ivory Coast",),
    "VA": ("Vatican", "Holy See"),
    "KR": ("South Korea",),
    "KP": ("North Korea",),
    "BO": ("Bolivia",),
    "VE": ("Venezuela",),
    "IR": ("Iran",),
    "TW": ("Taiwan",),
    "TZ": ("Tanzania",),
    "LA": ("Laos",),
    "VN": ("Vietnam",),
    "US": ("USA", "United States of America", "America"),
    # Endonyms pycountry's catalogues spell differently.
    "AL": ("Shqipëria", "Shqipëri"),
    "LU": ("Lëtzebuerg",),
    "GE": ("Sakartvelo",),
}

_FIRST_LANGUAGES = ("nl",)

# The languages of the countries that take part in the programme or sit in its
# neighbourhood regions: the "own language" names people write. Loading all of
# pycountry's 159 catalogues would cost about a second per run for nothing.
_NATIVE_LANGUAGES = (
    "bg",
    "cs",
    "da",
    "de",
    "el",
    "es",
    "et",
    "fi",
    "fr",
    "ga",
    "hr",
    "hu",
    "it",
    "lt",
    "lv",
    "mt",
    "pl",
    "pt",
    "ro",
    "sk",
    "sl",
    "sv",
    "is",
    "nb",
    "nn",
    "mk",
    "sr",
    "tr",
    "sq",
    "bs",
    "uk",
    "be",
    "ru",
    "ka",
    "hy",
    "az",
    "ar",
    "he",
    "lb",
    "ca",
    "eu",
    "gl",
    "cy",
    "fy",
    "rm",
)


def to_eu(iso_alpha2: str) -> str:
    return _ISO_TO_EU.get(iso_alpha2, iso_alpha2)


def to_iso(eu_code: str) -> str:
    return _EU_TO_ISO.get(eu_code, eu_code)


@cache
def _translation(language: str) -> gettext.NullTranslations:
    # gettext looks for the catalogue on disk at every call (a dozen stats).
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


@cache
def _primary_lookup() -> dict[str, str]:
    """Codes, English names, Dutch names and former names: the common cases."""
    lookup: dict[str, str] = {}

    def add(text: str, code: str) -> None:
        key = match_key(text)
        if key:
            lookup.setdefault(key, code)

    for country in pycountry.countries:
        code = to_eu(country.alpha_2)
        add(country.alpha_2, code)
        add(country.alpha_3, code)
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                add(name, code)
                if name.lower().startswith("the "):
                    add(name[4:], code)
    for eu_code in _EU_TO_ISO:
        add(eu_code, eu_code)
    for name in _KOSOVO_NAMES:
        add(name, "XK")
    add("XK", "XK")
    for iso, names in _FORMER_NAMES.items():
        for name in names:
            add(name, to_eu(iso))
    for language in _FIRST_LANGUAGES:
        translation = _translation(language)
        for country in pycountry.countries:
            for attribute in ("name", "common_name", "official_name"):
                name = getattr(country, attribute, None)
                if name:
                    add(translation.gettext(name), to_eu(country.alpha_2))
    return lookup


@cache
def _native_lookup() -> dict[str, str]:
    """Names in every language pycountry translates to, loaded only when needed.

    A name that means different countries in different languages is left out
    rather than guessed.
    """
    primary = _primary_lookup()
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    locales = Path(pycountry.LOCALES_DIR)
    for language in _NATIVE_LANGUAGES:
        if not (locales / language / "LC_MESSAGES" / "iso3166-1.mo").is_file():
            continue
        translation = _translation(language)
        for country in pycountry.countries:
            code = to_eu(country.alpha_2)
            for attribute in ("name", "common_name"):
                name = getattr(country, attribute, None)
                if not name:
                    continue
                key = match_key(translation.gettext(name))
                if not key or key in primary:
                    continue
                if found.setdefault(key, code) != code:
                    ambiguous.add(key)
    for key in ambiguous:
        del found[key]
    return found


_CODE_AND_NAME = re.compile(r"^([A-Z]{2,3})\s*[-\u2013\u2014:]\s*\S")


def country_code(text: object) -> str | None:
    """The EU two-letter code of a country written in any accepted way, or None.

    Also reads the template's dropdown values, "NL – Nederland": a code, a
    dash and a name.
    """
    key = match_key(text)
    if not key:
        return None
    code = _primary_lookup().get(key)
    if code is None:
        code = _native_lookup().get(key)
    if code is None and isinstance(text, str):
        match = _CODE_AND_NAME.match(text.strip())
        if match:
            code = _primary_lookup().get(match_key(match.group(1)))
    return code


def dropdown_value(code: str, lang: str = "en") -> str:
    """How the template's country dropdown shows a country: "NL – Nederland"."""
    return f"{code} \u2013 {country_name(code, lang)}"


@lru_cache(maxsize=1024)  # bounded: codes come from workbooks
def country_name(code: str, lang: str = "en") -> str:
    """The country's name in English or Dutch, for reports."""
    if code == "XK":
        return _KOSOVO.get(lang, "Kosovo")
    country = pycountry.countries.get(alpha_2=to_iso(code))
    if country is None:
        return code
    name: str = getattr(country, "common_name", None) or country.name
    if lang == "en":
        return name
    return _translation(lang).gettext(name)


@cache
def all_codes() -> tuple[str, ...]:
    """Every country code the auditor knows, EU style, sorted."""
    return tuple(sorted({to_eu(c.alpha_2) for c in pycountry.countries} | {"XK"}))
