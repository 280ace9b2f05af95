"""The web application over HTTP: who may see what, forms, uploads, the applicant's check.

Most tests talk to the ASGI app in-process (starlette's TestClient); the
ones about two clients at once and a server killed mid-run start a real
``auditor serve`` (tests/web_server.py).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from starlette.routing import Route
from starlette.testclient import TestClient

from auditor.core.errors import ConfigError
from auditor.web.accounts import add_user, find_user, verify
from auditor.web.app import Settings, create_app, routes
from auditor.web.db import Database
from auditor.web.inboxes import create_inbox, get_inbox
from auditor.web.uploads import UploadLimits
from tests.web_server import (
    PASSWORD,
    ROOT,
    csrf,
    make_user,
    serving,
    signed_in,
    wait_for_job,
)

SAMPLES = ROOT / "samples"
PUBLIC = {"/login", "/logout", "/check", "/check/{token}/annotated", "/template", "/favicon.ico"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Site:
    """An app with an admin (ada), two officers (bob: inbox A, cy: inbox B)."""

    def __init__(self, data: Path, **settings: Any) -> None:
        self.data = data
        self.app = create_app(Settings(data, **settings))
        self.server = self.app.state.server
        for name, role in (("ada", "admin"), ("bob", "officer"), ("cy", "officer")):
            make_user(data, name, role)
        db = self.server.db
        self.a = create_inbox(db, self.server.data, "Inbox A", [find_user(db, "bob")])
        self.b = create_inbox(db, self.server.data, "Inbox B", [find_user(db, "cy")])

    def client(self, name: str | None = None, **options: Any) -> TestClient:
        client = TestClient(self.app, follow_redirects=False, **options)
        client.__enter__()
        if name is not None:
            page = client.get("/login")
            response = client.post(
                "/login",
                data={"csrf": csrf(page.text), "name": name, "password": PASSWORD, "next": "/"},
            )
            assert response.status_code == 303, response.text
        return client

    def token(self, client: TestClient) -> str:
        """The CSRF token this client's pages carry."""
        return csrf(client.get("/check").text)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path / "data")
    yield made


def _upload(client: TestClient, inbox: int, files: list[tuple[str, bytes]], token: str) -> Any:
    parts = [("files", (name, body, "application/octet-stream")) for name, body in files]
    return client.post(f"/inboxes/{inbox}/upload", data={"csrf": token}, files=parts)


def _audited(site: Site, client: TestClient, inbox: int, names: list[str]) -> dict[str, Any]:
    """Upload samples into the inbox and audit them; the finished job."""
    token = site.token(client)
    if names:
        response = _upload(client, inbox, [(n, (SAMPLES / n).read_bytes()) for n in names], token)
        assert response.status_code == 303, response.text
    started = client.post(f"/inboxes/{inbox}/run", data={"csrf": token})
    assert started.status_code == 303
    job = started.headers["location"]
    deadline = time.monotonic() + 300
    while (status := client.get(f"{job}/status").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["status"] == "done", status
    return dict(status)


def _fill(path: str, site: Site) -> str:
    values = {"inbox": str(site.a.id), "job": "1", "path": "index.html", "token": "x"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path)


def _agency_routes() -> list[tuple[str, str]]:
    found = []
    for route in routes():
        assert isinstance(route, Route)
        if route.path in PUBLIC:
            continue
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def test_every_agency_url_refuses_an_anonymous_request(site: Site) -> None:
    bob = site.client("bob")
    _audited(site, bob, site.a.id, ["afi-lot1-eligible.xlsx", "afi-lot1-ineligible.xlsx"])
    before = sorted(p.name for p in site.a.files.rglob("*"))
    anonymous = site.client()
    token = site.token(anonymous)  # even with a valid CSRF token
    checked = 0
    for method, path in _agency_routes():
        url = _fill(path, site)
        response = anonymous.request(method, url, data={"csrf": token, "name": "x"})
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, url)
        else:
            assert response.status_code == 303, (method, url, response.status_code)
            assert response.headers["location"].startswith("/login?next="), (method, url)
        assert "Inbox A" not in response.text and "eligible" not in response.text
        checked += 1
    assert checked >= 20
    assert sorted(p.name for p in site.a.files.rglob("*")) == before
    assert get_inbox(site.server.db, site.server.data, site.a.id) is not None


def test_another_inboxs_member_sees_nothing_of_it(site: Site) -> None:
    bob = site.client("bob")
    _audited(site, bob, site.a.id, ["afi-lot1-ineligible.xlsx"])
    cy = site.client("cy")
    token = site.token(cy)
    for method, path in _agency_routes():
        if "{inbox" not in path or path.startswith("/api/"):
            continue
        url = _fill(path, site)
        response = cy.request(method, url, data={"csrf": token, "name": "afi-lot1-ineligible.xlsx"})
        expected = 403 if path.endswith(("/members", "/delete")) and "files" not in path else 404
        assert response.status_code == expected, (method, url, response.status_code)
        # (The action's whole code: a page's random nonce can hold "AFI".)
        assert "Inbox A" not in response.text and "AFI-LOT1" not in response.text
    # Officers manage nobody.
    for method, path in (("GET", "/admin/users"), ("GET", "/admin/log"), ("POST", "/inboxes")):
        assert cy.request(method, path, data={"csrf": token, "name": "x"}).status_code == 403
    # Bob, a member, sees it all; cy's own inbox list does not name it.
    shown = bob.get(f"/inboxes/{site.a.id}/report/index.html")
    assert shown.status_code == 200 and "AFI-LOT1" in shown.text  # what cy was not shown
    assert "Inbox A" not in cy.get("/").text and "Inbox B" in cy.get("/").text
    assert (site.a.files / "afi-lot1-ineligible.xlsx").exists()


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    ada = site.client("ada")
    _audited(site, ada, site.a.id, ["afi-lot1-ineligible.xlsx"])
    users_before = site.server.db.all("SELECT name FROM users")
    posts = [path for method, path in _agency_routes() if method == "POST" and "/api/" not in path]
    posts += ["/logout", "/check"]
    for path in posts:
        url = _fill(path, site)
        for fields in ({}, {"csrf": "forged-" + "x" * 30}):
            data = {"name": "afi-lot1-ineligible.xlsx", "password": "p" * 20, **fields}
            files = {"files": ("new.xlsx", b"PK", "application/octet-stream")}
            response = ada.post(
                url, data=data, files=files if "upload" in path or path == "/check" else None
            )
            assert response.status_code == 403, (url, fields, response.status_code)
            assert 'data-reason="csrf"' in response.text
    assert (site.a.files / "afi-lot1-ineligible.xlsx").exists()
    assert not (site.a.files / "new.xlsx").exists()
    assert site.server.db.all("SELECT name FROM users") == users_before
    assert ada.get("/").status_code == 200  # still signed in: logout was refused too
    assert list(site.server.scratch.glob("upload-*")) == []


TRAVERSALS = [
    "../auditor.sqlite",
    "..%2Fauditor.sqlite",
    "%2e%2e/%2e%2e/%2e%2e/auditor.sqlite",
    "%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
    "..%5c..%5c..%5cauditor.sqlite",
    "proposals/../../files/afi-lot1-ineligible.xlsx",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "//etc/passwd",
    "C:%5cWindows%5cwin.ini",
    "....//....//auditor.sqlite",
    "%252e%252e/auditor.sqlite",
    "index.html%00.json",
]


def test_no_url_reaches_a_file_outside_the_report(site: Site) -> None:
    secret = site.data.parent / "secret.txt"
    secret.write_text("the crown jewels")
    bob = site.client("bob")
    _audited(site, bob, site.a.id, ["afi-lot1-ineligible.xlsx"])
    for trick in TRAVERSALS:
        for prefix in (f"/inboxes/{site.a.id}/report/", f"/inboxes/{site.a.id}/report.zip/"):
            response = bob.get(prefix + trick)
            assert response.status_code in (404, 400), (trick, response.status_code)
            body = response.content
            assert b"crown jewels" not in body and b"SQLite format" not in body
            assert b"root:" not in body and not body.startswith(b"PK")
    # A file's removal takes only names the listing gives.
    token = site.token(bob)
    for trick in ("../../secret.txt", str(secret), "../report/results.json", "."):
        response = bob.post(
            f"/inboxes/{site.a.id}/files/delete", data={"csrf": token, "name": trick}
        )
        assert response.status_code == 404
    assert secret.exists() and (site.a.report / "results.json").exists()


def _zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "../../../secret.txt")
    return buffer.getvalue()


def test_zip_members_never_land_outside_the_inbox(site: Site) -> None:
    bob = site.client("bob")
    token = site.token(bob)
    good = (SAMPLES / "afi-lot1-eligible.xlsx").read_bytes()
    for members, links, reason in (
        ({"../../../evil.xlsx": good}, (), "zip-path"),
        ({"/tmp/evil.xlsx": good}, (), "zip-path"),
        ({"ok.xlsx": good, "a/../../evil.xlsx": good}, (), "zip-path"),
        ({"ok.xlsx": good}, ("evil.xlsx",), "zip-link"),
    ):
        response = _upload(bob, site.a.id, [("round.zip", _zip(members, links))], token)
        assert response.status_code == 400, (members, response.status_code)
        assert f'data-reason="{reason}"' in response.text
    everything = {p.name for p in site.data.parent.rglob("*")}
    assert "evil.xlsx" not in everything and "ok.xlsx" not in everything
    assert list(site.a.files.iterdir()) == []
    assert list(site.server.scratch.glob("upload-*")) == []
    # A good zip: its folders kept inside the inbox.
    response = _upload(bob, site.a.id, [("round.zip", _zip({"lot1/a.xlsx": good}))], token)
    assert response.status_code == 303
    assert (site.a.files / "round" / "lot1" / "a.xlsx").read_bytes() == good


def test_an_oversized_upload_gets_413_and_leaves_nothing(tmp_path: Path) -> None:
    site = Site(tmp_path / "data", upload=UploadLimits(max_request_bytes=300_000, max_files=3))
    bob = site.client("bob")
    token = site.token(bob)
    (site.a.files / "kept.xlsx").write_bytes(b"old")
    for files in (
        [("big.xlsx", b"\0" * 400_000)],  # over the request size
        [(f"f{n}.xlsx", b"x" * 10) for n in range(5)],  # over the file count
        [("many.zip", _zip({f"m{n}.xlsx": b"x" for n in range(5)}))],  # its members count too
    ):
        response = _upload(bob, site.a.id, files, token)
        assert response.status_code == 413, files[0][0]
        assert "Nothing was kept" in response.text or "Nothing was extracted" in response.text
        assert "(0.3 MB)" in response.text or "(3)" in response.text  # the limit, named
        assert sorted(p.name for p in site.a.files.iterdir()) == ["kept.xlsx"]
        assert list(site.server.scratch.glob("upload-*")) == []
    assert (site.a.files / "kept.xlsx").read_bytes() == b"old"
    logged = site.server.db.all("SELECT action FROM log WHERE action = 'upload-refused'")
    assert len(logged) == 3


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    site = Site(tmp_path / "data")
    bob = site.client("bob")
    bomb = _zip({"bomb.xlsx": b"\0" * 30_000_000})  # ~30 KB inflating 1000 times
    response = _upload(bob, site.a.id, [("bomb.zip", bomb)], site.token(bob))
    assert response.status_code == 413
    assert 'data-reason="zip-bomb"' in response.text
    assert list(site.a.files.iterdir()) == [] and list(site.server.scratch.glob("upload-*")) == []


def test_the_applicants_file_is_gone_once_collected(site: Site) -> None:
    visitor = site.client()
    sent = (SAMPLES / "ka210-ineligible.xlsx").read_bytes()
    response = visitor.post(
        "/check",
        data={"csrf": site.token(visitor)},
        files={"file": ("mine.xlsx", sent, "application/octet-stream")},
    )
    assert response.status_code == 200
    assert 'data-verdict="ineligible"' in response.text
    assert "deleted from the server" in response.text
    link = re.search(r'href="(/check/[^"]+/annotated)"', response.text)
    assert link
    checks = site.server.checks.root
    # Served: only the annotated copy waits, nothing else of the upload.
    waiting = [p for p in checks.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert [p.name for p in waiting] == ["mine.xlsx"] and waiting[0].parent.name == "annotated"
    copy = visitor.get(link.group(1))
    assert copy.status_code == 200 and copy.headers["content-type"] == XLSX
    assert openpyxl.load_workbook(io.BytesIO(copy.content)).sheetnames
    assert list(checks.iterdir()) == []
    assert visitor.get(link.group(1)).status_code == 404
    assert not [p for p in site.data.rglob("*") if p.is_file() and p.read_bytes() == sent]


def test_an_uncollected_check_expires_and_a_copyless_one_is_gone_at_once(tmp_path: Path) -> None:
    site = Site(tmp_path / "data", check_expiry=600)
    visitor = site.client()
    token = site.token(visitor)
    response = visitor.post(
        "/check",
        data={"csrf": token},
        files={"file": ("a.xlsx", (SAMPLES / "ka210-ineligible.xlsx").read_bytes(), XLSX)},
    )
    link = re.search(r'href="(/check/[^"]+/annotated)"', response.text)
    assert link and list(site.server.checks.root.iterdir())
    assert "after 10 minutes" in response.text
    site.server.checks.sweep()
    assert list(site.server.checks.root.iterdir())  # not yet
    checks = site.server.checks
    checks.expires = {token: moment - 601 for token, moment in checks.expires.items()}
    checks.sweep()
    assert list(site.server.checks.root.iterdir()) == []
    assert visitor.get(link.group(1)).status_code == 404
    # A workbook that cannot be read gets no annotated copy: nothing is kept after the page.
    response = visitor.post(
        "/check", data={"csrf": token}, files={"file": ("x.xlsx", b"PK\3\4 not a zip", XLSX)}
    )
    assert response.status_code == 200 and "already been deleted" in response.text
    assert "IO0" in response.text  # the finding that says why
    assert list(site.server.checks.root.iterdir()) == []
    # Two files, or one that is not a workbook: refused, nothing kept.
    response = visitor.post(
        "/check", data={"csrf": token}, files={"file": ("notes.txt", b"hello", "text/plain")}
    )
    assert response.status_code == 400 and list(site.server.checks.root.iterdir()) == []


def test_templates_download_in_both_languages(site: Site) -> None:
    visitor = site.client()
    for lang in ("en", "nl"):
        response = visitor.get("/template", params={"action": "KA220-HED", "lang": lang})
        assert response.status_code == 200 and response.headers["content-type"] == XLSX
        assert f"template-KA220-HED-{lang}.xlsx" in response.headers["content-disposition"]
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        # The template in the language asked for: its first sheet says so.
        assert workbook.sheetnames[0] == {"en": "Instructions", "nl": "Instructies"}[lang]
    assert visitor.get("/template", params={"action": "../../etc", "lang": "en"}).status_code == 404


def test_login_and_applicant_pages_are_rate_limited(tmp_path: Path) -> None:
    site = Site(tmp_path / "data", login_rate=(3, 60.0), check_rate=(2, 60.0))
    visitor = site.client()
    token = site.token(visitor)
    codes = [
        visitor.post(
            "/login", data={"csrf": token, "name": "bob", "password": "wrong" * 4}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    # Even the right password waits now.
    right = visitor.post("/login", data={"csrf": token, "name": "bob", "password": PASSWORD})
    assert right.status_code == 429
    codes = [
        visitor.post(
            "/check", data={"csrf": token}, files={"file": ("a.txt", b"x", "text/plain")}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [400, 400, 429]
    failed = site.server.db.all("SELECT * FROM log WHERE action = 'login-failed'")
    assert len(failed) == 3


def test_api_tokens_start_a_run_and_fetch_its_results(site: Site) -> None:
    bob = site.client("bob")
    page = bob.post("/tokens", data={"csrf": site.token(bob), "name": "nightly"})
    token = re.search(r'id="new-token">([^<]+)<', page.text)
    assert token
    (site.a.files / "afi-lot1-ineligible.xlsx").write_bytes(
        (SAMPLES / "afi-lot1-ineligible.xlsx").read_bytes()
    )
    script = TestClient(site.app)  # no cookies
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert script.post(f"/api/inboxes/{site.a.id}/runs").status_code == 401
    assert (
        script.post(
            f"/api/inboxes/{site.a.id}/runs", headers={"Authorization": "Bearer aud_nope"}
        ).status_code
        == 401
    )
    assert script.post(f"/api/inboxes/{site.b.id}/runs", headers=bearer).status_code == 404
    started = script.post(f"/api/inboxes/{site.a.id}/runs", headers=bearer)
    assert started.status_code == 202
    status_url = started.json()["status"]
    deadline = time.monotonic() + 300
    while (status := script.get(status_url, headers=bearer).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["status"] == "done" and status["summary"]["proposals"] == 1
    results = script.get(f"/api/inboxes/{site.a.id}/results.json", headers=bearer)
    assert results.status_code == 200 and results.json()["summary"]["ineligible"] == 1
    # A cookie is no token: the API takes only Bearer.
    assert bob.get(f"/api/inboxes/{site.a.id}/results.json").status_code == 401
    # Revoked (by its owner only), it opens nothing.
    listed = bob.get("/tokens").text
    rowid = re.search(r'name="id" value="(\d+)"', listed)
    assert rowid
    cy = site.client("cy")
    cy.post("/tokens", data={"csrf": site.token(cy), "do": "revoke", "id": rowid.group(1)})
    assert script.get(f"/api/inboxes/{site.a.id}/results.json", headers=bearer).status_code == 200
    bob.post("/tokens", data={"csrf": site.token(bob), "do": "revoke", "id": rowid.group(1)})
    assert script.get(f"/api/inboxes/{site.a.id}/results.json", headers=bearer).status_code == 401
    actions = [
        r["action"] for r in site.server.db.all("SELECT action FROM log WHERE user_name = 'bob'")
    ]
    assert {"run", "download", "token-created", "token-revoked"} <= set(actions)


def test_pages_carry_their_policy_and_their_cookies_their_flags(site: Site) -> None:
    secure = site.client(base_url="https://testserver")
    page = secure.get("/login")
    policy = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    blocks = re.findall(r"<(script|style)([^>]*)>", page.text)
    assert blocks and all(f'nonce="{nonce.group(1)}"' in attributes for _, attributes in blocks)
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    login = secure.post(
        "/login", data={"csrf": csrf(page.text), "name": "bob", "password": PASSWORD, "next": "/"}
    )
    session = [c for c in login.headers.get_list("set-cookie") if c.startswith("auditor_session=")]
    assert (
        session
        and "HttpOnly" in session[0]
        and "Secure" in session[0]
        and "SameSite=lax" in session[0]
    )
    plain = site.client().get("/login").headers["set-cookie"]
    assert "Secure" not in plain  # plain HTTP on a laptop: a Secure cookie would never come back
    # A report page may run its own inline code and nothing else.
    bob = site.client("bob")
    _audited(site, bob, site.a.id, ["afi-lot1-ineligible.xlsx"])
    report = bob.get(f"/inboxes/{site.a.id}/report/index.html")
    assert "'sha256-" in report.headers["content-security-policy"]
    assert "nonce" not in report.headers["content-security-policy"]


def test_the_app_works_under_a_prefix(tmp_path: Path) -> None:
    site = Site(tmp_path / "data")
    client = site.client(root_path="/auditor")
    response = client.get("/auditor/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auditor/login?next=")
    page = client.get("/auditor/login")
    links = re.findall(r'(?:href|action)="(/[^"]*)"', page.text)
    assert links and all(link.startswith("/auditor/") for link in links), links


def test_language_is_chosen_per_user_and_switchable(site: Site) -> None:
    bob = site.client("bob")
    assert "Inboxes" in bob.get("/").text
    assert "Inboxen" in bob.get("/", params={"lang": "nl"}).text
    assert "Inboxen" in bob.get(f"/inboxes/{site.a.id}").text  # remembered for bob
    assert find_user(site.server.db, "bob").lang == "nl"
    assert "Inboxes" in site.client("cy").get("/").text  # not for cy


def test_removing_a_file_and_deleting_an_inbox(site: Site) -> None:
    bob = site.client("bob")
    _audited(site, bob, site.a.id, ["afi-lot1-ineligible.xlsx", "afi-lot1-eligible.xlsx"])
    token = site.token(bob)
    removed = bob.post(
        f"/inboxes/{site.a.id}/files/delete", data={"csrf": token, "name": "afi-lot1-eligible.xlsx"}
    )
    assert removed.status_code == 303
    assert [p.name for p in site.a.files.iterdir()] == ["afi-lot1-ineligible.xlsx"]
    assert bob.post(f"/inboxes/{site.a.id}/delete", data={"csrf": token}).status_code == 403
    ada = site.client("ada")
    deleted = ada.post(f"/inboxes/{site.a.id}/delete", data={"csrf": site.token(ada)})
    assert deleted.status_code == 303
    assert not site.a.folder.exists()
    assert bob.get(f"/inboxes/{site.a.id}").status_code == 404
    assert site.server.db.all("SELECT * FROM jobs WHERE inbox_id = ?", site.a.id) == []
    actions = {r["action"] for r in site.server.db.all("SELECT action FROM log")}
    assert {"upload", "run", "delete-file", "inbox-deleted"} <= actions


def test_users_are_made_on_the_command_line_and_none_exists_by_default(tmp_path: Path) -> None:
    data = tmp_path / "data"

    def users(*arguments: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "auditor", "users", *arguments, "--data", str(data)],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )

    assert users("list").stdout == ""
    short = users("add", "root", "--role", "admin", stdin="short\nshort\n")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    made = users("add", "root", "--role", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert made.returncode == 0, made.stderr
    assert users("list").stdout.split() == ["root", "admin", "en"]
    stored = (data / "auditor.sqlite").read_bytes()
    # argon2id with the app's own cost (64 MiB, three passes), whatever the tests use.
    assert PASSWORD.encode() not in stored and b"$argon2id$v=19$m=65536,t=3,p=4$" in stored
    assert users("remove", "root").returncode == 0
    assert users("list").stdout == ""
    assert users("remove", "root").returncode != 0


def test_both_languages_have_the_same_words() -> None:
    words = yaml.safe_load((ROOT / "auditor" / "web" / "messages.yaml").read_text())
    assert set(words["en"]) == set(words["nl"])
    used = set()
    for template in (ROOT / "templates" / "web").glob("*.j2"):
        used |= set(re.findall(r"\bt\('([a-z_.0-9-]+)'\s*[,)]", template.read_text()))
    for module in (ROOT / "auditor" / "web").glob("*.py"):
        used |= set(re.findall(r'\bt\(\s*"([a-z_.0-9-]+)"', module.read_text()))
    assert used and used <= set(words["en"]), used - set(words["en"])
    # Every refusal an upload can meet has its words.
    source = (ROOT / "auditor" / "web" / "uploads.py").read_text()
    reasons = set(re.findall(r'UploadRefused\(\s*"([a-z-]+)"', source))
    assert len(reasons) >= 10
    assert {f"refused.{reason}" for reason in reasons} <= set(words["en"])


# --- a real server ---------------------------------------------------------


def test_two_officers_audit_two_inboxes_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_user(data, "ada", "admin")
    make_user(data, "bob")
    make_user(data, "cy")
    with serving(data) as served:
        ada = signed_in(served.url, "ada")
        ids = []
        for name, member in (("A", "bob"), ("B", "cy")):
            made = ada.post("/inboxes", data={"csrf": csrf(ada.get("/").text), "name": name})
            inbox = made.url.path
            ada.post(
                f"{inbox}/members", data={"csrf": csrf(made.text), "name": member, "do": "add"}
            )
            ids.append(inbox)
        outcomes: dict[str, Any] = {}
        samples = sorted(SAMPLES.glob("*.xlsx"))
        halves = {"bob": samples[::2], "cy": samples[1::2]}

        def officer(name: str, inbox: str) -> None:
            client = signed_in(served.url, name)
            page = client.get(inbox)
            files = [("files", (p.name, p.read_bytes(), XLSX)) for p in halves[name]]
            uploaded = client.post(f"{inbox}/upload", data={"csrf": csrf(page.text)}, files=files)
            started = client.post(f"{inbox}/run", data={"csrf": csrf(uploaded.text)})
            outcomes[name] = wait_for_job(client, str(started.url.path))

        threads = [
            threading.Thread(target=officer, args=(n, i))
            for n, i in zip(("bob", "cy"), ids, strict=False)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    for name in ("bob", "cy"):
        # The whole outcome (with the job's error), not pytest's shortened repr.
        assert outcomes[name]["status"] == "done", json.dumps(outcomes, default=str)
        assert outcomes[name]["summary"]["files"] == len(halves[name])  # type: ignore[index]


@pytest.mark.slow
def test_a_server_killed_mid_run_leaves_the_inbox_consistent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_user(data, "ada", "admin")
    with serving(data, "--workers", "1") as served:
        ada = signed_in(served.url, "ada")
        made = ada.post("/inboxes", data={"csrf": csrf(ada.get("/").text), "name": "Nightly"})
        inbox = made.url.path
        files = data / "inboxes" / inbox.rsplit("/", 1)[1] / "files"
        for sample in sorted(SAMPLES.glob("*.xlsx"))[:3]:
            shutil.copy(sample, files / sample.name)
        first = ada.post(f"{inbox}/run", data={"csrf": csrf(made.text)})
        assert wait_for_job(ada, str(first.url.path))["status"] == "done"
        before = json.loads((files.parent / "report" / "results.json").read_bytes())
        # Enough new files that the second run is still reading when it is killed.
        for sample in sorted(SAMPLES.glob("*.xlsx")):
            shutil.copy(sample, files / f"new-{sample.name}")
        second = ada.post(f"{inbox}/run", data={"csrf": csrf(ada.get(inbox).text)})
        job = str(second.url.path)
        deadline = time.monotonic() + 120
        while (status := ada.get(f"{job}/status").json())["done"] < 5 and status[
            "status"
        ] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert status["status"] == "running", status
        served.kill()
    report = files.parent / "report"
    assert json.loads((report / "results.json").read_bytes()) == before  # the first run's, whole
    with serving(data) as served:
        ada = signed_in(served.url, "ada")
        status = ada.get(f"{job}/status").json()
        assert status["status"] == "interrupted"
        page = ada.get(inbox)
        assert "interrupted" in page.text and "Start again" in page.text
        again = ada.post(f"{inbox}/run", data={"csrf": csrf(page.text)})
        finished = wait_for_job(ada, str(again.url.path))
    assert finished["status"] == "done", finished
    after = json.loads((report / "results.json").read_bytes())
    assert after["run"]["id"] == 2  # the killed run left no trace in the state
    assert after["summary"]["files"] == 3 + len(list(SAMPLES.glob("*.xlsx")))


# --- what the security review found (each once a way in) ------------------


def _slow_upload(site: Site, client: TestClient, name: str, body: bytes) -> tuple[Any, Any]:
    """Start an upload whose body waits for ``go``; the thread and its result holder."""
    go, result = threading.Event(), {}
    boundary = "slow-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'
        f"{site.token(client)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="files"; filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()

    def parts() -> Iterator[bytes]:
        yield head
        go.wait(30)
        yield body + f"\r\n--{boundary}--\r\n".encode()

    def send() -> None:
        result["response"] = client.post(
            f"/inboxes/{site.a.id}/upload",
            content=parts(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )

    thread = threading.Thread(target=send)
    thread.start()
    deadline = time.monotonic() + 30
    while not list(site.server.scratch.glob("upload-*")):  # the upload has begun
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return thread, (go, result)


def test_an_upload_that_ends_after_its_inbox_was_deleted_keeps_nothing(site: Site) -> None:
    bob, ada = site.client("bob"), site.client("ada")
    thread, (go, result) = _slow_upload(site, bob, "secret.xlsx", b"PK confidential")
    assert (
        ada.post(f"/inboxes/{site.a.id}/delete", data={"csrf": site.token(ada)}).status_code == 303
    )
    go.set()
    thread.join(30)
    assert result["response"].status_code == 404
    assert not site.a.folder.exists()
    # The next inbox gets a number of its own, never the deleted one's.
    made = create_inbox(
        site.server.db, site.server.data, "Cy's round", [find_user(site.server.db, "cy")]
    )
    assert made.id > site.b.id and list(made.files.iterdir()) == []
    assert not list(site.data.rglob("secret.xlsx"))


def test_an_upload_that_ends_while_an_audit_runs_is_refused(site: Site) -> None:
    bob = site.client("bob")
    thread, (go, result) = _slow_upload(site, bob, "late.xlsx", b"PK late")
    site.server.jobs.active[site.a.id] = 999  # an audit took the inbox meanwhile
    go.set()
    thread.join(30)
    del site.server.jobs.active[site.a.id]
    assert result["response"].status_code == 409
    assert list(site.a.files.iterdir()) == [] and list(site.server.scratch.glob("upload-*")) == []
    token = site.token(bob)
    with site.server.jobs.change(site.a.id):  # and the other way round: no audit mid-upload
        assert bob.post(f"/inboxes/{site.a.id}/run", data={"csrf": token}).status_code == 409


def test_a_name_that_clashes_with_the_inbox_moves_nothing(site: Site) -> None:
    bob = site.client("bob")
    token = site.token(bob)
    assert _upload(bob, site.a.id, [("coll.xlsx", b"PK one")], token).status_code == 303
    outside = site.data.parent / "outside"
    outside.mkdir()
    (site.a.files / "link").symlink_to(outside)
    for names in (
        ["aaa.xlsx", "coll.xlsx/inner.xlsx"],  # a folder where the inbox has a file
        ["aaa.xlsx", "link/inner.xlsx"],  # through a link planted in the inbox
        ["aaa.xlsx", "link"],  # onto the link itself (not a workbook name: skipped)
    ):
        parts = [(n, b"PK two") for n in names]
        response = _upload(bob, site.a.id, parts, token)
        if names[-1] == "link":
            assert response.status_code == 303
            assert (site.a.files / "link").is_symlink()
            (site.a.files / "aaa.xlsx").unlink()
            continue
        assert response.status_code == 400 and 'data-reason="clash"' in response.text
        assert not (site.a.files / "aaa.xlsx").exists() and list(outside.iterdir()) == []
    refusals = site.server.db.all("SELECT detail FROM log WHERE action = 'upload-refused'")
    assert len(refusals) == 2


def test_odd_urls_get_pages_not_errors(site: Site) -> None:
    bob = site.client("bob")
    page = bob.get(f"/inboxes/{site.a.id}", params={"notice": "uploaded", "count": "Call 555/x"})
    assert page.status_code == 200 and "Call 555" not in page.text
    for url in (f"/inboxes/{2**70}", f"/inboxes/{site.a.id}/jobs/{2**64}", f"/inboxes/{2**63}"):
        response = bob.get(url)
        assert response.status_code == 404 and "content-security-policy" in response.headers

    async def broken(request: Any) -> Any:
        raise RuntimeError("a bug")

    site.app.router.routes.insert(0, Route("/broken", broken))
    response = TestClient(site.app, raise_server_exceptions=False).get("/broken")
    assert response.status_code == 500 and 'data-reason="500"' in response.text
    assert "a bug" not in response.text and "content-security-policy" in response.headers


def test_a_download_set_off_by_another_site_is_refused_and_not_logged(site: Site) -> None:
    bob = site.client("bob")
    _audited(site, bob, site.a.id, ["afi-lot1-ineligible.xlsx"])
    before = len(site.server.db.all("SELECT * FROM log WHERE action = 'download'"))
    for path in ("report/summary.xlsx", "report/results.json", "report.zip", "report/index.html"):
        url = f"/inboxes/{site.a.id}/{path}"
        assert bob.get(url, headers={"sec-fetch-site": "cross-site"}).status_code == 403
        assert bob.get(url, headers={"sec-fetch-site": "same-origin"}).status_code == 200
    after = len(site.server.db.all("SELECT * FROM log WHERE action = 'download'"))
    assert after - before == 3  # the same-origin ones (a page is read, not downloaded)


def test_a_planted_csrf_cookie_does_not_pass_for_a_signed_in_user(site: Site) -> None:
    bob = site.client("bob")
    bob.cookies.set("auditor_csrf", "chosen-by-attacker")
    response = bob.post("/tokens", data={"csrf": "chosen-by-attacker", "name": "stolen"})
    assert response.status_code == 403
    assert site.server.db.all("SELECT * FROM tokens") == []


def test_a_link_checker_does_not_use_up_the_applicants_copy(site: Site) -> None:
    visitor = site.client()
    response = visitor.post(
        "/check",
        data={"csrf": site.token(visitor)},
        files={"file": ("a.xlsx", (SAMPLES / "ka210-ineligible.xlsx").read_bytes(), XLSX)},
    )
    link = re.search(r'href="(/check/[^"]+/annotated)"', response.text)
    assert link
    assert visitor.head(link.group(1)).status_code == 200
    assert visitor.get(link.group(1)).status_code == 200
    assert visitor.get(link.group(1)).status_code == 404


def test_reports_name_the_inbox_not_where_the_server_keeps_it(site: Site) -> None:
    bob = site.client("bob")
    _audited(site, bob, site.a.id, ["afi-lot2-ineligible.xlsx", "afi-lot1-ineligible.xlsx"])
    shown = []
    for path in site.a.report.rglob("*"):
        if path.suffix in (".html", ".json"):
            shown.append(path.read_text())
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                shown += [
                    archive.read(n).decode() for n in archive.namelist() if n.endswith(".xml")
                ]
    assert shown
    assert not [text for text in shown if str(site.data) in text]
    results = json.loads((site.a.report / "results.json").read_text())
    assert results["run"]["inputs"] == ["Inbox A"]
    assert {p["file"] for p in results["proposals"]} == {
        "Inbox A/afi-lot2-ineligible.xlsx",
        "Inbox A/afi-lot1-ineligible.xlsx",
    }


def test_the_rate_limit_forgets_rather_than_grows() -> None:
    from types import SimpleNamespace

    from auditor.web.http import RateLimit

    limit = RateLimit(5, 60.0, most=100)
    for n in range(5_000):
        assert limit.allow(
            SimpleNamespace(client=SimpleNamespace(host=f"10.0.{n // 250}.{n % 250}"))
        )  # type: ignore[arg-type]
    assert len(limit.seen) <= 200
    # An IPv6 household counts as one.
    for n in range(5):
        assert limit.allow(SimpleNamespace(client=SimpleNamespace(host=f"2001:db8:1:2::{n}")))  # type: ignore[arg-type]
    assert not limit.allow(SimpleNamespace(client=SimpleNamespace(host="2001:db8:1:2::99")))  # type: ignore[arg-type]


def test_accounts_take_only_known_languages_and_passwords_can_be_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_user(data, "bob")
    site_db = Database(data / "auditor.sqlite")
    with pytest.raises(ConfigError, match="language"):
        add_user(site_db, "eve", PASSWORD, "officer", '"><b>x')
    changed = subprocess.run(
        [sys.executable, "-m", "auditor", "users", "password", "bob", "--data", str(data)],
        input="another long password\nanother long password\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert changed.returncode == 0, changed.stderr
    assert verify(site_db, "bob", PASSWORD) is None
    assert verify(site_db, "bob", "another long password") is not None


def test_what_a_new_user_stumbled_over(site: Site) -> None:
    """From a fresh-clone review: each of these once confused or misled."""
    bob = site.client("bob")
    token = site.token(bob)
    # Nothing chosen is not "0 workbooks received".
    empty = bob.post(
        f"/inboxes/{site.a.id}/upload", data={"csrf": token}, files={"files": ("", b"")}
    )
    assert empty.status_code == 400 and 'data-reason="nothing"' in empty.text
    # One proposal's workbook in two folders: said on the inbox page.
    body = (SAMPLES / "ka210-ineligible.xlsx").read_bytes()
    _upload(bob, site.a.id, [("round1/ka210.xlsx", body), ("ka210.xlsx", body)], token)
    page = bob.get(f"/inboxes/{site.a.id}").text
    warning = page[page.index('id="same-names"') :]
    assert "<li>ka210.xlsx · round1/ka210.xlsx</li>" in warning
    # What cannot be undone asks first.
    assert "data-confirm=" in page
    # A report page leads back to its inbox; the report's bookkeeping is not served.
    (site.a.files / "round1" / "ka210.xlsx").unlink()
    _audited(site, bob, site.a.id, [])
    report = bob.get(f"/inboxes/{site.a.id}/report/index.html").text
    assert f'href="/inboxes/{site.a.id}">&larr; Inbox A</a>' in report
    assert bob.get(f"/inboxes/{site.a.id}/report/.auditor-report").status_code == 404
    # The applicant sees which findings are only warnings.
    visitor = site.client()
    checked = visitor.post(
        "/check",
        data={"csrf": site.token(visitor)},
        files={"file": ("w.xlsx", (SAMPLES / "ka220-hed-eche-warnings.xlsx").read_bytes(), XLSX)},
    )
    assert 'data-verdict="eligible"' in checked.text
    assert "0 errors, 2 warnings" in checked.text and ">warning</span>" in checked.text


def test_one_server_per_data_folder_and_no_folder_made_by_a_typo(
    site: Site, tmp_path: Path
) -> None:
    from auditor.core.errors import OutputError

    with pytest.raises(OutputError, match="another auditor serve"):
        create_app(Settings(site.data))
    listed = subprocess.run(
        [sys.executable, "-m", "auditor", "users", "list", "--data", str(tmp_path / "typo")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert listed.returncode == 2 and "not an auditor serve data folder" in listed.stderr
    assert not (tmp_path / "typo").exists()
