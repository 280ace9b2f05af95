"""What the auditor remembers of an inbox between runs (incremental audits, history)."""
