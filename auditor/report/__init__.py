"""Renderers: every output format is a view of the same AuditResult."""
