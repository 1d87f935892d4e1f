"""The edges, replayed over real sockets: gunicorn and uvicorn on 127.0.0.1.

- a forged CORS preflight against a WSGI app whose views accept every method
  (as Django function views do): refused, the views never ran;
- a cross-site websocket riding the victim's ``nf_jwt`` cookie into a Flask
  app under gunicorn (simple-websocket and flask-sock): refused before the
  handshake with 403 ``csrf_rejected``, or never given the victim's identity;
- an app with the decorator-order trap under uvicorn: it refuses to start,
  and says why in the server's log.
"""

from __future__ import annotations

import json
import secrets
from contextlib import AbstractContextManager

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from jwtgate.testing import TokenFactory

from ..servers import Server, exit_of, gunicorn_command, running, uvicorn_command

SECRET = secrets.token_urlsafe(48)
EVIL = "https://evil.example"
ENV = {"EDGES_SECRET": SECRET}


def gunicorn(app: str, ready_status: int = 200) -> AbstractContextManager[Server]:
    return running(gunicorn_command(app, threads=8), ENV, ready="/", ready_status=ready_status)


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=SECRET)


# --- forged preflights -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain() -> object:
    with gunicorn("tests.integration.edge_apps:plain_wsgi()") as server:
        yield server


@pytest.mark.parametrize("path", ["/admin/users", "/admin/delete"])
@pytest.mark.parametrize("asked", ["GET", "DELETE", "POST"])
def test_a_forged_preflight_runs_no_view_behind_gunicorn(plain, path, asked):
    answer = plain.request(
        "OPTIONS", path, {"Access-Control-Request-Method": asked, "Origin": EVIL}
    )
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }
    assert plain.request(path="/ran").json == []


def test_the_same_views_serve_an_admin_behind_gunicorn(plain, tokens):
    auth = {"Authorization": f"Bearer {tokens.token(sub='root', roles=['admin'])}"}
    answer = plain.request("DELETE", "/admin/delete", auth)
    assert (answer.status, answer.json) == (200, "deleted")
    cookie = {"Cookie": f"nf_jwt={tokens.token()}"}
    assert plain.request("GET", "/admin/users", cookie).status == 403
    assert plain.request(path="/ran").json == ["DELETE /admin/delete"]


# --- cross-site websockets under gunicorn ------------------------------------------------------


@pytest.fixture(scope="module")
def flask_ws() -> object:
    with gunicorn("tests.integration.edge_apps:flask_websockets()") as server:
        yield server


def ws(server, path: str, **headers: str):
    return connect(
        f"ws://127.0.0.1:{server.port}{path}", additional_headers=headers, open_timeout=10
    )


def test_a_cross_site_websocket_with_the_victims_cookie_is_refused_with_403(flask_ws, tokens):
    cookie = f"nf_jwt={tokens.token(sub='victim')}"
    with (
        pytest.raises(InvalidStatus) as refused,
        ws(flask_ws, "/ws/feed", Cookie=cookie, Origin=EVIL),
    ):
        pass
    response = refused.value.response
    assert response.status_code == 403
    assert json.loads(response.body) == {
        "error": "csrf_rejected",
        "error_description": "Cross-site request refused: the request lacks same-origin evidence",
    }
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="csrf_rejected"')
    assert b"the user's data" not in response.body


def test_a_same_origin_websocket_with_the_cookie_is_accepted(flask_ws, tokens):
    cookie = f"nf_jwt={tokens.token(sub='victim')}"
    origin = f"http://127.0.0.1:{flask_ws.port}"
    with ws(flask_ws, "/ws/feed", Cookie=cookie, Origin=origin) as socket:
        assert json.loads(socket.recv(timeout=10)) == {"sub": "victim", "data": "the user's data"}


def test_flask_sock_never_hands_the_victims_identity_to_a_cross_site_socket(flask_ws, tokens):
    cookie = f"nf_jwt={tokens.token(sub='victim')}"
    with (
        ws(flask_ws, "/ws/sock", Cookie=cookie, Origin=EVIL) as socket,
        pytest.raises(ConnectionClosed) as closed,
    ):
        socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason == "authentication required"
    origin = f"http://127.0.0.1:{flask_ws.port}"
    with ws(flask_ws, "/ws/sock", Cookie=cookie, Origin=origin) as socket:
        assert json.loads(socket.recv(timeout=10))["sub"] == "victim"


def test_a_flask_sock_handler_with_the_decorator_closes_a_cross_site_socket_with_1008(
    flask_ws, tokens
):
    written = len(flask_ws.lines)  # what the server logs from here on, this test made it log
    cookie = f"nf_jwt={tokens.token(sub='victim')}"
    with (
        ws(flask_ws, "/ws/sock-guarded", Cookie=cookie, Origin=EVIL) as socket,
        pytest.raises(ConnectionClosed) as closed,
    ):
        socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason.startswith("csrf_rejected: Cross-site request refused")
    origin = f"http://127.0.0.1:{flask_ws.port}"
    with ws(flask_ws, "/ws/sock-guarded", Cookie=cookie, Origin=origin) as socket:
        assert json.loads(socket.recv(timeout=10))["sub"] == "victim"
    log = "".join(flask_ws.lines[written:])
    assert "Traceback" not in log, log


# --- the decorator-order trap under uvicorn ----------------------------------------------------


def test_an_app_with_the_decorator_order_trap_does_not_start_under_uvicorn():
    code, log = exit_of(
        uvicorn_command("tests.integration.edge_apps:trapped_fastapi", factory=True), ENV
    )
    assert code is not None, "uvicorn started an app whose /admin is open:\n" + log
    assert code != 0
    assert "GET /admin -> tests.integration.edge_apps.trapped_fastapi.<locals>.admin" in log
    assert "below the route" in log
    assert "Application startup failed" in log


def test_a_flask_app_with_the_trap_answers_500_and_logs_why_under_gunicorn(tokens):
    app = "tests.integration.edge_apps:trapped_flask()"
    with gunicorn(app, ready_status=500) as server:
        for path in ("/admin", "/", "/admin"):
            answer = server.request(path=path)
            assert answer.status == 500
            assert b"the admin data" not in answer.body
            assert b"public" not in answer.body
    log = server.log
    assert "GET /admin -> tests.integration.edge_apps.trapped_flask.<locals>.admin" in log
    assert "below the route" in log
