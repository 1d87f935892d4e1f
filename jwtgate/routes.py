"""The decorator-order trap: a route that serves the function a jwtgate decorator wrapped.

Decorators apply bottom-up. Written above the framework's route decorator::

    @require_roles("admin")     # wraps what @app.get returned ...
    @app.get("/admin")          # ... but @app.get already registered the bare function
    def admin(): ...

the framework serves the unprotected original: ``/admin`` answers everyone, and
nothing says so. The decorators remember every function they wrap
(``jwtgate.decorators.WRAPPED``); when an app starts, the adapters look for a
registered endpoint that is one of those originals and refuse to serve the app
(``ConfigurationError`` naming each such route and the fix). The Flask
extension checks the Flask app's view functions; the ASGI middleware walks a
Starlette-style route tree (``routes`` of ``Route``, ``WebSocketRoute``,
``Mount``, ``Host``, FastAPI's ``APIRoute`` and included routers …), read by
attribute so that no framework is imported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .decorators import WRAPPED
from .errors import ConfigurationError

__all__ = ["check_flask_app", "check_routes", "find_routes", "unprotected_routes"]

_FIX = (
    "the framework registered the function before the jwtgate decorator wrapped it, "
    "so the route is not protected. Put @require_auth / @require_roles below the route "
    "decorator (closest to the function), e.g.\n"
    '    @app.get("/admin")\n'
    '    @require_roles("admin")\n'
    "    def admin(): ..."
)
# How deep to look through middleware (``.app``) and mounts: far beyond any real app.
_MAX_DEPTH = 32


def _is_original(endpoint: Any) -> bool:
    try:
        return endpoint in WRAPPED
    except TypeError:  # an unhashable endpoint: nothing jwtgate wrapped
        return False


def _name(endpoint: Any) -> str:
    name = getattr(endpoint, "__qualname__", None) or repr(endpoint)
    module = getattr(endpoint, "__module__", None)
    return f"{module}.{name}" if module else str(name)


def _describe(path: str, methods: Iterable[str] | None, endpoint: Any) -> str:
    listed = sorted(methods or ())
    # HEAD and OPTIONS come with GET and with Flask's automatic answer: noise here.
    shown = " ".join(m for m in listed if m not in ("HEAD", "OPTIONS")) or " ".join(listed)
    return f"{shown or '*'} {path or '/'} -> {_name(endpoint)}"


def _children(route: Any, path: str) -> tuple[list[Any], str] | None:
    """The routes below ``route`` (a mount, a host, an included router) and their prefix."""
    children = getattr(route, "routes", None)
    if isinstance(children, list | tuple):
        return list(children), path
    # FastAPI ≥ 0.13x keeps an included router as one entry: its routes, under its prefix.
    included = getattr(route, "original_router", None)
    children = getattr(included, "routes", None)
    if isinstance(children, list | tuple):
        prefix = getattr(getattr(route, "include_context", None), "prefix", "") or ""
        return list(children), path + str(prefix)
    return None


def find_routes(app: Any) -> list[Any] | None:
    """The route list of ``app`` or of the first app it wraps (``.app``), if any."""
    seen: set[int] = set()
    while app is not None and id(app) not in seen and len(seen) < _MAX_DEPTH:
        seen.add(id(app))
        routes = getattr(app, "routes", None)
        if isinstance(routes, list | tuple):
            return list(routes)
        app = getattr(app, "app", None)
    return None


def unprotected_routes(routes: Iterable[Any], prefix: str = "", depth: int = 0) -> list[str]:
    """Each route (in a Starlette-style tree) whose endpoint is a function jwtgate wrapped."""
    found: list[str] = []
    if depth > _MAX_DEPTH:
        return found
    for route in routes:
        path = prefix + str(getattr(route, "path", "") or "")
        endpoint = getattr(route, "endpoint", None)
        if endpoint is not None and _is_original(endpoint):
            methods = getattr(route, "methods", None) or (
                ("WEBSOCKET",) if "WebSocket" in type(route).__name__ else None
            )
            found.append(_describe(path, methods, endpoint))
        below = _children(route, path)
        if below is not None:
            found.extend(unprotected_routes(below[0], below[1], depth + 1))
    return found


def check_routes(*apps: Any) -> None:
    """Raise ``ConfigurationError`` if a route serves an unprotected original.

    The routes are those of the first of ``apps`` (or of an app it wraps) that has any.
    """
    for app in apps:
        routes = find_routes(app)
        if routes is not None:
            _raise(unprotected_routes(routes))
            return


def check_flask_app(app: Any) -> None:
    """Raise ``ConfigurationError`` if a Flask route (blueprints included) serves an original."""
    views = app.view_functions
    found = [
        _describe(rule.rule, rule.methods, views[rule.endpoint])
        for rule in app.url_map.iter_rules()
        if rule.endpoint in views and _is_original(views[rule.endpoint])
    ]
    _raise(found)


def _raise(found: list[str]) -> None:
    if found:
        routes = "\n".join(f"  {route}" for route in found)
        raise ConfigurationError(f"jwtgate: unprotected route(s):\n{routes}\n{_FIX}")
