"""A real Django project (tests/django_project) behind jwtgate.django, over real sockets.

Served by gunicorn (WSGI, threads; jwtgate's middleware last, then first in
``MIDDLEWARE``) and by uvicorn (ASGI: Django in async mode), each on a port
the system picks on 127.0.0.1, waited for with bounded timeouts and stopped
by its PID's process group, also when a test fails. Django's session, CSRF
and authentication middleware are installed beside jwtgate's.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from jwtgate.testing import TokenFactory

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0
SECRET = secrets.token_urlsafe(40)
_LISTENING = re.compile(r"(?:Listening at: |Uvicorn running on )http://127\.0\.0\.1:(\d+)")


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    name: str
    port: int

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method="GET", path="/", headers=None, body=None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()


COMMANDS = {
    "gunicorn": [
        "gunicorn",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--threads",
        "8",
        "--no-control-socket",
        "--graceful-timeout",
        "2",
        "tests.django_project.wsgi:application",
    ],
    "uvicorn": [
        "uvicorn",
        "tests.django_project.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-access-log",
        "--lifespan",
        "off",
    ],
}


def environment(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JWTGATE_", "GUNICORN_", "DJANGO_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["SITE_JWT_SECRET"] = SECRET
    env.update(overrides)
    return env


def launch(kind: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", *COMMANDS[kind]],
        cwd=ROOT,
        env=environment(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: master and workers stop together
    )


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM the server's process group, SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def serve(kind: str, **env: str) -> Iterator[Server]:
    process = launch(kind, **env)
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        port = None
        deadline = time.monotonic() + START_TIMEOUT
        while port is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None:
                raise RuntimeError(f"{kind} did not start:\n" + "".join(log))
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            log.append(line)
            if found := _LISTENING.search(line):
                port = int(found.group(1))
        server = Server(kind, port)
        while True:  # gunicorn's worker boots after the master listens
            try:
                if server.request(path="/").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{kind}'s worker did not answer:\n" + "".join(log))
            time.sleep(0.05)
        yield server
    finally:
        stop(process)
        reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()


@pytest.fixture(
    scope="module",
    params=["gunicorn", "gunicorn-gate-first", "uvicorn"],
)
def server(request) -> Iterator[Server]:
    kind = request.param.split("-")[0]
    env = {"GATE_BEFORE_CSRF": "1"} if request.param.endswith("gate-first") else {}
    yield from serve(kind, **env)


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=SECRET)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_json(server: Server, path: str, headers: dict[str, str]) -> Answer:
    headers = {"Content-Type": "application/json", **headers}
    return server.request("POST", path, headers=headers, body=json.dumps({"text": "hi"}))


def comments(server: Server) -> int:
    return server.request(path="/count").json["comments"]


# --- who the request is ------------------------------------------------------------------------


def test_anonymous_with_django_s_own_user_intact(server):
    answer = server.request(path="/")
    assert answer.status == 200
    assert answer.json["authenticated"] is False
    assert answer.json["django_user"] == "django.contrib.auth.models.AnonymousUser"


def test_a_bearer_token_is_the_jwt_user_not_django_s(server, tokens):
    answer = server.request(path="/me", headers=bearer(tokens.token(sub="b1", roles=["x"])))
    assert answer.status == 200
    assert (answer.json["sub"], answer.json["source"], answer.json["roles"]) == (
        "b1",
        "bearer",
        ["x"],
    )
    assert answer.json["django_user"] == "django.contrib.auth.models.AnonymousUser"
    assert answer.json["django_authenticated"] is False


def test_the_nf_jwt_cookie_is_read(server, tokens):
    token = tokens.token(sub="c1")
    answer = server.request(path="/me", headers={"Cookie": f"theme=dark; nf_jwt={token}"})
    assert answer.status == 200
    assert (answer.json["sub"], answer.json["source"]) == ("c1", "cookie:nf_jwt")


def test_async_views(server, tokens):
    answer = server.request(path="/async-me", headers=bearer(tokens.token(sub="a1")))
    assert answer.status == 200
    assert (answer.json["sub"], answer.json["async"]) == ("a1", True)
    refused = server.request(path="/async-admin", headers=bearer(tokens.token()))
    assert refused.status == 403
    admin = server.request(path="/async-admin", headers=bearer(tokens.token(roles=["admin"])))
    assert admin.status == 200


# --- refusals ----------------------------------------------------------------------------------


def test_no_token_is_401_with_a_plain_challenge(server):
    answer = server.request(path="/me")
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


@pytest.mark.parametrize("bad", ["expired", "wrong_signature", "tampered", "alg_none"])
def test_refused_tokens_are_401_invalid_token_and_never_echoed(server, tokens, bad):
    token = getattr(tokens, bad)(sub="mallory", roles=["admin"])
    answer = server.request(path="/admin", headers=bearer(token))
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert answer.json["error"] == "invalid_token"
    assert token.encode() not in answer.body
    if bad == "expired":
        assert answer.json["error_description"] == "The token has expired"


def test_a_missing_role_is_403(server, tokens):
    answer = server.request(path="/admin", headers=bearer(tokens.token(roles=["editor"])))
    assert answer.status == 403
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="Insufficient roles", scope="admin"'
    )
    assert answer.json["error"] == "insufficient_scope"
    admin = server.request(path="/admin", headers=bearer(tokens.token(sub="a", roles=["admin"])))
    assert (admin.status, admin.json) == (200, {"admin": "a"})


def test_a_view_raising_forbidden(server, tokens):
    answer = server.request(path="/owner-only", headers=bearer(tokens.token()))
    assert answer.status == 403
    assert answer.headers["WWW-Authenticate"].endswith('scope="owner"')
    assert answer.json == {
        "error": "insufficient_scope",
        "error_description": "Only the owner may see this",
    }


# --- CSRF ----------------------------------------------------------------------------------------


def test_a_bearer_post_needs_no_django_csrf_token(server, tokens):
    before = comments(server)
    answer = post_json(server, "/comments", bearer(tokens.token(sub="api")))
    assert answer.status == 201
    assert comments(server) == before + 1


def test_a_cross_site_cookie_post_never_reaches_the_view(server, tokens):
    before = comments(server)
    cookie = {"Cookie": f"nf_jwt={tokens.token(sub='victim')}"}
    for evidence in ({}, {"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        django_s = post_json(server, "/comments", {**cookie, **evidence})
        assert django_s.status == 403  # Django's CsrfViewMiddleware answers first
        ours = post_json(server, "/exempt-comments", {**cookie, **evidence})
        assert ours.status == 403
        assert ours.json["error"] == "csrf_rejected"
    assert comments(server) == before
    same_origin = post_json(server, "/exempt-comments", {**cookie, "Origin": server.origin})
    assert same_origin.status == 201


def test_concurrent_requests_each_see_their_own_user(server, tokens):
    users = [f"thread-{i}" for i in range(10)]
    minted = {user: tokens.token(sub=user) for user in users}

    def run(user: str) -> list[str | None]:
        seen = []
        for path in ("/me", "/async-me") * 3:
            answer = server.request(path=path, headers=bearer(minted[user]))
            seen.append(answer.json.get("sub") if answer.status == 200 else None)
        return seen

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        results = dict(zip(users, pool.map(run, users), strict=True))
    for user, seen in results.items():
        assert seen == [user] * 6


# --- start-up ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_an_empty_secret_stops_the_server_at_start_naming_the_setting(kind):
    process = launch(kind, SITE_JWT_SECRET="")
    try:
        _, log = process.communicate(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop(process)
        raise AssertionError(f"{kind} served with an empty secret") from None
    assert process.returncode != 0
    assert "JWTGATE_NETLIFY_JWT_SECRET: set but empty" in log
