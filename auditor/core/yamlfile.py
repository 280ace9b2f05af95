"""Reading the YAML declarations (catalogue, rule sets, schemas, vocabularies)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# libyaml's loader is ten times faster than the pure-Python one; both are safe.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YAMLError = yaml.YAMLError


def read_yaml(path: Path) -> Any:
    """The data of a YAML file, with the safe loader (no Python objects)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
