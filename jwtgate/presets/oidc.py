"""Any OpenID provider, its keys found through discovery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..algorithms import SUPPORTED, family_of
from ..claim_rules import ClaimRule
from ..errors import ConfigurationError
from ..issuer import Issuer
from ..sources import Source
from ..user import RolesClaim
from ._common import Unchecked, checked_values, required_text

if TYPE_CHECKING:
    from ..remote import RemoteOptions

__all__ = ["oidc"]


def oidc(
    issuer: str,
    *,
    audience: str | Sequence[str] | Unchecked | None,
    algorithms: Sequence[str] = ("RS256", "ES256"),
    discovery: bool | str = True,
    jwks_url: str | None = None,
    roles_claim: RolesClaim = "roles",
    token_type: str | None = None,
    leeway: float = 0,
    required_claims: Sequence[str] = ("exp",),
    expected_claims: Mapping[str, ClaimRule] | None = None,
    authorized_parties: Sequence[str] | None = None,
    remote: RemoteOptions | None = None,
    sources: Sequence[str | Source] | None = None,
    name: str | None = None,
) -> Issuer:
    """Any OpenID provider, its keys found through discovery.

    ``{issuer}/.well-known/openid-configuration`` (or the URL ``discovery``
    gives) is fetched, its ``issuer`` must equal ``issuer`` exactly, and its
    ``jwks_uri`` gives the keys; ``jwks_url`` names the keys directly instead.
    ``audience`` is required, so that an API only takes tokens meant for it:
    ``jwtgate.presets.UNCHECKED`` accepts any audience (``None`` is refused,
    so that an unset environment variable cannot turn the check off).
    ``token_type="at+jwt"`` accepts only RFC 9068 access tokens;
    ``expected_claims`` and ``authorized_parties`` add the checks of
    ``Issuer``.
    """
    required_text("issuer", issuer, "the provider's issuer URL, exactly as tokens carry it")
    audiences = checked_values("audience", audience, "the API's audience, as tokens carry it")
    shared = [a for a in algorithms if a in SUPPORTED and family_of(a) == "HMAC"]
    if shared:
        raise ConfigurationError(
            f"algorithms: {shared[0]} needs a shared secret; an OpenID provider's keys "
            "are public (RS256, ES256 …)"
        )
    return Issuer(
        issuer,
        algorithms=algorithms,
        audience=audiences,
        discovery=False if jwks_url is not None else discovery,
        jwks_url=jwks_url,
        roles_claim=roles_claim,
        token_type=token_type,
        leeway=leeway,
        required_claims=required_claims,
        expected_claims=expected_claims,
        authorized_parties=authorized_parties,
        remote=remote,
        sources=sources,
        name=name,
    )
