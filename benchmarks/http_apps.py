"""The apps that bench_http.py and soak.py serve with gunicorn and uvicorn.

A server process cannot be handed Python objects, so each factory reads its
configuration from ``BENCH_*`` environment variables set by the parent:

``BENCH_APP``       bare | jwtgate | fje (flask-jwt-extended) | authmw (Starlette's
                    AuthenticationMiddleware + PyJWT) | pyjwt (FastAPI's HTTPBearer
                    + PyJWT) | trivial (FastAPI, a do-nothing dependency) |
                    passthrough (a do-nothing ASGI middleware) | gateonly (jwtgate's
                    middleware, no decorator) | authmw-none (AuthenticationMiddleware
                    whose backend does no token work) | soak
``BENCH_ALG``       the token algorithm (RS256 …)
``BENCH_KEY``       the verification key: a PEM public key, or the HMAC secret (hex) for HS*
``BENCH_ISSUER``    the ``iss`` the tokens carry; ``BENCH_AUDIENCE`` their ``aud``
``BENCH_JWKS_URL``  (soak) where the keys come from instead of ``BENCH_KEY``

Every app answers ``GET /`` (protected unless bare) and, for the soak, also
``GET /public`` (never refused) and ``/private`` (``require_auth``).

    gunicorn -k gthread -w 2 --chdir benchmarks 'http_apps:flask_app()'
    uvicorn --app-dir benchmarks --factory http_apps:starlette_app
    uvicorn --app-dir benchmarks --factory http_apps:fastapi_app
"""

from __future__ import annotations

import os
from typing import Any

import jwt

from jwtgate import Gate, Issuer, require_auth
from jwtgate.remote import RemoteOptions


def _setting(name: str, default: str = "") -> str:
    return os.environ.get(f"BENCH_{name}", default)


def _key() -> Any:
    """The verification key the parent passed: bytes for HS*, a PEM string otherwise."""
    key = _setting("KEY")
    return bytes.fromhex(key) if _setting("ALG").startswith("HS") else key


def build_gate() -> Gate:
    """A gate for the parent's issuer: a fixed key, or a JWKS URL with a short cooldown."""
    options: dict[str, Any] = {
        "algorithms": [_setting("ALG", "RS256")],
        "audience": _setting("AUDIENCE") or None,
    }
    jwks_url = _setting("JWKS_URL")
    if jwks_url:
        # The soak rotates keys every few seconds: let an unknown kid refetch after 1 s.
        options["jwks_url"] = jwks_url
        options["remote"] = RemoteOptions(cooldown=1, cache_ttl=60, timeout=2)
    elif _setting("ALG").startswith("HS"):
        options["secret"] = _key()
    else:
        options["key"] = _key()
    issuer = Issuer(_setting("ISSUER") or None, **options)
    # The soak sends cookies too; the timed apps read the Bearer header only, as the peers
    # do (a cookie source makes every request also scan for the cookie and test CSRF).
    sources = ["bearer", "cookie:jwt"] if _setting("APP") == "soak" else ["bearer"]
    return Gate(issuers=[issuer], sources=sources)


def _decode(token: str) -> dict[str, Any]:
    """What an app without jwtgate does on every request: PyJWT verifies the token."""
    claims: dict[str, Any] = jwt.decode(
        token,
        _KEY_CACHE.setdefault("key", _key()),
        algorithms=[_setting("ALG", "RS256")],
        audience=_setting("AUDIENCE") or None,
        issuer=_setting("ISSUER") or None,
    )
    return claims


_KEY_CACHE: dict[str, Any] = {}


# --- WSGI ------------------------------------------------------------------------------


def flask_app() -> Any:
    """Flask: bare, behind jwtgate's GateMiddleware, or with flask-jwt-extended."""
    from flask import Flask, jsonify

    from jwtgate.flask import current_user
    from jwtgate.wsgi import GateMiddleware

    mode = _setting("APP", "bare")
    app = Flask(f"bench_{mode}")

    def index() -> str:
        return "ok"

    if mode == "bare":
        app.add_url_rule("/", "index", index)
    elif mode == "fje":
        from flask_jwt_extended import JWTManager, jwt_required

        app.config["JWT_ALGORITHM"] = _setting("ALG")
        app.config["JWT_DECODE_AUDIENCE"] = _setting("AUDIENCE") or None
        app.config["JWT_DECODE_ISSUER"] = _setting("ISSUER") or None
        if _setting("ALG").startswith("HS"):
            app.config["JWT_SECRET_KEY"] = _key()
        else:
            app.config["JWT_PUBLIC_KEY"] = _key()
            app.config["JWT_PRIVATE_KEY"] = "unused"
        JWTManager(app)
        app.add_url_rule("/", "index", jwt_required()(index))
    else:  # jwtgate, soak
        app.add_url_rule("/", "index", require_auth(index))

        @app.get("/public")
        def public() -> Any:
            return jsonify(sub=current_user.subject if current_user.is_authenticated else None)

        @app.get("/private")
        @require_auth
        def private() -> Any:
            return jsonify(sub=current_user.subject)

        app.wsgi_app = GateMiddleware(app.wsgi_app, build_gate())  # type: ignore[method-assign]
    return app


# --- ASGI ------------------------------------------------------------------------------


def starlette_app() -> Any:
    """Starlette: bare, behind jwtgate, or with AuthenticationMiddleware + a PyJWT backend."""
    from starlette.applications import Starlette
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        AuthenticationError,
        SimpleUser,
        requires,
    )
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    from jwtgate.asgi import GateMiddleware

    mode = _setting("APP", "bare")

    async def index(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    if mode == "bare":
        return Starlette(routes=[Route("/", index)])

    if mode == "passthrough":

        class PassThrough:
            """A pure ASGI middleware that does nothing: what any middleware costs at least."""

            def __init__(self, app: Any) -> None:
                self.app = app

            async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
                await self.app(scope, receive, send)

        return Starlette(routes=[Route("/", index)], middleware=[Middleware(PassThrough)])

    if mode == "gateonly":
        return Starlette(
            routes=[Route("/", index)], middleware=[Middleware(GateMiddleware, gate=build_gate())]
        )

    if mode == "authmw-none":

        class FixedUserBackend(AuthenticationBackend):
            """Starlette's authentication with no token work: its middleware's own cost."""

            async def authenticate(
                self, conn: HTTPConnection
            ) -> tuple[AuthCredentials, SimpleUser] | None:
                return AuthCredentials(["authenticated"]), SimpleUser("bench-user")

        return Starlette(
            routes=[Route("/", requires("authenticated", status_code=401)(index))],
            middleware=[Middleware(AuthenticationMiddleware, backend=FixedUserBackend())],
        )

    if mode == "authmw":

        class PyJWTBackend(AuthenticationBackend):
            async def authenticate(
                self, conn: HTTPConnection
            ) -> tuple[AuthCredentials, SimpleUser] | None:
                scheme, _, token = conn.headers.get("authorization", "").partition(" ")
                if scheme.lower() != "bearer" or not token:
                    return None
                try:
                    claims = _decode(token)
                except jwt.InvalidTokenError as exc:
                    raise AuthenticationError("invalid token") from exc
                return AuthCredentials(["authenticated"]), SimpleUser(claims["sub"])

        protected = requires("authenticated", status_code=401)(index)
        return Starlette(
            routes=[Route("/", protected)],
            middleware=[Middleware(AuthenticationMiddleware, backend=PyJWTBackend())],
        )

    async def public(request: Request) -> JSONResponse:
        user = request.user
        return JSONResponse({"sub": user.subject if user.is_authenticated else None})

    @require_auth
    async def private(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.subject})

    return Starlette(
        routes=[
            Route("/", require_auth(index)),
            Route("/public", public),
            Route("/private", private),
        ],
        middleware=[Middleware(GateMiddleware, gate=build_gate())],
    )


def fastapi_app() -> Any:
    """FastAPI: bare, jwtgate's middleware and ``current_user`` dependency, or HTTPBearer + PyJWT.

    The last is the FastAPI tutorial's way: a dependency that decodes the
    token with PyJWT on every request.
    """
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    from jwtgate import User
    from jwtgate.asgi import GateMiddleware
    from jwtgate.fastapi import current_user

    # Depends() as defaults, not in Annotated: the annotations are strings (future
    # import) and could not name these local objects.
    mode = _setting("APP", "bare")
    app = FastAPI()
    if mode == "bare":

        @app.get("/")
        async def bare() -> dict[str, bool]:
            return {"ok": True}

    elif mode == "trivial":

        async def nothing() -> int:
            return 1

        @app.get("/")
        async def with_nothing(value: int = Depends(nothing)) -> dict[str, bool]:
            return {"ok": True}

    elif mode == "pyjwt":
        bearer = HTTPBearer()

        async def verified(
            creds: HTTPAuthorizationCredentials = Depends(bearer),  # noqa: B008
        ) -> dict[str, Any]:
            try:
                return _decode(creds.credentials)
            except jwt.InvalidTokenError as exc:
                raise HTTPException(401, "invalid token") from exc

        @app.get("/")
        async def with_pyjwt(claims: dict[str, Any] = Depends(verified)) -> dict[str, bool]:  # noqa: B008
            return {"ok": True}

    else:
        app.add_middleware(GateMiddleware, gate=build_gate())

        @app.get("/")
        async def with_jwtgate(user: User = Depends(current_user)) -> dict[str, bool]:  # noqa: B008
            return {"ok": True}

    return app
