"""CORS preflights: real ones are answered by the app's CORS layer, forged ones reach no view.

A preflight is ``OPTIONS`` with ``Access-Control-Request-Method``, sent by a
browser without credentials. The decorators used to let any request flagged
as one run the protected view anonymously, so anyone could send ``OPTIONS``
with that header to a route that accepts ``OPTIONS`` (a Flask route listing
it, FastAPI's ``api_route``, a Django function view, which accepts every
method) and have the view run with its side effects. Now the decorators
refuse it like any anonymous request, in every framework, and real preflights
still get their ``Access-Control-*`` answer from flask-cors or Starlette's
``CORSMiddleware`` before any view runs.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask
from flask_cors import CORS
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.test import Client

from jwtgate import Gate, require_auth, require_roles
from jwtgate.asgi import GateMiddleware as ASGIGateMiddleware
from jwtgate.flask import JWTGate, current_user
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware as WSGIGateMiddleware

FRONT_END = "https://app.example"
#: What a browser sends before a cross-origin DELETE carrying an Authorization header.
BROWSER_PREFLIGHT = {
    "Origin": FRONT_END,
    "Access-Control-Request-Method": "DELETE",
    "Access-Control-Request-Headers": "authorization",
}
#: The same flag, forged by any client: no Origin needed, any method named.
FORGED = {"Access-Control-Request-Method": "GET"}


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory("HS256")


@pytest.fixture
def gate(tokens: TokenFactory) -> Gate:
    return Gate(issuers=[tokens.issuer_config()])


def assert_missing_token(status: int, challenge: str | None, body: dict[str, str]) -> None:
    assert status == 401
    assert challenge == "Bearer"
    assert body == {"error": "missing_token", "error_description": "Authentication is required"}


# --- forged preflights, replayed the way they were found --------------------------------------


def test_flask_route_listing_options_never_runs_on_a_forged_preflight(gate):
    app = Flask("listed")
    JWTGate(app, gate)
    deleted: list[str] = []

    @app.route("/admin/users", methods=["GET", "OPTIONS"])
    @require_roles("admin")
    def users() -> dict[str, list[str]]:
        deleted.append("listed")
        return {"users": ["ada", "grace"]}

    @app.route("/admin/users/<name>/delete", methods=["POST", "OPTIONS"])
    @require_roles("admin")
    def delete(name: str) -> str:
        deleted.append(name)
        return "deleted"

    client = app.test_client()
    for path in ("/admin/users", "/admin/users/ada/delete"):
        response = client.options(path, headers=FORGED)
        assert_missing_token(
            response.status_code, response.headers.get("WWW-Authenticate"), response.json
        )
        assert "ada" not in response.get_data(as_text=True)
    assert deleted == []


def test_fastapi_api_route_with_options_never_runs_on_a_forged_preflight(gate):
    app = FastAPI()
    app.add_middleware(ASGIGateMiddleware, gate=gate)
    ran: list[str] = []

    @app.api_route("/admin/users", methods=["GET", "OPTIONS"])
    @require_roles("admin")
    async def users() -> dict[str, list[str]]:
        ran.append("users")
        return {"users": ["ada", "grace"]}

    @app.api_route("/admin/users/{name}", methods=["DELETE", "OPTIONS"])
    @require_auth
    def delete(name: str) -> dict[str, str]:
        ran.append(name)
        return {"deleted": name}

    client = TestClient(app)
    for path in ("/admin/users", "/admin/users/ada"):
        response = client.options(path, headers=FORGED)
        assert_missing_token(
            response.status_code, response.headers.get("www-authenticate"), response.json()
        )
    assert ran == []


def test_a_wsgi_view_accepting_every_method_never_runs_on_a_forged_preflight(gate):
    """The Django function-view case: one view, whatever the method."""
    ran: list[str] = []

    @require_roles("admin")
    def delete_user(environ) -> bytes:
        ran.append(environ["REQUEST_METHOD"])
        return b"deleted"

    def app(environ, start_response):
        body = delete_user(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    client = Client(WSGIGateMiddleware(app, gate))
    for headers in (FORGED, {**FORGED, "Origin": "https://evil.example"}, BROWSER_PREFLIGHT):
        response = client.open("/admin/users/ada", method="OPTIONS", headers=headers)
        assert_missing_token(
            response.status_code, response.headers.get("WWW-Authenticate"), response.json
        )
    assert ran == []


def test_reject_invalid_still_never_refuses_a_preflight_itself(gate, tokens):
    seen: list[str] = []

    def app(environ, start_response):
        seen.append(environ["REQUEST_METHOD"])
        start_response("204 No Content", [])
        return []

    client = Client(WSGIGateMiddleware(app, gate, reject_invalid=True))
    headers = {**BROWSER_PREFLIGHT, "Authorization": f"Bearer {tokens.expired()}"}
    assert client.open("/x", method="OPTIONS", headers=headers).status_code == 204
    assert seen == ["OPTIONS"]


# --- real preflights through the CORS stacks ----------------------------------------------


def flask_cors_app(gate: Gate) -> tuple[Flask, list[str]]:
    app = Flask("cors")
    CORS(app, origins=[FRONT_END], supports_credentials=True)
    JWTGate(app, gate)
    ran: list[str] = []

    @app.route("/api/items/<name>", methods=["GET", "DELETE"])
    @require_roles("admin")
    def item(name: str) -> dict[str, str | None]:
        ran.append(name)
        return {"deleted": name, "by": current_user.subject}

    return app, ran


def test_flask_cors_answers_a_browser_preflight_before_any_view(gate):
    app, ran = flask_cors_app(gate)
    response = app.test_client().options("/api/items/ada", headers=BROWSER_PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"].lower() == "authorization"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert ran == []


def test_flask_cors_then_the_real_request_is_authenticated(gate, tokens):
    app, ran = flask_cors_app(gate)
    client = app.test_client()
    refused = client.delete("/api/items/ada", headers={"Origin": FRONT_END})
    assert refused.status_code == 401
    # The refusal carries CORS headers too, so the front end can read the 401.
    assert refused.headers["Access-Control-Allow-Origin"] == FRONT_END
    admin = {"Origin": FRONT_END, **tokens.headers(sub="root", roles=["admin"])}
    response = client.delete("/api/items/ada", headers=admin)
    assert response.json == {"deleted": "ada", "by": "root"}
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert ran == ["ada"]


@pytest.mark.parametrize("gate_outside", [False, True], ids=["cors-outside", "gate-outside"])
def test_starlette_cors_middleware_answers_a_browser_preflight(gate, tokens, gate_outside):
    ran: list[str] = []

    @require_roles("admin")
    async def item(request: Request) -> JSONResponse:
        ran.append(request.path_params["name"])
        return JSONResponse({"deleted": request.path_params["name"]})

    cors = Middleware(
        CORSMiddleware,
        allow_origins=[FRONT_END],
        allow_methods=["GET", "DELETE"],
        allow_headers=["authorization"],
        allow_credentials=True,
    )
    gate_mw = Middleware(ASGIGateMiddleware, gate=gate, reject_invalid=True)
    middleware = [gate_mw, cors] if gate_outside else [cors, gate_mw]
    app = Starlette(
        routes=[Route("/api/items/{name}", item, methods=["GET", "DELETE"])],
        middleware=middleware,
    )
    client = TestClient(app)
    # A preflight with a stale token some client added: reject_invalid does not refuse it.
    headers = {**BROWSER_PREFLIGHT, "Authorization": f"Bearer {tokens.expired()}"}
    response = client.options("/api/items/ada", headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONT_END
    assert "DELETE" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert ran == []
    admin = {"Origin": FRONT_END, **tokens.headers(roles=["admin"])}
    answer = client.delete("/api/items/ada", headers=admin)
    assert answer.json() == {"deleted": "ada"}
    assert answer.headers["access-control-allow-origin"] == FRONT_END
    assert ran == ["ada"]


def test_fastapi_with_cors_middleware_answers_a_browser_preflight(gate, tokens):
    app = FastAPI()
    app.add_middleware(ASGIGateMiddleware, gate=gate)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[FRONT_END],
        allow_methods=["DELETE"],
        allow_headers=["authorization"],
    )
    ran: list[str] = []

    @app.delete("/api/items/{name}")
    @require_roles("admin")
    async def delete(name: str) -> dict[str, str]:
        ran.append(name)
        return {"deleted": name}

    client = TestClient(app)
    response = client.options("/api/items/ada", headers=BROWSER_PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONT_END
    assert ran == []
    assert client.delete("/api/items/ada", headers={"Origin": FRONT_END}).status_code == 401
    answer = client.delete("/api/items/ada", headers=tokens.headers(roles=["admin"]))
    assert answer.json() == {"deleted": "ada"}
