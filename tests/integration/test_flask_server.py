"""examples/flask_app served by gunicorn (threads) on 127.0.0.1, over real sockets.

Each server is a subprocess in its own session, started on port 0 (the port
is read from gunicorn's log), waited for with bounded timeouts and stopped by
its PID's process group, also when a test fails (``tests/servers.py``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory
from tests.servers import FLASK_EXAMPLE, Server, exit_of, flask_example
from tests.tokens import bearer


def development_tokens() -> TokenFactory:
    """Netlify-shaped tokens signed with the development key the example trusts by default."""
    return TokenFactory.netlify(secret=DEVELOPMENT_SECRET)


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def dev_server() -> Iterator[Server]:
    # The example trusts the public development key only when asked to, explicitly.
    with flask_example(EXAMPLE_DEVELOPMENT="1") as server:
        yield server


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return development_tokens()


# --- the example with no setup (development key) -------------------------------------------


def test_the_public_page_answers_anonymously(dev_server):
    answer = dev_server.request(path="/", headers=BROWSER)
    assert answer.status == 200
    assert "Development mode" in answer.text
    assert "Log in" in answer.text


def test_no_token_is_401_with_a_plain_bearer_challenge(dev_server):
    answer = dev_server.request(path="/api/me")
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


def test_a_bearer_token_is_accepted(dev_server, tokens):
    answer = dev_server.request(path="/api/me", headers=bearer(tokens.token(sub="u-bearer")))
    assert answer.status == 200
    assert answer.json["sub"] == "u-bearer"
    assert answer.json["source"] == "bearer"
    assert dev_server.request(path="/me", headers=bearer(tokens.token(sub="x"))).status == 200


def test_the_nf_jwt_cookie_is_accepted(dev_server, tokens):
    token = tokens.token(sub="u-cookie", email="c@example.com")
    answer = dev_server.request(path="/api/me", headers={"Cookie": f"theme=dark; nf_jwt={token}"})
    assert answer.status == 200
    assert answer.json["sub"] == "u-cookie"
    assert answer.json["email"] == "c@example.com"
    assert answer.json["source"] == "cookie:nf_jwt"


def test_roles_decide_403_or_200(dev_server, tokens):
    refused = dev_server.request(path="/api/admin", headers=bearer(tokens.token(roles=["editor"])))
    assert refused.status == 403
    assert refused.json["error"] == "insufficient_scope"
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="Insufficient roles", scope="admin"'
    )
    admin = dev_server.request(
        path="/api/admin", headers=bearer(tokens.token(sub="boss", roles=["admin"]))
    )
    assert admin.status == 200
    assert admin.json["admin"] == "boss"


@pytest.mark.parametrize("bad", ["expired", "wrong_signature", "tampered", "alg_none"])
def test_bad_tokens_are_401_invalid_token_and_never_echoed(dev_server, tokens, bad):
    token = getattr(tokens, bad)(sub="mallory", roles=["admin"])
    answer = dev_server.request(path="/api/admin", headers=bearer(token))
    assert answer.status == 401
    assert answer.json["error"] == "invalid_token"
    assert answer.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert token not in answer.text
    assert token not in str(answer.headers)
    if bad == "expired":
        assert "expired" in answer.json["error_description"]


def test_a_bad_token_on_the_public_page_is_just_anonymous(dev_server, tokens):
    answer = dev_server.request(path="/", headers=bearer(tokens.expired()))
    assert answer.status == 200


def test_a_malformed_authorization_header_is_400(dev_server):
    answer = dev_server.request(path="/api/me", headers={"Authorization": "Bearer a b"})
    assert answer.status == 400
    assert answer.json["error"] == "invalid_request"


def test_a_browser_is_sent_to_login_and_an_api_client_is_not(dev_server):
    page = dev_server.request(path="/admin", headers=BROWSER)
    assert page.status == 302
    assert page.headers["Location"].endswith("/login?next=%2Fadmin")
    api = dev_server.request(path="/admin", headers={"Accept": "application/json"})
    assert api.status == 401


def test_comments_need_a_login_to_post(dev_server, tokens):
    body = json.dumps({"text": "Posted over a real socket"})
    json_type = {"Content-Type": "application/json"}
    assert dev_server.request("POST", "/comments", headers=json_type, body=body).status == 401
    cookie = {"Cookie": f"nf_jwt={tokens.token(sub='poster', email='poster@example.com')}"}
    same_origin = {**json_type, **cookie, "Origin": f"http://127.0.0.1:{dev_server.port}"}
    posted = dev_server.request("POST", "/comments", headers=same_origin, body=body)
    assert posted.status == 201
    assert posted.json["sub"] == "poster"
    listed = dev_server.request(path="/comments").json
    assert any(c["text"] == "Posted over a real socket" for c in listed)
    by_api = {**json_type, **bearer(tokens.token(sub="api-client"))}
    assert dev_server.request("POST", "/comments", headers=by_api, body=body).status == 201


def test_a_cross_site_post_with_the_cookie_is_refused(dev_server, tokens):
    cookie = {"Cookie": f"nf_jwt={tokens.token(sub='victim')}"}
    assert dev_server.request(path="/api/me", headers=cookie).status == 200  # now cached
    body = json.dumps({"text": "forged"})
    for evidence in ({}, {"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        headers = {"Content-Type": "application/json", **cookie, **evidence}
        answer = dev_server.request("POST", "/comments", headers=headers, body=body)
        assert answer.status == 403
        assert answer.json["error"] == "csrf_rejected"
    form = dev_server.request(
        "POST",
        "/comments",
        headers={
            **cookie,
            "Origin": f"http://127.0.0.1:{dev_server.port}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body="text=from+the+page%27s+form",
    )
    assert form.status == 303  # the page's own form: posted, and back to the page
    assert form.headers["Location"] == "/"
    assert any(
        c["text"] == "from the page's form" for c in dev_server.request(path="/comments").json
    )
    plain = dev_server.request(
        "POST",
        "/comments",
        headers={**cookie, "Origin": f"http://127.0.0.1:{dev_server.port}"},
        body="text",
    )
    assert plain.status == 415


def test_client_context_has_the_netlify_functions_shape(dev_server, tokens):
    answer = dev_server.request(path="/api/context", headers=bearer(tokens.token(sub="fn-user")))
    assert "identity" not in answer.json  # no identity URL configured: never built from Host
    assert answer.json["user"]["sub"] == "fn-user"
    assert "user" not in dev_server.request(path="/api/context").json


def test_development_login_sets_a_cookie_that_works(dev_server):
    login = dev_server.request(
        "POST",
        "/login",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"role": "admin", "next": "/admin"}),
    )
    assert login.status == 303
    assert login.headers["Location"].endswith("/admin")
    cookie = login.headers["Set-Cookie"]
    assert cookie.startswith("nf_jwt=")
    assert "HttpOnly" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    answer = dev_server.request(path="/api/admin", headers={"Cookie": f"nf_jwt={token}"})
    assert answer.status == 200


def test_development_login_never_redirects_off_site(dev_server):
    login = dev_server.request(
        "POST",
        "/login",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"role": "reader", "next": "//evil.example/"}),
    )
    assert login.status == 303
    assert login.headers["Location"] in ("/", f"http://127.0.0.1:{dev_server.port}/")


def test_concurrent_requests_each_see_their_own_user(dev_server, tokens):
    users = [f"thread-{i}" for i in range(12)]
    minted = {user: tokens.token(sub=user) for user in users}

    def run(user: str) -> list[str | None]:
        seen = []
        for _ in range(8):
            answer = dev_server.request(path="/api/me", headers=bearer(minted[user]))
            seen.append(answer.json.get("sub") if answer.status == 200 else None)
        return seen

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        results = dict(zip(users, pool.map(run, users), strict=True))
    for user, seen in results.items():
        assert seen == [user] * 8


# --- environment switches ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no identity provider is configured"),
        ({"JWTGATE_NETLIFY_JWT_SECRET": ""}, "JWTGATE_NETLIFY_JWT_SECRET: set but empty"),
    ],
)
def test_gunicorn_refuses_to_serve_the_example_unconfigured(env, message):
    code, log = exit_of(FLASK_EXAMPLE, env)
    assert code is not None, "gunicorn served the unconfigured example"
    assert code != 0
    assert message in log
    assert "development key" in log or env


def test_a_real_netlify_secret_replaces_the_development_key(tokens):
    secret = secrets.token_urlsafe(48)
    site_tokens = TokenFactory.netlify(secret=secret)
    with flask_example(
        JWTGATE_NETLIFY_JWT_SECRET=secret,
        JWTGATE_SOURCES="cookie:nf_jwt,bearer,header:privy-id-token",
    ) as server:
        page = server.request(path="/", headers=BROWSER)
        assert "Development mode" not in page.text
        dev = server.request(path="/api/me", headers=bearer(tokens.token(sub="dev")))
        assert dev.status == 401
        assert dev.json["error"] == "invalid_token"
        real = server.request(path="/api/me", headers=bearer(site_tokens.token(sub="site-user")))
        assert real.status == 200
        assert real.json["sub"] == "site-user"
        header = server.request(
            path="/api/me", headers={"privy-id-token": site_tokens.token(sub="hdr")}
        )
        assert header.status == 200
        assert header.json["source"] == "header:privy-id-token"
        login = server.request(
            "POST",
            "/login",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body="role=admin",
        )
        assert login.status == 404  # no development logins against a real site


def test_privy_settings_trust_the_privy_app():
    privy = TokenFactory.privy(app_id="example-app")
    with flask_example(
        PRIVY_APP_ID="example-app", PRIVY_VERIFICATION_KEY=privy.public_pem()
    ) as server:
        answer = server.request(
            path="/api/me", headers={"privy-id-token": privy.token(sub="did:privy:abc")}
        )
        assert answer.status == 200
        assert answer.json["sub"] == "did:privy:abc"
        expired = {"privy-id-token": privy.expired()}
        assert server.request(path="/api/me", headers=expired).status == 401
