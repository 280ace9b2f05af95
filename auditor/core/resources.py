"""Where the files the auditor ships live, installed or in a checkout.

The jinja2 templates and the schema declarations sit at the top of the
repository; a wheel carries them as ``auditor/_resources/<name>``. The package's
own data (rule catalogue, rule sets, ECHE list) always sits inside the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent


@cache
def shipped_dir(name: str) -> Path:
    """Folder ``templates`` or ``schemas``, from the wheel or from the checkout."""
    installed = PACKAGE_DIR / "_resources" / name
    if installed.is_dir():
        return installed
    checkout = PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"the auditor installation has no {name!r} folder")


def package_file(*parts: str) -> Path:
    """A data file inside the package, e.g. ``package_file("rules", "catalogue.yaml")``."""
    return PACKAGE_DIR.joinpath(*parts)
