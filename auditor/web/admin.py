"""What an admin manages: accounts, inboxes and who is a member of which; the log."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from auditor.core.errors import ConfigError
from auditor.web.accounts import ROLES, add_user, find_user, list_users, remove_user
from auditor.web.http import check_csrf, database, redirect, render, require_admin, state
from auditor.web.inboxes import (
    add_member,
    create_inbox,
    delete_inbox,
    get_inbox,
    remove_member,
)


async def users_page(request: Request) -> Response:
    require_admin(request)
    return render(
        request, "users.html.j2", users=list_users(database(request)), roles=ROLES, error=None
    )


async def change_users(request: Request) -> Response:
    admin = require_admin(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    check_csrf(request, form)
    db = database(request)
    name = str(form.get("name", ""))
    try:
        if form.get("do") == "remove":
            if name == admin.name:
                raise ConfigError("you cannot remove your own account")
            remove_user(db, name)
            db.log(admin.name, "user-removed", detail=name)
        else:
            role = str(form.get("role", "officer"))
            add_user(db, name, str(form.get("password", "")), role, str(form.get("lang", "en")))
            db.log(admin.name, "user-added", detail=f"{name} ({role})")
    except ConfigError as error:
        return render(
            request,
            "users.html.j2",
            status=400,
            users=list_users(db),
            roles=ROLES,
            error=str(error),
        )
    return redirect(request, "/admin/users")


async def create(request: Request) -> Response:
    admin = require_admin(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    check_csrf(request, form)
    db = database(request)
    try:
        inbox = create_inbox(db, state(request).data, str(form.get("name", "")), [admin])
    except ConfigError as error:
        return render(
            request, "refused.html.j2", status=400, reason="invalid", params={"detail": str(error)}
        )
    db.log(admin.name, "inbox-created", inbox.id, inbox.name)
    return redirect(request, f"/inboxes/{inbox.id}")


async def members(request: Request) -> Response:
    admin = require_admin(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    check_csrf(request, form)
    db = database(request)
    inbox = get_inbox(db, state(request).data, int(request.path_params["inbox"]))
    user = find_user(db, str(form.get("name", "")))
    if inbox is None:
        raise HTTPException(404)
    if user is None:
        return render(
            request,
            "refused.html.j2",
            status=400,
            reason="no-user",
            params={"name": str(form.get("name", ""))},
        )
    if form.get("do") == "remove":
        remove_member(db, inbox.id, user)
        db.log(admin.name, "member-removed", inbox.id, user.name)
    else:
        add_member(db, inbox.id, user)
        db.log(admin.name, "member-added", inbox.id, user.name)
    return redirect(request, f"/inboxes/{inbox.id}")


async def delete(request: Request) -> Response:
    admin = require_admin(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    check_csrf(request, form)
    db = database(request)
    inbox = get_inbox(db, state(request).data, int(request.path_params["inbox"]))
    if inbox is None:
        raise HTTPException(404)
    if state(request).jobs.busy(inbox.id):
        return render(request, "refused.html.j2", status=409, reason="busy", params={})
    delete_inbox(db, inbox)
    db.log(admin.name, "inbox-deleted", inbox.id, inbox.name)
    return redirect(request, "/")


async def log_page(request: Request) -> Response:
    require_admin(request)
    rows = database(request).all("SELECT * FROM log ORDER BY id DESC LIMIT 500")
    return render(request, "log.html.j2", rows=rows)
