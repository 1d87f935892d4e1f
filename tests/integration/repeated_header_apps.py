"""One app, twice: a plain WSGI app for gunicorn and a Starlette app for uvicorn.

(And ``asgi_wrapped``: the Starlette app inside ``GateMiddleware``, no exception handler.)

Both trust the Netlify-style secret in ``REPEATED_SECRET`` and read tokens from
``Authorization: Bearer``, the ``nf_jwt`` cookie and the ``privy-id-token``
header. ``/`` is public and says who asked; ``/me`` needs a user (GET, or POST
with same-origin evidence for a cookie token).
"""

from __future__ import annotations

import json
import os
from typing import Any

from jwtgate import Gate, presets, require_auth
from jwtgate.context import current_auth

SOURCES = ["bearer", "cookie:nf_jwt", "header:privy-id-token"]


def _gate() -> Gate:
    return Gate(
        issuers=[presets.netlify(jwt_secret=os.environ["REPEATED_SECRET"])], sources=SOURCES
    )


def _who() -> dict[str, Any]:
    auth = current_auth()
    assert auth is not None
    error = auth.error
    return {
        "sub": auth.user.subject if auth.user.is_authenticated else None,
        "error": None if error is None else error.safe_description,
    }


@require_auth
def _me() -> dict[str, Any]:
    return _who()


def wsgi() -> Any:
    """The WSGI app, behind ``jwtgate.wsgi.GateMiddleware``."""
    from jwtgate.wsgi import GateMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = _me() if environ.get("PATH_INFO") == "/me" else _who()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return GateMiddleware(app, _gate())


def asgi() -> Any:
    """The same app for ASGI: Starlette, ``jwtgate.asgi.GateMiddleware`` added as usual."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from jwtgate.starlette import gate_middleware

    async def who(request: Request) -> JSONResponse:
        return JSONResponse(_who())

    async def me(request: Request) -> JSONResponse:
        return JSONResponse(_me())

    return Starlette(
        routes=[Route("/", who), Route("/me", me, methods=["GET", "POST"])],
        middleware=[gate_middleware(_gate())],
    )


def asgi_wrapped() -> Any:
    """The Starlette app wrapped from outside, with no exception handler registered."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from jwtgate.asgi import GateMiddleware

    async def who(request: Request) -> JSONResponse:
        return JSONResponse(_who())

    @require_auth
    async def me(request: Request) -> JSONResponse:
        return JSONResponse(_who())

    return GateMiddleware(Starlette(routes=[Route("/", who), Route("/me", me)]), _gate())
