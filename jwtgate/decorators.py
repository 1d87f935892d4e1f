"""``@require_auth`` and ``@require_roles``: one spelling for every framework, sync or async.

They read the request's authentication from ``jwtgate.context`` (set by the
WSGI and ASGI middleware) and raise the standard ``AuthError`` when it falls
short: 401 without a user (carrying the refused token's own error when there
was one), 403 ``insufficient_scope`` when roles are lacking. Nothing but a
verified user passes: a CORS preflight is refused like any anonymous request
(the app's CORS layer answers real preflights before any view runs). Inside
a websocket they ask the gate again on every call, so an expired or revoked
token stops passing; a refused flask-sock handler has its socket closed with
1008, as the ASGI adapter does after ``accept``. The wrapped function keeps
its signature, so FastAPI still sees its parameters.

Every function they wrap is remembered (weakly) in ``WRAPPED``, so that the
adapters can find a route that registered the unprotected original: the
decorator written above the framework's route decorator (see
``jwtgate.routes``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, TypeVar, cast, overload

from .context import _current
from .errors import AuthError, ConfigurationError, Forbidden, MissingToken
from .recheck import Recheck
from .user import AnonymousUser, User

__all__ = ["WRAPPED", "Requirement", "check_access", "require_auth", "require_roles"]

F = TypeVar("F", bound=Callable[..., Any])

#: Every function (or endpoint class) the decorators have wrapped: the unprotected originals.
WRAPPED: weakref.WeakSet[Any] = weakref.WeakSet()


def check_access(roles: tuple[str, ...] = (), any_of: tuple[str, ...] | None = None) -> None:
    """Raise the right ``AuthError`` unless the current user may pass.

    401 without a user (the refused token's own error when one was sent, else
    a plain challenge), 403 ``insufficient_scope`` when roles are lacking.
    Inside a websocket the user is first checked again with the gate (expiry,
    revocation), which may block on a key fetch: async code goes through the
    decorators, which ask without blocking. ``RuntimeError`` outside a jwtgate
    middleware: a protected view that nothing authenticates is a bug, never an
    open door.
    """
    recheck = _first_check(roles, any_of)
    if recheck is not None:
        _check_roles(recheck.user(), roles, any_of)


def _first_check(roles: tuple[str, ...], any_of: tuple[str, ...] | None) -> Recheck | None:
    """Raise unless the request's user passes; the ``Recheck`` to ask first, if it has one."""
    auth = _current.get()
    if auth is None:
        raise RuntimeError(_no_middleware_message())
    user = auth.user
    if not user.is_authenticated:
        raise auth.error if auth.error is not None else MissingToken()
    if auth.recheck is not None:
        return auth.recheck
    if roles or any_of is not None:
        _check_roles(user, roles, any_of)
    return None


def _check_roles(
    user: User | AnonymousUser, roles: tuple[str, ...], any_of: tuple[str, ...] | None
) -> None:
    if (roles or any_of is not None) and not user.has_roles(*roles, any_of=any_of):
        raise Forbidden(roles=roles or any_of or ())


def _no_middleware_message() -> str:
    flask = sys.modules.get("flask")
    if flask is not None and flask.has_request_context():
        return (
            "jwtgate: this Flask app does not authenticate requests; "
            "set it up with JWTGate(app), or JWTGate().init_app(app) in an app factory"
        )
    return (
        "jwtgate: no authentication in this context; "
        "wrap the app in jwtgate.wsgi.GateMiddleware or jwtgate.asgi.GateMiddleware"
    )


def _remember(func: Any) -> None:
    # Not every callable can be weakly referenced (a builtin, an object with
    # __slots__ and no __weakref__); a framework cannot register those as
    # endpoints by mistake in a way we could see, so there is nothing to remember.
    with contextlib.suppress(TypeError):
        WRAPPED.add(func)


def _guard(func: F, roles: tuple[str, ...], any_of: tuple[str, ...] | None) -> F:
    if inspect.isclass(func):
        return cast(F, _guard_endpoint_class(func, roles, any_of))
    if not callable(func):
        raise TypeError("jwtgate: the decorator must be applied to a function")
    _remember(func)
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            recheck = _first_check(roles, any_of)
            if recheck is not None:
                _check_roles(await recheck.user_async(), roles, any_of)
            return await func(*args, **kwargs)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            recheck = _first_check(roles, any_of)
            if recheck is not None:
                _check_roles(recheck.user(), roles, any_of)
        except AuthError as error:
            if args and _closed_websocket(args[0], error):
                return None
            raise
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _closed_websocket(connection: Any, error: AuthError) -> bool:
    """Close the open websocket a refused handler was given; False if it was given none.

    flask-sock (over simple-websocket) completes the handshake before it calls
    the handler, so a refusal there can no longer be an HTTP answer, and an
    exception would leave the server writing one into the open socket. As the
    ASGI adapter does after ``accept``, close with 1008 and the refusal as the
    reason instead. Recognised by its type's package, so nothing is imported.
    """
    if type(connection).__module__.partition(".")[0] != "simple_websocket":
        return False
    from .asgi import WS_POLICY_VIOLATION, close_reason

    connection.close(reason=WS_POLICY_VIOLATION, message=close_reason(error))
    return True


def _guard_endpoint_class(cls: Any, roles: tuple[str, ...], any_of: tuple[str, ...] | None) -> Any:
    """A subclass of a Starlette ``HTTPEndpoint`` / ``WebSocketEndpoint`` that checks first.

    Such a class is an ASGI app that Starlette instantiates per request and
    awaits, which runs its async ``dispatch``: the check goes there, before
    any handler method (or a websocket's ``accept``) runs. Any other class is
    refused: a wrapper function in its place would break how it is called.
    """
    dispatch = getattr(cls, "dispatch", None)
    if not inspect.iscoroutinefunction(dispatch):
        raise ConfigurationError(
            f"require_auth/require_roles: cannot protect the class {cls.__qualname__}; "
            "decorate a Starlette HTTPEndpoint or WebSocketEndpoint, or its handler methods "
            "(in Flask's MethodView, list the decorator in its decorators = [...])"
        )
    _remember(cls)

    async def checked_dispatch(self: Any) -> None:
        recheck = _first_check(roles, any_of)
        if recheck is not None:
            _check_roles(await recheck.user_async(), roles, any_of)
        await dispatch(self)

    namespace = {
        "dispatch": checked_dispatch,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__wrapped__": cls,
    }
    return type(cls)(cls.__name__, (cls,), namespace)


class Requirement:
    """What ``require_auth`` and ``require_roles(...)`` are: a decorator, and a FastAPI dependency.

    As a decorator (``@require_auth``, ``@require_auth()``,
    ``@require_roles("admin")``) it wraps a view. In FastAPI's ``Depends(...)``
    it gives the verified ``User``: its signature, as FastAPI reads it, has one
    parameter whose default is ``Depends`` on the matching ``jwtgate.fastapi``
    dependency (``current_user``, or ``require_roles(...)`` with the same
    roles), so FastAPI itself runs that check, documents it in OpenAPI, and
    lets ``dependency_overrides`` replace either object. That signature is
    built only when something inspects it with FastAPI loaded, so
    ``import jwtgate`` imports no FastAPI.

    The same arguments give the same object, so it can be a
    ``dependency_overrides`` key.
    """

    roles: tuple[str, ...]
    any_of: tuple[str, ...] | None

    def __init__(self, roles: tuple[str, ...], any_of: tuple[str, ...] | None) -> None:
        self.roles = roles
        self.any_of = any_of
        # FastAPI awaits a dependency when getattr(dependency, "__call__") is a coroutine
        # function, and otherwise runs it in a thread (tens of microseconds). Python calls
        # type(self).__call__, the method below; only FastAPI's look finds this one.
        self.__dict__["__call__"] = self._solved

    @overload
    def __call__(self, func: F, /) -> F: ...
    @overload
    def __call__(self, /) -> Requirement: ...
    @overload
    def __call__(self, /, *, user: User) -> Awaitable[User]: ...
    def __call__(self, func: Any = None, /, **solved: Any) -> Any:
        """Wrap ``func``; with no argument, the decorator itself; with ``user=``, FastAPI's call."""
        if func is not None:
            return _guard(func, self.roles, self.any_of)
        if not solved:
            return self
        return self._solved(**solved)

    async def _solved(self, *, user: User) -> User:
        """The user FastAPI solved through the ``jwtgate.fastapi`` dependency: already checked."""
        return user

    @property
    def __signature__(self) -> inspect.Signature:
        """The decorator's signature; with FastAPI loaded, the dependency's (see the class)."""
        if "fastapi" not in sys.modules:
            return _DECORATOR_SIGNATURE
        from .fastapi import dependency_signature

        return dependency_signature(self.roles, self.any_of)

    def __repr__(self) -> str:
        if self.any_of is not None:
            return f"require_roles(any_of={list(self.any_of)!r})"
        if self.roles:
            return f"require_roles({', '.join(map(repr, self.roles))})"
        return "require_auth"


_DECORATOR_SIGNATURE: Final = inspect.Signature(
    [inspect.Parameter("func", inspect.Parameter.POSITIONAL_ONLY)]
)

require_auth: Final = Requirement((), None)
"""Let only verified users in: ``@require_auth`` or ``@require_auth()``.

In FastAPI, ``Depends(require_auth)`` gives the verified ``User``, as
``jwtgate.fastapi.current_user`` does.
"""

_requirements: dict[tuple[tuple[str, ...], tuple[str, ...] | None], Requirement] = {}


def require_roles(*roles: str, any_of: Iterable[str] | None = None) -> Requirement:
    """Let in users holding every one of ``roles``, or at least one of ``any_of``.

    ``@require_roles("admin")``, ``@require_roles("admin", "billing")`` or
    ``@require_roles(any_of=["admin", "editor"])``; one form or the other, not
    both. ``any_of`` may be any iterable (a generator is read once). Misuse is
    refused when the module is imported, not at the first request. In FastAPI,
    ``Depends(require_roles("admin"))`` gives the ``User`` (as
    ``jwtgate.fastapi.require_roles``); the same roles give the same object.
    """
    key = role_arguments(roles, any_of)
    found = _requirements.get(key)
    if found is None:
        found = _requirements.setdefault(key, Requirement(*key))
    return found


def role_arguments(
    roles: tuple[Any, ...], any_of: Iterable[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """``require_roles``' arguments checked and materialised: ``(roles, any_of)`` as tuples.

    Shared with ``jwtgate.fastapi.require_roles``, so that the same misuse
    gets the same error and an ``any_of`` generator is read exactly once.
    """
    if roles and callable(roles[0]):
        raise ConfigurationError('require_roles: call it with roles: @require_roles("admin")')
    if len(roles) == 1 and isinstance(roles[0], list | tuple | set | frozenset):
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
    return _role_tuple(roles, "roles"), any_tuple


def _role_tuple(roles: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(roles, str) or not isinstance(roles, Iterable):
        raise ConfigurationError(f"require_roles: {what} must be a list of role names")
    found = tuple(roles)
    if not all(isinstance(r, str) and r for r in found):
        raise ConfigurationError(f"require_roles: {what} must be non-empty strings")
    return found
