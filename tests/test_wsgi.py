"""The WSGI adapter: environ keys, the decorators' context, refusals, the fast path, threads."""

from __future__ import annotations

import contextvars
import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from jwtgate import (
    AnonymousUser,
    AuthError,
    ConfigurationError,
    ExpiredToken,
    Forbidden,
    Gate,
    InvalidRequest,
    KeysUnavailable,
    Source,
    User,
    require_auth,
    require_roles,
)
from jwtgate.context import current_auth
from jwtgate.sources import RequestView, cookie_values
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import ERROR_KEY, USER_KEY, EnvironView, GateMiddleware, is_preflight

# --- helpers -------------------------------------------------------------------------


def echo_app(environ, start_response):
    """Reports what the middleware told the app, as JSON."""
    auth = current_auth()
    user = environ[USER_KEY]
    error = environ[ERROR_KEY]
    body = {
        "user": user.subject,
        "authenticated": user.is_authenticated,
        "source": user.source,
        "error": None if error is None else type(error).__name__,
        "context_user": None if auth is None else auth.user.subject,
        "context_is_environ": auth is not None and auth.user is user and auth.error is error,
        "preflight": None if auth is None else auth.preflight,
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def view_app(view):
    """A plain WSGI app whose only view is ``view`` (so decorators raise out of the app)."""

    def app(environ, start_response):
        text = view()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [text.encode()]

    return app


def client(app, gate, **options):
    return Client(GateMiddleware(app, gate, **options))


def assert_no_secret(response, *secrets):
    text = response.get_data(as_text=True) + str(response.headers)
    for secret in secrets:
        assert secret not in text


@pytest.fixture
def netlify(clock):
    return TokenFactory.netlify(clock=clock)


@pytest.fixture
def netlify_gate(netlify, clock):
    return Gate(issuers=[netlify.issuer_config()], clock=clock)


# --- what the app is told -------------------------------------------------------------


def test_no_token_means_anonymous_and_the_app_runs(gate):
    response = client(echo_app, gate).get("/")
    assert response.status_code == 200
    assert response.json == {
        "user": None,
        "authenticated": False,
        "source": None,
        "error": None,
        "context_user": None,
        "context_is_environ": True,
        "preflight": False,
    }


def test_a_valid_bearer_token_names_the_user_in_environ_and_context(gate, rs256):
    response = client(echo_app, gate).get("/", headers=rs256.headers(sub="alice"))
    body = response.json
    assert body["user"] == "alice"
    assert body["authenticated"] is True
    assert body["source"] == "bearer"
    assert body["context_user"] == "alice"
    assert body["context_is_environ"] is True


def test_environ_user_is_a_user_object(gate, rs256):
    seen = {}

    def app(environ, start_response):
        seen["user"] = environ[USER_KEY]
        seen["error"] = environ[ERROR_KEY]
        start_response("204 No Content", [])
        return []

    client(app, gate).get("/", headers=rs256.headers(sub="bob", roles=["admin"]))
    assert isinstance(seen["user"], User)
    assert seen["user"].roles == frozenset({"admin"})
    assert seen["error"] is None
    client(app, gate).get("/")
    assert isinstance(seen["user"], AnonymousUser)


def test_a_refused_token_leaves_a_public_app_answering_as_anonymous(gate, rs256):
    token = rs256.expired(sub="alice")
    response = client(echo_app, gate).get("/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json["authenticated"] is False
    assert response.json["error"] == "ExpiredToken"
    assert response.json["context_is_environ"] is True
    assert_no_secret(response, token)


@pytest.mark.parametrize(
    ("bad", "status", "code"),
    [
        ("expired", 401, "invalid_token"),
        ("wrong_signature", 401, "invalid_token"),
        ("alg_none", 401, "invalid_token"),
        ("tampered", 401, "invalid_token"),
        ("wrong_audience", 401, "invalid_token"),
    ],
)
def test_reject_invalid_answers_at_the_middleware(gate, rs256, bad, status, code):
    token = getattr(rs256, bad)(sub="mallory")
    called = []

    def app(environ, start_response):
        called.append(True)
        start_response("200 OK", [])
        return [b"public"]

    response = client(app, gate, reject_invalid=True).get(
        "/", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == status
    assert response.json["error"] == code
    assert response.headers["WWW-Authenticate"].startswith(f'Bearer error="{code}"')
    assert response.headers["Content-Type"] == "application/json"
    assert called == []
    assert_no_secret(response, token)


def test_reject_invalid_answers_400_for_a_malformed_header(gate):
    response = client(echo_app, gate, reject_invalid=True).get(
        "/", headers={"Authorization": "Bearer two words"}
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_reject_invalid_still_lets_requests_without_a_token_through(gate):
    response = client(echo_app, gate, reject_invalid=True).get("/")
    assert response.status_code == 200
    assert response.json["authenticated"] is False


def test_reject_invalid_never_refuses_a_cors_preflight(gate, rs256):
    token = rs256.expired()
    response = client(echo_app, gate, reject_invalid=True).open(
        "/",
        method="OPTIONS",
        headers={"Authorization": f"Bearer {token}", "Access-Control-Request-Method": "GET"},
    )
    # The app (its CORS layer) answers; the token of a preflight is not even read.
    assert response.status_code == 200
    assert response.json["preflight"] is True
    assert response.json["authenticated"] is False
    assert response.json["error"] is None


def test_keys_unavailable_is_rendered_503_with_retry_after(gate, monkeypatch, rs256):
    def unavailable(view):
        raise KeysUnavailable(retry_after=7)

    monkeypatch.setattr(gate, "authenticate", unavailable)
    response = client(echo_app, gate, reject_invalid=True).get("/", headers=rs256.headers())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.json["error"] == "temporarily_unavailable"


# --- CORS preflight ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("OPTIONS", {"Access-Control-Request-Method": "POST"}, True),
        ("OPTIONS", {}, False),
        ("GET", {"Access-Control-Request-Method": "POST"}, False),
        ("POST", {}, False),
    ],
)
def test_preflight_is_options_with_access_control_request_method(gate, method, headers, expected):
    environ = EnvironBuilder(method=method, headers=headers).get_environ()
    assert is_preflight(environ) is expected
    response = client(echo_app, gate).open("/", method=method, headers=headers)
    assert response.json["preflight"] is expected


def test_a_forged_preflight_never_runs_a_protected_view(gate):
    runs = []

    @require_roles("admin")
    def view():
        runs.append(1)
        return "admin data"

    response = client(view_app(view), gate).open(
        "/", method="OPTIONS", headers={"Access-Control-Request-Method": "DELETE"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }
    assert runs == []


def test_a_preflight_is_anonymous_even_with_a_valid_token(gate, rs256):
    # Browsers never send credentials on a preflight: whatever a client adds is not read,
    # so a preflight is the same request under WSGI and ASGI.
    response = client(echo_app, gate).open(
        "/",
        method="OPTIONS",
        headers={**rs256.headers(sub="carol"), "Access-Control-Request-Method": "GET"},
    )
    assert response.json["user"] is None
    assert response.json["authenticated"] is False
    assert response.json["preflight"] is True


# --- refusals raised by the app ---------------------------------------------------------


def test_a_decorator_refusal_inside_a_plain_wsgi_app_is_rendered(gate):
    @require_auth
    def view():
        return "private"

    response = client(view_app(view), gate).get("/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


def test_an_expired_token_on_a_protected_view_says_it_expired(gate, rs256):
    @require_auth
    def view():
        return "private"

    token = rs256.expired()
    response = client(view_app(view), gate).get("/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert "expired" in response.json["error_description"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert_no_secret(response, token)


def test_lacking_roles_in_a_plain_wsgi_app_is_403(gate, rs256):
    @require_roles("admin")
    def view():
        return "admin"

    response = client(view_app(view), gate).get("/", headers=rs256.headers(roles=["editor"]))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    assert 'scope="admin"' in response.headers["WWW-Authenticate"]
    ok = client(view_app(view), gate).get("/", headers=rs256.headers(roles=["admin"]))
    assert ok.status_code == 200


def test_a_refusal_to_head_has_the_status_and_headers_but_no_body(gate):
    @require_auth
    def view():
        return "private"

    response = client(view_app(view), gate).head("/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_data() == b""


def test_a_refusal_after_start_response_replaces_the_unsent_headers(gate):
    """PEP 3333: a second start_response needs exc_info; a strict server checks it."""
    calls = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise Forbidden()

    def strict_start_response(status, headers, exc_info=None):
        if calls and exc_info is None:
            raise AssertionError("headers already set")
        if exc_info is not None:
            assert isinstance(exc_info[1], Forbidden)
        calls.append((status, headers))
        return lambda data: None

    environ = EnvironBuilder().get_environ()
    middleware = GateMiddleware(app, gate)
    body = b"".join(middleware(environ, strict_start_response))
    assert [status for status, _ in calls] == ["200 OK", "403 FORBIDDEN"]
    assert json.loads(body)["error"] == "insufficient_scope"


def test_a_refusal_after_the_headers_were_sent_reaches_the_server(gate):
    def app(environ, start_response):
        start_response("200 OK", [])
        raise Forbidden()

    def sent_start_response(status, headers, exc_info=None):
        if exc_info is not None:
            raise exc_info[1].with_traceback(exc_info[2])  # what a server does once it sent them
        if status != "200 OK":
            raise AssertionError("headers already sent")
        return lambda data: None

    with pytest.raises(Forbidden):
        GateMiddleware(app, gate)(EnvironBuilder().get_environ(), sent_start_response)
    assert current_auth() is None


# --- the context's lifetime -------------------------------------------------------------


def test_the_context_is_reset_after_the_app_returns(gate, rs256):
    client(echo_app, gate).get("/", headers=rs256.headers(sub="alice"))
    assert current_auth() is None


def test_the_context_is_reset_when_the_app_raises(gate, rs256):
    def app(environ, start_response):
        assert current_auth().user.subject == "alice"
        raise LookupError("boom")

    with pytest.raises(LookupError):
        client(app, gate).get("/", headers=rs256.headers(sub="alice"))
    assert current_auth() is None


def test_a_generator_response_sees_the_context_until_it_is_closed(gate, rs256):
    seen = []
    closed = []

    def app(environ, start_response):
        start_response("200 OK", [])

        def body():
            try:
                for part in ("a", "b"):
                    auth = current_auth()
                    seen.append(None if auth is None else auth.user.subject)
                    yield part.encode()
            finally:
                closed.append(True)

        return body()

    middleware = GateMiddleware(app, gate)
    environ = EnvironBuilder(headers=rs256.headers(sub="alice")).get_environ()
    result = middleware(environ, lambda status, headers, exc_info=None: None)
    assert b"".join(result) == b"ab"
    assert seen == ["alice", "alice"]
    assert current_auth() is not None  # still the request's, until the server closes it
    result.close()
    assert closed == [True]
    assert current_auth() is None


def test_closing_a_generator_response_from_another_context_is_harmless(gate):
    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"x"

    request_context = contextvars.copy_context()  # as a server's request thread has its own
    result = request_context.run(
        GateMiddleware(app, gate),
        EnvironBuilder().get_environ(),
        lambda status, headers, exc_info=None: None,
    )
    assert list(result) == [b"x"]
    contextvars.Context().run(result.close)  # must not raise
    assert current_auth() is None


def test_a_list_response_is_returned_as_is(gate):
    body = [b"a", b"b"]

    def app(environ, start_response):
        start_response("200 OK", [])
        return body

    result = GateMiddleware(app, gate)(
        EnvironBuilder().get_environ(), lambda status, headers, exc_info=None: None
    )
    assert result is body


# --- configuration ----------------------------------------------------------------------


def test_the_middleware_checks_its_arguments(gate):
    with pytest.raises(ConfigurationError, match="app"):
        GateMiddleware("not an app", gate)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="gate"):
        GateMiddleware(echo_app, object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="reject_invalid"):
        GateMiddleware(echo_app, gate, reject_invalid="yes")  # type: ignore[arg-type]
    assert "reject_invalid=False" in repr(GateMiddleware(echo_app, gate))


# --- EnvironView ------------------------------------------------------------------------


def test_environ_view_reads_headers_from_the_environ():
    environ = EnvironBuilder(
        path="/caf%C3%A9/x",
        query_string="a=1&b=%C3%A9",
        method="PATCH",
        headers={
            "Authorization": "Bearer abc",
            "Privy-Id-Token": "tok",
            "Cookie": "a=1; nf_jwt=cookie-token",
            "Content-Type": "application/json",
        },
    ).get_environ()
    view = EnvironView(environ)
    assert isinstance(view, RequestView)
    assert view.method == "PATCH"
    assert view.path == "/café/x"
    assert view.header_values("authorization") == ["Bearer abc"]
    assert view.header_values("privy-id-token") == ["tok"]
    assert view.header_values("content-type") == ["application/json"]
    assert view.header_values("x-missing") == []
    assert view.cookie_values("nf_jwt") == ["cookie-token"]
    assert view.query_values("b") == ["é"]


def test_environ_view_defaults_for_a_sparse_environ():
    view = EnvironView({"PATH_INFO": "/\xff"})  # latin-1 text that is not UTF-8 stays as is
    assert view.method == "GET"
    assert view.path == "/\xff"
    assert EnvironView({}).path == "/"
    assert EnvironView({}).query_string() == ""


# --- cookie_values (rewritten for the fast path) agrees with splitting the header ----------


def split_cookie_values(headers, name):
    """The reference: split on ";", strip each part, keep those starting name=."""
    found = []
    for header in headers:
        for part in header.split(";"):
            part = part.strip()
            if part.startswith(name + "="):
                value = part[len(name) + 1 :]
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                found.append(value)
    return found


_COOKIE_TEXT = st.text(alphabet=st.sampled_from(list('nf_jwt=; "ab\t\u00a0x,')), max_size=40)


@settings(max_examples=500, derandomize=True, deadline=None)
@given(headers=st.lists(_COOKIE_TEXT, max_size=3), name=st.sampled_from(["nf_jwt", "n", "jwt"]))
def test_cookie_values_matches_splitting_the_header(headers, name):
    assert cookie_values(headers, name) == split_cookie_values(headers, name)


@pytest.mark.parametrize(
    "header",
    [
        "nf_jwt=a",
        " nf_jwt=a ; nf_jwt=b",
        "x=nf_jwt=a; y=1",
        "nf_jwt=a nf_jwt=b",
        'x=1 ;\tnf_jwt="q"',
        "nf_jwt=",
        "nf_jwt=;nf_jwt=c;",
        "xnf_jwt=a;nf_jwt",
    ],
)
def test_cookie_values_edge_cases(header):
    assert cookie_values([header], "nf_jwt") == split_cookie_values([header], "nf_jwt")


# --- the fast path agrees with Gate.authenticate -----------------------------------------


def who(gate, **request):
    """(status, user, source or error code) as the middleware answers, reject_invalid=True.

    Built with EnvironBuilder rather than the test Client, whose cookie jar
    would replace a hand-written Cookie header.
    """
    environ = EnvironBuilder(**request).get_environ()
    app_iter, status, _ = run_wsgi_app(GateMiddleware(echo_app, gate, reject_invalid=True), environ)
    body = json.loads(b"".join(app_iter))
    if not status.startswith("200"):
        return int(status[:3]), None, body["error"]
    return 200, body["user"], body["source"]


def test_a_cached_bearer_token_is_served_from_the_cache(gate, rs256, monkeypatch):
    headers = rs256.headers(sub="alice")
    assert who(gate, headers=headers) == (200, "alice", "bearer")
    assert gate.cache_size == 1

    def no_verify(*args, **kwargs):
        raise AssertionError("a cache hit must not verify again")

    monkeypatch.setattr(gate, "_verify", no_verify)
    assert who(gate, headers=headers) == (200, "alice", "bearer")


@pytest.mark.parametrize(
    "header",
    ["bearer {t}", "BEARER {t}", "Bearer  {t}", " Bearer {t}"],
)
def test_other_spellings_of_a_cached_token_still_authenticate(gate, rs256, header):
    token = rs256.token(sub="alice")
    assert who(gate, headers={"Authorization": f"Bearer {token}"})[1] == "alice"
    assert who(gate, headers={"Authorization": header.format(t=token)}) == (200, "alice", "bearer")


@pytest.mark.parametrize("header", ["Bearer {t} junk", "Bearer {t},", 'Bearer "{t}"'])
def test_a_cached_token_in_a_malformed_header_is_still_400(gate, rs256, header):
    token = rs256.token(sub="alice")
    assert who(gate, headers={"Authorization": f"Bearer {token}"})[1] == "alice"
    assert who(gate, headers={"Authorization": header.format(t=token)}) == (
        400,
        None,
        "invalid_request",
    )


def test_another_scheme_is_no_token(gate, netlify_gate):
    assert who(gate, headers={"Authorization": "Basic dXNlcjpwYXNz"}) == (200, None, None)
    assert who(netlify_gate, headers={"Authorization": "Basic dXNlcjpwYXNz"}) == (200, None, None)


def test_a_cached_token_expires_on_time(gate, rs256, clock):
    headers = rs256.headers(sub="alice", expires_in=60)
    assert who(gate, headers=headers)[1] == "alice"
    clock.advance(61)
    assert who(gate, headers=headers) == (401, None, "invalid_token")


def test_a_revoked_user_is_refused_on_a_cache_hit(rs256, clock):
    revoked = set()
    gate = Gate(
        issuers=[rs256.issuer_config()], clock=clock, is_revoked=lambda u: u.subject in revoked
    )
    headers = rs256.headers(sub="alice")
    assert who(gate, headers=headers)[1] == "alice"
    revoked.add("alice")
    assert who(gate, headers=headers) == (401, None, "invalid_token")


def test_a_bearer_hit_with_another_token_in_the_cookie_is_400(netlify, netlify_gate):
    token, other = netlify.token(sub="alice"), netlify.token(sub="mallory")
    assert who(netlify_gate, headers={"Authorization": f"Bearer {token}"})[1] == "alice"
    assert who(netlify_gate, headers={"Cookie": f"nf_jwt={other}"})[1] == "mallory"
    status = who(
        netlify_gate,
        headers={"Authorization": f"Bearer {token}", "Cookie": f"nf_jwt={other}"},
    )
    assert status == (400, None, "invalid_request")


def test_the_same_token_in_cookie_and_bearer_is_one_token(netlify, netlify_gate):
    token = netlify.token(sub="alice")
    request = {"headers": {"Authorization": f"Bearer {token}", "Cookie": f"x=1; nf_jwt={token}"}}
    assert who(netlify_gate, **request) == (200, "alice", "cookie:nf_jwt")
    assert who(netlify_gate, **request) == (200, "alice", "cookie:nf_jwt")


def test_a_cookie_token_is_served_from_the_cache_and_keeps_its_source(
    netlify, netlify_gate, monkeypatch
):
    cookie = {"Cookie": f"theme=dark; nf_jwt={netlify.token(sub='alice')}"}
    assert who(netlify_gate, headers=cookie) == (200, "alice", "cookie:nf_jwt")
    monkeypatch.setattr(netlify_gate, "_verify", lambda *a, **k: pytest.fail("verified twice"))
    assert who(netlify_gate, headers=cookie) == (200, "alice", "cookie:nf_jwt")


def test_a_cached_token_moved_to_another_source_reports_that_source(netlify, netlify_gate):
    token = netlify.token(sub="alice")
    assert who(netlify_gate, headers={"Cookie": f"nf_jwt={token}"})[2] == "cookie:nf_jwt"
    assert who(netlify_gate, headers={"Authorization": f"Bearer {token}"})[2] == "bearer"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_cached_cookie_token_still_needs_same_origin_evidence(netlify, netlify_gate, method):
    cookie = f"nf_jwt={netlify.token(sub='alice')}"
    assert who(netlify_gate, headers={"Cookie": cookie}) == (200, "alice", "cookie:nf_jwt")
    assert netlify_gate.cache_size == 1
    assert who(netlify_gate, method=method, headers={"Cookie": cookie}) == (
        403,
        None,
        "csrf_rejected",
    )
    same_origin = {"Cookie": cookie, "Origin": "http://localhost", "Host": "localhost"}
    assert who(netlify_gate, method=method, headers=same_origin) == (200, "alice", "cookie:nf_jwt")
    fetch = {"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}
    assert who(netlify_gate, method=method, headers=fetch) == (200, "alice", "cookie:nf_jwt")
    other = {"Cookie": cookie, "Origin": "https://evil.example", "Host": "localhost"}
    assert who(netlify_gate, method=method, headers=other)[2] == "csrf_rejected"


def test_a_cached_bearer_token_needs_no_csrf_evidence(netlify, netlify_gate):
    headers = {"Authorization": f"Bearer {netlify.token(sub='api')}"}
    assert who(netlify_gate, headers=headers)[1] == "api"
    assert who(netlify_gate, method="POST", headers=headers) == (200, "api", "bearer")


def test_environ_view_scheme_is_the_url_scheme():
    assert EnvironView({"wsgi.url_scheme": "https"}).scheme == "https"
    assert EnvironView({}).scheme == "http"


def test_two_different_nf_jwt_cookies_are_400(netlify, netlify_gate):
    a, b = netlify.token(sub="a"), netlify.token(sub="b")
    assert who(netlify_gate, headers={"Cookie": f"nf_jwt={a}"})[1] == "a"
    assert who(netlify_gate, headers={"Cookie": f"nf_jwt={b}"})[1] == "b"
    assert who(netlify_gate, headers={"Cookie": f"nf_jwt={a}; nf_jwt={b}"}) == (
        400,
        None,
        "invalid_request",
    )


def test_a_cookie_named_like_the_source_as_a_suffix_is_not_it(netlify, netlify_gate):
    token = netlify.token(sub="alice")
    assert who(netlify_gate, headers={"Cookie": f"not_nf_jwt={token}"}) == (200, None, None)


def test_a_header_source_token_conflicting_with_a_cached_bearer_is_400(rs256, clock):
    gate = Gate(
        issuers=[rs256.issuer_config()], sources=["bearer", "header:privy-id-token"], clock=clock
    )
    token = rs256.token(sub="alice")
    assert who(gate, headers={"Authorization": f"Bearer {token}"})[1] == "alice"
    assert who(gate, headers={"privy-id-token": token})[1:] == ("alice", "header:privy-id-token")
    other = rs256.token(sub="bob")
    assert who(gate, headers={"privy-id-token": other})[1] == "bob"
    both = {"Authorization": f"Bearer {token}", "privy-id-token": other}
    assert who(gate, headers=both) == (400, None, "invalid_request")


def test_header_and_query_tokens_are_served_from_the_cache(rs256, clock, monkeypatch):
    gate = Gate(
        issuers=[rs256.issuer_config()],
        sources=["header:privy-id-token", "query:token"],
        clock=clock,
    )
    header, query = rs256.token(sub="h"), rs256.token(sub="q")
    assert who(gate, headers={"privy-id-token": header}) == (200, "h", "header:privy-id-token")
    assert who(gate, query_string=f"page=2&token={query}") == (200, "q", "query:token")
    monkeypatch.setattr(gate, "_verify", lambda *a, **k: pytest.fail("verified twice"))
    assert who(gate, headers={"privy-id-token": header}) == (200, "h", "header:privy-id-token")
    assert who(gate, query_string=f"token={query}") == (200, "q", "query:token")
    assert who(gate, query_string="page=2") == (200, None, None)
    assert who(gate, query_string=f"token={query}&token={header}") == (
        400,
        None,
        "invalid_request",
    )


def test_a_query_token_conflicting_with_a_cached_bearer_is_400(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], sources=["bearer", "query:token"], clock=clock)
    token = rs256.token(sub="alice")
    assert who(gate, headers={"Authorization": f"Bearer {token}"})[1] == "alice"
    assert who(gate, headers={"Authorization": f"Bearer {token}"}, query_string="page=2")[1] == (
        "alice"
    )
    other = rs256.token(sub="bob")
    assert who(gate, query_string=f"token={other}")[1] == "bob"
    assert who(
        gate, headers={"Authorization": f"Bearer {token}"}, query_string=f"token={other}"
    ) == (400, None, "invalid_request")


def test_a_gate_with_a_custom_source_goes_through_authenticate(rs256, clock):
    class Everywhere(Source):
        __slots__ = ()

        def __init__(self):
            self.spec = "custom:x-token"

        def extract(self, view):
            values = view.header_values("x-token")
            return values[0] if values else None

    gate = Gate(issuers=[rs256.issuer_config()], sources=[Everywhere()], clock=clock)
    token = rs256.token(sub="alice")
    assert who(gate, headers={"X-Token": token}) == (200, "alice", "custom:x-token")
    assert who(gate, headers={"X-Token": token}) == (200, "alice", "custom:x-token")
    assert who(gate) == (200, None, None)


def test_an_oversized_token_is_refused(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, max_token_bytes=256)
    assert who(gate, headers=rs256.headers()) == (401, None, "invalid_token")


# --- threads ---------------------------------------------------------------------------------


def test_a_threaded_server_gives_every_request_its_own_user(rs256, clock):
    """Many threads, distinct tokens, interleaved requests: nobody sees another's user."""
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock)

    @require_auth
    def whoami():
        first = current_auth().user.subject
        time.sleep(0.001)  # let the other threads' requests run in between
        return first + "/" + current_auth().user.subject

    def app(environ, start_response):
        text = whoami() + "/" + environ[USER_KEY].subject
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [text.encode()]

    server = make_server("127.0.0.1", 0, GateMiddleware(app, gate), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_port
    users = [f"user-{i}" for i in range(16)]
    tokens = {user: rs256.token(sub=user) for user in users}

    def run(user):
        answers = []
        for _ in range(15):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request("GET", "/", headers={"Authorization": f"Bearer {tokens[user]}"})
                response = connection.getresponse()
                answers.append((response.status, response.read().decode()))
            finally:
                connection.close()
        return user, answers

    try:
        with ThreadPoolExecutor(max_workers=len(users)) as pool:
            results = list(pool.map(run, users))
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    assert not thread.is_alive()
    assert len(results) == len(users)
    for user, answers in results:
        assert answers == [(200, f"{user}/{user}/{user}")] * 15
    assert gate.cache_size == len(users)


def test_auth_errors_are_werkzeug_http_exceptions():
    # Flask renders these itself; the middleware renders the ones a plain app raises.
    assert issubclass(AuthError, Exception)
    assert ExpiredToken().status == 401
    assert InvalidRequest().status == 400


# --- websockets under WSGI (flask-sock, simple-websocket …) -----------------------------

HANDSHAKE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}


def cookie_gate_for(netlify, clock, **options):
    return Gate(
        issuers=[netlify.issuer_config()], sources=["cookie:nf_jwt"], clock=clock, **options
    )


def test_a_cookie_websocket_handshake_from_another_site_is_anonymous_with_csrf_rejected(
    netlify, clock
):
    gate = cookie_gate_for(netlify, clock)
    token = netlify.token(sub="victim")
    browser = Client(GateMiddleware(echo_app, gate), use_cookies=False)
    cookie = {"Cookie": f"nf_jwt={token}", "Host": "app.example"}
    # An ordinary page load first: the victim's credentials are now in the memo.
    assert browser.get("/", headers=cookie).json["user"] == "victim"
    for origin in ({"Origin": "https://evil.example"}, {}):
        answer = browser.get("/ws", headers={**cookie, **HANDSHAKE, **origin}).json
        assert answer["authenticated"] is False
        assert answer["error"] == "CrossSiteRequest"
    same_site = {**cookie, **HANDSHAKE, "Origin": "http://app.example"}
    assert browser.get("/ws", headers=same_site).json["user"] == "victim"


def test_a_protected_websocket_route_answers_the_cross_site_handshake_with_403(netlify, clock):
    gate = cookie_gate_for(netlify, clock)
    runs = []

    @require_auth
    def stream():
        runs.append(1)
        return "the victim's data"

    browser = Client(GateMiddleware(view_app(stream), gate), use_cookies=False)
    headers = {
        "Cookie": f"nf_jwt={netlify.token(sub='victim')}",
        "Host": "app.example",
        "Origin": "https://evil.example",
        **HANDSHAKE,
    }
    response = browser.get("/ws", headers=headers)
    assert response.status_code == 403
    assert response.json["error"] == "csrf_rejected"
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="csrf_rejected"')
    assert runs == []


def test_a_bearer_websocket_handshake_needs_no_origin(netlify, clock):
    gate = Gate(issuers=[netlify.issuer_config()], sources=["bearer", "cookie:nf_jwt"], clock=clock)
    headers = {**netlify.headers(sub="app"), **HANDSHAKE, "Origin": "https://other.example"}
    assert client(echo_app, gate).get("/ws", headers=headers).json["user"] == "app"


def long_lived(handler, moments):
    """A websocket-like WSGI app: the handler runs once per moment, time passing between."""

    def app(environ, start_response):
        outcomes = []
        for moment in moments:
            moment()
            try:
                outcomes.append(handler())
            except AuthError as error:
                outcomes.append(type(error).__name__)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(outcomes).encode()]

    return app


def test_inside_a_websocket_the_decorators_see_the_token_expire(netlify, clock):
    gate = Gate(issuers=[netlify.issuer_config()], clock=clock)

    @require_roles("admin")
    def on_message():
        return "ok"

    token = netlify.token(roles=["admin"], expires_in=60)
    app = long_lived(
        on_message, [lambda: None, lambda: clock.advance(59), lambda: clock.advance(2)]
    )
    answer = client(app, gate).get("/ws", headers={"Authorization": f"Bearer {token}", **HANDSHAKE})
    assert answer.json == ["ok", "ok", "ExpiredToken"]


def test_inside_a_websocket_the_decorators_see_a_revocation(netlify, clock):
    revoked: set[str] = set()
    gate = Gate(
        issuers=[netlify.issuer_config()], clock=clock, is_revoked=lambda u: u.subject in revoked
    )

    @require_auth
    def on_message():
        return "ok"

    app = long_lived(on_message, [lambda: None, lambda: revoked.add("mallory")])
    headers = {**netlify.headers(sub="mallory"), **HANDSHAKE}
    assert client(app, gate).get("/ws", headers=headers).json == ["ok", "RevokedToken"]


def test_a_plain_request_is_not_rechecked_within_itself(netlify, clock):
    # Authenticated microseconds before its view: asking the gate again would double the
    # cost (and is_revoked's) of every request for nothing.
    gate = Gate(issuers=[netlify.issuer_config()], clock=clock)

    @require_auth
    def view():
        return "ok"

    app = long_lived(view, [lambda: None, lambda: clock.advance(3600)])
    headers = netlify.headers(expires_in=60)
    assert client(app, gate).get("/", headers=headers).json == ["ok", "ok"]
    assert current_auth() is None
