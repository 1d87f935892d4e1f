"""The decorator-order trap: a jwtgate decorator written above the route decorator.

The framework registers the bare function and the route is open. The Flask
extension and the ASGI middleware refuse to serve such an app, naming the
route and the fix, at start-up (``init_app``, lifespan) or at the first
request, and keep refusing: never a silent 200.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from flask import Blueprint, Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, Router, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from jwtgate import ConfigurationError, Gate, require_auth, require_roles
from jwtgate.asgi import GateMiddleware
from jwtgate.decorators import WRAPPED
from jwtgate.flask import JWTGate
from jwtgate.routes import check_routes, find_routes, unprotected_routes
from jwtgate.testing import TokenFactory

FIX = "below the route decorator"


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory("HS256")


@pytest.fixture
def gate(tokens: TokenFactory) -> Gate:
    return Gate(issuers=[tokens.issuer_config()])


# --- Flask ---------------------------------------------------------------------------------


def trapped_flask_app(runs: list[str]) -> Flask:
    app = Flask("trap")

    @require_roles("admin")  # above the route decorator: Flask registered the bare function
    @app.get("/admin")
    def admin() -> str:
        runs.append("admin")
        return "secret"

    @app.get("/")
    def index() -> str:
        runs.append("index")
        return "public"

    return app


def test_flask_refuses_at_init_app_when_the_trap_is_already_registered(gate):
    with pytest.raises(ConfigurationError) as info:
        JWTGate(trapped_flask_app([]), gate)
    message = str(info.value)
    assert "GET /admin -> " in message
    assert "trapped_flask_app.<locals>.admin" in message
    assert FIX in message


def test_flask_refuses_every_request_when_the_trap_is_added_after_init_app(gate):
    app = Flask("late")
    JWTGate(app, gate)
    runs: list[str] = []

    @app.get("/")
    def index() -> str:
        runs.append("index")
        return "public"

    @require_auth
    @app.post("/delete")
    def delete() -> str:
        runs.append("delete")
        return "deleted"

    client = app.test_client()
    for _ in range(2):  # not once: every request, until the app is fixed
        with pytest.raises(ConfigurationError, match=r"POST /delete -> .*delete"):
            client.post("/delete")
        with pytest.raises(ConfigurationError, match=FIX):
            client.get("/")
    assert runs == []


def test_flask_blueprint_routes_are_checked(gate):
    app = Flask("bp")
    JWTGate(app, gate)
    bp = Blueprint("admin", __name__, url_prefix="/admin")

    @require_roles("admin")
    @bp.route("/users", methods=["GET", "DELETE"])
    def users() -> str:
        return "users"

    app.register_blueprint(bp)
    with pytest.raises(ConfigurationError, match=r"DELETE GET /admin/users -> .*users"):
        app.test_client().get("/admin/users")


def test_flask_with_the_decorators_in_the_right_order_serves_and_checks_once(gate, tokens):
    app = Flask("right")
    JWTGate(app, gate)
    bp = Blueprint("api", __name__)

    @app.get("/admin")
    @require_roles("admin")
    def admin() -> str:
        return "secret"

    @bp.get("/me")
    @require_auth
    def me() -> str:
        return "me"

    app.register_blueprint(bp, url_prefix="/api")
    client = app.test_client()
    assert client.get("/admin").status_code == 401
    assert client.get("/admin", headers=tokens.headers(roles=["admin"])).status_code == 200
    assert client.get("/api/me", headers=tokens.headers()).status_code == 200
    # The check stepped aside after the first request: the middleware calls Flask directly.
    assert app.wsgi_app.app == app.__class__.wsgi_app.__get__(app)


# --- Starlette -------------------------------------------------------------------------------


async def plain(request: Request) -> PlainTextResponse:
    return PlainTextResponse("plain")


def starlette_app(gate: Gate, routes: list[Any]) -> Starlette:
    return Starlette(routes=routes, middleware=[_gate_middleware(gate)])


def _gate_middleware(gate: Gate) -> Any:
    from jwtgate.starlette import gate_middleware

    return gate_middleware(gate)


def test_starlette_refuses_at_lifespan_startup_naming_the_route(gate):
    async def admin(request: Request) -> PlainTextResponse:
        return PlainTextResponse("secret")

    require_roles("admin")(admin)  # what "@require_roles above the route" amounts to
    app = starlette_app(gate, [Route("/", plain), Route("/admin", admin, methods=["DELETE"])])
    with pytest.raises(ConfigurationError) as info, TestClient(app):
        pass
    assert "DELETE /admin -> " in str(info.value)
    assert FIX in str(info.value)


def test_starlette_refuses_the_first_request_without_a_lifespan(gate):
    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()

    require_auth(feed)
    app = starlette_app(gate, [Route("/", plain), WebSocketRoute("/feed", feed)])
    client = TestClient(app)  # no "with": no lifespan
    for _ in range(2):
        with pytest.raises(ConfigurationError, match=r"WEBSOCKET /feed -> .*feed"):
            client.get("/")


def test_starlette_mounts_hosts_and_routers_are_walked(gate):
    async def inner(request: Request) -> PlainTextResponse:
        return PlainTextResponse("inner")

    require_auth(inner)
    sub = Starlette(routes=[Route("/deep", inner)])
    routes = [
        Route("/", plain),
        Mount("/api", routes=[Mount("/v1", app=Router(routes=[Mount("/sub", app=sub)]))]),
    ]
    assert unprotected_routes(routes) == [
        f"GET /api/v1/sub/deep -> {__name__}.{inner.__qualname__}"
    ]
    app = starlette_app(gate, routes)
    with pytest.raises(ConfigurationError, match=r"/api/v1/sub/deep"), TestClient(app):
        pass


def test_a_correct_starlette_app_starts_and_serves(gate, tokens):
    @require_auth
    async def me(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.subject)

    app = starlette_app(gate, [Route("/", plain), Mount("/api", routes=[Route("/me", me)])])
    with TestClient(app) as client:
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/me", headers=tokens.headers(sub="ada")).text == "ada"


def test_the_middleware_wrapping_the_app_from_outside_finds_its_routes(gate):
    async def admin(request: Request) -> PlainTextResponse:
        return PlainTextResponse("secret")

    require_roles("admin")(admin)
    inner = Starlette(routes=[Route("/admin", admin)])
    with pytest.raises(ConfigurationError, match="/admin"):
        TestClient(GateMiddleware(inner, gate)).get("/admin")


def test_a_plain_asgi_app_has_no_routes_to_check(gate):
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    assert find_routes(app) is None
    check_routes(app)  # nothing to look at is not an error
    assert TestClient(GateMiddleware(app, gate)).get("/").status_code == 204


# --- FastAPI ---------------------------------------------------------------------------------


def test_fastapi_app_and_router_routes_are_refused_at_startup(gate):
    app = FastAPI()
    router = APIRouter(prefix="/items")
    runs: list[str] = []

    @require_roles("admin")
    @app.get("/admin")
    async def admin() -> dict[str, str]:
        runs.append("admin")
        return {"secret": "yes"}

    @require_auth
    @router.delete("/{item_id}")
    def delete_item(item_id: int) -> dict[str, int]:
        runs.append("delete")
        return {"deleted": item_id}

    outer = APIRouter(prefix="/v2")
    outer.include_router(router)
    app.include_router(router, prefix="/api")
    app.include_router(outer, prefix="/nested")
    app.add_middleware(GateMiddleware, gate=gate)
    with pytest.raises(ConfigurationError) as info, TestClient(app):
        pass
    message = str(info.value)
    assert "GET /admin -> " in message
    assert "DELETE /api/items/{item_id} -> " in message
    assert "DELETE /nested/v2/items/{item_id} -> " in message
    with pytest.raises(ConfigurationError):
        TestClient(app).get("/admin")
    assert runs == []


def test_fastapi_in_the_right_order_serves(gate, tokens):
    app = FastAPI()

    @app.get("/admin")
    @require_roles("admin")
    async def admin() -> dict[str, str]:
        return {"secret": "yes"}

    app.add_middleware(GateMiddleware, gate=gate)
    with TestClient(app) as client:
        assert client.get("/admin").status_code == 401
        assert client.get("/admin", headers=tokens.headers(roles=["admin"])).json() == {
            "secret": "yes"
        }


# --- the registry ----------------------------------------------------------------------------


def test_wrapped_functions_are_remembered_weakly():
    def view() -> None:
        pass

    require_auth(view)
    assert view in WRAPPED
    ref = weakref.ref(view)
    del view
    gc.collect()
    assert ref() is None  # the registry did not keep it alive


def test_the_lifespan_failure_reaches_a_bare_server_as_startup_failed(gate):
    """What uvicorn receives: lifespan.startup.failed with the error as its message."""

    async def view(request: Request) -> PlainTextResponse:
        return PlainTextResponse("x")

    require_auth(view)
    app = Starlette(routes=[Route("/x", view)], middleware=[_gate_middleware(gate)])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with pytest.raises(ConfigurationError):
        asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert "GET /x -> " in sent[0]["message"]


def test_unhashable_endpoints_and_endless_nesting_are_no_trouble():
    class Endpoint:
        __hash__ = None  # type: ignore[assignment] - weakly referable, yet unhashable

    class Unhashable:
        path = "/x"

        def __init__(self) -> None:
            self.endpoint = Endpoint()

    class Loop:
        path = "/loop"

        @property
        def routes(self) -> list[object]:
            return [self]  # a route tree that never ends

    assert unprotected_routes([Unhashable()]) == []
    assert unprotected_routes([Loop()]) == []
