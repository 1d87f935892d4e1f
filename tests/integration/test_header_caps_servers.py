"""Only what is read for a token is capped tightly: over real gunicorn and uvicorn servers.

A valid Bearer token beside 20 KB of a site's unrelated cookies reached the
app and was refused as "A request header is too large". The servers here
allow large headers (gunicorn ``--limit-request-field_size``, uvicorn
``--h11-max-incomplete-event-size``) so that jwtgate's own caps are what is
tested: 20 KB of cookies pass, a Cookie header over 64 KiB and a token
cookie over 16 KiB are a 400. The single-page-app case (an expired session
cookie beside a fresh Bearer token) is a 400 by default and a 200 on the
``one_token=False`` gate. Each server runs on 127.0.0.1, port 0, and is
stopped by its process group's PID.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
IO_TIMEOUT = 10.0
HEADER_ROOM = "131072"

SERVERS = {
    "gunicorn": (
        [
            "-m",
            "gunicorn",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--threads",
            "4",
            "--limit-request-field_size",
            HEADER_ROOM,
            "--graceful-timeout",
            "2",
            "tests.integration.caps_app:wsgi_app",
        ],
        re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)"),
    ),
    "uvicorn": (
        [
            "-m",
            "uvicorn",
            "tests.integration.caps_app:asgi_app",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-access-log",
            "--h11-max-incomplete-event-size",
            HEADER_ROOM,
        ],
        re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)"),
    ),
}


class Running:
    def __init__(self, name: str) -> None:
        arguments, listening = SERVERS[name]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JWTGATE_", "GUNICORN_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(lines,), daemon=True)
        self._reader.start()
        self.log: list[str] = []
        deadline = time.monotonic() + START_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.log.append(line)
            if found := listening.search(line):
                self.port = int(found.group(1))
                return
        self.stop()
        raise RuntimeError(f"{name} did not start:\n" + "".join(self.log))

    def _read(self, lines: queue.Queue[str | None]) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            lines.put(line)
        lines.put(None)

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=IO_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=IO_TIMEOUT)
        self._reader.join(IO_TIMEOUT)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[Running]:
    running = Running(request.param)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=DEVELOPMENT_SECRET)


UNRELATED = "; ".join(f"pref_{i}={'v' * 200}" for i in range(100))  # 20.8 KB


def _refusal(body: bytes) -> str:
    return str(json.loads(body)["error_description"])


def test_a_bearer_token_beside_20_kb_of_cookies_is_accepted(server, tokens) -> None:
    assert len(UNRELATED) > 20_000
    headers = {"Authorization": f"Bearer {tokens.token(sub='u1')}", "Cookie": UNRELATED}
    assert server.get("/me", headers) == (200, b"u1")


def test_the_token_cookie_among_20_kb_of_cookies_is_accepted(server, tokens) -> None:
    headers = {"Cookie": f"{UNRELATED}; nf_jwt={tokens.token(sub='u2')}"}
    assert server.get("/me", headers) == (200, b"u2")


def test_an_absurd_cookie_header_is_still_refused(server, tokens) -> None:
    headers = {"Authorization": f"Bearer {tokens.token()}", "Cookie": "junk=" + "j" * 70_000}
    status, body = server.get("/me", headers)
    assert status == 400
    assert _refusal(body) == "The Cookie header is too large"


def test_a_token_cookie_over_16_kib_is_refused(server, tokens) -> None:
    status, body = server.get("/me", {"Cookie": "nf_jwt=" + "a" * 17_000})
    assert status == 400
    assert _refusal(body) == "A cookie is too large"


def test_an_authorization_header_over_16_kib_is_refused(server) -> None:
    status, body = server.get("/me", {"Authorization": "Bearer " + "a" * 17_000})
    assert status == 400
    assert _refusal(body) == "A request header is too large"


def test_an_expired_cookie_beside_a_fresh_bearer_token(server, tokens) -> None:
    headers = {
        "Cookie": f"nf_jwt={tokens.expired(sub='yesterday')}",
        "Authorization": f"Bearer {tokens.token(sub='today')}",
    }
    status, body = server.get("/me", headers)
    assert status == 400
    assert _refusal(body) == "More than one token was sent"
    assert server.get("/spa/me", headers) == (200, b"today")
