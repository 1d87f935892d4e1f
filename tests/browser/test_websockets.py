"""Websockets opened by Chromium with the user's cookie: from the app's page, and from others.

A page cannot put a token in a websocket's ``Authorization`` header, so the
browser's cookie is what authenticates the handshake, and the browser sends
it whichever page opens the socket, as long as SameSite allows. jwtgate
refuses a cookie handshake without same-origin evidence (the ``Origin`` the
browser sends; it sends no ``Sec-Fetch-Site`` on a websocket handshake).

- ASGI: examples/starlette_app's ``/ws/echo`` under uvicorn; a refusal is an
  HTTP answer to the handshake (uvicorn supports the denial response).
- WSGI: examples/flask_app's flask-sock ``/ws/echo`` under gunicorn;
  flask-sock completes the handshake before its handler runs, so a refusal
  is a close with 1008 and the refusal as the reason.
"""

from __future__ import annotations

import pytest

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory

from .kit import CROSS_SITE, SAME_SITE, WEBSOCKET_ROUND_TRIP, probe

pytestmark = pytest.mark.browser


def ws_url(app, path="/ws/echo"):
    return "ws" + app.url.removeprefix("http") + path


def round_trip(browser, page, app, text):
    result = page.evaluate(WEBSOCKET_ROUND_TRIP, [ws_url(app), text])
    browser.step(page, "websocket", note=result)
    return result


def cookie_for(browser, site, sub):
    """The user's ``nf_jwt`` for 127.0.0.1, as the docs recommend it: HttpOnly; SameSite=Lax."""
    token = TokenFactory.netlify(secret=DEVELOPMENT_SECRET).token(sub=sub)
    cookie = f"nf_jwt={token}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
    page = browser.new_page()
    page.goto(site.url(site.page("set", headers=[("Set-Cookie", cookie)]), host="127.0.0.1"))
    assert browser.cookie("nf_jwt")["sameSite"] == "Lax"
    page.close()


def hostile_page(browser, site, host):
    page = browser.new_page()
    page.goto(site.url(site.page("<p>hostile</p>"), host=host))
    return page


# --- ASGI: the Starlette example under uvicorn ------------------------------------------------


def test_asgi_a_websocket_from_the_apps_own_page_works(browser, starlette_app, site, observe):
    cookie_for(browser, site, "ws-user")
    page = browser.new_page()
    page.goto(f"{starlette_app.url}/")
    assert round_trip(browser, page, starlette_app, "hello") == {
        "events": ["open", "message"],
        "message": "ws-user: hello",
    }
    observe("ASGI websocket from the app's own page, lax cookie: open, echoed")


#: What Chromium reports (to Playwright; the page only sees close code 1006) of a refused handshake.
HANDSHAKE_ERRORS = {
    401: "HTTP Authentication failed; no valid credentials available",  # 401 with a challenge
    403: "Error during WebSocket handshake: Unexpected response code: 403",
}


@pytest.mark.parametrize(
    ("host", "status", "decided_by"),
    [
        (CROSS_SITE, 401, "the browser sent no cookie; jwtgate saw no token"),
        (SAME_SITE, 403, "the cookie came; jwtgate refused it: csrf_rejected"),
    ],
    ids=["cross-site", "same-site"],
)
def test_asgi_a_websocket_from_another_page_is_refused(
    browser, starlette_app, site, observe, host, status, decided_by
):
    cookie_for(browser, site, "victim")
    page = hostile_page(browser, site, host)
    result = round_trip(browser, page, starlette_app, "steal")
    assert result == {"events": ["error", "close"], "code": 1006, "reason": "", "clean": False}
    assert browser.socket_errors == [(ws_url(starlette_app), HANDSHAKE_ERRORS[status])]
    observe(f"ASGI websocket from a {host} page, lax cookie: {decided_by}: {status}")


# --- WSGI: the Flask example's flask-sock route under gunicorn ----------------------------------


def flask_login(browser, flask_app):
    page = browser.new_page()
    page.goto(f"{flask_app.url}/login")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in as a reader").click()
    me = page.evaluate("fetch('/me').then((r) => r.json())")
    return page, me["sub"]


def test_wsgi_a_websocket_from_the_apps_own_page_works(browser, flask_app, observe):
    page, sub = flask_login(browser, flask_app)
    assert round_trip(browser, page, flask_app, "hello") == {
        "events": ["open", "message"],
        "message": f"{sub}: hello",
    }
    observe("WSGI (flask-sock) websocket from the app's own page, lax cookie: open, echoed")


@pytest.mark.parametrize(
    ("host", "reason", "decided_by"),
    [
        (CROSS_SITE, "missing_token: ", "the browser sent no cookie; jwtgate saw no token"),
        (SAME_SITE, "csrf_rejected: ", "the cookie came; jwtgate refused it: csrf_rejected"),
    ],
    ids=["cross-site", "same-site"],
)
def test_wsgi_a_websocket_from_another_page_is_refused(
    browser, flask_app, site, observe, host, reason, decided_by
):
    page, sub = flask_login(browser, flask_app)
    page = hostile_page(browser, site, host)
    result = round_trip(browser, page, flask_app, f"steal {probe()}")
    assert "message" not in result, f"the page of {host} talked as {sub}: {result}"
    assert result["events"] == ["open", "close"]
    assert result["code"] == 1008
    assert result["reason"].startswith(reason)
    observe(f"WSGI (flask-sock) websocket from a {host} page, lax cookie: {decided_by}: 1008")
