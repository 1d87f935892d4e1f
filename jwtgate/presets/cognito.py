"""Amazon Cognito user pool tokens, with the checks of ``aws-jwt-verify``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigurationError
from ..issuer import Issuer
from ..sources import Source
from ..user import RolesClaim
from ._common import Unchecked, checked_values, key_location, required_text

if TYPE_CHECKING:
    from ..remote import RemoteOptions

__all__ = ["cognito"]

# aws-jwt-verify's USER_POOL_ID_REGEX.
_USER_POOL_ID = re.compile(r"((?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d)_[a-zA-Z0-9]+")


def cognito(
    region: str,
    user_pool_id: str,
    *,
    client_id: str | Sequence[str] | Unchecked | None,
    token_use: Literal["access", "id"] = "access",
    roles_claim: RolesClaim = "cognito:groups",
    jwks_url: str | None = None,
    remote: RemoteOptions | None = None,
    sources: Sequence[str | Source] | None = None,
) -> Issuer:
    """Access tokens (or, with ``token_use="id"``, ID tokens) of one Cognito user pool.

    ``iss`` must be the pool's (``https://cognito-idp.{region}.amazonaws.com/{pool}``,
    or its newer ``https://issuer-cognito-idp…`` form); ``token_use`` must be
    the kind asked for; ``kid`` is required; RS256. Cognito access tokens
    carry the app client in ``client_id`` and no ``aud``, ID tokens carry it
    in ``aud``: ``client_id`` (App integration → App clients) is checked
    where the kind keeps it. ``jwtgate.presets.UNCHECKED`` accepts any app
    client of the pool. Roles are the user's ``cognito:groups``.
    """
    region = required_text("region", region, "the pool's AWS region, e.g. eu-west-1")
    pool = required_text("user_pool_id", user_pool_id, "e.g. eu-west-1_AbCdEf123")
    match = _USER_POOL_ID.fullmatch(pool)
    if match is None:
        raise ConfigurationError("user_pool_id: must look like eu-west-1_AbCdEf123")
    if match.group(1) != region:
        raise ConfigurationError(
            f"region: the user pool {pool} is in {match.group(1)}, not in {region}"
        )
    if token_use not in ("access", "id"):
        raise ConfigurationError('token_use: "access" or "id"')
    clients = checked_values("client_id", client_id, "the app client id of the user pool")
    expected: dict[str, Any] = {"token_use": token_use}
    if clients is not None:
        # One string, as aws-jwt-verify wants it (an array in aud is refused too).
        accepted = frozenset(clients)
        field = "aud" if token_use == "id" else "client_id"
        expected[field] = lambda value: isinstance(value, str) and value in accepted
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool}"
    return Issuer(
        issuer,
        issuer_aliases=(f"https://issuer-cognito-idp.{region}.amazonaws.com/{pool}",),
        algorithms=["RS256"],
        expected_claims=expected,
        require_kid=True,
        roles_claim=roles_claim,
        required_claims=("exp",),
        name=f"cognito:{pool}",
        sources=sources,
        metadata={"region": region, "user_pool_id": pool, "token_use": token_use},
        **key_location(f"{issuer}/.well-known/jwks.json", jwks_url, remote),
    )
