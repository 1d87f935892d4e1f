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

import json
from collections.abc import Iterator

import pytest

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory
from tests.servers import Server, gunicorn_command, running, uvicorn_command

HEADER_ROOM = "131072"
SERVERS = {
    "gunicorn": gunicorn_command(
        "tests.integration.caps_app:wsgi_app",
        options=["--limit-request-field_size", HEADER_ROOM],
    ),
    "uvicorn": uvicorn_command(
        "tests.integration.caps_app:asgi_app",
        options=["--h11-max-incomplete-event-size", HEADER_ROOM],
    ),
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with running(SERVERS[request.param]) as started:
        yield started


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=DEVELOPMENT_SECRET)


UNRELATED = "; ".join(f"pref_{i}={'v' * 200}" for i in range(100))  # 20.8 KB


def get(server: Server, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    answer = server.request("GET", path, headers)
    return answer.status, answer.body


def _refusal(body: bytes) -> str:
    return str(json.loads(body)["error_description"])


def test_a_bearer_token_beside_20_kb_of_cookies_is_accepted(server, tokens) -> None:
    assert len(UNRELATED) > 20_000
    headers = {"Authorization": f"Bearer {tokens.token(sub='u1')}", "Cookie": UNRELATED}
    assert get(server, "/me", headers) == (200, b"u1")


def test_the_token_cookie_among_20_kb_of_cookies_is_accepted(server, tokens) -> None:
    headers = {"Cookie": f"{UNRELATED}; nf_jwt={tokens.token(sub='u2')}"}
    assert get(server, "/me", headers) == (200, b"u2")


def test_an_absurd_cookie_header_is_still_refused(server, tokens) -> None:
    headers = {"Authorization": f"Bearer {tokens.token()}", "Cookie": "junk=" + "j" * 70_000}
    status, body = get(server, "/me", headers)
    assert status == 400
    assert _refusal(body) == "The Cookie header is too large"


def test_a_token_cookie_over_16_kib_is_refused(server, tokens) -> None:
    status, body = get(server, "/me", {"Cookie": "nf_jwt=" + "a" * 17_000})
    assert status == 400
    assert _refusal(body) == "A cookie is too large"


def test_an_authorization_header_over_16_kib_is_refused(server) -> None:
    status, body = get(server, "/me", {"Authorization": "Bearer " + "a" * 17_000})
    assert status == 400
    assert _refusal(body) == "A request header is too large"


def test_an_expired_cookie_beside_a_fresh_bearer_token(server, tokens) -> None:
    headers = {
        "Cookie": f"nf_jwt={tokens.expired(sub='yesterday')}",
        "Authorization": f"Bearer {tokens.token(sub='today')}",
    }
    status, body = get(server, "/me", headers)
    assert status == 400
    assert _refusal(body) == "More than one token was sent"
    assert get(server, "/spa/me", headers) == (200, b"today")
