"""jwtgate: trust the JSON Web Tokens your users carry, in any WSGI or ASGI app.

The core (``Gate``, ``Issuer``, ``User``, the errors) imports no web
framework; the adapters in ``jwtgate.wsgi`` and ``jwtgate.asgi`` and the
framework helpers import theirs when they are imported.

Public names are loaded on first use (PEP 562), so that importing a
submodule — the pytest plugin, loaded by every pytest run where jwtgate is
installed — costs nothing until jwtgate is actually used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .csrf import CSRFPolicy
    from .decorators import require_auth, require_roles
    from .errors import (
        AuthError,
        ConfigurationError,
        CrossSiteRequest,
        ExpiredToken,
        Forbidden,
        ImmatureToken,
        InvalidClaims,
        InvalidRequest,
        InvalidSignature,
        InvalidToken,
        KeysUnavailable,
        MissingToken,
        RevokedToken,
        UntrustedIssuer,
    )
    from .gate import Gate
    from .issuer import Issuer
    from .sources import BearerSource, CookieSource, HeaderSource, QuerySource, Source
    from .user import AnonymousUser, User

__version__ = "0.1.0"

_LOCATIONS = {
    ".decorators": ("require_auth", "require_roles"),
    ".errors": (
        "AuthError",
        "ConfigurationError",
        "CrossSiteRequest",
        "ExpiredToken",
        "Forbidden",
        "ImmatureToken",
        "InvalidClaims",
        "InvalidRequest",
        "InvalidSignature",
        "InvalidToken",
        "KeysUnavailable",
        "MissingToken",
        "RevokedToken",
        "UntrustedIssuer",
    ),
    ".csrf": ("CSRFPolicy",),
    ".gate": ("Gate",),
    ".issuer": ("Issuer",),
    ".sources": ("BearerSource", "CookieSource", "HeaderSource", "QuerySource", "Source"),
    ".user": ("AnonymousUser", "User"),
}
_MODULE_OF = {name: module for module, names in _LOCATIONS.items() for name in names}

__all__ = [
    "AnonymousUser",
    "AuthError",
    "BearerSource",
    "CSRFPolicy",
    "ConfigurationError",
    "CookieSource",
    "CrossSiteRequest",
    "ExpiredToken",
    "Forbidden",
    "Gate",
    "HeaderSource",
    "ImmatureToken",
    "InvalidClaims",
    "InvalidRequest",
    "InvalidSignature",
    "InvalidToken",
    "Issuer",
    "KeysUnavailable",
    "MissingToken",
    "QuerySource",
    "RevokedToken",
    "Source",
    "UntrustedIssuer",
    "User",
    "__version__",
    "require_auth",
    "require_roles",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'jwtgate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
