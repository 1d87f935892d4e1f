"""FastAPI dependencies: ``current_user``, ``optional_user`` and ``require_roles(...)``.

They read what ``jwtgate.asgi.GateMiddleware`` found, so a token is verified
once per request however many dependencies ask, and a middleware-level
logger sees the same user. They are stable module-level objects, so tests
can replace them with ``app.dependency_overrides[current_user] = ...``
(``require_roles("admin")`` returns the same object for the same roles). They
take no parameter and read the request's context (``jwtgate.context``), which
the middleware sets for websockets too: FastAPI spends about 10 µs more
solving a dependency that takes the ``Request`` or ``HTTPConnection``.

In the OpenAPI document they appear as security schemes, so the "Authorize"
button of ``/docs`` works: an HTTP bearer scheme, and with ``install(app,
gate)`` (or ``document(app, gate)``) one scheme per configured source,
``apiKey`` schemes for cookies and custom headers.

``jwtgate.require_auth`` and ``jwtgate.require_roles(...)`` work in
``Depends`` too: the signature FastAPI reads on them names the dependency
here (``dependency_signature``), which FastAPI then solves beneath them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from inspect import Parameter, Signature
from typing import Any, Final

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from .asgi import GateMiddleware
from .context import current_auth
from .decorators import role_arguments
from .errors import AuthError, Forbidden, MissingToken
from .gate import Gate
from .sources import BearerSource, CookieSource, HeaderSource, QuerySource, Source
from .user import User

__all__ = [
    "SCHEME_NAME",
    "CurrentUser",
    "JWTBearer",
    "OptionalUser",
    "RequireRoles",
    "current_user",
    "dependency_signature",
    "document",
    "install",
    "optional_user",
    "require_roles",
]

#: The name of the scheme every jwtgate dependency declares in OpenAPI.
SCHEME_NAME: Final = "jwt_bearer"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


_BEARER = HTTPBearerModel(
    bearerFormat="JWT",
    description="A JSON Web Token, as `Authorization: Bearer <token>`.",
)


class JWTBearer(SecurityBase):
    """A jwtgate dependency, which is also the security scheme OpenAPI shows for it.

    The middleware has already found and verified the token; the dependency
    only reads the result, and as a ``SecurityBase`` it tells OpenAPI (and the
    "Authorize" button) how a token is sent. One object plays both parts
    because FastAPI spends about as much solving each dependency as a whole
    cache hit costs. Unlike FastAPI's ``HTTPBearer`` it reads the request's
    context rather than the request, so it serves websocket routes too.
    """

    def __init__(self, label: str) -> None:
        self.model = _BEARER
        self.scheme_name = SCHEME_NAME
        self.label = label

    async def __call__(self) -> User | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<jwtgate.fastapi {self.label}>"


def _request_auth() -> tuple[Any, AuthError | None]:
    """The user and refusal the middleware found for this request (``RuntimeError`` if none)."""
    auth = current_auth()
    if auth is None:
        raise RuntimeError(
            "jwtgate: the request did not pass through jwtgate.asgi.GateMiddleware; "
            "add it with jwtgate.fastapi.install(app, gate)"
        )
    return auth.user, auth.error


class CurrentUser(JWTBearer):
    """The verified user; 401 without a token, the token's own error when it was refused."""

    async def __call__(self) -> User:
        user, error = _request_auth()
        if not user.is_authenticated:
            raise error if error is not None else MissingToken()
        result: User = user
        return result


class OptionalUser(JWTBearer):
    """The verified user, or ``None`` when there is no token or it was refused."""

    async def __call__(self) -> User | None:
        user, _error = _request_auth()
        return user if user.is_authenticated else None


class RequireRoles(JWTBearer):
    """The verified user when they hold the roles; 401 without a user, 403 without the roles."""

    def __init__(self, roles: tuple[str, ...], any_of: tuple[str, ...] | None) -> None:
        label = " ".join(roles) if roles else "any of " + " ".join(any_of or ())
        super().__init__(f"require_roles: {label}")
        self.roles = roles
        self.any_of = any_of

    async def __call__(self) -> User:
        user, error = _request_auth()
        if not user.is_authenticated:
            raise error if error is not None else MissingToken()
        if not user.has_roles(*self.roles, any_of=self.any_of):
            raise Forbidden(roles=self.roles or self.any_of or ())
        result: User = user
        return result


#: ``Depends(current_user)``: the verified ``User``, else the standard 401.
current_user: Final = CurrentUser("current_user")
#: ``Depends(optional_user)``: the verified ``User``, or ``None``.
optional_user: Final = OptionalUser("optional_user")
_role_dependencies: dict[tuple[tuple[str, ...], tuple[str, ...] | None], RequireRoles] = {}


def require_roles(*roles: str, any_of: Iterable[str] | None = None) -> RequireRoles:
    """A dependency giving the user if they hold all of ``roles`` (or one of ``any_of``).

    401 without a user, 403 ``insufficient_scope`` when roles are lacking.
    ``Depends(require_roles("admin"))`` in a path operation or in
    ``dependencies=[...]``; the same arguments give the same object, so
    ``app.dependency_overrides[require_roles("admin")]`` works.
    """
    # The decorator's checks (same misuse, same error), reading an any_of generator once.
    key = role_arguments(roles, any_of)
    found = _role_dependencies.get(key)
    if found is None:
        found = _role_dependencies.setdefault(key, RequireRoles(*key))
    return found


def dependency_signature(roles: tuple[str, ...], any_of: tuple[str, ...] | None) -> Signature:
    """The signature FastAPI reads on ``jwtgate.require_auth`` / ``jwtgate.require_roles(...)``.

    One keyword parameter, ``user``, solved by ``current_user`` (no roles) or by
    ``require_roles(...)`` with the same roles: FastAPI runs that dependency
    (the check, its OpenAPI security, its overrides) and hands the decorator
    object the user, which it gives back (see ``jwtgate.decorators.Requirement``).
    """
    dependency = (
        current_user if not roles and any_of is None else require_roles(*roles, any_of=any_of)
    )
    user = Parameter("user", Parameter.KEYWORD_ONLY, default=Depends(dependency), annotation=User)
    return Signature([user], return_annotation=User)


def install(app: FastAPI, gate: Gate, **options: Any) -> None:
    """Add ``GateMiddleware(gate, **options)`` to ``app`` and document the gate's sources."""
    app.add_middleware(GateMiddleware, gate=gate, **options)
    document(app, gate)


def document(app: FastAPI, gate: Gate) -> None:
    """Show ``gate``'s sources as the security schemes of ``app``'s OpenAPI document.

    Every operation that uses a jwtgate dependency then lists one security
    requirement per source (any one of them will do): HTTP bearer for
    ``"bearer"``, ``apiKey`` in a cookie, header or query parameter for the
    others. As OpenAPI 3.1 reads them, the roles in one requirement are all
    required and the requirements are alternatives: ``require_roles("a",
    "b")`` lists ``["a", "b"]``, ``require_roles(any_of=["a", "b"])`` one
    requirement with ``["a"]`` and one with ``["b"]``, and an operation
    whose only jwtgate dependency is ``optional_user`` also lists ``{}`` (no
    token needed). Swagger UI cannot send cookies to another origin, so list
    ``"bearer"`` among the sources too if ``/docs`` should work for cookie users.
    """
    schemes = {_scheme_name(source): _scheme_model(source) for source in gate.sources}
    generate = app.openapi
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if done and done[0] is schema:
            return schema
        _rewrite(schema, schemes, _needs_by_operation(app))
        done[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _scheme_name(source: Source) -> str:
    if isinstance(source, BearerSource):
        return SCHEME_NAME
    kind, _, name = source.spec.partition(":")
    return f"jwt_{kind}_{_UNSAFE_NAME.sub('_', name)}"


def _scheme_model(source: Source) -> dict[str, Any]:
    if isinstance(source, BearerSource):
        return _BEARER.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(source, CookieSource):
        where, name, how = "cookie", source.name, f"the `{source.name}` cookie"
    elif isinstance(source, HeaderSource):
        where, name, how = "header", source.name, f"the `{source.name}` header"
    elif isinstance(source, QuerySource):
        where, name = "query", source.name
        how = f"the `{source.name}` query parameter (websockets only)"
    else:
        return {"type": "http", "scheme": "bearer", "description": f"A JWT from {source.spec}."}
    description = f"A JSON Web Token in {how}."
    return {"type": "apiKey", "in": where, "name": name, "description": description}


@dataclass(frozen=True, slots=True)
class _Needs:
    """What an operation's jwtgate dependencies ask of a request.

    ``required``: a user (``current_user``, ``require_roles``), else the
    dependencies are all ``optional_user``; ``roles``: every one of them;
    ``any_of``: at least one role of each of these sets.
    """

    required: bool
    roles: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()


#: An operation that names a jwtgate scheme but whose route was not found: a user, no roles.
_A_USER: Final = _Needs(required=True)


def _needs_by_operation(app: FastAPI) -> dict[tuple[str, str], _Needs]:
    """What each path operation's jwtgate dependencies ask, by (path, lowercase method)."""
    found: dict[tuple[str, str], _Needs] = {}
    for path, methods, dependant in _operations(app.routes):
        needs = _needs(dependant)
        if needs is not None:
            for method in methods:
                found.setdefault((path, method.lower()), needs)
    return found


def _operations(routes: Iterable[Any]) -> Iterator[tuple[str, Iterable[str], Dependant]]:
    """Each path operation's path, methods and dependant, included routers' too.

    Read by attribute: FastAPI ≥ 0.165 keeps an included router as one entry of
    ``app.routes``, whose ``effective_route_contexts()`` are its operations
    with their full paths and the dependencies given to ``include_router``.
    """
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            yield from _operations(contexts())
            continue
        dependant = getattr(route, "dependant", None)
        path = getattr(route, "path_format", None)
        methods = getattr(route, "methods", None)
        if isinstance(dependant, Dependant) and isinstance(path, str) and methods:
            yield path, methods, dependant


def _needs(dependant: Dependant) -> _Needs | None:
    """What the jwtgate dependencies under ``dependant`` ask; ``None`` if it has none."""
    required = optional = False
    roles: list[str] = []
    any_of: list[tuple[str, ...]] = []
    pending = [dependant]
    for current in pending:  # breadth first, so roles keep the order they were written in
        call = current.call
        if isinstance(call, RequireRoles):
            required = True
            roles.extend(r for r in call.roles if r not in roles)
            if call.any_of is not None and call.any_of not in any_of:
                any_of.append(call.any_of)
        elif isinstance(call, CurrentUser):
            required = True
        elif isinstance(call, OptionalUser):
            optional = True
        pending.extend(current.dependencies)
    if not required and not optional:
        return None
    return _Needs(required, tuple(roles), tuple(any_of))


def _alternatives(needs: _Needs, declared: Iterable[str]) -> list[list[str]]:
    """The sets of roles that each let a request in: one of them will do.

    OpenAPI 3.1 reads the roles of one security requirement as all required,
    and the requirements of an operation as alternatives, so ``any_of`` sets
    become one requirement per choice. A set holding another one is dropped.
    """
    alternatives = [list(dict.fromkeys([*declared, *needs.roles]))]
    for choices in needs.any_of:
        alternatives = [
            alternative if role in alternative else [*alternative, role]
            for alternative in alternatives
            for role in choices
        ]
    sets = [frozenset(alternative) for alternative in alternatives]
    kept: list[list[str]] = []
    for index, alternative in enumerate(alternatives):
        mine = sets[index]
        if mine in sets[:index] or any(other < mine for other in sets):
            continue
        kept.append(alternative)
    return kept


def _rewrite(
    schema: dict[str, Any],
    schemes: dict[str, dict[str, Any]],
    needs: dict[tuple[str, str], _Needs],
) -> None:
    """Replace the placeholder scheme by the gate's, saying what each operation needs.

    One requirement per source and per set of roles that lets a request in;
    an operation whose jwtgate dependencies are all ``optional_user`` (and
    that needs nothing else) also lists ``{}``: it answers without a token.
    """
    components = schema.get("components", {}).get("securitySchemes")
    if not components or SCHEME_NAME not in components:
        return
    del components[SCHEME_NAME]
    components.update(schemes)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            requirements = operation.get("security") if isinstance(operation, dict) else None
            if not requirements:
                continue
            ours = [r for r in requirements if SCHEME_NAME in r and len(r) == 1]
            if not ours:
                continue
            wanted = needs.get((path, method), _A_USER)
            declared = [scope for requirement in ours for scope in requirement[SCHEME_NAME]]
            alternatives = _alternatives(wanted, declared)
            rewritten: list[dict[str, list[str]]] = []
            for requirement in requirements:
                if requirement is ours[0]:
                    rewritten.extend(
                        {name: list(roles)} for name in schemes for roles in alternatives
                    )
                elif requirement not in ours:
                    rewritten.append(requirement)
            if not wanted.required and len(rewritten) == len(schemes) * len(alternatives):
                rewritten.append({})
            operation["security"] = rewritten
