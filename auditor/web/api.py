"""The API for scripts: ``Authorization: Bearer <token>``, no cookies, no CSRF.

POST /api/inboxes/{id}/runs          start a run (202, the job; 200 if one is under way)
GET  /api/inboxes/{id}/jobs/{job}    the job's status and progress
GET  /api/inboxes/{id}/results.json  the last run's results.json
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from auditor.web.http import api_user, database, finish, href, state
from auditor.web.jobs import InboxBusy, QueueFull
from auditor.web.workspace import job_row, job_status, member_inbox


async def start(request: Request) -> Response:
    user = api_user(request)
    inbox = member_inbox(request, user)
    try:
        job, new = state(request).jobs.submit(inbox, user.name, user.lang)
    except QueueFull:
        raise HTTPException(503, detail="the queue is full; try again later") from None
    except InboxBusy:
        raise HTTPException(409, detail="the inbox's files are being changed") from None
    if new:
        database(request).log(user.name, "run", inbox.id, f"job {job} (api)")
    body = {"job": job, "status": href(request, f"/api/inboxes/{inbox.id}/jobs/{job}")}
    return finish(request, JSONResponse(body, status_code=202 if new else 200))


async def job(request: Request) -> Response:
    user = api_user(request)
    inbox = member_inbox(request, user)
    return finish(request, JSONResponse(job_status(request, job_row(request, inbox))))


async def results(request: Request) -> Response:
    user = api_user(request)
    inbox = member_inbox(request, user)
    path = inbox.report / "results.json"
    if not path.is_file():
        raise HTTPException(404, detail="no run has completed yet")
    database(request).log(user.name, "download", inbox.id, "results.json (api)")
    return finish(request, FileResponse(path, media_type="application/json"))
