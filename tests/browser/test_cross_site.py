"""Requests other pages make Chromium send to examples/flask_app (gunicorn), with the user's cookie.

Three kinds of page send them:

- the app's own pages (same-origin): their ``fetch`` and HTML form POSTs pass;
- a page of another site (``localhost``, while the app is on ``127.0.0.1``:
  cross-site): its auto-submitting form, ``fetch`` with ``credentials:
  "include"``, ``<img>`` and ``<iframe>``;
- a page of another origin of the same site (``127.0.0.1``, another port:
  same-site, as a sibling subdomain would be): the same attacks.

Each test asserts who stopped the attack, and records it: the browser (it sent
no cookie: jwtgate saw no token, 401) or jwtgate (the cookie came, without
same-origin evidence: 403 ``csrf_rejected``). The cookie arrives in three
shapes: the example's (``HttpOnly; SameSite=Lax``, what the docs recommend),
GoTrue's (``HttpOnly; Secure``, no ``SameSite``) and ``SameSite=None; Secure``.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory

from .kit import CROSS_SITE, FETCH, SAME_SITE, probe

pytestmark = pytest.mark.browser


def forged(mark):
    """The text of the comment another page tries to post as the user."""
    return f"forged by another site {mark}"


COOKIES = {
    # How Netlify's GoTrue sets nf_jwt: no SameSite attribute (Chromium: Lax by default).
    "no-samesite": "Path=/; Max-Age=86400; HttpOnly; Secure",
    "none": "Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None",
}


def victim(browser, app, site, shape):
    """A page of the app, its user logged in with an ``nf_jwt`` cookie of ``shape``."""
    page = browser.new_page()
    if shape == "lax":  # the example's own login: HttpOnly; SameSite=Lax
        page.goto(f"{app.url}/login")
        with page.expect_navigation():
            page.get_by_role("button", name="Log in as a reader").click()
    else:  # set by a response of the same host, as an identity provider's would
        token = TokenFactory.netlify(secret=DEVELOPMENT_SECRET).token(sub="victim")
        setter = site.page("set", headers=[("Set-Cookie", f"nf_jwt={token}; {COOKIES[shape]}")])
        page.goto(site.url(setter, host="127.0.0.1"))
        page.goto(f"{app.url}/")
    cookie = browser.cookie("nf_jwt")
    assert cookie is not None
    assert cookie["secure"] is (shape != "lax")
    assert page.get_by_role("button", name="Log out").is_visible()  # the app knows the user
    return page


def comments(app):
    with urllib.request.urlopen(f"{app.url}/comments", timeout=10) as answer:  # noqa: S310
        return [c["text"] for c in json.load(answer)]


def still_logged_in(browser, app):
    page = browser.new_page()
    page.goto(f"{app.url}/me")
    return json.loads(page.inner_text("body")).get("source") == "cookie:nf_jwt"


def refusal(logged, response=None):
    """Who stopped a forged request: the browser (no cookie: 401) or jwtgate (cookie: 403).

    ``logged`` is the app's access-log line; ``response`` the browser's, when the
    page could see it (a form's navigation).
    """
    if not logged.token_cookie:
        assert logged.status == 401
        error = "missing_token"
        who = "the browser sent no cookie; jwtgate saw no token: 401"
    else:
        assert logged.status == 403
        error = "csrf_rejected"
        who = f"the cookie came (Origin {logged.origin}); jwtgate refused: 403 csrf_rejected"
    if response is not None:
        assert response.status == logged.status
        assert json.loads(response.text())["error"] == error
    return who


# --- the app's own pages ----------------------------------------------------------------------


def test_a_same_origin_fetch_post_passes(browser, flask_app, site, observe):
    page = victim(browser, flask_app, site, "lax")
    mark = probe()
    answer = page.evaluate(
        FETCH,
        [
            f"/comments?probe={mark}",
            {
                "method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"text": f"fetched {mark}"}),
            },
        ],
    )
    assert answer["status"] == 201
    assert json.loads(answer["body"])["text"] == f"fetched {mark}"
    logged = flask_app.log.wait(mark, "POST")
    assert (logged.token_cookie, logged.fetch_site, logged.origin) == (
        True,
        "same-origin",
        flask_app.url,
    )
    assert f"fetched {mark}" in comments(flask_app)
    observe("same-origin fetch POST: Sec-Fetch-Site same-origin, cookie sent, 201")


def test_a_same_origin_html_form_post_passes(browser, flask_app, site, observe):
    page = victim(browser, flask_app, site, "lax")
    mark = probe()
    page.eval_on_selector("#comment", "(form, mark) => { form.action += '?probe=' + mark }", mark)
    page.fill("#comment textarea", f"typed {mark}")
    with page.expect_navigation():
        page.get_by_role("button", name="Post").click()
    browser.step(page, "comment posted")
    assert page.url == f"{flask_app.url}/"
    assert page.get_by_text(f"typed {mark}").is_visible()
    logged = flask_app.log.wait(mark, "POST")
    assert (logged.status, logged.token_cookie, logged.fetch_site, logged.origin) == (
        303,
        True,
        "same-origin",
        flask_app.url,
    )
    observe("same-origin HTML form POST: Sec-Fetch-Site same-origin, cookie sent, 303")


def test_localhost_and_127_0_0_1_are_different_sites(browser, flask_app, site, observe):
    """Chromium's verdict, as it tells the server: Sec-Fetch-Site of the same GET from each page."""
    seen = {}
    for host in (CROSS_SITE, SAME_SITE):
        mark = probe()
        page = browser.new_page()
        page.goto(site.url(site.page(f'<img src="{flask_app.url}/?probe={mark}">'), host=host))
        seen[host] = flask_app.log.wait(mark, "GET").fetch_site
    assert seen == {CROSS_SITE: "cross-site", SAME_SITE: "same-site"}
    observe(f"Sec-Fetch-Site towards http://127.0.0.1:<app>: {seen}")


# --- another site's page ----------------------------------------------------------------------


def auto_submitting_form(action, text):
    return (
        f'<form method="post" action="{action}">'
        f'<input type="hidden" name="text" value="{text}"></form>'
        "<script>document.forms[0].submit()</script>"
    )


@pytest.mark.parametrize(
    ("shape", "cookie_sent"), [("lax", False), ("no-samesite", True), ("none", True)]
)
def test_a_cross_site_auto_submitting_form(browser, flask_app, site, observe, shape, cookie_sent):
    victim(browser, flask_app, site, shape)
    mark, logged, answer = forged_form_post(browser, flask_app, site, CROSS_SITE)
    assert logged.fetch_site == "cross-site"
    assert logged.origin == f"http://{CROSS_SITE}:{site.port}"
    assert logged.token_cookie is cookie_sent
    who = refusal(logged, answer)
    assert forged(mark) not in comments(flask_app)
    observe(f"cross-site form POST, {shape} cookie: {who}")


def forged_form_post(browser, flask_app, site, host):
    """A page of ``host`` that submits a forged comment as it loads: the probe's mark, the
    access log's line for the POST, and the app's response."""
    mark = probe()
    page = browser.new_page()
    attack = site.page(auto_submitting_form(f"{flask_app.url}/comments?probe={mark}", forged(mark)))
    with page.expect_response(f"**/comments?probe={mark}") as posted:
        page.goto(site.url(attack, host=host))
    page.wait_for_load_state()
    browser.step(page, "after the forged form")
    return mark, flask_app.log.wait(mark, "POST"), posted.value


def hostile_fetch(browser, site, host, url, content_type, text):
    """What a page of ``host`` gets from a credentialed ``fetch`` POST of a forged comment."""
    page = browser.new_page()
    page.goto(site.url(site.page("<p>hostile</p>"), host=host))
    options = {
        "method": "POST",
        "credentials": "include",
        "headers": {"Content-Type": content_type},
        "body": json.dumps({"text": text}),
    }
    answer = page.evaluate(FETCH, [url, options])
    browser.step(page, f"fetch from {host}", note=answer)
    return answer


@pytest.mark.parametrize("shape", ["lax", "none"])
def test_a_cross_site_fetch_with_credentials_include(browser, flask_app, site, observe, shape):
    victim(browser, flask_app, site, shape)
    mark = probe()
    url = f"{flask_app.url}/comments?probe={mark}"
    answer = hostile_fetch(
        browser, site, CROSS_SITE, url, "text/plain", forged(mark)
    )  # no preflight
    assert answer == {"error": "TypeError: Failed to fetch"}  # the answer is not the page's
    logged = flask_app.log.wait(mark, "POST")
    assert logged.fetch_site == "cross-site"
    # No cookie at all on a cross-site fetch: SameSite=Lax keeps the example's at home, and
    # the SameSite=None one is a third-party cookie here, which this Chromium does not send.
    assert logged.token_cookie is False
    who = refusal(logged)
    assert forged(mark) not in comments(flask_app)
    observe(f"cross-site fetch POST (credentials include), {shape} cookie: {who}")


def test_a_cross_site_json_fetch_never_leaves_its_preflight(browser, flask_app, site, observe):
    victim(browser, flask_app, site, "lax")
    mark = probe()
    url = f"{flask_app.url}/comments?probe={mark}"
    answer = hostile_fetch(browser, site, CROSS_SITE, url, "application/json", forged(mark))
    assert answer == {"error": "TypeError: Failed to fetch"}
    preflight = flask_app.log.wait(mark, "OPTIONS")
    assert preflight.status == 200  # Flask's automatic OPTIONS answer, with no CORS headers
    assert preflight.token_cookie is False  # preflights never carry cookies
    assert [line.method for line in flask_app.log.lines(mark)] == ["OPTIONS"]  # no POST came
    assert forged(mark) not in comments(flask_app)
    observe("cross-site JSON fetch POST: the browser's CORS preflight failed; no POST was sent")


GETS = (
    '<img src="{app}/me?probe={mark}-img-me">'
    '<img src="{app}/logout?probe={mark}-img-logout">'
    '<iframe src="{app}/me?probe={mark}-frame-me"></iframe>'
    '<iframe src="{app}/logout?probe={mark}-frame-logout"></iframe>'
)
TAGS = ("img-me", "img-logout", "frame-me", "frame-logout")


def hostile_gets(browser, flask_app, site, host):
    """What the app answered to a page of ``host`` embedding its URLs, and what came along."""
    mark = probe()
    page = browser.new_page()
    page.goto(site.url(site.page(GETS.format(app=flask_app.url, mark=mark)), host=host))
    browser.step(page, f"a page of {host} with images and frames")
    return {tag: flask_app.log.wait(f"{mark}-{tag}", "GET") for tag in TAGS}


@pytest.mark.parametrize("shape", ["lax", "none"])
def test_cross_site_img_and_iframe_gets_carry_no_cookie(browser, flask_app, site, observe, shape):
    victim(browser, flask_app, site, shape)
    logged = hostile_gets(browser, flask_app, site, CROSS_SITE)
    assert {line.fetch_site for line in logged.values()} == {"cross-site"}
    assert {line.token_cookie for line in logged.values()} == {False}
    answers = {tag: line.status for tag, line in logged.items()}
    # /me: no token (the frame, a navigation, is sent to the login page); /logout: POST only.
    assert answers == {"img-me": 401, "img-logout": 405, "frame-me": 302, "frame-logout": 405}
    assert still_logged_in(browser, flask_app)
    observe(f"cross-site <img>/<iframe> GETs, {shape} cookie: no cookie sent: {answers}")


def test_a_link_to_the_app_from_another_site_carries_the_lax_cookie(
    browser, flask_app, site, observe
):
    """A top-level GET navigation: SameSite=Lax lets the cookie ride (GETs must change nothing)."""
    victim(browser, flask_app, site, "lax")
    mark = probe()
    page = browser.new_page()
    page.goto(
        site.url(site.page(f'<a href="{flask_app.url}/me?probe={mark}">me</a>'), host=CROSS_SITE)
    )
    with page.expect_navigation():
        page.get_by_role("link", name="me").click()
    logged = flask_app.log.wait(mark, "GET")
    assert (logged.status, logged.fetch_site, logged.token_cookie) == (200, "cross-site", True)
    assert json.loads(page.inner_text("body"))["source"] == "cookie:nf_jwt"
    observe("cross-site link (top-level GET), lax cookie: cookie sent, 200: GETs are not checked")


# --- another origin of the same site ------------------------------------------------------------


def test_a_same_site_auto_submitting_form_brings_the_cookie_and_jwtgate_refuses_it(
    browser, flask_app, site, observe
):
    victim(browser, flask_app, site, "lax")
    mark, logged, answer = forged_form_post(browser, flask_app, site, SAME_SITE)
    assert logged.fetch_site == "same-site"
    assert logged.origin == f"http://{SAME_SITE}:{site.port}"
    assert logged.token_cookie is True  # SameSite=Lax does not stop a same-site POST
    who = refusal(logged, answer)
    assert forged(mark) not in comments(flask_app)
    observe(f"same-site form POST from another origin, lax cookie: {who}")


def test_a_same_site_fetch_brings_the_cookie_and_jwtgate_refuses_it(
    browser, flask_app, site, observe
):
    victim(browser, flask_app, site, "lax")
    mark = probe()
    url = f"{flask_app.url}/comments?probe={mark}"
    answer = hostile_fetch(browser, site, SAME_SITE, url, "text/plain", forged(mark))
    assert answer == {"error": "TypeError: Failed to fetch"}
    logged = flask_app.log.wait(mark, "POST")
    assert (logged.fetch_site, logged.token_cookie) == ("same-site", True)
    who = refusal(logged)
    assert forged(mark) not in comments(flask_app)
    observe(f"same-site fetch POST from another origin, lax cookie: {who}")


def test_same_site_img_and_iframe_gets_carry_the_cookie_and_change_nothing(
    browser, flask_app, site, observe
):
    victim(browser, flask_app, site, "lax")
    logged = hostile_gets(browser, flask_app, site, SAME_SITE)
    assert {line.fetch_site for line in logged.values()} == {"same-site"}
    assert {line.token_cookie for line in logged.values()} == {True}
    answers = {tag: line.status for tag, line in logged.items()}
    assert answers == {"img-me": 200, "img-logout": 405, "frame-me": 200, "frame-logout": 405}
    assert still_logged_in(browser, flask_app)
    observe(f"same-site <img>/<iframe> GETs, lax cookie: cookie sent, GETs answered: {answers}")
