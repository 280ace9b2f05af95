"""The auditor's version, where every layer may read it (pyproject.toml has the same)."""

VERSION = "0.1.0"
