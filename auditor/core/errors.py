"""User-facing errors.

Everything a user can get wrong (a bad option, an unreadable rule set, an output
folder that cannot be written) raises one of these with a message that says what
to do. The CLI prints the message and exits with code 2; only ``--debug`` shows a
traceback. Problems inside an audited workbook are never exceptions: they are
findings.
"""

from __future__ import annotations


class AuditorError(Exception):
    """Base of every error the user can act on."""


class ConfigError(AuditorError):
    """An option or setting is invalid."""


class RulesError(AuditorError):
    """A rule set or schema declaration cannot be loaded."""


class OutputError(AuditorError):
    """The output folder or file cannot be written."""


class StateError(AuditorError):
    """The state file of incremental runs cannot be used (damaged, unwritable, not ours)."""


class PlacesError(AuditorError):
    """The inputs, the report folder and the state overlap."""


class NothingToAudit(AuditorError):
    """The paths hold no workbook (an unmounted share, a wrong folder)."""
