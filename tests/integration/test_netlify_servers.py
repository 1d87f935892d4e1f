"""Path rules and Identity hooks over real sockets: gunicorn (Flask) and uvicorn (Starlette).

Each server is a subprocess in its own session on 127.0.0.1, on a port the
system picks (read back from its log), waited for with bounded timeouts and
stopped by its process group, also when a test fails. The apps are
``tests/integration/netlify_apps.py``; the rules file is the seed rules of
Netlify users plus a redirect and a role-only tree. The hook calls are signed
by jsonwebtoken in Node, as GoTrue signs them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jwtgate.testing import TokenFactory
from tests.netlify_hooks_calls import INSTANCE, SECRET, Call, make_calls
from tests.servers import Server, gunicorn_command, running, uvicorn_command

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
    "gunicorn": gunicorn_command("tests.integration.netlify_apps:flask_app()"),
    "uvicorn": uvicorn_command("tests.integration.netlify_apps:starlette_app", factory=True),
}


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    rules_file = tmp_path_factory.mktemp("rules") / "_redirects"
    rules_file.write_text(RULES, encoding="utf-8")
    env = {
        "NETLIFY_TEST_SECRET": SECRET,
        "NETLIFY_TEST_INSTANCE": INSTANCE,
        "NETLIFY_TEST_RULES": str(rules_file),
    }
    with running(COMMANDS[request.param], env, ready="/ready") as started:
        yield started


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
    return make_calls()


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
