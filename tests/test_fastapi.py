"""jwtgate behind FastAPI: the dependencies, the decorators, websockets, OpenAPI, overrides."""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from jwtgate import ConfigurationError, Gate, User
from jwtgate.asgi import GateMiddleware
from jwtgate.decorators import require_auth
from jwtgate.decorators import require_roles as require_roles_decorator
from jwtgate.fastapi import (
    SCHEME_NAME,
    current_user,
    document,
    install,
    optional_user,
    require_roles,
)
from jwtgate.testing import TokenFactory

CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory("HS256")


@pytest.fixture
def gate(tokens: TokenFactory) -> Gate:
    return Gate(
        issuers=[tokens.issuer_config()],
        sources=["bearer", "cookie:nf_jwt", "header:privy-id-token"],
    )


def build(app: FastAPI) -> FastAPI:
    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str | None]:
        return {"sub": user.subject}

    @app.get("/maybe")
    async def maybe(user: OptionalUser) -> dict[str, str | None]:
        return {"sub": user.subject if user else None}

    @app.get("/admin", dependencies=[Depends(require_roles("admin"))])
    async def admin() -> dict[str, bool]:
        return {"admin": True}

    @app.get("/editor")
    async def editor(
        user: Annotated[User, Depends(require_roles(any_of=["editor", "admin"]))],
    ) -> dict[str, str | None]:
        return {"editor": user.subject}

    @app.get("/decorated")
    @require_auth
    async def decorated(q: int) -> dict[str, int]:
        return {"q": q}

    @app.get("/decorated-sync")
    @require_roles_decorator("admin")
    def decorated_sync(q: int = 1) -> dict[str, int]:
        return {"q": q}

    @app.get("/public")
    async def public() -> dict[str, bool]:
        return {"public": True}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, user: CurrentUser) -> None:
        await websocket.accept()
        await websocket.send_text(f"{user.subject}: {await websocket.receive_text()}")
        await websocket.close()

    return app


@pytest.fixture
def app(gate: Gate) -> FastAPI:
    app = FastAPI()
    install(app, gate)
    return build(app)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


# --- dependencies -----------------------------------------------------------------------


def test_current_user_gives_the_verified_user(client, tokens):
    assert client.get("/me", headers=tokens.headers(sub="u1")).json() == {"sub": "u1"}


def test_current_user_answers_401_without_a_token(client):
    response = client.get("/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


def test_current_user_answers_the_refused_tokens_error(client, tokens):
    token = tokens.wrong_signature()

    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert token not in response.text


def test_a_privy_style_header_and_a_netlify_style_cookie_work_too(client, tokens):
    assert client.get("/me", headers={"privy-id-token": tokens.token(sub="h")}).json() == {
        "sub": "h"
    }
    client.cookies.set("nf_jwt", tokens.token(sub="c"))
    assert client.get("/me").json() == {"sub": "c"}


def test_optional_user_is_none_without_or_with_a_refused_token(client, tokens):
    assert client.get("/maybe").json() == {"sub": None}
    expired = {"Authorization": f"Bearer {tokens.expired()}"}
    assert client.get("/maybe", headers=expired).json() == {"sub": None}
    assert client.get("/maybe", headers=tokens.headers(sub="m")).json() == {"sub": "m"}


def test_require_roles_answers_401_then_403_then_200(client, tokens):
    assert client.get("/admin").status_code == 401
    refused = client.get("/admin", headers=tokens.headers(roles=["user"]))
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    assert refused.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", error_description="Insufficient roles", scope="admin"'
    )
    assert client.get("/admin", headers=tokens.headers(roles=["admin"])).json() == {"admin": True}


def test_require_roles_any_of(client, tokens):
    assert client.get("/editor", headers=tokens.headers(roles=["user"])).status_code == 403
    response = client.get("/editor", headers=tokens.headers(sub="e", roles=["editor"]))
    assert response.json() == {"editor": "e"}


def test_require_roles_gives_one_object_per_set_of_roles():
    assert require_roles("admin") is require_roles("admin")
    assert require_roles("admin") is not require_roles("admin", "billing")
    assert require_roles(any_of=["a", "b"]) is require_roles(any_of=("a", "b"))
    assert "admin" in repr(require_roles("admin"))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((["admin"],), {}), (("admin",), {"any_of": ["x"]}), ((), {"any_of": "admin"})],
)
def test_require_roles_misuse_fails_at_once(args, kwargs):
    with pytest.raises(ConfigurationError):
        require_roles(*args, **kwargs)


def test_dependencies_can_be_overridden_in_tests(app):
    fake = User(subject="fake", claims={}, roles=frozenset({"admin"}))
    app.dependency_overrides[current_user] = lambda: fake
    app.dependency_overrides[require_roles("admin")] = lambda: fake
    client = TestClient(app)

    assert client.get("/me").json() == {"sub": "fake"}
    assert client.get("/admin").json() == {"admin": True}


def test_an_override_whose_user_has_roles_as_a_list_still_answers_has_roles(app):
    @app.get("/can-admin")
    async def can_admin(user: CurrentUser) -> dict[str, bool]:
        return {"admin": user.has_roles("admin"), "any": user.has_roles(any_of=["x", "admin"])}

    # A test's override, written the quick way: roles as a list.
    app.dependency_overrides[current_user] = lambda: User(
        subject="fake", claims={}, roles=["admin"]
    )
    assert TestClient(app).get("/can-admin").json() == {"admin": True, "any": True}


def test_require_roles_any_of_a_generator_lets_in_who_holds_one(gate, tokens):
    app = FastAPI()
    install(app, gate)
    wanted = (role for role in ["editor", "admin"])

    @app.get("/edit", dependencies=[Depends(require_roles(any_of=wanted))])
    async def edit() -> dict[str, bool]:
        return {"edit": True}

    client = TestClient(app)
    assert client.get("/edit", headers=tokens.headers(roles=["admin"])).json() == {"edit": True}
    assert client.get("/edit", headers=tokens.headers(roles=["editor"])).status_code == 200
    assert client.get("/edit", headers=tokens.headers(roles=["viewer"])).status_code == 403
    assert require_roles(any_of=(r for r in ["editor", "admin"])) is require_roles(
        any_of=["editor", "admin"]
    )


def test_the_role_decorator_takes_an_any_of_generator_too(gate, tokens):
    app = FastAPI()
    install(app, gate)

    @app.get("/edit")
    @require_roles_decorator(any_of=(r for r in ["editor", "admin"]))
    async def edit() -> dict[str, bool]:
        return {"edit": True}

    client = TestClient(app)
    assert client.get("/edit", headers=tokens.headers(roles=["editor"])).json() == {"edit": True}
    assert client.get("/edit", headers=tokens.headers(roles=["viewer"])).status_code == 403


def test_dependencies_without_the_middleware_say_what_is_missing():
    client = TestClient(build(FastAPI()))

    with pytest.raises(RuntimeError, match="GateMiddleware"):
        client.get("/me")


# --- the decorators on path operations ------------------------------------------------------


def test_require_auth_keeps_the_signature_fastapi_reads(client, tokens):
    assert client.get("/decorated?q=7", headers=tokens.headers()).json() == {"q": 7}
    assert client.get("/decorated?q=7").status_code == 401
    assert client.get("/decorated?q=x", headers=tokens.headers()).status_code == 422


def test_require_roles_on_a_sync_path_operation_run_in_a_thread(client, tokens):
    assert client.get("/decorated-sync?q=3", headers=tokens.headers()).status_code == 403
    response = client.get("/decorated-sync?q=3", headers=tokens.headers(roles=["admin"]))
    assert response.json() == {"q": 3}


# --- websockets ---------------------------------------------------------------------------------


def test_a_websocket_route_gets_the_user_from_the_dependency(client, tokens):
    client.cookies.set("nf_jwt", tokens.token(sub="ws"))

    with client.websocket_connect("/ws", headers={"Origin": "http://testserver"}) as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "ws: ping"


def test_a_websocket_route_without_a_user_is_denied_with_401(client):
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
        pass

    assert denied.value.status_code == 401
    assert denied.value.json()["error"] == "missing_token"


# --- httpx.ASGITransport ---------------------------------------------------------------------


def test_the_app_under_httpx_asgi_transport(app, tokens):
    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [
                (await client.get("/me")).status_code,
                (await client.get("/me", headers=tokens.headers())).status_code,
                (await client.get("/admin", headers=tokens.headers())).status_code,
                (await client.get("/public")).status_code,
            ]

    assert asyncio.run(scenario()) == [401, 200, 403, 200]


# --- OpenAPI ----------------------------------------------------------------------------------


def test_openapi_lists_one_scheme_per_source_and_the_roles(client):
    schema = client.get("/openapi.json").json()

    assert schema["components"]["securitySchemes"] == {
        "jwt_bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JSON Web Token, as `Authorization: Bearer <token>`.",
        },
        "jwt_cookie_nf_jwt": {
            "type": "apiKey",
            "in": "cookie",
            "name": "nf_jwt",
            "description": "A JSON Web Token in the `nf_jwt` cookie.",
        },
        "jwt_header_privy-id-token": {
            "type": "apiKey",
            "in": "header",
            "name": "privy-id-token",
            "description": "A JSON Web Token in the `privy-id-token` header.",
        },
    }
    paths = schema["paths"]
    assert paths["/me"]["get"]["security"] == [
        {"jwt_bearer": []},
        {"jwt_cookie_nf_jwt": []},
        {"jwt_header_privy-id-token": []},
    ]
    assert paths["/admin"]["get"]["security"][1] == {"jwt_cookie_nf_jwt": ["admin"]}
    assert paths["/editor"]["get"]["security"][:2] == [
        {"jwt_bearer": ["editor"]},  # any_of: one requirement per role (OpenAPI 3.1)
        {"jwt_bearer": ["admin"]},
    ]
    assert "security" not in paths["/public"]["get"]


def test_openapi_is_rewritten_once_and_again_after_new_routes(app, tokens):
    first = app.openapi()
    assert app.openapi() is first
    assert len(first["paths"]["/me"]["get"]["security"]) == 3

    @app.get("/later")
    async def later(user: CurrentUser) -> dict[str, bool]:
        return {}

    second = app.openapi()
    assert len(second["paths"]["/later"]["get"]["security"]) == 3
    assert len(second["paths"]["/me"]["get"]["security"]) == 3


def test_without_document_the_scheme_is_http_bearer(gate):
    app = build(FastAPI())
    app.add_middleware(GateMiddleware, gate=gate)

    schema = app.openapi()

    assert list(schema["components"]["securitySchemes"]) == [SCHEME_NAME]
    assert schema["paths"]["/me"]["get"]["security"] == [{SCHEME_NAME: []}]


def test_query_sources_and_apps_without_security_are_documented_sensibly(tokens):
    gate = Gate(issuers=[tokens.issuer_config()], sources=["query:access_token"])
    plain = FastAPI()
    document(plain, gate)

    @plain.get("/")
    async def root() -> dict[str, bool]:
        return {}

    assert "components" not in plain.openapi()

    app = build(FastAPI())
    document(app, gate)
    schema = app.openapi()
    assert schema["components"]["securitySchemes"]["jwt_query_access_token"]["in"] == "query"
    assert SCHEME_NAME not in schema["components"]["securitySchemes"]


def test_other_schemes_and_custom_sources_are_left_alone(tokens):
    from fastapi.security import APIKeyHeader

    from jwtgate.sources import Source

    class Signed(Source):
        """A custom source: documented as a generic bearer scheme."""

        spec = "signed:x"

    gate = Gate(issuers=[tokens.issuer_config()], sources=[Signed()])
    api_key = APIKeyHeader(name="x-api-key", auto_error=False)
    app = FastAPI()
    document(app, gate)

    @app.get("/both")
    async def both(user: CurrentUser, key: str | None = Depends(api_key)) -> dict:
        return {}

    schema = app.openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"]["name"] == "x-api-key"
    assert schemes["jwt_signed_x"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A JWT from signed:x.",
    }
    assert {"APIKeyHeader": []} in schema["paths"]["/both"]["get"]["security"]


def test_the_base_scheme_is_only_a_base():
    from jwtgate.fastapi import JWTBearer

    with pytest.raises(NotImplementedError):
        asyncio.run(JWTBearer("base")())
