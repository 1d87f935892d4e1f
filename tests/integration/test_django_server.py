"""A real Django project (tests/django_project) behind jwtgate.django, over real sockets.

Served by gunicorn (WSGI, threads; jwtgate's middleware last, then first in
``MIDDLEWARE``) and by uvicorn (ASGI: Django in async mode), each on a port
the system picks on 127.0.0.1, waited for with bounded timeouts and stopped
by its PID's process group, also when a test fails. Django's session, CSRF
and authentication middleware are installed beside jwtgate's.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from jwtgate.testing import TokenFactory
from tests.servers import Answer, Server, exit_of, gunicorn_command, running, uvicorn_command
from tests.tokens import bearer

SECRET = secrets.token_urlsafe(40)
COMMANDS = {
    "gunicorn": gunicorn_command("tests.django_project.wsgi:application", threads=8),
    "uvicorn": uvicorn_command(
        "tests.django_project.asgi:application", options=["--lifespan", "off"]
    ),
}


@pytest.fixture(
    scope="module",
    params=["gunicorn", "gunicorn-gate-first", "uvicorn"],
)
def server(request) -> Iterator[Server]:
    kind = request.param.split("-")[0]
    env = {"SITE_JWT_SECRET": SECRET}
    if request.param.endswith("gate-first"):
        env["GATE_BEFORE_CSRF"] = "1"
    with running(COMMANDS[kind], env, ready="/") as started:
        yield started


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=SECRET)


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
    same_origin = post_json(server, "/exempt-comments", {**cookie, "Origin": server.url})
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
    code, log = exit_of(COMMANDS[kind], {"SITE_JWT_SECRET": ""})
    assert code is not None, f"{kind} served with an empty secret"
    assert code != 0
    assert "JWTGATE_NETLIFY_JWT_SECRET: set but empty" in log
