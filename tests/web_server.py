"""A real ``auditor serve`` for the tests that need one: a browser, two clients
at once, a server killed mid-run. Started as the README says, in a process
group of its own so that killing it kills its reader processes too.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2

from auditor.web.accounts import add_user
from auditor.web.db import Database

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def make_user(data: Path, name: str, role: str = "officer", lang: str = "en") -> None:
    add_user(Database(data / "auditor.sqlite"), name, PASSWORD, role, lang)


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """The whole group: the server and every process it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)


@contextlib.contextmanager
def serving(data: Path, *options: str) -> Iterator[Served]:
    port = free_port()
    log = data.parent / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "auditor",
                "serve",
                "--data",
                str(data),
                "--port",
                str(port),
                *list(options),
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx2.get(f"{served.url}/login", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield served
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                served.kill()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def signed_in(url: str, name: str) -> httpx2.Client:
    """A client signed in as ``name`` (its cookies kept)."""
    client = httpx2.Client(base_url=url, timeout=120, follow_redirects=True)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"csrf": csrf(page.text), "name": name, "password": PASSWORD, "next": "/"},
    )
    assert response.status_code == 200 and name in response.text, response.text[:500]
    return client


def wait_for_job(client: httpx2.Client, job_url: str, deadline: float = 300) -> dict[str, object]:
    """The job's status once it has left the queue and ended (or the deadline passed)."""
    end = time.monotonic() + deadline
    while True:
        status: dict[str, object] = client.get(f"{job_url}/status").json()
        if status["status"] not in ("queued", "running") or time.monotonic() > end:
            return status
        time.sleep(0.25)
