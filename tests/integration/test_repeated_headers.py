"""Repeated Cookie and Authorization headers: the same answer under gunicorn and uvicorn.

Raw requests over a socket (HTTP clients merge repeated headers before sending them),
to the same app served by gunicorn (WSGI: the server joins repeated fields with a comma
before the app sees them) and by uvicorn (ASGI: the app sees each field). The answers:

- Cookie fields are one cookie list, however many there are (browsers send one over
  HTTP/1.1, RFC 6265 §5.4; HTTP/2 splits it into several, RFC 9113 §8.2.3). A comma,
  which no cookie value may hold (RFC 6265 §4.1.1), separates cookies too: it is how a
  WSGI server joins two fields. Two different values of the token cookie are 400.
- Authorization holds one credential (RFC 9110 §11.6.2): two fields, whatever their
  schemes, are 400 ``invalid_request`` (RFC 6750 §3.1), the same message everywhere.
- A custom token header sent twice with two different values is 400 too; and the
  same-origin check reads a repeated ``Origin`` the same way under both servers.

Beside them, a Starlette app wrapped in the middleware from outside, under uvicorn:
its refusal is the standard 401, not Starlette's 500.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from jwtgate.testing import TokenFactory

from ..servers import Server, gunicorn_command, running, uvicorn_command

SECRET = secrets.token_urlsafe(48)
TOKENS = TokenFactory.netlify(secret=SECRET)
ADA = TOKENS.token(sub="ada")
BOB = TOKENS.token(sub="bob")
EVIL = "http://evil.example"


ENV = {"REPEATED_SECRET": SECRET}


def uvicorn(factory: str) -> AbstractContextManager[Server]:
    return running(uvicorn_command(factory, factory=True), ENV, ready="/")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    wsgi_app = gunicorn_command("tests.integration.repeated_header_apps:wsgi()", threads=8)
    with (
        running(wsgi_app, ENV, ready="/") as wsgi,
        uvicorn("tests.integration.repeated_header_apps:asgi") as asgi,
    ):
        yield {"gunicorn": wsgi, "uvicorn": asgi}


def raw_request(
    server: Server, method: str, path: str, fields: list[tuple[str, str]]
) -> tuple[int, str | None, Any]:
    """Send exactly these header fields, repeated ones included; status, challenge, JSON body."""
    own = f"127.0.0.1:{server.port}"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {own}", "Connection: close"]
    lines += [f"{name}: {value.replace('{own}', own)}" for name, value in fields]
    if method == "POST":
        lines.append("Content-Length: 0")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    return response.status, response.getheader("WWW-Authenticate"), json.loads(body)


def refusal(status: int, error: str, description: str) -> tuple[int, str | None, Any]:
    challenge = f'Bearer error="{error}", error_description="{description}"'
    if error == "missing_token":
        challenge = "Bearer"
    return status, challenge, {"error": error, "error_description": description}


def user(sub: str) -> tuple[int, None, Any]:
    return 200, None, {"sub": sub, "error": None}


TWICE_AUTHORIZATION = refusal(400, "invalid_request", "More than one Authorization header was sent")

CASES: dict[str, tuple[str, list[tuple[str, str]], tuple[int, str | None, Any]]] = {
    "one Cookie field": ("GET", [("Cookie", f"a=1; nf_jwt={ADA}")], user("ada")),
    "two Cookie fields, the token in the second": (
        "GET",
        [("Cookie", "a=1"), ("Cookie", f"nf_jwt={ADA}")],
        user("ada"),
    ),
    "two Cookie fields, the token in the first": (
        "GET",
        [("Cookie", f"nf_jwt={ADA}; b=2"), ("Cookie", "a=1")],
        user("ada"),
    ),
    "three Cookie fields (HTTP/2 style), the token in the middle": (
        "GET",
        [("Cookie", "a=1"), ("Cookie", f"nf_jwt={ADA}"), ("Cookie", "b=2")],
        user("ada"),
    ),
    "two Cookie fields, the same token in both": (
        "GET",
        [("Cookie", f"nf_jwt={ADA}"), ("Cookie", f"nf_jwt={ADA}")],
        user("ada"),
    ),
    "two Cookie fields, two different tokens": (
        "GET",
        [("Cookie", f"nf_jwt={ADA}"), ("Cookie", f"nf_jwt={BOB}")],
        refusal(400, "invalid_request", "More than one nf_jwt cookie was sent"),
    ),
    "a comma before the token cookie in one field": (
        "GET",
        [("Cookie", f"a=1, nf_jwt={ADA}")],
        user("ada"),
    ),
    "two Cookie fields, no token": (
        "GET",
        [("Cookie", "a=1"), ("Cookie", "b=2")],
        refusal(401, "missing_token", "Authentication is required"),
    ),
    "two Authorization fields, the same token": (
        "GET",
        [("Authorization", f"Bearer {ADA}"), ("Authorization", f"Bearer {ADA}")],
        TWICE_AUTHORIZATION,
    ),
    "two Authorization fields, Basic then Bearer": (
        "GET",
        [("Authorization", "Basic YTpi"), ("Authorization", f"Bearer {ADA}")],
        TWICE_AUTHORIZATION,
    ),
    "two Authorization fields, Bearer then Basic": (
        "GET",
        [("Authorization", f"Bearer {ADA}"), ("Authorization", "Basic YTpi")],
        TWICE_AUTHORIZATION,
    ),
    "two Authorization fields, both Basic": (
        "GET",
        [("Authorization", "Basic YTpi"), ("Authorization", "Basic Yzpk")],
        refusal(401, "missing_token", "Authentication is required"),
    ),
    "one Authorization field of another scheme, with commas": (
        "GET",
        [("Authorization", 'Digest username="a", realm="b", nonce="c"')],
        refusal(401, "missing_token", "Authentication is required"),
    ),
    "a Bearer token with a comma in it": (
        "GET",
        [("Authorization", f"Bearer {ADA},x")],
        refusal(400, "invalid_request", "The Authorization header is malformed"),
    ),
    "Authorization and the cookie, the same token": (
        "GET",
        [("Authorization", f"Bearer {ADA}"), ("Cookie", f"nf_jwt={ADA}")],
        user("ada"),
    ),
    "two privy-id-token fields, the same token": (
        "GET",
        [("privy-id-token", ADA), ("privy-id-token", ADA)],
        user("ada"),
    ),
    "two privy-id-token fields, two tokens": (
        "GET",
        [("privy-id-token", ADA), ("privy-id-token", BOB)],
        refusal(400, "invalid_request", "More than one privy-id-token header was sent"),
    ),
    "a cookie POST with its own Origin": (
        "POST",
        [("Cookie", f"nf_jwt={ADA}"), ("Origin", "http://{own}")],
        user("ada"),
    ),
    "a cookie POST with two Origin fields, its own first": (
        "POST",
        [("Cookie", f"nf_jwt={ADA}"), ("Origin", "http://{own}"), ("Origin", EVIL)],
        refusal(
            403,
            "csrf_rejected",
            "Cross-site request refused: the request lacks same-origin evidence",
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_same_request_gets_the_same_answer_under_both_servers(servers, case):
    method, fields, expected = CASES[case]

    answers = {name: raw_request(server, method, "/me", fields) for name, server in servers.items()}

    assert answers["gunicorn"] == answers["uvicorn"], answers
    assert answers["uvicorn"] == expected


def test_a_public_page_says_why_a_repeated_header_was_refused(servers):
    fields = [("Authorization", f"Bearer {ADA}"), ("Authorization", f"Bearer {BOB}")]

    answers = {name: raw_request(server, "GET", "/", fields) for name, server in servers.items()}

    assert answers["gunicorn"] == answers["uvicorn"]
    assert answers["uvicorn"] == (
        200,
        None,
        {"sub": None, "error": "More than one Authorization header was sent"},
    )


def test_tokens_never_appear_in_the_answers(servers):
    for method, fields, _ in CASES.values():
        for server in servers.values():
            status, challenge, body = raw_request(server, method, "/me", fields)
            if status != 200:
                for token in (ADA, BOB):
                    assert token not in json.dumps(body)
                    assert token not in (challenge or "")


def test_a_starlette_app_wrapped_from_outside_refuses_cleanly_under_uvicorn():
    """Starlette's outermost layer turns the AuthError into a 500 and raises it on: the
    middleware around it answers the refusal instead, and uvicorn logs no exception."""
    factory = "tests.integration.repeated_header_apps:asgi_wrapped"
    with uvicorn(factory) as server:
        refused = raw_request(server, "GET", "/me", [])
        admitted = raw_request(server, "GET", "/me", [("Authorization", f"Bearer {ADA}")])

    assert refused == refusal(401, "missing_token", "Authentication is required")
    assert admitted == user("ada")
    log = server.log
    assert "Exception in ASGI application" not in log
    assert "Traceback" not in log
