"""The middleware renders its own refusals wherever it sits, with no exception handlers.

Starlette's outermost layer (``ServerErrorMiddleware``) answers an exception it cannot
handle with a 500 and then raises it. ``GateMiddleware`` added with
``Starlette(middleware=[...])`` or ``app.add_middleware`` sits inside that layer; wrapped
around the whole app, or in front of an app that mounts another Starlette app, it sits
outside one, and used to see its own ``AuthError`` only after the 500. Every placement
must answer the standard 401/403, for sync and async endpoints, FastAPI dependencies and
websockets, while a real server error stays a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi import WebSocket as FastAPIWebSocket
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

import jwtgate.fastapi as jwtgate_fastapi
from jwtgate import AuthError, Gate, require_auth, require_roles
from jwtgate.asgi import GateMiddleware
from jwtgate.starlette import current_user, gate_middleware
from jwtgate.testing import TokenFactory

TOKENS = TokenFactory("HS256")
GATE = Gate(issuers=[TOKENS.issuer_config()])


@require_auth
async def me(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.subject})


@require_roles("admin")
def admin(request: Request) -> JSONResponse:  # sync: Starlette runs it in a thread
    return JSONResponse({"admin": request.user.subject})


async def helper(request: Request) -> JSONResponse:
    return JSONResponse({"sub": current_user(request).subject})  # raises the standard 401


@require_auth
async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.user.subject)
    await websocket.close()


async def late_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    current_user(websocket)  # an anonymous user: raised after accept
    await websocket.close()


def routes() -> list[Any]:
    return [
        Route("/me", me),
        Route("/admin", admin),
        Route("/helper", helper),
        WebSocketRoute("/ws", socket),
        WebSocketRoute("/ws-late", late_socket),
    ]


class Passthrough(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Any) -> Response:
        return await call_next(request)


def starlette_middleware_list() -> Any:
    return Starlette(routes=routes(), middleware=[gate_middleware(GATE)])


def starlette_add_middleware() -> Any:
    app = Starlette(routes=routes())
    app.add_middleware(GateMiddleware, gate=GATE)
    return app


def starlette_wrapped() -> Any:
    return GateMiddleware(Starlette(routes=routes()), GATE)


def starlette_wrapped_debug() -> Any:
    return GateMiddleware(Starlette(routes=routes(), debug=True), GATE)


def starlette_mounted() -> Any:
    inner = Starlette(routes=routes())
    return Starlette(routes=[Mount("/", app=inner)], middleware=[gate_middleware(GATE)])


def starlette_behind_base_http_middleware() -> Any:
    return Starlette(routes=routes(), middleware=[gate_middleware(GATE), Middleware(Passthrough)])


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    @require_auth
    async def fastapi_me(request: Request) -> dict[str, Any]:
        return {"sub": request.user.subject}

    @app.get("/admin")
    @require_roles("admin")
    def fastapi_admin(request: Request) -> dict[str, Any]:
        return {"admin": request.user.subject}

    @app.get("/helper")
    def fastapi_helper(
        user: Annotated[Any, Depends(jwtgate_fastapi.current_user)],
    ) -> dict[str, Any]:
        return {"sub": user.subject}

    @app.websocket("/ws")
    @require_auth
    async def fastapi_socket(websocket: FastAPIWebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.user.subject)
        await websocket.close()

    @app.websocket("/ws-late")
    async def fastapi_late_socket(websocket: FastAPIWebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        current_user(websocket)
        await websocket.close()

    return app


def fastapi_installed() -> Any:
    app = fastapi_app()
    jwtgate_fastapi.install(app, GATE)
    return app


def fastapi_wrapped() -> Any:
    return GateMiddleware(fastapi_app(), GATE)


def fastapi_mounting_starlette() -> Any:
    app = FastAPI()
    app.mount("/", Starlette(routes=routes()))
    app.add_middleware(GateMiddleware, gate=GATE)
    return app


PLACEMENTS: dict[str, Callable[[], Any]] = {
    "Starlette(middleware=[...])": starlette_middleware_list,
    "app.add_middleware": starlette_add_middleware,
    "around the whole app": starlette_wrapped,
    "around the whole app, debug=True": starlette_wrapped_debug,
    "in front of a mounted app": starlette_mounted,
    "with a BaseHTTPMiddleware inside": starlette_behind_base_http_middleware,
    "FastAPI install()": fastapi_installed,
    "around a whole FastAPI app": fastapi_wrapped,
    "FastAPI mounting a Starlette app": fastapi_mounting_starlette,
}


@pytest.fixture(params=list(PLACEMENTS), ids=list(PLACEMENTS))
def client(request: pytest.FixtureRequest) -> TestClient:
    # raise_server_exceptions=False: a 500 would be answered, not raised into the test.
    return TestClient(PLACEMENTS[request.param](), raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/me", "/admin", "/helper"])
def test_no_token_is_the_standard_401(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


def test_an_expired_token_is_its_own_401(client):
    response = client.get("/me", headers={"Authorization": f"Bearer {TOKENS.expired()}"})

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The token has expired",
    }
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_missing_role_is_the_standard_403(client):
    response = client.get("/admin", headers=TOKENS.headers(sub="ada"))

    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", error_description="Insufficient roles", scope="admin"'
    )
    assert response.json()["error"] == "insufficient_scope"


def test_users_get_in(client):
    assert client.get("/me", headers=TOKENS.headers(sub="ada")).json() == {"sub": "ada"}
    assert client.get("/helper", headers=TOKENS.headers(sub="ada")).json() == {"sub": "ada"}
    admin = client.get("/admin", headers=TOKENS.headers(sub="root", roles=["admin"]))
    assert admin.json() == {"admin": "root"}


def test_a_websocket_without_a_token_is_denied_with_401(client):
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
        pass

    assert denied.value.status_code == 401
    assert denied.value.json()["error"] == "missing_token"


def test_a_websocket_refused_after_accept_closes_with_1008(client):
    with client.websocket_connect("/ws-late") as ws:
        ws.send_text("hi")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()

    assert closed.value.code == 1008
    assert closed.value.reason == "missing_token: Authentication is required"


def test_a_websocket_with_a_token_is_served(client):
    with client.websocket_connect("/ws", headers=TOKENS.headers(sub="ada")) as ws:
        assert ws.receive_text() == "ada"


# --- what must not change ---------------------------------------------------------------


async def broken(request: Request) -> Response:
    raise ValueError("a real bug")


def test_a_real_server_error_outside_is_still_a_500_and_still_raised():
    app = GateMiddleware(Starlette(routes=[Route("/broken", broken)]), GATE)

    answered = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert answered.status_code == 500
    assert answered.text == "Internal Server Error"
    with pytest.raises(ValueError, match="a real bug"):
        TestClient(app).get("/broken")


def test_a_500_the_app_returns_is_passed_on_whole():
    async def failing(request: Request) -> Response:
        return PlainTextResponse("the app's own 500", status_code=500)

    async def streamed(request: Request) -> Response:
        async def chunks() -> Any:
            yield b"part one, "
            yield b"part two"

        return StreamingResponse(chunks(), status_code=500)

    app = GateMiddleware(
        Starlette(routes=[Route("/failing", failing), Route("/streamed", streamed)]), GATE
    )
    client = TestClient(app)

    failing_response = client.get("/failing")
    assert (failing_response.status_code, failing_response.text) == (500, "the app's own 500")
    streamed_response = client.get("/streamed")
    assert (streamed_response.status_code, streamed_response.text) == (
        500,
        "part one, part two",
    )


def test_the_apps_own_handler_for_auth_errors_still_wins_outside():
    async def custom(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)
        return PlainTextResponse(f"custom {exc.status}", status_code=exc.status)

    app = GateMiddleware(
        Starlette(routes=[Route("/me", me)], exception_handlers={AuthError: custom}), GATE
    )
    response = TestClient(app).get("/me")

    assert (response.status_code, response.text) == (401, "custom 401")
