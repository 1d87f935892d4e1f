"""The Starlette and FastAPI examples under uvicorn, over real sockets on 127.0.0.1.

Each app runs in its own uvicorn process on a port the system picks (port 0,
read back from uvicorn's log) and is stopped by its PID, also when a test
fails. Websockets are driven by a real client (the ``websockets`` package).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory
from tests.servers import Server, starlette_example

IO_TIMEOUT = 5.0


@pytest.fixture(
    scope="module",
    params=["examples.starlette_app.app:app", "examples.starlette_app.fastapi_app:app"],
    ids=["starlette", "fastapi"],
)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with starlette_example(request.param) as running:
        yield running


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=DEVELOPMENT_SECRET)


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=IO_TIMEOUT) as client:
        yield client


def ws_url(server: Server) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/echo"


def same_origin(server: Server, **headers: str) -> dict[str, str]:
    return {"Origin": server.url, **headers}


# --- http --------------------------------------------------------------------------------


def test_the_public_page_answers_everyone(http, tokens):
    assert "Hello, stranger" in http.get("/").text
    cookie = {"Cookie": f"nf_jwt={tokens.token(sub='ada', email='ada@example.com')}"}
    assert "Hello, ada@example.com" in http.get("/", headers=cookie).text


def test_api_me_needs_a_token(http):
    response = http.get("/api/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "missing_token"


def test_api_me_accepts_a_bearer_token_and_the_netlify_cookie(http, tokens):
    by_header = http.get("/api/me", headers=tokens.headers(sub="u1", roles=["editor"]))
    by_cookie = http.get("/api/me", headers={"Cookie": f"nf_jwt={tokens.token(sub='u2')}"})

    assert by_header.status_code == 200
    assert by_header.json()["sub"] == "u1"
    assert by_header.json()["roles"] == ["editor"]
    assert by_header.json()["source"] == "bearer"
    assert by_cookie.json()["source"] == "cookie:nf_jwt"


def test_an_expired_token_is_refused_without_being_echoed(http, tokens):
    token = tokens.expired()

    response = http.get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert token not in response.text


def test_api_admin_needs_the_admin_role(http, tokens):
    refused = http.get("/api/admin", headers=tokens.headers(roles=["editor"]))
    allowed = http.get("/api/admin", headers=tokens.headers(sub="boss", roles=["admin"]))

    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    assert allowed.json() == {"admin": True, "sub": "boss"}


def test_a_token_from_another_secret_is_refused(http):
    stranger = TokenFactory.netlify().token(sub="mallory", roles=["admin"])

    response = http.get("/api/admin", headers={"Authorization": f"Bearer {stranger}"})

    assert response.status_code == 401


# --- websockets ------------------------------------------------------------------------------


def test_a_websocket_with_a_valid_cookie_echoes(server, tokens):
    headers = same_origin(server, Cookie=f"nf_jwt={tokens.token(sub='ws-user')}")

    with connect(ws_url(server), additional_headers=headers, open_timeout=IO_TIMEOUT) as ws:
        ws.send("hello")
        assert ws.recv(timeout=IO_TIMEOUT) == "ws-user: hello"
        ws.send("again")
        assert ws.recv(timeout=IO_TIMEOUT) == "ws-user: again"


def test_a_websocket_without_a_token_is_refused_with_401(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server), additional_headers=same_origin(server), open_timeout=IO_TIMEOUT)

    response = refused.value.response
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert b'"missing_token"' in response.body


def test_a_websocket_with_an_expired_token_is_refused_with_401(server, tokens):
    token = tokens.expired()
    headers = same_origin(server, Cookie=f"nf_jwt={token}")

    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server), additional_headers=headers, open_timeout=IO_TIMEOUT)

    response = refused.value.response
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert token.encode() not in response.body


def test_a_cookie_websocket_opened_by_another_site_is_refused_with_403(server, tokens):
    headers = {"Origin": "https://evil.test", "Cookie": f"nf_jwt={tokens.token()}"}

    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server), additional_headers=headers, open_timeout=IO_TIMEOUT)

    assert refused.value.response.status_code == 403
    assert b'"csrf_rejected"' in refused.value.response.body


def test_a_websocket_with_a_bearer_header_needs_no_origin(server, tokens):
    headers = tokens.headers(sub="script")

    with connect(ws_url(server), additional_headers=headers, open_timeout=IO_TIMEOUT) as ws:
        ws.send("hi")
        assert ws.recv(timeout=IO_TIMEOUT) == "script: hi"
