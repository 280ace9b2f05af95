"""The HTML floor: rendering every proposal page and the index, nothing else.

    python bench/html_floor.py FOLDER OUT_FOLDER

Audits FOLDER first (not timed), then times making every page with the
auditor's own templates in one process, and prints the seconds it took.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from auditor.api import audit
from auditor.core.config import AuditConfig
from auditor.report.html import (
    ProposalRows,
    RunContext,
    index_context,
    render_index,
    rows_by_proposal,
)
from auditor.report.jobs import PageJob, render_pages
from auditor.report.names import Links, UniqueNames, safe_stem


def main() -> None:
    result = audit([sys.argv[1]], AuditConfig())
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = rows_by_proposal(result.partners, result.projects)
    names, links = UniqueNames(), Links()
    jobs = []
    for proposal in result.proposals:
        page = links.pages[proposal.key] = (
            f"proposals/{names.take(safe_stem(proposal.proposal_id), '.html')}"
        )
        jobs.append(PageJob(page, proposal, rows.get(proposal.key, ProposalRows({}, [])), None))
    run = RunContext(
        result.tool_version, result.started_at, result.rules_version, list(result.inputs)
    )
    render_pages(str(out), run, "en", {}, jobs)
    (out / "index.html").write_text(render_index(index_context(result, links)), encoding="utf-8")
    print(f"{time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main()
