"""The current request's authentication, shared by every adapter and the decorators.

Both adapters set it for the duration of a request; ``require_auth`` and
``require_roles`` read it. A ``ContextVar`` follows a request across threads
that copy the context (Starlette's thread pool, ``asgiref.sync_to_async``) and
across ``await``, so one decorator serves Flask, Starlette and FastAPI alike.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import AuthError
from .user import AnonymousUser, User

if TYPE_CHECKING:
    from .recheck import Recheck

__all__ = [
    "ANONYMOUS",
    "ANONYMOUS_AUTH",
    "PREFLIGHT_AUTH",
    "RequestAuth",
    "current_auth",
    "reset_auth",
    "set_auth",
]

ANONYMOUS = AnonymousUser()


@dataclass(frozen=True, slots=True)
class RequestAuth:
    """What the middleware learnt about the request.

    ``error`` is the refusal of a token that was presented and refused (the
    user is then anonymous). ``preflight`` is True for a CORS preflight
    (``OPTIONS`` with ``Access-Control-Request-Method``): browsers send it
    without credentials, so its user is anonymous, the decorators refuse it
    like any anonymous request and ``reject_invalid`` never refuses it; the
    app's CORS layer answers it before any view. ``recheck`` is set for a
    websocket, whose user the decorators ask the gate about again on every
    call (see ``jwtgate.recheck``); ``None`` for a plain request, which was
    authenticated just before its view ran.
    """

    user: User | AnonymousUser = ANONYMOUS
    error: AuthError | None = None
    preflight: bool = False
    recheck: Recheck | None = None


#: The ``RequestAuth`` of an ordinary request without a token, and of a CORS preflight.
ANONYMOUS_AUTH = RequestAuth()
PREFLIGHT_AUTH = RequestAuth(preflight=True)

_current: ContextVar[RequestAuth | None] = ContextVar("jwtgate.auth", default=None)


def current_auth() -> RequestAuth | None:
    """The current request's ``RequestAuth``, or ``None`` outside a jwtgate middleware."""
    return _current.get()


def set_auth(auth: RequestAuth) -> Token[RequestAuth | None]:
    """Make ``auth`` current; give the returned token to ``reset_auth`` afterwards."""
    return _current.set(auth)


def reset_auth(token: Token[RequestAuth | None]) -> None:
    """Restore what was current before ``set_auth``."""
    _current.reset(token)
