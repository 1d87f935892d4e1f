"""Path rules and Identity hooks over real sockets: gunicorn (Flask) and uvicorn (Starlette).

Each server is a subprocess in its own session on 127.0.0.1, on a port the
system picks (read back from its log), waited for with bounded timeouts and
stopped by its process group, also when a test fails. The apps are
``tests/integration/netlify_apps.py``; the rules file is the seed rules of
Netlify users plus a redirect and a role-only tree. The hook calls are signed
by jsonwebtoken in Node, as GoTrue signs them.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from jwtgate.testing import TokenFactory
from tests.netlify_hooks_calls import INSTANCE, SECRET, Call, make_calls

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0
RULES = """\
/admin/*    /admin/:splat   200!  Role=admin
/admin/*    /login          302
/members/*  /members/:splat 200!  Role=member,admin
/members/*  /join           401!
/old/*      /new/:splat     301
/secret/*   200!  Role=admin
"""
BROWSER = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
API = {"Accept": "application/json"}

COMMANDS = {
    "gunicorn": [
        "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1", "--threads", "4",
        "--no-control-socket", "--graceful-timeout", "2", "--chdir", str(HERE),
        "netlify_apps:flask_app()",
    ],
    "uvicorn": [
        "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0", "--no-access-log",
        "--app-dir", str(HERE), "--factory", "netlify_apps:starlette_app",
    ],
}  # fmt: skip
LISTENING = re.compile(r"(?:Listening at: |Uvicorn running on )http://127\.0\.0\.1:(\d+)")


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
    port: int

    def request(self, method="GET", path="/", headers=None, body=None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()


@contextmanager
def serve(kind: str, rules_file: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWTGATE_", "GUNICORN_"))}
    env.update(
        NETLIFY_TEST_SECRET=SECRET,
        NETLIFY_TEST_INSTANCE=INSTANCE,
        NETLIFY_TEST_RULES=str(rules_file),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    process = subprocess.Popen(
        [sys.executable, *COMMANDS[kind]],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a master and its worker stop together
    )
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        port = None
        while port is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None:
                raise RuntimeError(f"{kind} did not start:\n" + "".join(log))
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            log.append(line)
            found = LISTENING.search(line)
            if found:
                port = int(found.group(1))
        server = Server(port)
        while True:  # gunicorn's worker boots after its master listens
            try:
                if server.request(path="/ready").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{kind} did not answer:\n" + "".join(log))
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    rules_file = tmp_path_factory.mktemp("rules") / "_redirects"
    rules_file.write_text(RULES, encoding="utf-8")
    with serve(request.param, rules_file) as running:
        yield running


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=SECRET)


def cookie(tokens: TokenFactory, *roles: str, expires_in: int = 3600) -> dict[str, str]:
    return {"Cookie": f"nf_jwt={tokens.token(sub='u1', roles=list(roles), expires_in=expires_in)}"}


def test_a_path_no_rule_matches_is_served_as_usual(server):
    answer = server.request(path="/public/page?x=1")
    assert (answer.status, answer.json) == (200, {"path": "/public/page", "query": "x=1"})


def test_without_the_role_a_browser_is_redirected_to_login(server):
    answer = server.request(path="/admin/settings?tab=2", headers=BROWSER)
    assert answer.status == 302
    assert answer.headers["Location"] == "/login?tab=2"
    assert answer.headers["Cache-Control"] == "no-store"


def test_with_the_role_the_request_goes_through(server, tokens):
    answer = server.request(path="/admin/settings", headers={**API, **cookie(tokens, "admin")})
    assert (answer.status, answer.json) == (200, {"path": "/admin/settings", "query": ""})


def test_a_browser_without_the_role_gets_the_401_page(server):
    answer = server.request(path="/members/area", headers=BROWSER)
    assert answer.status == 401
    assert answer.json == {"path": "/join", "query": ""}  # the app served /join, with 401


def test_an_api_client_without_a_token_gets_the_standard_refusal(server):
    answer = server.request(path="/members/area", headers=API)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json["error"] == "missing_token"


def test_an_expired_token_is_named_in_the_refusal(server, tokens):
    expired = cookie(tokens, "member", expires_in=-60)
    answer = server.request(path="/members/area", headers={**API, **expired})
    assert answer.status == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert answer.json["error"] == "invalid_token"


def test_either_role_of_the_rule_lets_a_member_in(server, tokens):
    answer = server.request(path="/members/area", headers={**API, **cookie(tokens, "member")})
    assert (answer.status, answer.json["path"]) == (200, "/members/area")


def test_a_redirect_keeps_the_query_string_and_fills_the_splat(server):
    answer = server.request(path="/old/a/b?q=%C3%A9")
    assert answer.status == 301
    assert answer.headers["Location"] == "/new/a/b?q=%C3%A9"


def test_only_role_rules_matched_and_none_passed_is_404(server, tokens):
    answer = server.request(path="/secret/x", headers={**API, **cookie(tokens, "member")})
    assert answer.status == 404
    assert answer.json == {"error": "not_found", "error_description": "Not Found"}


@pytest.fixture(scope="module")
def calls() -> dict[str, Call]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Node.js and npm: the calls are signed by the npm jsonwebtoken")
        pytest.skip("needs Node.js and npm: the calls are signed by the npm jsonwebtoken")
    from tests.netlify_corpus import install_engine

    install_engine(npm)
    return make_calls(node)


@pytest.mark.parametrize("path", ["/.netlify/functions/identity-signup", "/hooks/identity"])
def test_a_gotrue_signup_gets_the_member_role(server, calls, path):
    call = calls["signup-company"]
    answer = server.request("POST", path, headers=call.headers(), body=call.body)
    assert answer.status == 200
    assert answer.json == {"app_metadata": {"provider": "email", "roles": ["member"]}}


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("wrong-secret", 401, "invalid_signature"),
        ("tampered", 400, "body_mismatch"),
        ("stale", 401, "stale_signature"),
        ("no-signature", 401, "missing_signature"),
    ],
)
def test_a_bad_call_is_refused_before_any_handler(server, calls, name, status, error):
    call = calls[name]
    answer = server.request("POST", "/hooks/identity", headers=call.headers(), body=call.body)
    assert (answer.status, answer.json["error"]) == (status, error)
    assert SECRET.encode() not in answer.body
