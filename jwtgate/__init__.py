"""jwtgate: trust the JSON Web Tokens your users carry, in any WSGI or ASGI app.

The core (``Gate``, ``Issuer``, ``User``, the errors) imports no web
framework; the adapters in ``jwtgate.wsgi`` and ``jwtgate.asgi`` and the
framework helpers import theirs when they are imported.
"""

from __future__ import annotations

from .decorators import require_auth, require_roles
from .errors import (
    AuthError,
    ConfigurationError,
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

__all__ = [
    "AnonymousUser",
    "AuthError",
    "BearerSource",
    "ConfigurationError",
    "CookieSource",
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
