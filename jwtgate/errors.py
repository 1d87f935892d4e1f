"""The one error model: every refusal is an ``AuthError`` that renders alike everywhere.

Each error carries an HTTP ``status``, an RFC 6750 ``error`` code and a
``description`` that is safe to show a client: descriptions are fixed strings
written here, never built from the token, a key or a secret.

``AuthError`` is a werkzeug ``HTTPException`` so that Flask renders one raised
inside a view itself (as a 401/403 with our headers and JSON body) instead of
turning it into a 500 before any middleware can see it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from werkzeug.exceptions import HTTPException

__all__ = [
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
]


class ConfigurationError(ValueError):
    """A ``Gate``, ``Issuer`` or source was configured in a way that cannot be safe or work.

    Raised at construction time, never per request. The message names the field.
    """


class AuthError(HTTPException):
    """Base of every refusal: status, RFC 6750 error code, client-safe description."""

    code: int = 401
    error: ClassVar[str | None] = "invalid_token"
    default_description: ClassVar[str] = "Authentication failed"

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description or self.default_description)

    @property
    def status(self) -> int:
        """The HTTP status code this refusal answers with."""
        return self.code

    @property
    def safe_description(self) -> str:
        """The description, guaranteed to fit in a quoted header parameter."""
        text = self.description or self.default_description
        return "".join(c for c in text if c.isprintable() and c not in '"\\')

    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value (RFC 6750 §3)."""
        params = self._challenge_params()
        if not params:
            return "Bearer"
        return "Bearer " + ", ".join(f'{name}="{value}"' for name, value in params)

    def _challenge_params(self) -> list[tuple[str, str]]:
        if self.error is None:
            return []
        return [("error", self.error), ("error_description", self.safe_description)]

    def body(self) -> bytes:
        """The JSON body ``{"error": …, "error_description": …}``."""
        payload = {
            "error": self.error or "missing_token",
            "error_description": self.safe_description,
        }
        return json.dumps(payload, separators=(",", ":")).encode()

    def response_headers(self) -> list[tuple[str, str]]:
        """Every header of the rendered response, including ``Content-Type``."""
        return [
            ("Content-Type", "application/json"),
            ("WWW-Authenticate", self.challenge()),
            ("Cache-Control", "no-store"),
        ]

    # werkzeug's HTTPException rendering hooks, used by Flask and plain WSGI apps.
    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return self.response_headers()

    def get_body(self, *args: Any, **kwargs: Any) -> str:
        return self.body().decode()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"


class MissingToken(AuthError):
    """No token was presented where one is required; the challenge carries no error code."""

    error = None
    default_description = "Authentication is required"


class InvalidToken(AuthError):
    """A token was presented and refused."""

    default_description = "The token is invalid"


class ExpiredToken(InvalidToken):
    """The token's ``exp`` has passed."""

    default_description = "The token has expired"


class ImmatureToken(InvalidToken):
    """The token's ``nbf`` (or ``iat``) lies in the future."""

    default_description = "The token is not valid yet"


class InvalidSignature(InvalidToken):
    """The signature does not verify with any of the issuer's keys."""

    default_description = "The token's signature is invalid"


class InvalidClaims(InvalidToken):
    """A claim is missing, of the wrong type, or not what the issuer requires."""

    default_description = "The token's claims are invalid"


class UntrustedIssuer(InvalidToken):
    """The token's ``iss`` names no configured issuer."""

    default_description = "The token's issuer is not trusted"


class RevokedToken(InvalidToken):
    """The application's ``is_revoked`` hook refused the user."""

    default_description = "The token has been revoked"


class InvalidRequest(AuthError):
    """The request itself is malformed (RFC 6750 ``invalid_request``), e.g. two tokens."""

    code = 400
    error = "invalid_request"
    default_description = "The request is malformed"


class Forbidden(AuthError):
    """The user is authenticated but lacks the roles the view requires."""

    code = 403
    error = "insufficient_scope"
    default_description = "Insufficient roles"

    def __init__(self, description: str | None = None, *, roles: Iterable[str] = ()) -> None:
        super().__init__(description)
        self.required_roles: tuple[str, ...] = tuple(roles)

    def _challenge_params(self) -> list[tuple[str, str]]:
        params = super()._challenge_params()
        scope = " ".join(r for r in self.required_roles if r.isprintable() and '"' not in r)
        if scope:
            params.append(("scope", scope))
        return params


class CrossSiteRequest(AuthError):
    """An unsafe request authenticated by a cookie came without same-origin evidence."""

    code = 403
    error = "csrf_rejected"
    default_description = "Cross-site request refused: the request lacks same-origin evidence"

    def __init__(self, description: str | None = None, *, reason: str = "no_evidence") -> None:
        super().__init__(description)
        #: ``"origin_mismatch"`` (an ``Origin`` neither the request's own nor trusted)
        #: or ``"no_evidence"`` (no ``Origin``, no ``Sec-Fetch-Site: same-origin``).
        self.reason = reason


class KeysUnavailable(AuthError):
    """The issuer's keys cannot be fetched and none are cached: try again later."""

    code = 503
    error = "temporarily_unavailable"
    default_description = "The issuer's keys are temporarily unavailable"

    def __init__(self, description: str | None = None, *, retry_after: int = 30) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def response_headers(self) -> list[tuple[str, str]]:
        return [*super().response_headers(), ("Retry-After", str(self.retry_after))]


class RevocationUnavailable(AuthError):
    """The revocation store can't say whether the token is revoked: try again later.

    Raised instead of accepting the token when the store's policy fails
    closed (``on_error="deny"``, the default) and its server is unreachable.
    """

    code = 503
    error = "temporarily_unavailable"
    default_description = "Revocation status is temporarily unavailable"

    def __init__(self, description: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def response_headers(self) -> list[tuple[str, str]]:
        return [*super().response_headers(), ("Retry-After", str(self.retry_after))]


class RenamedParameters:
    """Re-raise a ``ConfigurationError`` in the caller's words: its parameters renamed.

    The core's messages start with the parameters at fault (``"secret: …"``,
    ``"secret, key: …"``); a preset's caller or a reader of settings never
    passed those, so they are replaced by the argument, setting or flag that
    supplied them, when every one of them has a new name.
    """

    __slots__ = ("_names",)

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = names

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        if not isinstance(error, ConfigurationError):
            return
        head, sep, rest = str(error).partition(": ")
        parameters = [part.strip() for part in head.split(",")]
        if sep and all(part in self._names for part in parameters):
            named = dict.fromkeys(self._names[part] for part in parameters)
            raise ConfigurationError(f"{', '.join(named)}: {rest}") from None
