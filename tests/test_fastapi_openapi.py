"""FastAPI's OpenAPI document says what the jwtgate dependencies really ask.

OpenAPI 3.1 reads an operation's ``security`` list as alternatives (any one requirement
will do), the roles inside one requirement as all required, and ``{}`` as "no
credentials needed". So ``optional_user`` lists ``{}`` too, and
``require_roles(any_of=[...])`` lists one requirement per role. Each document here is
FastAPI's own ``/openapi.json``, checked with openapi-spec-validator, and then taken at
its word: every requirement it lists, sent exactly (that source, those roles), gets in,
and a request that meets none of them is refused. Routers that FastAPI ≥ 0.165 includes
lazily are documented like the others.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Security
from fastapi.security import APIKeyHeader
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

import jwtgate
from jwtgate import Gate, User
from jwtgate.fastapi import current_user, install, optional_user, require_roles
from jwtgate.testing import TokenFactory

TOKENS = TokenFactory("HS256")
SOURCES = {"jwt_bearer": "bearer", "jwt_cookie_session": "cookie:session"}
api_key = APIKeyHeader(name="x-api-key")  # an app's own scheme beside jwtgate's


def make_app() -> FastAPI:
    app = FastAPI()
    install(app, Gate(issuers=[TOKENS.issuer_config()], sources=list(SOURCES.values())))

    @app.get("/maybe")
    async def maybe(user: Annotated[User | None, Depends(optional_user)]) -> dict[str, Any]:
        return {"sub": user.subject if user else None}

    @app.get("/me")
    async def me(user: Annotated[User, Depends(current_user)]) -> dict[str, Any]:
        return {"sub": user.subject}

    @app.get("/maybe-and-me")
    async def maybe_and_me(
        maybe: Annotated[User | None, Depends(optional_user)],
        user: Annotated[User, Depends(current_user)],
    ) -> dict[str, Any]:
        return {"sub": user.subject}

    @app.get("/editor", dependencies=[Depends(require_roles(any_of=["editor", "admin"]))])
    async def editor() -> dict[str, Any]:
        return {}

    @app.get("/both", dependencies=[Depends(require_roles("staff", "billing"))])
    async def both() -> dict[str, Any]:
        return {}

    @app.get(
        "/mixed",
        dependencies=[
            Depends(require_roles("staff")),
            Depends(require_roles(any_of=["eu", "us"])),
            Depends(require_roles(any_of=["read", "write"])),
        ],
    )
    async def mixed() -> dict[str, Any]:
        return {}

    @app.get(
        "/overlap",
        dependencies=[
            Depends(require_roles("admin")),
            Depends(require_roles(any_of=["admin", "editor"])),
        ],
    )
    async def overlap() -> dict[str, Any]:
        return {}

    @app.get("/decorator-object", dependencies=[Depends(jwtgate.require_roles(any_of=["a", "b"]))])
    async def decorator_object() -> dict[str, Any]:
        return {}

    @app.get("/public")
    async def public() -> dict[str, Any]:
        return {}

    inner = APIRouter()

    @inner.get("/deep")
    async def deep() -> dict[str, Any]:
        return {}

    router = APIRouter(prefix="/team")

    @router.get("/lead", dependencies=[Depends(require_roles("lead"))])
    async def lead() -> dict[str, Any]:
        return {}

    @router.get("/peek")
    async def peek(user: Annotated[User | None, Depends(optional_user)]) -> dict[str, Any]:
        return {}

    router.include_router(
        inner, prefix="/inner", dependencies=[Depends(require_roles(any_of=["x", "y"]))]
    )
    app.include_router(router, prefix="/v1")
    return app


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return make_app()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def schema(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def security(schema: dict[str, Any], path: str) -> list[dict[str, list[str]]]:
    return schema["paths"][path]["get"]["security"]


def each_source(*roles_alternatives: list[str]) -> list[dict[str, list[str]]]:
    return [{name: roles} for name in SOURCES for roles in roles_alternatives]


def test_the_document_is_valid_openapi_3_1(schema):
    assert schema["openapi"].startswith("3.1")
    validate(schema)
    assert set(schema["components"]["securitySchemes"]) == set(SOURCES)


def test_optional_user_also_lists_no_credentials(schema):
    assert security(schema, "/maybe") == [*each_source([]), {}]
    assert security(schema, "/v1/team/peek") == [*each_source([]), {}]


def test_a_required_user_wins_over_an_optional_one(schema):
    assert security(schema, "/me") == each_source([])
    assert security(schema, "/maybe-and-me") == each_source([])


def test_any_of_is_one_requirement_per_role(schema):
    assert security(schema, "/editor") == each_source(["editor"], ["admin"])
    assert security(schema, "/decorator-object") == each_source(["a"], ["b"])


def test_all_of_stays_in_one_requirement(schema):
    assert security(schema, "/both") == each_source(["staff", "billing"])


def test_several_dependencies_combine(schema):
    assert security(schema, "/mixed") == each_source(
        ["staff", "eu", "read"],
        ["staff", "eu", "write"],
        ["staff", "us", "read"],
        ["staff", "us", "write"],
    )
    assert security(schema, "/overlap") == each_source(["admin"])


def test_routers_included_lazily_are_documented_with_their_roles(schema):
    assert security(schema, "/v1/team/lead") == each_source(["lead"])
    assert security(schema, "/v1/team/inner/deep") == each_source(["x"], ["y"])


def test_public_operations_list_no_security(schema):
    assert "security" not in schema["paths"]["/public"]["get"]


def _send(client: TestClient, path: str, requirement: dict[str, list[str]]) -> int:
    """Send exactly what ``requirement`` describes: its source, its roles; nothing for ``{}``."""
    if not requirement:
        return client.get(path).status_code
    ((scheme, roles),) = requirement.items()
    token = TOKENS.token(sub="doc-reader", roles=roles)
    if SOURCES[scheme] == "bearer":
        return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code
    return client.get(path, headers={"Cookie": f"session={token}"}).status_code


def test_every_documented_requirement_gets_in_and_less_is_refused(client, schema):
    checked = 0
    for path, operations in schema["paths"].items():
        requirements = operations["get"].get("security")
        if not requirements:
            continue
        alternatives = [set(r[next(iter(r))]) if r else None for r in requirements]
        for requirement in requirements:
            assert _send(client, path, requirement) == 200, (path, requirement)
            checked += 1
            if not requirement:
                continue
            ((scheme, roles),) = requirement.items()
            for missing in roles:  # one role fewer meets no documented requirement
                fewer = [role for role in roles if role != missing]
                if None in alternatives or any(a <= set(fewer) for a in alternatives if a):
                    continue
                assert _send(client, path, {scheme: fewer}) == 403, (path, fewer)
        if None not in alternatives:
            assert client.get(path).status_code == 401, path
    assert checked == 36  # every requirement of the 11 protected operations above


def test_other_schemes_are_kept_and_an_optional_user_beside_them_is_not_optional():
    app = FastAPI()
    install(app, Gate(issuers=[TOKENS.issuer_config()]))

    @app.get("/keyed")
    async def keyed(key: Annotated[str, Depends(api_key)]) -> dict[str, Any]:
        return {}

    @app.get("/keyed-maybe")
    async def keyed_maybe(
        key: Annotated[str, Depends(api_key)],
        user: Annotated[User | None, Depends(optional_user)],
    ) -> dict[str, Any]:
        return {}

    @app.get("/scoped")
    async def scoped(
        user: Annotated[User, Security(require_roles(any_of=["a", "b"]), scopes=["read"])],
    ) -> dict[str, Any]:
        return {}

    schema = TestClient(app).get("/openapi.json").json()
    validate(schema)

    assert security(schema, "/keyed") == [{"APIKeyHeader": []}]
    assert security(schema, "/keyed-maybe") == [{"APIKeyHeader": []}, {"jwt_bearer": []}]
    assert security(schema, "/scoped") == [
        {"jwt_bearer": ["read", "a"]},
        {"jwt_bearer": ["read", "b"]},
    ]


def test_an_operation_whose_route_is_not_found_is_read_as_needing_a_user():
    from jwtgate.fastapi import SCHEME_NAME, _rewrite

    schema: dict[str, Any] = {
        "components": {"securitySchemes": {SCHEME_NAME: {"type": "http"}}},
        "paths": {"/elsewhere": {"get": {"security": [{SCHEME_NAME: []}]}}},
    }
    _rewrite(schema, {"jwt_bearer": {"type": "http", "scheme": "bearer"}}, {})

    assert schema["paths"]["/elsewhere"]["get"]["security"] == [{"jwt_bearer": []}]
