"""Reading the YAML declarations (catalogue, rule sets, schemas, vocabularies).

Rule sets come from agencies (``--rules``), so a YAML file is untrusted
input: it is read with the safe loader (no Python objects), up to a size
limit, and without anchors and aliases. An alias is a reference, and a few
hundred bytes of aliases to aliases describe a document of billions of
nodes: anything that walks it (the rule book's fingerprint does) would
never end. Declarations never need them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader is ten times faster than the pure-Python one; both are safe.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Far above any declaration (the catalogue is about 60 KB).
MAX_YAML_BYTES = 4_000_000

YAMLError = yaml.YAMLError


class UnsafeYAML(yaml.YAMLError):
    """A YAML file the auditor refuses to load (too large, or with aliases)."""


def read_yaml(path: Path) -> Any:
    """The data of a YAML file, with the safe loader, refusing aliases and huge files."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise UnsafeYAML("not a regular file")
        data = handle.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise UnsafeYAML(f"the file is larger than {MAX_YAML_BYTES // 1_000_000} MB")
    text = data.decode("utf-8")
    # An anchor needs "&" and an alias "*": without either, there is none to look for.
    events = yaml.parse(text, Loader=_LOADER) if "&" in text or "*" in text else ()
    for event in events:
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1 if event.start_mark else "?"
            raise UnsafeYAML(
                f"line {line}: anchors and aliases (&name, *name) are not accepted; "
                "write the values out"
            )
    return yaml.load(text, Loader=_LOADER)
