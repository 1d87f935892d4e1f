"""Keycloak access tokens, with the checks of ``keycloak-connect``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..issuer import Issuer
from ..sources import Source
from ..user import RolesClaim
from ._common import Unchecked, checked_values, https_url, key_location, required_text

if TYPE_CHECKING:
    from ..remote import RemoteOptions

__all__ = ["keycloak", "keycloak_roles"]


def _role_names(holder: Any) -> list[str]:
    roles = holder.get("roles") if isinstance(holder, Mapping) else None
    if not isinstance(roles, list | tuple):
        return []
    return [role for role in roles if isinstance(role, str)]


def keycloak_roles(client_id: str) -> RolesClaim:
    """Roles from ``realm_access.roles`` and ``resource_access[client_id].roles``.

    The client id is read as one key, so a client id with dots in it
    (``api.example.com``) finds its roles, as no dotted claim path could.
    """

    def roles(claims: Mapping[str, Any]) -> Iterable[str]:
        realm = _role_names(claims.get("realm_access"))
        clients = claims.get("resource_access")
        client = _role_names(clients.get(client_id) if isinstance(clients, Mapping) else None)
        return realm + client

    return roles


def keycloak(
    realm_url: str,
    *,
    client_id: str,
    audience: str | Sequence[str] | Unchecked | None = None,
    algorithms: Sequence[str] = ("RS256",),
    roles_claim: RolesClaim | None = None,
    leeway: float = 0,
    jwks_url: str | None = None,
    remote: RemoteOptions | None = None,
    sources: Sequence[str | Source] | None = None,
) -> Issuer:
    """Access tokens of one Keycloak realm, for the client ``client_id``.

    ``realm_url`` is the realm's issuer (``https://sso.example.com/realms/main``,
    ``…/auth/realms/main`` on old servers); the keys are its
    ``/protocol/openid-connect/certs``. As keycloak-connect checks them: the
    payload's ``typ`` must be ``"Bearer"`` (ID and refresh tokens are
    refused), ``kid`` is required, RS256. ``aud`` must hold ``audience``,
    which defaults to ``client_id`` (keycloak-connect's
    ``verify-token-audience``: the client needs an audience mapper);
    ``jwtgate.presets.UNCHECKED`` accepts any audience. Roles are the realm
    roles and the client's own roles.
    """
    issuer = https_url(
        "realm_url", realm_url, "the realm's URL, e.g. https://sso.example.com/realms/main"
    )
    client = required_text("client_id", client_id, "the Keycloak client the API is")
    if audience is None:
        audiences: tuple[str, ...] | None = (client,)
    else:
        audiences = checked_values("audience", audience, "the audience tokens carry")
    return Issuer(
        issuer,
        algorithms=algorithms,
        audience=audiences,
        expected_claims={"typ": "Bearer"},
        require_kid=True,
        roles_claim=keycloak_roles(client) if roles_claim is None else roles_claim,
        leeway=leeway,
        required_claims=("exp",),
        name=f"keycloak:{issuer}",
        sources=sources,
        metadata={"client_id": client},
        **key_location(f"{issuer}/protocol/openid-connect/certs", jwks_url, remote),
    )
