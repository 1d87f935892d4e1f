"""Privy identity tokens and access tokens, with the checks of ``@privy-io/node``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigurationError
from ..issuer import Issuer
from ..sources import Source
from ..user import FrozenDict, RolesClaim
from ._common import decode_json_claims

if TYPE_CHECKING:
    from ..remote import RemoteOptions

__all__ = ["PRIVY_ISSUER", "PRIVY_JSON_CLAIMS", "PRIVY_JWKS_URL", "privy"]

#: The ``iss`` of every Privy token.
PRIVY_ISSUER = "privy.io"
#: Where Privy publishes an app's verification keys.
PRIVY_JWKS_URL = "https://auth.privy.io/api/v1/apps/{app_id}/jwks.json"
#: Claims that Privy identity tokens carry as JSON text.
PRIVY_JSON_CLAIMS = ("custom_metadata", "linked_accounts")
_PRIVY_APP_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SOURCES = {
    "identity": ("cookie:privy-id-token", "header:privy-id-token"),
    "access": ("cookie:privy-token", "bearer"),
}


def _json_text(value: Any, kind: type | tuple[type, ...]) -> bool:
    """True when ``value`` is JSON text of a ``kind`` (list or dict), as Privy's SDK parses it."""
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), kind)
    except (ValueError, RecursionError):
        return False


def _non_empty_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _identity_claims(claims: Mapping[str, Any]) -> Mapping[str, Any]:
    """The JSON claims decoded, and ``email`` from the first email account (Privy puts it there)."""
    claims = decode_json_claims(*PRIVY_JSON_CLAIMS)(claims)
    if "email" in claims:
        return claims
    for account in claims.get("linked_accounts") or ():
        if isinstance(account, Mapping) and account.get("type") == "email":
            address = account.get("address")
            if isinstance(address, str):
                return FrozenDict({**claims, "email": address})
    return claims


def privy(
    app_id: str,
    verification_key: str | bytes | None = None,
    *,
    token: Literal["identity", "access"] = "identity",
    jwks_url: str | None = None,
    remote: RemoteOptions | None = None,
    roles_claim: RolesClaim = "custom_metadata.roles",
    sources: Sequence[str | Source] | None = None,
) -> Issuer:
    """Privy tokens of one kind: ``token="identity"`` (the default) or ``"access"``.

    Both are ES256 with header ``typ`` "JWT", ``iss`` "privy.io", ``aud`` the
    app id and a non-empty ``sub`` (the user's DID), as ``@privy-io/node``
    checks them. Each kind refuses the other, as its ``verifyIdentityToken``
    and ``verifyAccessToken`` do:

    - identity tokens must carry ``linked_accounts`` (JSON text of an array)
      and, if any, ``custom_metadata`` (JSON text of an object); both are
      decoded in ``user.claims`` and ``user.email`` is the first email
      account's address. Read from the ``privy-id-token`` cookie, then the
      ``privy-id-token`` header.
    - access tokens must carry ``sid`` (the session) and ``iat``. Read from
      the ``privy-token`` cookie (Privy's HttpOnly-cookie mode), then
      ``Authorization: Bearer``.

    The key is the PEM "verification key" of the Privy dashboard when given
    (no network), else the app's JWKS (``PRIVY_JWKS_URL``; ``jwks_url``
    replaces it, e.g. in tests). Roles, if the app keeps any, are read from
    ``custom_metadata.roles`` (identity tokens only carry it).
    """
    if not isinstance(app_id, str) or not _PRIVY_APP_ID.fullmatch(app_id):
        raise ConfigurationError("app_id: must be the Privy app id (letters, digits, - and _)")
    if token not in _SOURCES:
        raise ConfigurationError('token: "identity" or "access"')
    if verification_key is not None and jwks_url is not None:
        raise ConfigurationError("verification_key, jwks_url: give one or the other")
    keys: dict[str, Any]
    if verification_key is not None:
        keys = {"key": verification_key}
    else:
        keys = {"jwks_url": jwks_url or PRIVY_JWKS_URL.format(app_id=app_id), "remote": remote}
    if token == "identity":
        expected: dict[str, Any] = {
            "sub": _non_empty_text,
            "linked_accounts": lambda v: _json_text(v, list),
            # The SDK takes any JSON object, arrays included ("typeof … === 'object'").
            "custom_metadata": lambda v: v is None or _json_text(v, (dict, list)),
        }
        required: tuple[str, ...] = ("exp", "sub", "linked_accounts")
    else:
        # verifyAccessToken also wants aud as one string (an array that holds the app
        # id passes jose's check, not Privy's).
        expected = {"sub": _non_empty_text, "sid": _non_empty_text, "aud": app_id}
        expected.update(iat=_positive_number, exp=_positive_number)
        required = ("exp", "iat", "sub", "sid")
    return Issuer(
        PRIVY_ISSUER,
        algorithms=["ES256"],
        audience=app_id,
        roles_claim=roles_claim,
        required_claims=required,
        token_type="JWT",
        expected_claims=expected,
        name="privy" if token == "identity" else "privy-access",
        sources=_SOURCES[token] if sources is None else sources,
        metadata={"app_id": app_id, "token": token},
        claims_hook=_identity_claims if token == "identity" else None,
        **keys,
    )
