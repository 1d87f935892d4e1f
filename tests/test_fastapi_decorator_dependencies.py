"""``jwtgate.require_auth`` and ``jwtgate.require_roles(...)`` work in FastAPI's ``Depends``.

The decorator objects used to be read by FastAPI as a function of one query parameter,
``func``: every request answered 422, and 500 with ``?func=x``. Now they give the
verified ``User``, through the matching ``jwtgate.fastapi`` dependency, which FastAPI
solves, documents and lets tests override, and ``import jwtgate`` still imports no
FastAPI.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

import jwtgate
import jwtgate.fastapi
from jwtgate import Gate, User, require_auth, require_roles
from jwtgate.decorators import Requirement
from jwtgate.testing import TokenFactory

TOKENS = TokenFactory("HS256")


def make_app() -> FastAPI:
    app = FastAPI()
    jwtgate.fastapi.install(app, Gate(issuers=[TOKENS.issuer_config()]))

    @app.get("/me")
    async def me(user: Annotated[User, Depends(require_auth)]) -> dict[str, str]:
        return {"sub": user.subject}

    @app.get("/me-sync")
    def me_sync(user: Annotated[User, Depends(require_auth())]) -> dict[str, str]:
        return {"sub": user.subject}

    @app.get("/admin", dependencies=[Depends(require_roles("admin"))])
    def admin() -> dict[str, bool]:
        return {"admin": True}

    @app.get("/editor")
    async def editor(
        user: Annotated[User, Depends(require_roles(any_of=["editor", "admin"]))],
    ) -> dict[str, str]:
        return {"editor": user.subject}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, user: Annotated[User, Depends(require_auth)]) -> None:
        await websocket.accept()
        await websocket.send_text(user.subject)
        await websocket.close()

    return app


@pytest.fixture
def app() -> FastAPI:
    return make_app()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/me", "/me-sync", "/admin", "/editor"])
@pytest.mark.parametrize("query", ["", "?func=x"])
def test_without_a_token_the_answer_is_the_standard_401(client, path, query):
    response = client.get(path + query)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


def test_require_auth_gives_the_verified_user(client):
    assert client.get("/me", headers=TOKENS.headers(sub="ada")).json() == {"sub": "ada"}
    assert client.get("/me-sync", headers=TOKENS.headers(sub="ada")).json() == {"sub": "ada"}
    expired = client.get("/me", headers={"Authorization": f"Bearer {TOKENS.expired()}"})
    assert expired.status_code == 401
    assert expired.json()["error_description"] == "The token has expired"


def test_require_roles_answers_403_then_lets_the_role_in(client):
    refused = client.get("/admin", headers=TOKENS.headers(sub="ada"))
    assert refused.status_code == 403
    assert 'scope="admin"' in refused.headers["www-authenticate"]
    admitted = client.get("/admin", headers=TOKENS.headers(roles=["admin"]))
    assert admitted.json() == {"admin": True}
    editor = client.get("/editor", headers=TOKENS.headers(sub="ed", roles=["editor"]))
    assert editor.json() == {"editor": "ed"}
    assert client.get("/editor", headers=TOKENS.headers(roles=["viewer"])).status_code == 403


def test_a_websocket_route_gets_the_user_or_is_denied(client):
    with client.websocket_connect("/ws", headers=TOKENS.headers(sub="ada")) as ws:
        assert ws.receive_text() == "ada"
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
        pass
    assert denied.value.status_code == 401


def test_openapi_shows_no_func_parameter_and_the_security(client):
    paths = client.get("/openapi.json").json()["paths"]

    for path in ("/me", "/me-sync", "/admin", "/editor"):
        assert "parameters" not in paths[path]["get"], path
    assert paths["/me"]["get"]["security"] == [{"jwt_bearer": []}]
    assert paths["/admin"]["get"]["security"] == [{"jwt_bearer": ["admin"]}]


def test_either_name_overrides_it_in_tests(app):
    fake = User(subject="fake", claims={}, roles=frozenset({"admin", "editor"}))

    app.dependency_overrides[require_auth] = lambda: fake
    editor = jwtgate.fastapi.require_roles(any_of=["editor", "admin"])
    app.dependency_overrides[editor] = lambda: fake
    client = TestClient(app)
    assert client.get("/me").json() == {"sub": "fake"}
    assert client.get("/editor").json() == {"editor": "fake"}
    assert client.get("/admin").status_code == 401  # not overridden

    app.dependency_overrides[require_roles("admin")] = lambda: fake
    assert client.get("/admin").json() == {"admin": True}


def test_the_same_arguments_give_the_same_object():
    assert require_roles("admin") is require_roles("admin")
    assert require_roles(any_of=iter(["a", "b"])) is require_roles(any_of=("a", "b"))
    assert require_roles("a", "b") is not require_roles("b", "a")
    assert require_auth() is require_auth
    assert isinstance(require_roles("admin"), Requirement)
    assert repr(require_roles("admin", "billing")) == "require_roles('admin', 'billing')"
    assert repr(require_roles(any_of=["a", "b"])) == "require_roles(any_of=['a', 'b'])"
    assert repr(require_auth) == "require_auth"


def test_the_decorator_keeps_working_as_a_decorator():
    def view() -> str:
        return "ok"

    guarded = require_roles("admin")(view)
    assert guarded is not view
    assert guarded.__wrapped__ is view  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="no authentication in this context"):
        guarded()


def test_the_signature_fastapi_reads_names_the_fastapi_dependency():
    signature = inspect.signature(require_roles("admin"))

    (user,) = signature.parameters.values()
    assert user.kind is inspect.Parameter.KEYWORD_ONLY
    assert user.default.dependency is jwtgate.fastapi.require_roles("admin")
    assert inspect.signature(require_auth).parameters["user"].default.dependency is (
        jwtgate.fastapi.current_user
    )


def test_importing_jwtgate_and_decorating_imports_no_fastapi():
    code = (
        "import inspect, sys, jwtgate;"
        "f = jwtgate.require_roles('admin')(lambda: None);"
        "print(inspect.signature(jwtgate.require_auth));"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert done.stdout.splitlines() == ["(func, /)", "[]"]
