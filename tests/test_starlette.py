"""jwtgate behind Starlette: request.user/auth, @requires, the decorators, websockets, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from jwtgate import ConfigurationError, Gate, Issuer, MissingToken
from jwtgate.asgi import GateMiddleware
from jwtgate.decorators import require_auth, require_roles
from jwtgate.keys import KeySource, VerificationKey, load_secret
from jwtgate.starlette import (
    current_user,
    error_response,
    exception_handlers,
    gate_middleware,
    optional_user,
)
from jwtgate.testing import TokenFactory


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory("HS256")


@pytest.fixture
def gate(tokens: TokenFactory) -> Gate:
    return Gate(issuers=[tokens.issuer_config()], sources=["bearer", "cookie:jwt"])


async def public(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"hello {request.user.display_name or 'stranger'}")


@require_auth
async def me(request: Request) -> JSONResponse:
    user = request.user
    return JSONResponse({"sub": user.subject, "scopes": list(request.auth.scopes)})


@require_roles("admin")
def admin_sync(request: Request) -> JSONResponse:
    return JSONResponse({"admin": request.user.subject})


@requires("admin")
async def starlette_admin(request: Request) -> PlainTextResponse:
    return PlainTextResponse("starlette says yes")


async def helpers(request: Request) -> JSONResponse:
    optional = optional_user(request)
    return JSONResponse(
        {
            "optional": optional and optional.subject,
            "current": current_user(request).subject,
        }
    )


@require_auth
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"{websocket.user.subject}: {await websocket.receive_text()}")
    await websocket.close()


async def echo_then_check(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    current_user(websocket)  # raises after accept for an anonymous user
    await websocket.close()


def make_app(gate: Gate, **options: object) -> Starlette:
    return Starlette(
        routes=[
            Route("/", public),
            Route("/me", me),
            Route("/admin", admin_sync),
            Route("/starlette-admin", starlette_admin),
            Route("/helpers", helpers),
            WebSocketRoute("/ws", echo),
            WebSocketRoute("/ws-late", echo_then_check),
        ],
        middleware=[gate_middleware(gate, **options)],
    )


@pytest.fixture
def client(gate: Gate) -> TestClient:
    return TestClient(make_app(gate))


# --- http -------------------------------------------------------------------------------------


def test_a_public_page_greets_users_and_strangers(client, tokens):
    assert client.get("/").text == "hello stranger"
    assert client.get("/", headers=tokens.headers(email="ann@example.com")).text == (
        "hello ann@example.com"
    )


def test_request_user_and_auth_carry_the_user_and_roles(client, tokens):
    response = client.get("/me", headers=tokens.headers(sub="u1", roles=["b", "a"]))

    assert response.status_code == 200
    assert response.json() == {"sub": "u1", "scopes": ["authenticated", "a", "b"]}


def test_a_cookie_works_like_a_bearer_header(client, tokens):
    client.cookies.set("jwt", tokens.token(sub="c1"))

    assert client.get("/me").json()["sub"] == "c1"


def test_require_auth_answers_401_with_the_rfc6750_challenge(client):
    response = client.get("/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


def test_an_expired_token_answers_401_invalid_token_without_echoing_it(client, tokens):
    token = tokens.expired()

    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert token not in response.text
    assert token not in str(response.headers)


def test_require_roles_on_a_sync_endpoint(client, tokens):
    refused = client.get("/admin", headers=tokens.headers(roles=["user"]))
    allowed = client.get("/admin", headers=tokens.headers(sub="boss", roles=["admin"]))

    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    assert 'scope="admin"' in refused.headers["www-authenticate"]
    assert allowed.json() == {"admin": "boss"}


def test_starlettes_own_requires_works_on_the_roles(client, tokens):
    assert client.get("/starlette-admin", headers=tokens.headers(roles=["user"])).status_code == 403
    response = client.get("/starlette-admin", headers=tokens.headers(roles=["admin"]))
    assert response.text == "starlette says yes"


def test_current_and_optional_user_helpers(client, tokens):
    assert client.get("/helpers", headers=tokens.headers(sub="h1")).json() == {
        "optional": "h1",
        "current": "h1",
    }
    refused = client.get("/helpers")
    assert refused.status_code == 401


def test_current_user_raises_the_refused_tokens_error(client, tokens):
    response = client.get("/helpers", headers={"Authorization": f"Bearer {tokens.expired()}"})

    assert response.status_code == 401
    assert response.json()["error_description"] == "The token has expired"


def test_around_the_whole_app_the_exception_handlers_are_optional(gate, tokens):
    routes = [Route("/me", me), WebSocketRoute("/ws", echo)]
    bare = TestClient(GateMiddleware(Starlette(routes=routes), gate), raise_server_exceptions=False)
    handled = TestClient(
        GateMiddleware(Starlette(routes=routes, exception_handlers=exception_handlers), gate)
    )

    assert bare.get("/me").status_code == 401
    response = handled.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert handled.get("/me", headers=tokens.headers(sub="x")).json()["sub"] == "x"
    with pytest.raises(WebSocketDenialResponse) as denied, handled.websocket_connect("/ws"):
        pass
    assert denied.value.status_code == 401


def test_helpers_without_the_middleware_say_what_is_missing():
    app = Starlette(routes=[Route("/", helpers)])

    with pytest.raises(RuntimeError, match="GateMiddleware"):
        TestClient(app).get("/")


def test_error_response_is_the_standard_refusal():
    response = error_response(MissingToken())

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/json"
    assert response.body == MissingToken().body()


async def update(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"updated by {current_user(request).subject}")


def test_an_unsafe_cookie_request_needs_same_origin_evidence_even_when_remembered(gate, tokens):
    app = Starlette(
        routes=[Route("/u", update, methods=["GET", "POST"])],
        middleware=[gate_middleware(gate)],
    )
    client = TestClient(app)
    client.cookies.set("jwt", tokens.token(sub="c9"))
    assert client.get("/u").text == "updated by c9"  # remembered now

    refused = client.post("/u")
    allowed = client.post("/u", headers={"Origin": "http://testserver"})

    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf_rejected"
    assert allowed.text == "updated by c9"


def test_an_unsafe_bearer_request_needs_no_origin(gate, tokens):
    app = Starlette(routes=[Route("/u", update, methods=["POST"])])
    # Wrapping the whole app works too, with jwtgate's exception handlers registered.
    app = Starlette(
        routes=[Route("/u", update, methods=["POST"])], exception_handlers=exception_handlers
    )
    client = TestClient(GateMiddleware(app, gate))
    headers = tokens.headers(sub="b9")

    assert client.post("/u", headers=headers).text == "updated by b9"
    assert client.post("/u", headers=headers).text == "updated by b9"


def test_reject_invalid_refuses_bad_tokens_even_on_public_pages(gate, tokens):
    client = TestClient(make_app(gate, reject_invalid=True))

    assert client.get("/").status_code == 200
    response = client.get("/", headers={"Authorization": f"Bearer {tokens.tampered()}"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


# --- lifespan --------------------------------------------------------------------------------


def test_lifespan_runs_through_the_middleware(gate, tokens):
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = Starlette(
        routes=[Route("/me", me)],
        middleware=[Middleware(GateMiddleware, gate=gate)],
        lifespan=lifespan,
    )
    with TestClient(app) as client:
        assert events == ["startup"]
        assert client.get("/me", headers=tokens.headers()).status_code == 200
    assert events == ["startup", "shutdown"]


# --- websockets ---------------------------------------------------------------------------


SAME_ORIGIN = {"Origin": "http://testserver"}


def test_a_websocket_echoes_for_a_user_with_a_cookie(client, tokens):
    client.cookies.set("jwt", tokens.token(sub="w1"))

    with client.websocket_connect("/ws", headers=SAME_ORIGIN) as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "w1: hi"


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.test"}, {}, {"Sec-Fetch-Site": "cross-site"}],
    ids=["foreign-origin", "no-evidence", "cross-site"],
)
def test_a_cookie_websocket_from_another_site_is_refused_with_403(client, tokens, headers):
    token = tokens.token(sub="victim")
    client.cookies.set("jwt", token)

    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        client.websocket_connect("/ws", headers=headers),
    ):
        pass

    assert denied.value.status_code == 403
    assert denied.value.json()["error"] == "csrf_rejected"
    assert token not in denied.value.text


def test_a_bearer_websocket_needs_no_origin(client, tokens):
    with client.websocket_connect("/ws", headers=tokens.headers(sub="b1")) as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "b1: hi"


def test_a_cookie_websocket_from_the_same_site_is_accepted_again_from_the_memo(client, tokens):
    client.cookies.set("jwt", tokens.token(sub="w2"))
    for headers in (SAME_ORIGIN, {"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://a.b"}):
        if headers == {"Origin": "http://a.b"}:
            with (
                pytest.raises(WebSocketDenialResponse),
                client.websocket_connect("/ws", headers=headers),
            ):
                pass
            continue
        with client.websocket_connect("/ws", headers=headers) as ws:
            ws.send_text("x")
            assert ws.receive_text() == "w2: x"


def test_a_websocket_without_a_token_is_denied_with_http_401(client):
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
        pass

    assert denied.value.status_code == 401
    assert denied.value.headers["www-authenticate"] == "Bearer"
    assert denied.value.json()["error"] == "missing_token"


def test_a_websocket_with_an_expired_token_is_denied_with_invalid_token(client, tokens):
    client.cookies.set("jwt", tokens.expired())

    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        client.websocket_connect("/ws", headers=SAME_ORIGIN),
    ):
        pass

    assert denied.value.status_code == 401
    assert denied.value.json()["error"] == "invalid_token"


def test_a_refusal_after_accept_closes_with_1008(client):
    with client.websocket_connect("/ws-late") as ws:
        ws.send_text("hi")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()

    assert closed.value.code == 1008
    assert closed.value.reason == "missing_token: Authentication is required"


# --- the event loop is never blocked by a key fetch --------------------------------------


class SlowKeys(KeySource):
    """A key source whose fetch takes ``delay`` seconds, like a slow JWKS endpoint.

    ``refresh_async`` runs the blocking fetch in a thread, as remote key sets do.
    """

    def __init__(self, key: VerificationKey, delay: float) -> None:
        self.key = key
        self.delay = delay
        self.loaded = False
        self.fetching = threading.Event()

    def keys_for(self, kid: str | None, algorithm: str) -> Sequence[VerificationKey]:
        return [self.key] if self.loaded else []

    def needs_refresh(self, kid: str | None) -> bool:
        return not self.loaded

    def refresh(self) -> None:
        self.fetching.set()
        time.sleep(self.delay)
        self.loaded = True

    async def refresh_async(self) -> None:
        await asyncio.to_thread(self.refresh)


def test_a_slow_key_fetch_does_not_block_other_requests(tokens):
    keys = SlowKeys(load_secret(tokens.secret, ["HS256"]), delay=1.0)
    gate = Gate(issuers=[Issuer(tokens.issuer, algorithms=["HS256"], audience="api", key=keys)])
    app = make_app(gate)

    async def scenario() -> tuple[float, bool, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            slow = asyncio.create_task(client.get("/me", headers=tokens.headers(sub="s1")))
            deadline = time.monotonic() + 2
            while not keys.fetching.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            assert keys.fetching.is_set(), "the protected request never started the fetch"
            started = time.perf_counter()
            public_response = await client.get("/")
            elapsed = time.perf_counter() - started
            assert public_response.status_code == 200
            overtaken = not slow.done()
            return elapsed, overtaken, await slow

    elapsed, overtaken, protected = asyncio.run(scenario())

    assert overtaken, "the public request had to wait for the key fetch"
    assert elapsed < 0.1
    assert protected.status_code == 200
    assert protected.json()["sub"] == "s1"


def test_a_slow_jwks_server_does_not_block_other_requests():
    """The same proof against the real local JWKS server, answering after 1 s."""
    tokens = TokenFactory("RS256")

    async def scenario(server: Any) -> tuple[float, bool, httpx.Response]:
        app = make_app(Gate(issuers=[tokens.issuer_config(jwks_url=server.url)]))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            slow = asyncio.create_task(client.get("/me", headers=tokens.headers(sub="j1")))
            deadline = time.monotonic() + 2
            while server.requests == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            assert server.requests == 1, "the protected request never asked for the keys"
            started = time.perf_counter()
            public_response = await client.get("/")
            elapsed = time.perf_counter() - started
            assert public_response.status_code == 200
            overtaken = not slow.done()
            return elapsed, overtaken, await slow

    with tokens.serve_jwks() as server:
        server.delay = 1.0
        elapsed, overtaken, protected = asyncio.run(scenario(server))

    assert overtaken, "the public request had to wait for the JWKS server"
    assert elapsed < 0.1
    assert protected.status_code == 200
    assert protected.json()["sub"] == "j1"


# --- the example's settings ------------------------------------------------------------------


@pytest.fixture
def no_provider(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("JWTGATE_", "PRIVY_")) or name == "EXAMPLE_DEVELOPMENT":
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_examples_refuse_to_start_with_no_provider_configured(no_provider):
    from examples.starlette_app.settings import build_gate
    from jwtgate import ConfigurationError

    with pytest.raises(ConfigurationError, match="no identity provider is configured"):
        build_gate()
    no_provider.setenv("EXAMPLE_DEVELOPMENT", "0")
    with pytest.raises(ConfigurationError, match="EXAMPLE_DEVELOPMENT=1"):
        build_gate()


def test_the_examples_trust_the_development_secret_only_when_asked(no_provider):
    from examples.starlette_app.settings import build_gate
    from jwtgate.testing import DEVELOPMENT_SECRET

    no_provider.setenv("EXAMPLE_DEVELOPMENT", "1")
    gate = build_gate()
    token = TokenFactory.netlify(secret=DEVELOPMENT_SECRET).token(sub="dev")

    assert gate.authenticate(headers={"Cookie": f"nf_jwt={token}"}).subject == "dev"


def test_a_real_secret_wins_over_the_development_flag(no_provider):
    from examples.starlette_app.settings import build_gate
    from jwtgate import InvalidSignature
    from jwtgate.testing import DEVELOPMENT_SECRET

    no_provider.setenv("EXAMPLE_DEVELOPMENT", "1")
    no_provider.setenv("JWTGATE_NETLIFY_JWT_SECRET", "a-netlify-site-secret-of-32-bytes-or-more")
    gate = build_gate()
    with pytest.raises(InvalidSignature):
        gate.authenticate(headers=TokenFactory.netlify(secret=DEVELOPMENT_SECRET).headers())


def test_an_empty_site_secret_is_named_not_ignored(no_provider):
    from examples.starlette_app.settings import build_gate
    from jwtgate import ConfigurationError

    no_provider.setenv("EXAMPLE_DEVELOPMENT", "1")
    no_provider.setenv("JWTGATE_NETLIFY_JWT_SECRET", "")
    with pytest.raises(ConfigurationError, match="JWTGATE_NETLIFY_JWT_SECRET: set but empty"):
        build_gate()


def test_the_examples_trust_a_netlify_site_secret_from_the_environment(no_provider):
    from examples.starlette_app.settings import build_gate
    from jwtgate import InvalidSignature

    secret = "a-netlify-site-secret-of-32-bytes-or-more"
    site = TokenFactory.netlify(secret=secret)
    no_provider.setenv("JWTGATE_NETLIFY_JWT_SECRET", secret)
    gate = build_gate()

    assert gate.authenticate(headers=site.headers(sub="site-user")).subject == "site-user"
    with pytest.raises(InvalidSignature):
        gate.authenticate(headers=TokenFactory.netlify(secret=b"x" * 32).headers())


def test_the_examples_trust_a_privy_app_from_the_environment(no_provider):
    from examples.starlette_app.settings import build_gate

    privy_tokens = TokenFactory.privy(app_id="example-app")
    no_provider.setenv("PRIVY_APP_ID", "example-app")
    no_provider.setenv("PRIVY_VERIFICATION_KEY", privy_tokens.public_pem())
    gate = build_gate()

    user = gate.authenticate(headers={"privy-id-token": privy_tokens.token(sub="did:privy:1")})
    assert user is not None
    assert user.subject == "did:privy:1"


# --- class-based endpoints ------------------------------------------------------------------


def test_a_decorated_http_endpoint_class_serves_users_and_refuses_the_rest(gate, tokens):
    from starlette.endpoints import HTTPEndpoint

    runs: list[str] = []

    @require_roles("admin")
    class Items(HTTPEndpoint):
        """The items."""

        async def get(self, request: Request) -> JSONResponse:
            runs.append("get")
            return JSONResponse({"by": request.user.subject})

        def delete(self, request: Request) -> PlainTextResponse:
            runs.append("delete")
            return PlainTextResponse("deleted")

    assert issubclass(Items, HTTPEndpoint)
    assert (Items.__name__, Items.__doc__) == ("Items", "The items.")
    app = Starlette(routes=[Route("/items", Items)], middleware=[gate_middleware(gate)])
    client = TestClient(app)
    assert client.get("/items").status_code == 401
    assert client.delete("/items", headers=tokens.headers(roles=["user"])).status_code == 403
    assert runs == []
    admin = tokens.headers(sub="ada", roles=["admin"])
    assert client.get("/items", headers=admin).json() == {"by": "ada"}
    assert client.delete("/items", headers=admin).text == "deleted"
    assert runs == ["get", "delete"]


def test_a_decorated_websocket_endpoint_class_is_refused_before_accept(gate, tokens):
    from starlette.endpoints import WebSocketEndpoint

    @require_auth
    class Echo(WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            await websocket.send_text(f"{websocket.user.subject}: {data}")

    app = Starlette(routes=[WebSocketRoute("/echo", Echo)], middleware=[gate_middleware(gate)])
    client = TestClient(app)
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/echo"):
        pass
    assert denied.value.status_code == 401
    with client.websocket_connect("/echo", headers=tokens.headers(sub="ada")) as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "ada: hi"


def test_decorating_another_kind_of_class_is_refused_when_decorated():
    class NotAnEndpoint:
        def __call__(self) -> str:
            return "x"

    with pytest.raises(ConfigurationError, match=r"cannot protect the class .*NotAnEndpoint"):
        require_auth(NotAnEndpoint)
    with pytest.raises(ConfigurationError, match=r"decorators = \[\.\.\.\]"):
        require_roles("admin")(NotAnEndpoint)
