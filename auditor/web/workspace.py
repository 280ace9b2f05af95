"""The agency's pages: inboxes, uploads, runs and their results."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from auditor.report.names import safe_stem
from auditor.web.accounts import User
from auditor.web.http import (
    XLSX,
    check_csrf,
    database,
    finish,
    href,
    lang_of,
    number,
    redirect,
    refused,
    render,
    require_user,
    same_site,
    state,
)
from auditor.web.inboxes import (
    Clash,
    Inbox,
    get_inbox,
    list_files,
    may_open,
    member_names,
    move_in,
    remove_file,
    same_names,
    visible_inboxes,
)
from auditor.web.jobs import InboxBusy, QueueFull
from auditor.web.report_pages import report_page
from auditor.web.uploads import UploadRefused, extract_zips, receive, safe_relative

# How report files other than pages are served: (content type, downloaded or shown).
CONTENT_TYPES = {
    ".json": ("application/json", False),
    ".xlsx": (XLSX, True),
    ".xlsm": ("application/vnd.ms-excel.sheet.macroEnabled.12", True),
    ".pdf": ("application/pdf", True),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", True),
}


def opened_inbox(request: Request) -> tuple[User, Inbox]:
    """The signed-in user and the inbox of the URL, if they are a member of it.

    Another inbox's URL answers 404, as an inbox that does not exist does:
    an officer learns nothing of inboxes that are not theirs.
    """
    user = require_user(request)
    return user, member_inbox(request, user)


def member_inbox(request: Request, user: User) -> Inbox:
    inbox_id = number(request, "inbox")
    db = database(request)
    inbox = get_inbox(db, state(request).data, inbox_id)
    if inbox is None or not may_open(db, user, inbox_id):
        raise HTTPException(404)
    return inbox


async def home(request: Request) -> Response:
    user = require_user(request)
    inboxes = visible_inboxes(database(request), state(request).data, user)
    jobs = state(request).jobs
    return render(
        request,
        "home.html.j2",
        inboxes=[(inbox, last_job(request, inbox), jobs.busy(inbox.id)) for inbox in inboxes],
    )


def last_job(request: Request, inbox: Inbox) -> Any:
    return database(request).one(
        "SELECT * FROM jobs WHERE inbox_id = ? ORDER BY id DESC LIMIT 1", inbox.id
    )


def results_of(inbox: Inbox) -> dict[str, Any] | None:
    """The last completed run's results.json, or None before the first."""
    try:
        data: dict[str, Any] = json.loads((inbox.report / "results.json").read_bytes())
    except (OSError, ValueError):
        return None
    return data


def shown_name(inbox: Inbox, path: str) -> str:
    """A results.json file path as the inbox's officers know it (relative to its files)."""
    prefix = inbox.label + "/"
    return path[len(prefix) :] if path.startswith(prefix) else Path(path).name


async def inbox_page(request: Request) -> Response:
    _user, inbox = opened_inbox(request)
    db = database(request)
    jobs = db.all("SELECT * FROM jobs WHERE inbox_id = ? ORDER BY id DESC LIMIT 50", inbox.id)
    files = list_files(inbox)
    return render(
        request,
        "inbox.html.j2",
        inbox=inbox,
        files=files,
        same_names=same_names(files),
        members=member_names(db, inbox.id),
        jobs=jobs,
        busy=state(request).jobs.busy(inbox.id),
        results=results_of(inbox),
        shown=lambda path: shown_name(inbox, path),
        notice=request.query_params.get("notice"),
        counts=_counts(request.query_params.get("count", "")),
        limits=state(request).upload,
    )


def _counts(text: str) -> tuple[int, int]:
    """The notice's "kept/skipped" numbers; anything else in the URL is not shown."""
    kept, _, skipped = text.partition("/")
    return (int(kept), int(skipped)) if kept.isdigit() and skipped.isdigit() else (0, 0)


async def upload(request: Request) -> Response:
    user, inbox = opened_inbox(request)
    server = state(request)
    if server.jobs.busy(inbox.id):  # said before the upload is sent; checked again below
        return refused(request, 409, "busy")
    staging = server.scratch / f"upload-{secrets.token_hex(8)}"
    db = database(request)
    try:
        received = await receive(request, staging, server.upload)
        check_csrf(request, received.fields)
        names = await run_in_threadpool(extract_zips, staging, received, server.upload)
        if not names:
            return refused(request, 400, "nothing")
        with server.jobs.change(inbox.id):
            if get_inbox(db, server.data, inbox.id) is None:  # deleted meanwhile
                raise HTTPException(404)
            moved = move_in(inbox, staging, names)
    except UploadRefused as refusal:
        db.log(user.name, "upload-refused", inbox.id, refusal.reason)
        return refused(request, refusal.status, refusal.reason, **refusal.params)
    except Clash as clash:
        db.log(user.name, "upload-refused", inbox.id, f"clash: {clash}")
        return refused(request, 400, "clash", name=str(clash))
    except InboxBusy:
        return refused(request, 409, "busy")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    detail = f"{len(moved.kept)} files ({moved.replaced} replaced): " + ", ".join(moved.kept)
    db.log(user.name, "upload", inbox.id, detail)
    return redirect(
        request,
        f"/inboxes/{inbox.id}",
        notice="uploaded",
        count=f"{len(moved.kept)}/{moved.skipped}",
    )


async def delete_file(request: Request) -> Response:
    user, inbox = opened_inbox(request)
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form)
    name = str(form.get("name", ""))
    try:
        with state(request).jobs.change(inbox.id):
            found = remove_file(inbox, name)
    except InboxBusy:
        return refused(request, 409, "busy")
    if not found:
        raise HTTPException(404)
    database(request).log(user.name, "delete-file", inbox.id, name)
    return redirect(request, f"/inboxes/{inbox.id}", notice="removed")


async def start_run(request: Request) -> Response:
    user, inbox = opened_inbox(request)
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form)
    try:
        job, new = state(request).jobs.submit(inbox, user.name, lang_of(request))
    except QueueFull:
        return refused(request, 503, "queue-full")
    except InboxBusy:
        return refused(request, 409, "busy")
    if new:
        database(request).log(user.name, "run", inbox.id, f"job {job}")
    return redirect(request, f"/inboxes/{inbox.id}/jobs/{job}")


def job_row(request: Request, inbox: Inbox) -> Any:
    job_id = number(request, "job")
    row = database(request).one(
        "SELECT * FROM jobs WHERE id = ? AND inbox_id = ?", job_id, inbox.id
    )
    if row is None:
        raise HTTPException(404)
    return row


def job_status(request: Request, row: Any) -> dict[str, Any]:
    """A job as the progress page and the API see it: live counts while it runs."""
    done, total = row["done"], row["total"]
    if (live := state(request).jobs.progress.get(row["id"])) is not None:
        done, total = live.done, live.total
    return {
        "id": row["id"],
        "status": row["status"],
        "done": done,
        "total": total,
        "created": row["created"],
        "started": row["started"],
        "ended": row["ended"],
        "summary": json.loads(row["summary"]) if row["summary"] else None,
        "error": row["error"],
    }


async def job_page(request: Request) -> Response:
    _user, inbox = opened_inbox(request)
    row = job_row(request, inbox)
    return render(request, "job.html.j2", inbox=inbox, job=job_status(request, row))


async def job_json(request: Request) -> Response:
    _user, inbox = opened_inbox(request)
    return finish(request, JSONResponse(job_status(request, job_row(request, inbox))))


def report_file(inbox: Inbox, path: str) -> Path:
    """The report's file at ``path``, never anything outside the report folder."""
    relative = safe_relative(path)
    # Dot files are the report's own bookkeeping (its marker names the state file).
    if relative is None or any(part.startswith(".") for part in relative.split("/")):
        raise HTTPException(404)
    root = inbox.report.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404)
    return target


async def report(request: Request) -> Response:
    user, inbox = opened_inbox(request)
    same_site(request)
    path = request.path_params.get("path") or "index.html"
    target = report_file(inbox, path)
    if target.suffix.lower() == ".html":
        back = href(request, f"/inboxes/{inbox.id}")
        return finish(request, report_page(target, back, inbox.name))
    # Pages are read; files are taken away, so each is in the log.
    database(request).log(user.name, "download", inbox.id, path)
    kind, download = CONTENT_TYPES.get(target.suffix.lower(), ("application/octet-stream", True))
    response = FileResponse(
        target,
        media_type=kind,
        filename=target.name if download else None,
        content_disposition_type="attachment" if download else "inline",
    )
    return finish(request, response)


def _zip_report(root: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs.sort()
            for file in sorted(files):
                path = Path(folder) / file
                if path.is_symlink() or file.startswith("."):
                    continue
                archive.write(path, path.relative_to(root).as_posix())


async def report_zip(request: Request) -> Response:
    """Everything the last run wrote, in one zip (made on demand, deleted once sent)."""
    user, inbox = opened_inbox(request)
    same_site(request)
    results = results_of(inbox)
    if results is None:
        raise HTTPException(404)
    handle, name = tempfile.mkstemp(prefix="zip-", suffix=".zip", dir=state(request).scratch)
    os.close(handle)
    await run_in_threadpool(_zip_report, inbox.report, Path(name))
    run = results.get("run", {}).get("id") or "last"
    database(request).log(user.name, "download", inbox.id, "report.zip")
    response = FileResponse(
        name,
        media_type="application/zip",
        filename=f"{safe_stem(inbox.name, 'inbox')}-run-{run}.zip",
        background=BackgroundTask(os.unlink, name),
    )
    return finish(request, response)
