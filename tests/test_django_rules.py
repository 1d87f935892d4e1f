"""Path rules in jwtgate.django: JWTGATE_RULES_FILE and JWTGATE_RULES, sync and async.

The project is tests/django_project; its ``page`` view answers what Django
routed (path, PATH_INFO, query, ``request.GET``), so a test sees what a rule
did to the request. Netlify's semantics themselves are compared with
Netlify's engine in tests/integration/test_netlify_engine.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from django.test import AsyncClient, Client

from jwtgate.django import GateMiddleware, SettingsError
from jwtgate.rules import Rule, RuleTable
from jwtgate.testing import TokenFactory
from tests.django_project import TEST_SECRET as SECRET
from tests.django_project import configure

configure()

from tests.test_django import jwtgate_settings  # noqa: E402 - needs Django set up

RULES = """\
/area/*     /page/:splat   200!  Role=member
/area/*     /join          401!
/old/*      /page/:splat   301
/ops/*      200!  Role=ops
/ops/*      /join          403!
/secret/*   200!  Role=admin
/admin      /admin         200!  Role=admin
/admin      /login         302
"""


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=SECRET)


@pytest.fixture
def rules_file(tmp_path) -> Path:
    path = tmp_path / "_redirects"
    path.write_text(RULES, encoding="utf-8")
    return path


def member(tokens, *roles) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.token(sub='m1', roles=list(roles))}"}


def test_a_rewrite_is_routed_by_django_to_the_target(rules_file, tokens):
    with jwtgate_settings(JWTGATE_RULES_FILE=str(rules_file)):
        answer = Client().get("/area/caf%C3%A9?x=1&y=%20", headers=member(tokens, "member"))
    assert answer.status_code == 200
    assert answer.json() == {
        "path": "/page/café",
        "path_info": "/page/café",
        "meta_path_info": "/page/café".encode().decode("latin-1"),
        "query": "x=1&y=%20",
        "get": {"x": "1", "y": " "},
        "rule": 200,
    }


def test_without_the_role_an_api_client_gets_the_standard_refusal(rules_file, tokens):
    with jwtgate_settings(JWTGATE_RULES_FILE=str(rules_file)):
        anonymous = Client().get("/area/x")
        guest = Client().get("/area/x", headers=member(tokens, "guest"))
        forbidden = Client().get("/ops/x")
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Bearer")
    assert guest.status_code == 401
    assert 'scope="member"' in guest["WWW-Authenticate"]
    assert (forbidden.status_code, forbidden.json()["error"]) == (403, "insufficient_scope")


def test_a_browser_gets_the_rules_page_with_the_rules_status(rules_file):
    with jwtgate_settings(JWTGATE_RULES_FILE=str(rules_file)):
        answer = Client().get("/area/x", headers={"Accept": "text/html"})
    assert answer.status_code == 401
    assert answer.json()["path"] == "/join"
    assert answer["Cache-Control"] == "no-store"


def test_redirects_and_404(rules_file, tokens):
    with jwtgate_settings(JWTGATE_RULES_FILE=str(rules_file)):
        moved = Client().get("/old/a/b?q=1")
        admin = Client().get("/admin")
        secret = Client().get("/secret/x", headers=member(tokens, "member"))
        head = Client().head("/secret/x")
    assert (moved.status_code, moved["Location"]) == (301, "/page/a/b?q=1")
    assert (admin.status_code, admin["Location"]) == (302, "/login")
    assert (secret.status_code, secret.json()["error"]) == (404, "not_found")
    assert (head.status_code, head.content) == (404, b"")


def test_the_view_still_decides_after_a_rule_lets_the_request_through(rules_file, tokens):
    with jwtgate_settings(JWTGATE_RULES_FILE=str(rules_file)):
        answer = Client().get("/admin", headers=member(tokens, "admin"))
    assert answer.json() == {"admin": "m1"}


def test_async_django_applies_the_same_rules(rules_file, tokens):
    async def calls():
        client = AsyncClient()
        rewritten = await client.get("/area/x?z=2", headers=member(tokens, "member"))
        page = await client.get("/area/x", headers={"Accept": "text/html"})
        refused = await client.get("/area/x")
        return rewritten, page, refused

    with jwtgate_settings(
        JWTGATE_RULES_FILE=str(rules_file),
        MIDDLEWARE=["jwtgate.django.GateMiddleware"],
    ):
        rewritten, page, refused = asyncio.run(calls())
    assert rewritten.json()["path"] == "/page/x"
    assert rewritten.json()["get"] == {"z": "2"}
    assert (page.status_code, page.json()["path"]) == (401, "/join")
    assert refused.status_code == 401


def test_rules_in_code_and_a_cors_preflight(tokens):
    rules = [Rule("/area/*", "/page/:splat", 200, roles=["member"]), Rule("/area/*", "/join", 401)]
    with jwtgate_settings(JWTGATE_RULES=rules):
        preflight = Client().options(
            "/area/x",
            headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"},
        )
        refused = Client().get("/area/x")
    # The preflight is not decided: it reaches Django, which routes no /area/x.
    assert preflight.status_code == 404
    assert "WWW-Authenticate" not in preflight
    assert refused.status_code == 401


def test_a_relative_rules_file_is_read_from_base_dir(tmp_path, rules_file):
    with jwtgate_settings(JWTGATE_RULES_FILE="_redirects", BASE_DIR=tmp_path):
        assert Client().get("/old/x")["Location"] == "/page/x"
    with jwtgate_settings(JWTGATE_RULES_FILE="_redirects", BASE_DIR=str(tmp_path)):
        assert isinstance(GateMiddleware(lambda request: None).rules.table, RuleTable)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"JWTGATE_RULES_FILE": "_redirects", "BASE_DIR": None}, "needs BASE_DIR"),
        ({"JWTGATE_RULES_FILE": "/nowhere/_redirects"}, "JWTGATE_RULES_FILE: cannot read"),
        ({"JWTGATE_RULES": "/a /b"}, "JWTGATE_RULES: rules: a list of jwtgate.rules.Rule"),
        ({"JWTGATE_RULES": [], "JWTGATE_RULES_FILE": "/x"}, "use one or the other"),
        ({"JWTGATE_RULES_FILE": 5}, "JWTGATE_RULES_FILE: must be a string"),
    ],
)
def test_bad_rules_settings_are_refused_at_start_up(values, message):
    with jwtgate_settings(**values), pytest.raises(SettingsError, match=message):
        GateMiddleware(lambda request: None)


def test_a_bad_rule_line_names_the_setting_the_file_and_the_line(tmp_path):
    path = tmp_path / "_redirects"
    path.write_text("/ok  /fine\n/api/*  https://api.example.com/:splat  200\n")
    with (
        jwtgate_settings(JWTGATE_RULES_FILE=str(path)),
        pytest.raises(SettingsError, match=r"JWTGATE_RULES_FILE: .*_redirects line 2: proxy"),
    ):
        GateMiddleware(lambda request: None)


def test_without_rules_the_middleware_has_none():
    assert GateMiddleware(lambda request: None).rules is None
