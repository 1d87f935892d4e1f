"""jwtgate.asgi.GateMiddleware as a pure ASGI middleware, driven message by message."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from unittest import mock

import pytest

from jwtgate import (
    AnonymousUser,
    AuthError,
    ConfigurationError,
    ExpiredToken,
    Forbidden,
    Gate,
    InvalidRequest,
    MissingToken,
    User,
)
from jwtgate.asgi import (
    MEMO_SIZE,
    Credentials,
    GateMiddleware,
    ScopeView,
    close_reason,
    error_response_headers,
)
from jwtgate.context import current_auth
from jwtgate.decorators import require_auth, require_roles
from jwtgate.sources import BearerSource, RequestView
from jwtgate.testing import TokenFactory

from .asgi_helpers import FrozenClock, Recorder, http_scope, run

DENIAL = {"websocket.http.response": {}}


@pytest.fixture(scope="module")
def hs256() -> TokenFactory:
    return TokenFactory("HS256")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def tokens(hs256: TokenFactory, clock: FrozenClock) -> TokenFactory:
    hs256.clock = clock
    return hs256


@pytest.fixture
def gate(tokens: TokenFactory, clock: FrozenClock) -> Gate:
    return Gate(issuers=[tokens.issuer_config()], clock=clock)


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


class Raiser:
    """An app that raises ``error`` before (or after) starting its response."""

    def __init__(self, error: Exception, *, after_start: bool = False) -> None:
        self.error = error
        self.after_start = after_start

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.after_start:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise self.error


# --- what the app sees ----------------------------------------------------------------


def test_a_verified_token_sets_user_auth_and_no_error(gate, tokens):
    inner = Recorder()
    token = tokens.token(sub="u1", roles=["editor", "admin"])

    result = run(GateMiddleware(inner, gate), http_scope(bearer(token)))

    assert result.status == 200
    assert result.json() == {"sub": "u1"}
    scope = inner.scope
    assert isinstance(scope["user"], User)
    assert scope["user"].subject == "u1"
    assert isinstance(scope["auth"], Credentials)
    assert scope["auth"].scopes == ("authenticated", "admin", "editor")
    assert scope["jwtgate.error"] is None


def test_without_a_token_the_user_is_anonymous(gate):
    inner = Recorder()

    run(GateMiddleware(inner, gate), http_scope([("Accept", "*/*")]))

    assert isinstance(inner.scope["user"], AnonymousUser)
    assert inner.scope["auth"].scopes == ()
    assert inner.scope["jwtgate.error"] is None
    assert inner.auths[-1].user is inner.scope["user"]


def test_the_scope_is_copied_not_changed(gate, tokens):
    inner = Recorder()
    scope = http_scope(bearer(tokens.token()))
    before = dict(scope)

    run(GateMiddleware(inner, gate), scope)

    assert scope == before
    assert inner.scope is not scope
    assert "user" not in scope


def test_credentials_are_starlette_auth_credentials():
    from starlette.authentication import AuthCredentials

    assert isinstance(Credentials(["a"]), AuthCredentials)
    assert repr(Credentials(["a", "b"])) == "Credentials(['a', 'b'])"


def test_the_context_is_set_for_the_app_and_reset_after(gate, tokens):
    inner = Recorder()

    async def scenario() -> tuple[Any, Any]:
        middleware = GateMiddleware(inner, gate)
        scope = http_scope(bearer(tokens.token(sub="ctx")))

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            pass

        await middleware(scope, receive, send)
        return inner.auths[-1], current_auth()

    before = current_auth()  # whatever an earlier test left in this thread's context
    during, after = asyncio.run(scenario())
    assert during.user.subject == "ctx"
    assert during.error is None
    assert after is before


def test_other_scopes_pass_through_untouched(gate):
    seen: list[tuple[Any, Any, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> dict[str, Any]:
        return {"type": "something-else.startup"}

    async def send(message: dict[str, Any]) -> None:
        pass

    scope = {"type": "something-else", "asgi": {"version": "3.0"}}
    asyncio.run(GateMiddleware(inner, gate)(scope, receive, send))

    assert seen == [(scope, receive, send)]
    assert scope == {"type": "something-else", "asgi": {"version": "3.0"}}


def test_lifespan_passes_through_with_its_scope_and_messages(gate):
    """The middleware only looks at the app's routes on start-up; the app hears everything."""
    heard: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []
    scopes: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        heard.append(await receive())
        await send({"type": "lifespan.startup.complete"})
        heard.append(await receive())
        await send({"type": "lifespan.shutdown.complete"})

    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    asyncio.run(GateMiddleware(inner, gate)(scope, receive, send))

    assert scopes == [scope]
    assert scope == {"type": "lifespan", "asgi": {"version": "3.0"}}
    assert heard == [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


# --- refused tokens ---------------------------------------------------------------------


def test_a_refused_token_leaves_the_user_anonymous_with_the_error(gate, tokens):
    inner = Recorder()

    result = run(GateMiddleware(inner, gate), http_scope(bearer(tokens.expired())))

    assert result.status == 200
    assert isinstance(inner.scope["user"], AnonymousUser)
    assert isinstance(inner.scope["jwtgate.error"], ExpiredToken)
    assert inner.auths[-1].error is inner.scope["jwtgate.error"]


def test_reject_invalid_answers_401_without_calling_the_app(gate, tokens):
    inner = Recorder()
    token = tokens.expired()

    result = run(GateMiddleware(inner, gate, reject_invalid=True), http_scope(bearer(token)))

    assert inner.scopes == []
    assert result.status == 401
    assert result.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="The token has expired"'
    )
    assert result.headers["content-type"] == "application/json"
    assert result.headers["cache-control"] == "no-store"
    assert result.headers["content-length"] == str(len(result.body))
    assert result.json() == {"error": "invalid_token", "error_description": "The token has expired"}
    assert token not in result.body.decode()
    assert token.split(".")[1] not in str(result.headers)


def test_reject_invalid_lets_requests_without_a_token_through(gate):
    inner = Recorder()

    result = run(GateMiddleware(inner, gate, reject_invalid=True), http_scope())

    assert result.status == 200
    assert len(inner.scopes) == 1


def test_a_malformed_authorization_header_is_a_400_invalid_request(gate):
    inner = Recorder()

    result = run(
        GateMiddleware(inner, gate, reject_invalid=True),
        http_scope([("Authorization", "Bearer not a token")]),
    )

    assert result.status == 400
    assert result.json()["error"] == "invalid_request"
    assert 'error="invalid_request"' in result.headers["www-authenticate"]


# --- errors raised by the app -------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "challenge"),
    [
        (MissingToken(), 401, "Bearer"),
        (
            Forbidden(roles=["admin"]),
            403,
            'Bearer error="insufficient_scope", error_description="Insufficient roles", '
            'scope="admin"',
        ),
    ],
)
def test_an_auth_error_raised_by_the_app_is_rendered(gate, error, status, challenge):
    result = run(GateMiddleware(Raiser(error), gate), http_scope())

    assert result.status == status
    assert result.headers["www-authenticate"] == challenge
    assert result.json()["error"] == (error.error or "missing_token")


def test_an_auth_error_after_the_response_started_is_not_rendered_twice(gate):
    app = GateMiddleware(Raiser(MissingToken(), after_start=True), gate)

    with pytest.raises(MissingToken):
        run(app, http_scope())


def test_other_exceptions_propagate(gate):
    with pytest.raises(ZeroDivisionError):
        run(GateMiddleware(Raiser(ZeroDivisionError()), gate), http_scope())


def test_the_decorators_see_the_refused_tokens_own_error(gate, tokens):
    @require_roles("admin")
    async def endpoint() -> None:
        raise AssertionError("not reached")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await endpoint()

    result = run(GateMiddleware(app, gate), http_scope(bearer(tokens.expired())))

    assert result.status == 401
    assert result.json()["error_description"] == "The token has expired"


def test_a_role_check_refuses_a_user_without_the_role_with_403(gate, tokens):
    @require_roles("admin")
    async def endpoint() -> None:
        raise AssertionError("not reached")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await endpoint()

    result = run(GateMiddleware(app, gate), http_scope(bearer(tokens.token(roles=["user"]))))

    assert result.status == 403
    assert result.json()["error"] == "insufficient_scope"


# --- CORS preflight ---------------------------------------------------------------------


def test_a_forged_cors_preflight_is_refused_by_role_checks(gate, tokens):
    runs = []

    @require_roles("admin")
    async def endpoint(send: Any) -> None:
        runs.append(1)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert current_auth().preflight is True
        await endpoint(send)

    scope = http_scope(
        [
            ("Origin", "https://a.test"),
            ("Access-Control-Request-Method", "DELETE"),
            # Not read: a preflight is anonymous whatever it carries.
            *bearer(tokens.token(roles=["admin"])),
        ],
        method="OPTIONS",
    )
    result = run(GateMiddleware(app, gate), scope)

    assert result.status == 401
    assert result.headers["www-authenticate"] == "Bearer"
    assert result.json()["error"] == "missing_token"
    assert runs == []


def test_a_plain_options_request_is_not_a_preflight(gate):
    inner = Recorder()

    run(GateMiddleware(inner, gate), http_scope(method="OPTIONS"))

    assert inner.auths[-1].preflight is False


# --- the memo behind the cache-hit path --------------------------------------------------


def test_a_repeated_token_is_answered_without_asking_the_gate_again(gate, tokens):
    inner = Recorder()
    middleware = GateMiddleware(inner, gate)
    scope = http_scope(bearer(tokens.token(sub="m1")))
    run(middleware, scope)

    with mock.patch.object(gate, "authenticate_async", side_effect=AssertionError):
        run(middleware, http_scope(bearer(tokens.token(sub="m1"))))

    assert inner.scopes[0]["user"] is inner.scopes[1]["user"]
    assert inner.scopes[0]["auth"] is inner.scopes[1]["auth"]


def test_the_memo_never_outlives_the_tokens_expiry(gate, tokens, clock):
    inner = Recorder()
    middleware = GateMiddleware(inner, gate)
    headers = bearer(tokens.token(expires_in=60))
    run(middleware, http_scope(headers))

    clock.advance(61)
    run(middleware, http_scope(headers))

    assert isinstance(inner.scope["user"], AnonymousUser)
    assert isinstance(inner.scope["jwtgate.error"], ExpiredToken)


def test_clearing_the_gates_cache_makes_the_memo_ask_again(gate, tokens):
    inner = Recorder()
    middleware = GateMiddleware(inner, gate)
    headers = bearer(tokens.token())
    run(middleware, http_scope(headers))
    gate.clear_cache()

    with mock.patch.object(gate, "authenticate_async", wraps=gate.authenticate_async) as spy:
        run(middleware, http_scope(headers))

    assert spy.call_count == 1
    assert inner.scope["user"].is_authenticated


def test_is_revoked_is_asked_on_every_request_even_from_the_memo(tokens, clock):
    revoked: set[str] = set()
    gate = Gate(
        issuers=[tokens.issuer_config()], clock=clock, is_revoked=lambda u: u.subject in revoked
    )
    inner = Recorder()
    middleware = GateMiddleware(inner, gate)
    headers = bearer(tokens.token(sub="r1"))
    run(middleware, http_scope(headers))
    assert inner.scope["user"].subject == "r1"

    revoked.add("r1")
    run(middleware, http_scope(headers))

    assert isinstance(inner.scope["user"], AnonymousUser)
    assert inner.scope["jwtgate.error"].description == "The token has been revoked"


def test_two_authorization_headers_are_refused_even_when_the_first_is_remembered(gate, tokens):
    inner = Recorder()
    middleware = GateMiddleware(inner, gate, reject_invalid=True)
    token = tokens.token()
    run(middleware, http_scope(bearer(token)))

    result = run(middleware, http_scope([*bearer(token), *bearer(tokens.token(sub="other"))]))

    assert result.status == 400
    assert result.json()["error"] == "invalid_request"


def test_a_second_token_in_a_cookie_is_refused_even_when_the_bearer_is_remembered(tokens, clock):
    gate = Gate(issuers=[tokens.issuer_config()], sources=["bearer", "cookie:jwt"], clock=clock)
    middleware = GateMiddleware(Recorder(), gate, reject_invalid=True)
    token = tokens.token()
    run(middleware, http_scope(bearer(token)))

    result = run(
        middleware, http_scope([*bearer(token), ("Cookie", f"jwt={tokens.token(sub='x')}")])
    )

    assert result.status == 400


def test_cookie_header_and_query_sources_are_remembered_together(tokens, clock):
    gate = Gate(
        issuers=[tokens.issuer_config()],
        sources=["cookie:jwt", "header:x-token", "query:access_token"],
        clock=clock,
    )
    inner = Recorder()
    middleware = GateMiddleware(inner, gate)
    token = tokens.token(sub="q1")
    for scope in (
        http_scope([("Cookie", f"a=b; jwt={token}")]),
        http_scope([("X-Token", token)]),
        http_scope(query=f"access_token={token}"),
    ):
        run(middleware, scope)
        assert inner.scope["user"].subject == "q1"
    run(middleware, http_scope([("Cookie", "a=b")]))
    assert not inner.scope["user"].is_authenticated
    run(middleware, http_scope([("Cookie", "a=b")]))
    assert not inner.scope["user"].is_authenticated
    fresh = tokens.token(sub="q2")
    run(middleware, http_scope(query=f"access_token={fresh}"))
    with mock.patch.object(gate, "authenticate_async", side_effect=AssertionError):
        run(middleware, http_scope(query=f"access_token={fresh}"))
    assert inner.scope["user"].subject == "q2"


def test_a_header_sent_twice_is_left_to_the_gate_with_several_sources(tokens, clock):
    gate = Gate(issuers=[tokens.issuer_config()], sources=["bearer", "cookie:jwt"], clock=clock)
    inner = Recorder()
    middleware = GateMiddleware(inner, gate)
    token = tokens.token(sub="two")
    headers = [("Cookie", "a=1"), ("Cookie", f"jwt={token}")]

    run(middleware, http_scope(headers))
    run(middleware, http_scope(headers))

    assert inner.scope["user"].subject == "two"
    assert len(middleware._memo) == 0


def test_a_custom_source_turns_the_memo_off_but_still_authenticates(tokens, clock):
    class PathToken(BearerSource):
        def extract(self, view: RequestView) -> str | None:
            return view.path.rpartition("/")[2] or None

    gate = Gate(issuers=[tokens.issuer_config()], sources=[PathToken()], clock=clock)
    inner = Recorder()
    middleware = GateMiddleware(inner, gate)
    token = tokens.token(sub="p1")

    run(middleware, http_scope(path=f"/t/{token}"))
    run(middleware, http_scope(path=f"/t/{token}"))

    assert inner.scope["user"].subject == "p1"
    assert len(middleware._memo) == 0


def test_the_memo_is_bounded(gate, tokens):
    middleware = GateMiddleware(Recorder(), gate)
    middleware._memo.maxsize = 3
    for index in range(5):
        run(middleware, http_scope([("Authorization", f"Basic {index}")]))

    assert len(middleware._memo) == 3


def test_the_memo_size_default_is_sane():
    assert 1000 <= MEMO_SIZE <= 100_000


# --- websockets -----------------------------------------------------------------------------


def ws_scope(headers: list[tuple[str, str]] | None = None, *, denial: bool = True) -> Any:
    return http_scope(headers or [], kind="websocket", extensions=DENIAL if denial else {})


class WsApp:
    """A websocket app that may raise before or after accepting."""

    def __init__(self, error: Exception | None = None, *, after: str = "handshake") -> None:
        self.error = error
        self.after = after

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        if self.error is not None and self.after == "handshake":
            raise self.error
        await send({"type": "websocket.accept"})
        if self.error is not None and self.after == "open":
            raise self.error
        await send({"type": "websocket.close", "code": 1000})
        if self.error is not None:
            raise self.error


def test_a_websocket_gets_the_user(gate, tokens):
    inner = Recorder()

    result = run(GateMiddleware(inner, gate), ws_scope(bearer(tokens.token(sub="w1"))))

    assert inner.scope["user"].subject == "w1"
    assert result.types() == ["websocket.accept", "websocket.close"]


def test_a_refused_handshake_gets_an_http_401_through_the_denial_extension(gate):
    result = run(GateMiddleware(WsApp(MissingToken()), gate), ws_scope())

    assert result.types() == ["websocket.http.response.start", "websocket.http.response.body"]
    assert result.status == 401
    assert result.headers["www-authenticate"] == "Bearer"
    assert result.json() == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


def test_without_the_extension_a_refused_handshake_is_closed_with_1008(gate):
    result = run(GateMiddleware(WsApp(Forbidden(roles=["admin"])), gate), ws_scope(denial=False))

    assert result.messages == [
        {
            "type": "websocket.close",
            "code": 1008,
            "reason": "insufficient_scope: Insufficient roles",
        }
    ]


def test_after_accept_an_auth_error_closes_with_1008_and_a_reason(gate):
    result = run(GateMiddleware(WsApp(MissingToken(), after="open"), gate), ws_scope())

    assert result.messages[-1] == {
        "type": "websocket.close",
        "code": 1008,
        "reason": "missing_token: Authentication is required",
    }


def test_the_close_code_can_be_an_application_code(gate):
    app = GateMiddleware(WsApp(MissingToken(), after="open"), gate, websocket_close_code=4401)

    result = run(app, ws_scope())

    assert result.messages[-1]["code"] == 4401


def test_an_auth_error_after_close_is_only_logged(gate, caplog):
    caplog.set_level("DEBUG", logger="jwtgate")

    result = run(GateMiddleware(WsApp(MissingToken(), after="closed"), gate), ws_scope())

    assert result.types() == ["websocket.accept", "websocket.close"]
    assert "after the websocket was closed" in caplog.text


def test_reject_invalid_refuses_a_websocket_with_a_bad_token_before_the_app(gate, tokens):
    inner = Recorder()
    token = tokens.expired()

    result = run(GateMiddleware(inner, gate, reject_invalid=True), ws_scope(bearer(token)))

    assert inner.scopes == []
    assert result.status == 401
    assert result.json()["error"] == "invalid_token"
    assert token not in result.body.decode()


def test_reject_invalid_does_not_answer_a_websocket_that_went_away(gate, tokens):
    scope = ws_scope(bearer(tokens.expired()))

    result = run(
        GateMiddleware(Recorder(), gate, reject_invalid=True),
        scope,
        incoming=[{"type": "websocket.disconnect", "code": 1001}],
    )

    assert result.messages == []


# --- pieces -----------------------------------------------------------------------------------


def test_scope_view_reads_headers_cookies_and_query():
    scope = http_scope(
        [("X-A", "1"), ("x-a", "2"), ("Cookie", "k=v; jwt=abc"), ("X-Latin", "caf\xe9")],
        query="t=1&t=2&u=%20x",
        method="POST",
        path="/p",
    )
    view = ScopeView(scope)

    assert view.header_values("x-a") == ["1,2"]  # joined, as a WSGI server joins them
    assert view.header_values("x-latin") == ["caf\xe9"]
    assert view.header_values("missing") == []
    assert view.cookie_values("jwt") == ["abc"]
    assert view.query_values("t") == ["1", "2"]
    assert view.query_values("u") == [" x"]
    assert (view.method, view.path) == ("POST", "/p")


def test_scope_view_defaults_for_a_websocket_scope():
    scope = {"type": "websocket", "headers": []}
    view = ScopeView(scope)

    assert (view.method, view.path, view.query_string()) == ("GET", "/", "")


def test_error_response_headers_are_lowercase_bytes_with_a_length():
    error = MissingToken()
    body = error.body()

    headers = error_response_headers(error, body)

    assert (b"www-authenticate", b"Bearer") in headers
    assert (b"content-length", str(len(body)).encode()) in headers
    assert all(name == name.lower() for name, _ in headers)


def test_a_close_reason_fits_in_a_close_frame():
    error = InvalidRequest("x" * 500)

    reason = close_reason(error)

    assert reason.startswith("invalid_request: xxx")
    assert len(reason.encode()) == 123


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"gate": object()}, "gate"),
        ({"reject_invalid": "yes"}, "reject_invalid"),
        ({"websocket_close_code": 1000}, "websocket_close_code"),
        ({"websocket_close_code": True}, "websocket_close_code"),
        ({"websocket_close_code": "1008"}, "websocket_close_code"),
        ({"close_expired_websockets": 1}, "close_expired_websockets"),
    ],
)
def test_bad_options_fail_at_construction(gate, options, field):
    arguments = {"gate": gate, **options}

    with pytest.raises(ConfigurationError, match=field):
        GateMiddleware(Recorder(), **arguments)


def test_the_middleware_works_without_starlette_installed():
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["starlette"] = None  # as if it were not installed
        from jwtgate import Gate
        from jwtgate.asgi import Credentials, GateMiddleware
        from jwtgate.testing import TokenFactory

        tokens = TokenFactory("HS256")
        seen = []

        async def app(scope, receive, send):
            seen.append(scope["auth"])

        scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"",
                 "headers": [(b"authorization", f"Bearer {tokens.token(roles=['r'])}".encode())]}
        middleware = GateMiddleware(app, Gate(issuers=[tokens.issuer_config()]))
        asyncio.run(middleware(scope, None, None))
        assert "starlette" not in repr(Credentials.__mro__)
        assert "starlette.authentication" not in sys.modules
        print(list(seen[0].scopes))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['authenticated', 'r']"


# --- an open websocket: its user re-checked, its expiry enforced -------------------------


class Chat:
    """A websocket app calling a decorated handler once per message, time passing between."""

    def __init__(self, handler: Any, moments: list[Any]) -> None:
        self.handler = handler
        self.moments = moments
        self.outcomes: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        for moment in self.moments:
            moment()
            try:
                result = self.handler()
                self.outcomes.append(await result if asyncio.iscoroutine(result) else result)
            except AuthError as error:
                self.outcomes.append(type(error).__name__)
        await send({"type": "websocket.close", "code": 1000})


def test_decorators_inside_a_websocket_see_the_token_expire(gate, tokens, clock):
    @require_roles("admin")
    async def on_message() -> str:
        return "ok"

    @require_auth
    def on_message_sync() -> str:
        return "ok"

    token = tokens.token(roles=["admin"], expires_in=60)
    for handler in (on_message, on_message_sync):
        chat = Chat(handler, [lambda: None, lambda: clock.advance(59), lambda: clock.advance(2)])
        run(GateMiddleware(chat, gate), ws_scope(bearer(token)))
        assert chat.outcomes == ["ok", "ok", "ExpiredToken"]
        clock.advance(-61)


def test_decorators_inside_a_websocket_see_a_revocation(tokens, clock):
    revoked: set[str] = set()
    gate = Gate(
        issuers=[tokens.issuer_config()], clock=clock, is_revoked=lambda u: u.subject in revoked
    )

    @require_auth
    async def on_message() -> str:
        return "ok"

    chat = Chat(on_message, [lambda: None, lambda: revoked.add("mallory"), lambda: None])
    run(GateMiddleware(chat, gate), ws_scope(bearer(tokens.token(sub="mallory"))))
    assert chat.outcomes == ["ok", "RevokedToken", "RevokedToken"]


def test_a_recheck_that_finds_the_user_evicted_verifies_the_token_again(gate, tokens, clock):
    @require_roles("admin")
    async def on_message() -> str:
        return "ok"

    chat = Chat(on_message, [lambda: None, gate.clear_cache, lambda: None])
    run(GateMiddleware(chat, gate), ws_scope(bearer(tokens.token(roles=["admin"]))))
    assert chat.outcomes == ["ok", "ok", "ok"]  # a cache miss is no refusal: verified again


def test_a_plain_http_request_carries_no_recheck(gate, tokens):
    inner = Recorder()
    run(GateMiddleware(inner, gate), http_scope(bearer(tokens.token())))
    assert inner.auths[-1].recheck is None
    run(GateMiddleware(inner, gate), ws_scope(bearer(tokens.token())))
    assert inner.auths[-1].recheck is not None


def forever_after_connect() -> Any:
    """A client that connects, then says nothing (receive blocks until cancelled)."""
    sent: list[dict[str, Any]] = []
    said = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, Any]:
        if said:
            return said.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return receive, send, sent


def test_close_expired_websockets_closes_an_idle_socket_when_its_token_expires():
    tokens = TokenFactory("HS256")  # the close waits in real time: a token with 0.3 s left
    gate = Gate(issuers=[tokens.issuer_config()])
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        seen.append(await receive())  # the app waits for the client: the expiry answers

    receive, send, sent = forever_after_connect()
    token = tokens.token(exp=time.time() + 0.3)
    middleware = GateMiddleware(app, gate, close_expired_websockets=True)
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(middleware(ws_scope(bearer(token)), receive, send), 10))
    assert 0.2 < time.monotonic() - started < 5
    assert sent[-1] == {
        "type": "websocket.close",
        "code": 1008,
        "reason": "invalid_token: The token has expired",
    }
    assert seen == [{"type": "websocket.disconnect", "code": 1008}]


def test_close_expired_websockets_closes_on_the_first_send_after_expiry(gate, tokens, clock):
    errors: list[BaseException] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "before"})
        clock.advance(61)
        try:
            await send({"type": "websocket.send", "text": "the victim's data"})
        except OSError as exc:  # what a server raises for a send on a closed socket
            errors.append(exc)
        assert (await receive()) == {"type": "websocket.disconnect", "code": 4401}
        await send({"type": "websocket.close", "code": 1000})  # closed already: nothing sent

    receive, send, sent = forever_after_connect()
    token = tokens.token(expires_in=60)
    middleware = GateMiddleware(app, gate, close_expired_websockets=True, websocket_close_code=4401)
    asyncio.run(middleware(ws_scope(bearer(token)), receive, send))
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[-1]["code"] == 4401
    assert "the victim's data" not in str(sent)
    assert len(errors) == 1


def test_without_the_option_an_expired_socket_stays_open_until_the_app_asks(gate, tokens, clock):
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        clock.advance(61)
        await send({"type": "websocket.send", "text": "still open"})
        await send({"type": "websocket.close", "code": 1000})

    result = run(GateMiddleware(app, gate), ws_scope(bearer(tokens.token(expires_in=60))))
    assert result.types() == ["websocket.accept", "websocket.send", "websocket.close"]


def test_close_expired_websockets_leaves_tokens_without_exp_alone(tokens, clock):
    gate = Gate(issuers=[tokens.issuer_config(required_claims=())], clock=clock)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        clock.advance(10**6)
        await send({"type": "websocket.close", "code": 1000})

    token = tokens.token(expires_in=None)
    result = run(GateMiddleware(app, gate, close_expired_websockets=True), ws_scope(bearer(token)))
    assert result.types() == ["websocket.accept", "websocket.close"]


def test_the_expiry_counts_the_issuers_leeway(tokens, clock):
    gate = Gate(issuers=[tokens.issuer_config(leeway=30)], clock=clock)
    middleware = GateMiddleware(Recorder(), gate, close_expired_websockets=True)
    user = gate.authenticate(headers=tokens.headers(expires_in=60))
    assert middleware._expiry(user) == clock() + 60 + 30
    assert middleware._expiry(None) is None


def test_the_expiry_counts_the_leeway_of_the_issuer_that_accepted_the_token(clock):
    # Routed by iss as the gate routes it: an alias of the second issuer, not the first issuer.
    first = TokenFactory("HS256", issuer="https://first.example/", clock=clock)
    second = TokenFactory("ES256", issuer="https://second.example/", clock=clock)
    gate = Gate(
        issuers=[
            first.issuer_config(leeway=5),
            second.issuer_config(leeway=30, issuer_aliases=["https://alias.example/"]),
        ],
        clock=clock,
    )
    middleware = GateMiddleware(Recorder(), gate, close_expired_websockets=True)
    user = gate.authenticate(headers=second.headers(iss="https://alias.example/", expires_in=60))
    assert middleware._expiry(user) == clock() + 60 + 30
    user = gate.authenticate(headers=first.headers(expires_in=60))
    assert middleware._expiry(user) == clock() + 60 + 5


def test_credentials_shared_between_requests_cannot_be_changed(gate, tokens):
    inner = Recorder()
    run(GateMiddleware(inner, gate), http_scope())
    shared = inner.scopes[-1]["auth"]  # one object for every anonymous request
    with pytest.raises(AttributeError, match="immutable"):
        shared.scopes += ("admin",)
    with pytest.raises(AttributeError, match="immutable"):
        del shared.scopes
    with pytest.raises(AttributeError, match="immutable"):
        shared.extra = 1
    assert shared.scopes == ()
    assert Credentials(["authenticated", "admin"]).scopes == ("authenticated", "admin")
