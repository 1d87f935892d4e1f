"""Starlette conveniences over ``jwtgate.asgi.GateMiddleware``.

Starlette needs nothing more than the middleware: ``request.user``,
``request.auth``, its ``@requires`` and jwtgate's ``@require_auth`` /
``@require_roles`` all work with it. This module adds the few helpers an
endpoint may want: the user or the refusal in one call, the standard
refusal as a Starlette ``Response`` (for a websocket's
``send_denial_response``, say), ``gate_middleware`` for
``Starlette(middleware=[...])``, and ``exception_handlers``, which renders
the refusal inside Starlette's own exception handling (the middleware
renders it anyway, wherever it sits).
"""

from __future__ import annotations

from typing import Any

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import Response

from .asgi import GateMiddleware
from .decorators import require_auth, require_roles
from .errors import AuthError, MissingToken
from .gate import Gate
from .user import User

__all__ = [
    "current_user",
    "error_response",
    "exception_handlers",
    "gate_middleware",
    "handle_auth_error",
    "optional_user",
    "request_auth",
    "require_auth",
    "require_roles",
]


def gate_middleware(gate: Gate, **options: Any) -> Middleware:
    """``Middleware(GateMiddleware, gate=gate, ...)``, for ``Starlette(middleware=[...])``."""
    return Middleware(GateMiddleware, gate=gate, **options)


def request_auth(
    connection: HTTPConnection, *, remedy: str = "add it to middleware=[...]"
) -> tuple[Any, AuthError | None]:
    """The user and refusal ``GateMiddleware`` left in the scope (``RuntimeError`` if none)."""
    scope = connection.scope
    if "jwtgate.error" not in scope:
        raise RuntimeError(
            f"jwtgate: the request did not pass through jwtgate.asgi.GateMiddleware; {remedy}"
        )
    return scope["user"], scope["jwtgate.error"]


def current_user(connection: HTTPConnection) -> User:
    """The verified user; raises the standard 401 (the refused token's own error) otherwise.

    The middleware renders the raised ``AuthError``, on HTTP and websockets alike.
    """
    user, error = request_auth(connection)
    if not user.is_authenticated:
        raise error if error is not None else MissingToken()
    result: User = user
    return result


def optional_user(connection: HTTPConnection) -> User | None:
    """The verified user, or ``None`` when there is no token or it was refused."""
    user, _error = request_auth(connection)
    return user if user.is_authenticated else None


async def handle_auth_error(connection: HTTPConnection, exc: Exception) -> Response:
    """Starlette exception handler: an ``AuthError`` becomes the standard refusal.

    Never needed: ``GateMiddleware`` renders an ``AuthError`` wherever it sits,
    also around the whole app, where Starlette's outermost layer has turned it
    into a 500 that the middleware holds back and replaces. Registered, it
    answers inside Starlette instead (where other exception handlers and
    middleware see the refusal as a response). On a websocket the error is
    raised on, for the middleware to answer with a denial response or a close.
    """
    if not isinstance(exc, AuthError) or connection.scope["type"] != "http":
        raise exc
    return error_response(exc)


#: ``Starlette(exception_handlers=jwtgate.starlette.exception_handlers)``.
exception_handlers: dict[Any, Any] = {AuthError: handle_auth_error}


def error_response(error: AuthError) -> Response:
    """The standard refusal as a Starlette ``Response``: status, RFC 6750 challenge, JSON."""
    return Response(
        error.body(),
        status_code=error.status,
        headers=dict(error.response_headers()),
        media_type="application/json",
    )
