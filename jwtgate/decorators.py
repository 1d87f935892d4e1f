"""``@require_auth`` and ``@require_roles``: one spelling for every framework, sync or async.

They read the request's authentication from ``jwtgate.context`` (set by the
WSGI and ASGI middleware) and raise the standard ``AuthError`` when it falls
short: 401 without a user (carrying the refused token's own error when there
was one), 403 ``insufficient_scope`` when roles are lacking. The wrapped
function keeps its signature, so FastAPI still sees its parameters.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from .context import _current
from .errors import ConfigurationError, Forbidden, MissingToken

__all__ = ["check_access", "require_auth", "require_roles"]

F = TypeVar("F", bound=Callable[..., Any])


def check_access(roles: tuple[str, ...] = (), any_of: tuple[str, ...] | None = None) -> None:
    """Raise the right ``AuthError`` unless the current user may pass.

    401 without a user (the refused token's own error when one was sent, else
    a plain challenge), 403 ``insufficient_scope`` when roles are lacking;
    CORS preflights pass. ``RuntimeError`` outside a jwtgate middleware: a
    protected view that nothing authenticates is a bug, never an open door.
    """
    auth = _current.get()
    if auth is None:
        raise RuntimeError(
            "jwtgate: no authentication in this context; "
            "wrap the app in jwtgate.wsgi.GateMiddleware or jwtgate.asgi.GateMiddleware"
        )
    if auth.preflight:
        return
    user = auth.user
    if not user.is_authenticated:
        raise auth.error if auth.error is not None else MissingToken()
    if (roles or any_of is not None) and not user.has_roles(*roles, any_of=any_of):
        raise Forbidden(roles=roles or any_of or ())


def _guard(func: F, roles: tuple[str, ...], any_of: tuple[str, ...] | None) -> F:
    if not callable(func):
        raise TypeError("jwtgate: the decorator must be applied to a function")
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            check_access(roles, any_of)
            return await func(*args, **kwargs)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_access(roles, any_of)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@overload
def require_auth(func: F) -> F: ...
@overload
def require_auth(func: None = None) -> Callable[[F], F]: ...
def require_auth(func: F | None = None) -> F | Callable[[F], F]:
    """Let only verified users in: ``@require_auth`` or ``@require_auth()``."""
    if func is None:
        return lambda f: _guard(f, (), None)
    return _guard(func, (), None)


def require_roles(*roles: str, any_of: Iterable[str] | None = None) -> Callable[[F], F]:
    """Let in users holding every one of ``roles``, or at least one of ``any_of``.

    ``@require_roles("admin")``, ``@require_roles("admin", "billing")`` or
    ``@require_roles(any_of=["admin", "editor"])``; one form or the other, not
    both. Misuse is refused when the module is imported, not at the first
    request.
    """
    given: tuple[Any, ...] = roles
    if given and callable(given[0]):
        raise ConfigurationError('require_roles: call it with roles: @require_roles("admin")')
    if len(given) == 1 and isinstance(given[0], list | tuple | set | frozenset):
        raise ConfigurationError(
            'require_roles: pass roles as arguments (require_roles("a", "b")) '
            "or as any_of=[...], not as one list"
        )
    any_tuple = None if any_of is None else _role_tuple(any_of, "any_of")
    if roles and any_tuple is not None:
        raise ConfigurationError(
            "require_roles: give either roles (all required) or any_of (one required), not both"
        )
    if not roles and not any_tuple:
        raise ConfigurationError("require_roles: name at least one role")
    required = _role_tuple(roles, "roles")
    return lambda func: _guard(func, required, any_tuple)


def _role_tuple(roles: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(roles, str):
        raise ConfigurationError(f"require_roles: {what} must be a list of role names")
    found = tuple(roles)
    if not all(isinstance(r, str) and r for r in found):
        raise ConfigurationError(f"require_roles: {what} must be non-empty strings")
    return found
