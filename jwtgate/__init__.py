"""jwtgate: trust the JSON Web Tokens your users carry, in any WSGI or ASGI app.

The core (``Gate``, ``Issuer``, ``User``, the errors) imports no web
framework; the adapters in ``jwtgate.wsgi`` and ``jwtgate.asgi`` and the
framework helpers import theirs when they are imported.

Public names are loaded on first use (PEP 562), so that importing a
submodule — the pytest plugin, loaded by every pytest run where jwtgate is
installed — costs nothing until jwtgate is actually used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names

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
        RevocationUnavailable,
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
        "RevocationUnavailable",
        "RevokedToken",
        "UntrustedIssuer",
    ),
    ".csrf": ("CSRFPolicy",),
    ".gate": ("Gate",),
    ".issuer": ("Issuer",),
    ".sources": ("BearerSource", "CookieSource", "HeaderSource", "QuerySource", "Source"),
    ".user": ("AnonymousUser", "User"),
}

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
    "RevocationUnavailable",
    "RevokedToken",
    "Source",
    "UntrustedIssuer",
    "User",
    "__version__",
    "require_auth",
    "require_roles",
]


__getattr__ = lazy_names(__name__, globals(), _LOCATIONS)


def __dir__() -> list[str]:
    return sorted(__all__)
