"""examples/flask_app's ``_redirects`` in Chromium, decided as Netlify's own engine decides it.

``EXPECTED`` says, once, what each visitor gets in each tree the example's
``_redirects`` gates: ``/admin/*`` for admins (anyone else: 302 to
``/login``), ``/members/*`` for members and admins (anyone else: the
``/join`` page with status 401). Two real things are held to it:

- Netlify's engine (``netlify-redirector``, which ``netlify dev`` runs; see
  tests/integration/test_netlify_engine.py), asked the same paths with
  ``nf_jwt`` cookies it signs itself for the same role sets;
- Chromium, navigating the same paths of the example under gunicorn with
  ``JWTGATE_RULES_FILE=_redirects``, logged in through the example's login
  page (or holding an expired or forged cookie), where the final address,
  the page shown, the status the browser received and gunicorn's access log
  must all agree with the table.

The same URLs fetched by a script of the app's page show what a script gets
instead: the JSON refusal with its RFC 6750 challenge where the rule answers
401, and, as on Netlify, the redirect (followed, to the login page) where
the rule redirects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory
from tests.netlify_corpus import CorpusFile, run_engine

from .kit import FETCH, WAIT, Logged, probe
from .test_login import log_in

pytestmark = pytest.mark.browser

RULES = Path(__file__).resolve().parents[2] / "examples" / "flask_app" / "_redirects"


@dataclass(frozen=True, eq=False)  # hashed by identity: visitors key EXPECTED
class Visitor:
    """Who asks: how the browser gets its cookie, and the token Netlify's engine is given."""

    name: str
    #: The login page's button ("reader", "member", "admin"), or the kind of cookie set by hand.
    login: str | None
    #: The token of tests/netlify_engine/engine.mjs: None (no cookie) or its roles and fate.
    engine_token: dict[str, Any] | None
    #: What a script gets where a rule answers 401: the challenge and the JSON error.
    challenge: str | None = None
    error: dict[str, str] | None = None


ANONYMOUS = Visitor(
    "anonymous",
    None,
    None,
    "Bearer",
    {"error": "missing_token", "error_description": "Authentication is required"},
)
READER = Visitor(
    "reader",
    "reader",
    {"roles": [], "expires_in": 3600, "forged": False},
    'Bearer error="insufficient_scope", error_description="Insufficient roles", '
    'scope="member admin"',
    {"error": "insufficient_scope", "error_description": "Insufficient roles"},
)
MEMBER = Visitor("member", "member", {"roles": ["member"], "expires_in": 3600, "forged": False})
ADMIN = Visitor("admin", "admin", {"roles": ["admin"], "expires_in": 3600, "forged": False})
EXPIRED_ADMIN = Visitor(
    "expired-admin",
    "expired",
    {"roles": ["admin"], "expires_in": -3600, "forged": False},
    'Bearer error="invalid_token", error_description="The token has expired"',
    {"error": "invalid_token", "error_description": "The token has expired"},
)
FORGED_ADMIN = Visitor(
    "forged-admin",
    "forged",
    {"roles": ["admin"], "expires_in": 3600, "forged": True},
    'Bearer error="invalid_token", error_description="The token\'s signature is invalid"',
    {"error": "invalid_token", "error_description": "The token's signature is invalid"},
)

#: The paths asked in each gated tree.
TREES = {
    "/admin/*": ("/admin", "/admin/", "/admin/anything"),
    "/members/*": ("/members/", "/members/guide"),
}
#: A 200 onto the path itself: the page asked for, at the address asked for.
PAGE = "(the page asked for)"
#: What each visitor gets in each tree: the rule's status and where it sends the request.
EXPECTED: dict[Visitor, dict[str, tuple[int, str]]] = {
    ANONYMOUS: {"/admin/*": (302, "/login"), "/members/*": (401, "/join")},
    READER: {"/admin/*": (302, "/login"), "/members/*": (401, "/join")},
    MEMBER: {"/admin/*": (302, "/login"), "/members/*": (200, PAGE)},
    ADMIN: {"/admin/*": (200, PAGE), "/members/*": (200, PAGE)},
    EXPIRED_ADMIN: {"/admin/*": (302, "/login"), "/members/*": (401, "/join")},
    FORGED_ADMIN: {"/admin/*": (302, "/login"), "/members/*": (401, "/join")},
}
#: The heading of each page the example serves here.
HEADINGS = {
    "/login": "Log in",
    "/join": "Members only",
    "/admin/*": "Admin",
    "/members/*": "Members",
}


def requests(visitor: Visitor) -> list[tuple[str, str, int, str]]:
    """(tree, path, status, target) for each path the visitor asks."""
    return [
        (tree, path, *EXPECTED[visitor][tree]) for tree, paths in TREES.items() for path in paths
    ]


# --- what Netlify's engine decides ---------------------------------------------------


def test_netlifys_engine_decides_what_the_table_says():
    query = "probe=netlify"
    asked = [(visitor, path) for visitor in EXPECTED for _, path, _, _ in requests(visitor)]
    rules = CorpusFile(
        "example-flask_app._redirects",
        RULES.read_text(encoding="utf-8"),
        cases=[
            {"path": path, "query": query, "token": visitor.engine_token} for visitor, path in asked
        ],
    )
    (result,) = run_engine([rules])["files"]
    assert result["errors"] == []
    decided, expected = {}, {}
    for (visitor, path), outcome in zip(asked, result["cases"], strict=True):
        status, target = outcome["status"], outcome["target"]
        where = target["path"]
        if status == 200:
            # A 200 onto the path itself; the engine writes /admin as /admin/, jwtgate
            # leaves the request as it came (docs/path-rules.md lists the difference).
            assert where.rstrip("/") == path.rstrip("/"), (visitor.name, path, outcome)
            where = PAGE
        # Netlify keeps the request's query on a redirect or rewrite with none of its own.
        assert target["query"] == [["probe", "netlify"]], (visitor.name, path, outcome)
        assert not target["absolute"]
        decided[visitor.name, path] = (status, where)
    for visitor in EXPECTED:
        for _, path, status, where in requests(visitor):
            expected[visitor.name, path] = (status, where)
    assert decided == expected


# --- what Chromium gets from the example under gunicorn -------------------------------


def sign_in(browser: Any, page: Any, url: str, visitor: Visitor) -> str | None:
    """Give the browser the visitor's ``nf_jwt`` cookie; return the token (None: anonymous)."""
    if visitor.login is None:
        return None
    if visitor.login in ("reader", "member", "admin"):
        page.goto(f"{url}/login")
        log_in(browser, page, role=visitor.login)
    else:
        tokens = TokenFactory.netlify(secret=DEVELOPMENT_SECRET)
        bad = tokens.expired if visitor.login == "expired" else tokens.wrong_signature
        cookie = {"name": "nf_jwt", "value": bad(sub=visitor.name, roles=["admin"]), "url": url}
        browser.context.add_cookies([{**cookie, "httpOnly": True, "sameSite": "Lax"}])
    cookie = browser.cookie("nf_jwt")
    assert cookie is not None
    return str(cookie["value"])


def logged(app: Any, mark: str, count: int) -> list[tuple[str, str, int, str]]:
    """The ``count`` requests of ``mark`` gunicorn logged: method, path the app served, status,
    Sec-Fetch-Mode. (gunicorn logs ``PATH_INFO`` as the app left it: after a rule's rewrite.)"""
    deadline = time.monotonic() + WAIT
    lines: list[Logged] = app.log.lines(mark)
    while len(lines) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        lines = app.log.lines(mark)
    return [(line.method, line.path, line.status, line.fetch_mode) for line in lines]


def heading(page: Any) -> str:
    return str(page.get_by_role("heading", level=1).inner_text())


@contextmanager
def shown_on_failure(browser: Any, page: Any, name: str, note: Any) -> Iterator[None]:
    """Screenshot ``page``, with ``note`` on it, when a check inside fails.

    (Only then: a screenshot of each of the sixty steps would double the run's time.)
    """
    try:
        yield
    except AssertionError:
        browser.step(page, name, note=note)
        raise


@pytest.mark.parametrize("visitor", list(EXPECTED), ids=lambda visitor: visitor.name)
def test_a_navigation_ends_where_netlify_sends_it(browser, flask_rules_app, observe, visitor):
    app = flask_rules_app.url
    page = browser.new_page()
    sign_in(browser, page, app, visitor)
    seen = []
    for tree, path, status, target in requests(visitor):
        mark = probe()
        url = f"{app}{path}?probe={mark}"
        response = page.goto(url)
        first = response.request.redirected_from
        with shown_on_failure(browser, page, f"{visitor.name} navigates to {path}", target):
            if status == 302:
                assert first is not None, path
                assert first.url == url
                assert first.response().status == 302
                assert first.response().headers["location"] == f"{target}?probe={mark}"
                assert page.url == f"{app}{target}?probe={mark}"  # the query kept, as on Netlify
                assert (response.status, heading(page)) == (200, HEADINGS[target])
                assert logged(flask_rules_app, mark, 2) == [
                    ("GET", path, 302, "navigate"),
                    ("GET", target, 200, "navigate"),
                ]
            else:
                assert first is None, path
                assert page.url == url  # the address bar keeps the address asked for
                assert response.status == status
                assert heading(page) == HEADINGS[tree if target == PAGE else target], path
                served = path if target == PAGE else target
                assert logged(flask_rules_app, mark, 1) == [("GET", served, status, "navigate")]
        seen.append(f"{path} {status}" + ("" if target == PAGE else f" {target}"))
    observe(f"{visitor.name} navigates: " + ", ".join(seen))


@pytest.mark.parametrize("visitor", list(EXPECTED), ids=lambda visitor: visitor.name)
def test_a_script_of_the_page_gets_the_json_refusal_or_the_redirect(
    browser, flask_rules_app, observe, visitor
):
    app = flask_rules_app.url
    page = browser.new_page()
    token = sign_in(browser, page, app, visitor)
    page.goto(f"{app}/")
    seen = []
    for _, path, status, target in requests(visitor):
        mark = probe()
        url = f"{app}{path}?probe={mark}"
        answer = page.evaluate(FETCH, [url, {"headers": {"Accept": "application/json"}}])
        with shown_on_failure(browser, page, f"{visitor.name} fetches {path}", answer):
            if token is not None:
                assert token not in json.dumps(answer)
            if status == 302:
                # The rule redirects every request, a script's too, as Netlify's does:
                # fetch follows it to the login page.
                assert answer["redirected"] is True
                assert answer["url"] == f"{app}{target}?probe={mark}"
                assert answer["status"] == 200
                assert answer["headers"]["content-type"].startswith("text/html")
                assert logged(flask_rules_app, mark, 2) == [
                    ("GET", path, 302, "cors"),
                    ("GET", target, 200, "cors"),
                ]
            elif status == 401:
                assert (answer["redirected"], answer["url"]) == (False, url)
                assert answer["status"] == 401
                assert answer["headers"]["www-authenticate"] == visitor.challenge
                assert answer["headers"]["cache-control"] == "no-store"
                assert answer["headers"]["content-type"] == "application/json"
                assert json.loads(answer["body"]) == visitor.error
                assert logged(flask_rules_app, mark, 1) == [("GET", path, 401, "cors")]
            else:
                assert (answer["redirected"], answer["url"]) == (False, url)
                assert answer["status"] == 200
                assert answer["headers"]["content-type"].startswith("text/html")
                assert logged(flask_rules_app, mark, 1) == [("GET", path, 200, "cors")]
        redirected = " (redirected)" if answer["redirected"] else ""
        seen.append(f"{path} {answer['status']}{redirected}")
    observe(f"{visitor.name} fetches: " + ", ".join(seen))
