"""auditor: batch eligibility auditor for Erasmus+ partnership proposals.

The library is the product::

    from auditor import audit, AuditConfig
    result = audit(["samples"], AuditConfig(lang="nl"))

Heavy imports (polars, pandera) wait until ``audit`` is called, so the command
line starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor.core.version import VERSION as __version__

if TYPE_CHECKING:
    from auditor.api import audit
    from auditor.core.config import AuditConfig, Limits

__all__ = ["AuditConfig", "Limits", "__version__", "audit"]


def __getattr__(name: str) -> Any:
    if name == "audit":
        from auditor.api import audit

        return audit
    if name in ("AuditConfig", "Limits"):
        from auditor.core import config

        return getattr(config, name)
    raise AttributeError(name)
