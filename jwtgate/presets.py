"""Issuers for known identity providers, with each provider's default token sources."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .issuer import ClaimsHook, Issuer
from .logs import logger
from .sources import Source
from .user import FrozenDict, RolesClaim

if TYPE_CHECKING:
    from .remote import RemoteOptions

__all__ = [
    "NETLIFY_ROLES_CLAIMS",
    "PRIVY_ISSUER",
    "PRIVY_JSON_CLAIMS",
    "PRIVY_JWKS_URL",
    "decode_json_claims",
    "netlify",
    "oidc",
    "privy",
]

#: Netlify keeps roles in ``app_metadata.roles``; its role-based redirects read
#: ``app_metadata.authorization.roles``. A user's roles are the union of both.
NETLIFY_ROLES_CLAIMS = ("app_metadata.roles", "app_metadata.authorization.roles")

#: The ``iss`` of every Privy token.
PRIVY_ISSUER = "privy.io"
#: Where Privy publishes an app's verification keys.
PRIVY_JWKS_URL = "https://auth.privy.io/api/v1/apps/{app_id}/jwks.json"
#: Claims that Privy identity tokens carry as JSON text.
PRIVY_JSON_CLAIMS = ("custom_metadata", "linked_accounts")
_PRIVY_APP_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def netlify(*, jwt_secret: str | bytes, identity_url: str | None = None) -> Issuer:
    """Netlify Identity (GoTrue) access tokens, as the ``nf_jwt`` cookie or a Bearer header.

    GoTrue signs HS256 with the site's JWT secret (Site settings → Identity),
    sets ``kid`` "nf-ident" and no ``iss`` or ``iat``, and may send an empty
    ``aud``; so ``iss`` and ``aud`` are not checked and ``exp`` and ``sub`` are
    required. ``identity_url`` (``https://<site>/.netlify/identity``) is kept
    in ``issuer.metadata`` for code that needs to call GoTrue back.
    """
    return Issuer(
        None,
        algorithms=["HS256"],
        secret=jwt_secret,
        roles_claim=NETLIFY_ROLES_CLAIMS,
        required_claims=("exp", "sub"),
        name="netlify",
        sources=("cookie:nf_jwt", "bearer"),
        metadata={"identity_url": identity_url} if identity_url else None,
    )


def privy(
    app_id: str,
    verification_key: str | bytes | None = None,
    *,
    jwks_url: str | None = None,
    remote: RemoteOptions | None = None,
    roles_claim: RolesClaim = "custom_metadata.roles",
    sources: Sequence[str | Source] = ("cookie:privy-id-token", "header:privy-id-token"),
) -> Issuer:
    """Privy identity tokens, from the ``privy-id-token`` cookie or header.

    ES256, ``iss`` "privy.io", ``aud`` the app id, ``exp`` and ``sub`` (the
    user's DID) required. The key is the PEM "verification key" of the Privy
    dashboard when given (no network), else the app's JWKS
    (``PRIVY_JWKS_URL``; ``jwks_url`` replaces it, e.g. in tests).
    ``custom_metadata`` and ``linked_accounts`` arrive as JSON text and are
    decoded in ``user.claims`` (a malformed one stays text); roles, if the
    app keeps any, are read from ``custom_metadata.roles``.
    """
    if not isinstance(app_id, str) or not _PRIVY_APP_ID.fullmatch(app_id):
        raise ConfigurationError("app_id: must be the Privy app id (letters, digits, - and _)")
    if verification_key is not None and jwks_url is not None:
        raise ConfigurationError("verification_key, jwks_url: give one or the other")
    keys: dict[str, Any]
    if verification_key is not None:
        keys = {"key": verification_key}
    else:
        keys = {"jwks_url": jwks_url or PRIVY_JWKS_URL.format(app_id=app_id), "remote": remote}
    return Issuer(
        PRIVY_ISSUER,
        algorithms=["ES256"],
        audience=app_id,
        roles_claim=roles_claim,
        required_claims=("exp", "sub"),
        name="privy",
        sources=sources,
        metadata={"app_id": app_id},
        claims_hook=decode_json_claims(*PRIVY_JSON_CLAIMS),
        **keys,
    )


def oidc(
    issuer: str,
    *,
    audience: str | Sequence[str] | None,
    algorithms: Sequence[str] = ("RS256", "ES256"),
    discovery: bool | str = True,
    roles_claim: RolesClaim = "roles",
    token_type: str | None = None,
    leeway: float = 0,
    required_claims: Sequence[str] = ("exp",),
    remote: RemoteOptions | None = None,
    sources: Sequence[str | Source] | None = None,
    name: str | None = None,
) -> Issuer:
    """Any OpenID provider, its keys found through discovery.

    ``{issuer}/.well-known/openid-configuration`` (or the URL ``discovery``
    gives) is fetched, its ``issuer`` must equal ``issuer`` exactly, and its
    ``jwks_uri`` gives the keys. ``audience`` is required, as a reminder
    that an API should only take tokens meant for it (``None`` opts out).
    ``token_type="at+jwt"`` accepts only RFC 9068 access tokens.
    """
    return Issuer(
        issuer,
        algorithms=algorithms,
        audience=audience,
        discovery=discovery,
        roles_claim=roles_claim,
        token_type=token_type,
        leeway=leeway,
        required_claims=required_claims,
        remote=remote,
        sources=sources,
        name=name,
    )


def decode_json_claims(*names: str) -> ClaimsHook:
    """A ``claims_hook`` that decodes the named claims when they hold JSON text.

    The decoded values are read-only (objects become ``FrozenDict``, arrays
    tuples) like every claim. A value that is not valid JSON keeps its text
    and is logged at debug level: the token was valid, so the request is not
    refused for it.
    """

    def hook(claims: Mapping[str, Any]) -> Mapping[str, Any]:
        decoded: dict[str, Any] = {}
        for name in names:
            value = claims.get(name)
            if not isinstance(value, str):
                continue
            try:
                decoded[name] = _freeze(json.loads(value))
            except (ValueError, RecursionError):
                logger.debug("jwtgate: the %s claim is not valid JSON; kept as text", name)
        if not decoded:
            return claims
        return FrozenDict({**claims, **decoded})

    return hook


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value
