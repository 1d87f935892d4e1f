"""Auth0 access tokens for an API, with the checks of ``express-oauth2-jwt-bearer``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..issuer import Issuer
from ..sources import Source
from ._common import checked_values, host_name, key_location

if TYPE_CHECKING:
    from ..remote import RemoteOptions

__all__ = ["AUTH0_LEEWAY", "auth0"]

#: express-oauth2-jwt-bearer's default ``clockTolerance`` (seconds).
AUTH0_LEEWAY = 5


def auth0(
    domain: str,
    *,
    audience: str | Sequence[str],
    roles_claim: str | Sequence[str] | None = None,
    algorithms: Sequence[str] = ("RS256",),
    leeway: float = AUTH0_LEEWAY,
    jwks_url: str | None = None,
    remote: RemoteOptions | None = None,
    sources: Sequence[str | Source] | None = None,
) -> Issuer:
    """Access tokens that Auth0 issues for your API.

    ``domain`` is the tenant's domain (``example.us.auth0.com``) or its custom
    domain; ``iss`` must be ``https://{domain}/`` and the keys are
    ``https://{domain}/.well-known/jwks.json``. ``audience`` is the API's
    Identifier (Dashboard → Applications → APIs) and is required, as Auth0's
    SDK requires it. RS256 only (``algorithms`` widens it, e.g. to PS256),
    ``exp`` required, 5 s of clock leeway as the SDK allows.

    Roles are the ``permissions`` claim (RBAC with "Add Permissions in the
    Access Token") and, when ``roles_claim`` names it, the namespaced claim an
    Action adds (``"https://example.com/roles"``).
    """
    host = host_name("domain", domain, "example.us.auth0.com (the tenant or custom domain)")
    audiences = checked_values(
        "audience",
        audience,
        "the API Identifier from Auth0's Dashboard → Applications → APIs",
        allow_unchecked=False,
    )
    extra: tuple[str, ...] = ()
    if roles_claim is not None:
        extra = (roles_claim,) if isinstance(roles_claim, str) else tuple(roles_claim)
    issuer = f"https://{host}/"
    return Issuer(
        issuer,
        algorithms=algorithms,
        audience=audiences,
        roles_claim=("permissions", *extra),
        leeway=leeway,
        required_claims=("exp",),
        name="auth0",
        sources=sources,
        metadata={"domain": host},
        **key_location(f"{issuer}.well-known/jwks.json", jwks_url, remote),
    )
