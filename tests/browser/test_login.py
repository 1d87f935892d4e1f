"""Logging in to examples/flask_app (gunicorn) in Chromium: the cookie, /me, logout, the redirect.

The login page's development form sets the ``nf_jwt`` cookie; everything
after that is the browser deciding what to send and jwtgate deciding what
to answer.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from .kit import CROSS_SITE, FETCH, probe

pytestmark = pytest.mark.browser


def log_in(browser, page, role="reader"):
    """Press the login page's button (the page must be showing it)."""
    browser.step(page, "login page")
    with page.expect_navigation():
        page.get_by_role(
            "button", name=f"Log in as {'an' if role == 'admin' else 'a'} {role}"
        ).click()
    browser.step(page, f"logged in as {role}")


def test_login_sets_the_recommended_cookie_me_works_and_logout_clears_it(browser, flask_app):
    page = browser.new_page()
    page.goto(f"{flask_app.url}/login")
    log_in(browser, page)
    assert page.url == f"{flask_app.url}/"
    assert page.get_by_role("button", name="Log out").is_visible()

    cookie = browser.cookie("nf_jwt")
    assert cookie is not None
    # The attributes docs/browser-security.md recommends: HttpOnly, SameSite=Lax, host-only,
    # Path=/, an expiry no later than the token's; Secure follows the scheme (plain http here).
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["domain"] == "127.0.0.1"  # host-only: no Domain attribute
    assert cookie["path"] == "/"
    assert cookie["secure"] is False
    assert time.time() + 3500 < cookie["expires"] <= time.time() + 3601
    # HttpOnly, as the browser enforces it: the page's scripts cannot read the token.
    assert "nf_jwt" not in page.evaluate("document.cookie")

    page.goto(f"{flask_app.url}/me")
    browser.step(page, "/me")
    me = page.evaluate("JSON.parse(document.body.innerText)")
    assert me["email"] == "reader@example.com"
    assert me["source"] == "cookie:nf_jwt"
    assert me["roles"] == []

    page.goto(f"{flask_app.url}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    browser.step(page, "logged out")
    assert browser.cookie("nf_jwt") is None
    assert page.get_by_role("link", name="Log in").is_visible()
    answer = page.evaluate(FETCH, [f"{flask_app.url}/me", {}])
    assert answer["status"] == 401


def test_a_protected_page_sends_the_browser_to_login_and_back(browser, flask_app):
    page = browser.new_page()
    response = page.goto(f"{flask_app.url}/admin?tab=comments")
    browser.step(page, "sent to login")
    redirect = response.request.redirected_from
    assert redirect is not None
    assert redirect.url == f"{flask_app.url}/admin?tab=comments"
    assert redirect.response().status == 302
    assert urlsplit(page.url).path == "/login"
    assert parse_qs(urlsplit(page.url).query) == {"next": ["/admin?tab=comments"]}

    log_in(browser, page, role="admin")
    assert page.url == f"{flask_app.url}/admin?tab=comments"
    assert page.get_by_role("heading", name="Admin").is_visible()


def test_the_same_url_fetched_as_json_is_a_401_with_the_bearer_challenge(browser, flask_app):
    page = browser.new_page()
    page.goto(f"{flask_app.url}/")
    mark = probe()
    answer = page.evaluate(FETCH, [f"{flask_app.url}/admin?probe={mark}", {}])
    browser.step(page, "fetched /admin", note=answer)
    assert answer["status"] == 401
    assert answer["headers"]["www-authenticate"] == "Bearer"
    assert answer["headers"]["cache-control"] == "no-store"
    assert json.loads(answer["body"]) == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }
    logged = flask_app.log.wait(mark, "GET")
    assert (logged.status, logged.fetch_mode) == (401, "cors")  # a fetch, not a navigation


#: ``next`` values that would take a browser to another site, each as a browser reads it.
HOSTILE_NEXT = (
    f"//{CROSS_SITE}/phish",  # scheme-relative
    f"/\\{CROSS_SITE}/phish",  # browsers read a backslash as a slash
    f"http://{CROSS_SITE}/phish",
    f"/\t/{CROSS_SITE}/phish",  # browsers drop tabs from URLs: //localhost/phish
    "javascript:alert(1)",
)


def test_login_never_sends_the_browser_off_the_site(browser, flask_app):
    page = browser.new_page()
    for next_url in HOSTILE_NEXT:
        page.goto(f"{flask_app.url}/login?{urlencode({'next': next_url})}")
        assert page.input_value("input[name=next]") == "/", next_url
        log_in(browser, page)
        assert page.url == f"{flask_app.url}/", next_url
    assert browser.urls(f"^[a-z]+://{CROSS_SITE}[:/]") == []
