"""Provider-shaped tokens for ``TokenFactory``: the claims each provider really issues.

Each shape fills a payload the way the provider does (taken from its
documentation and sources), places ``roles`` where the provider keeps them,
and builds the matching preset. ``TokenFactory.auth0()``, ``.cognito()`` …
are the public way in.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..issuer import Issuer
    from .factory import TokenFactory

__all__ = ["HEADERS", "fill_claims", "preset"]

#: Header members each shape's tokens carry besides ``alg`` and ``kid``.
HEADERS: Mapping[str, Mapping[str, str]] = {
    "cognito": {},  # Cognito's tokens have no typ
    "clerk": {"typ": "JWT", "cat": "cl_B7d4PD111AAA"},
}
_DEFAULT_HEADER = {"typ": "JWT"}
#: Keycloak's default realm roles, in every user's token.
KEYCLOAK_REALM_ROLES = ("offline_access", "uma_authorization")


def header_for(shape: str) -> Mapping[str, str]:
    """The header members (besides ``alg`` and ``kid``) of ``shape``'s tokens."""
    return HEADERS.get(shape, _DEFAULT_HEADER)


def _uuid() -> str:
    return str(uuid.uuid4())


def fill_claims(
    factory: TokenFactory, payload: dict[str, Any], roles: list[str] | None, claims: dict[str, Any]
) -> bool:
    """Add ``factory``'s provider claims to ``payload``; True when ``roles`` were placed.

    ``claims`` are the caller's extra claims: a shape may take some of them
    (Privy's JSON-text claims) before they are merged.
    """
    shape, params = factory._shape, factory._params
    iat = payload.get("iat", int(factory.clock()))
    if shape == "netlify":
        payload.update(aud="", app_metadata={"provider": "email"}, user_metadata={})
    elif shape == "privy":
        if params.get("token") == "access":
            payload["sid"] = f"cm{uuid.uuid4().hex[:23]}"
            return False
        payload["cr"] = str(iat - 86_400)
        metadata = claims.pop("custom_metadata", {})
        if roles is not None:
            if not isinstance(metadata, dict):
                raise ValueError("roles: the custom_metadata given is not a dict")
            metadata = {**metadata, "roles": list(roles)}
        accounts = claims.pop("linked_accounts", [])
        for name, value in (("linked_accounts", accounts), ("custom_metadata", metadata)):
            payload[name] = value if isinstance(value, str) else json.dumps(value)
        return True
    elif shape == "auth0":
        domain = params["domain"]
        payload["aud"] = [params["audience"], f"https://{domain}/userinfo"]
        payload.update(azp=params["client_id"], scope="openid profile email")
    elif shape == "cognito":
        payload.update(token_use=params["token_use"], auth_time=iat, jti=_uuid())
        payload.update(origin_jti=_uuid(), event_id=_uuid())
        if params["token_use"] == "access":
            payload.update(
                client_id=params["client_id"],
                scope="aws.cognito.signin.user.admin",
                username=payload.get("sub"),
                version=2,
            )
        else:
            payload.update({"cognito:username": payload.get("sub"), "email_verified": True})
    elif shape == "keycloak":
        client = params["client_id"]
        realm = params["realm_url"].rsplit("/", 1)[-1]
        payload.update(
            aud=[client, "account"],
            typ="Bearer",
            azp=params["azp"],
            sid=_uuid(),
            jti=f"onrtac:{_uuid()}",
            acr="1",
            scope="openid profile email",
            auth_time=iat,
            email_verified=True,
            preferred_username=payload.get("sub"),
            realm_access={"roles": [f"default-roles-{realm}", *KEYCLOAK_REALM_ROLES]},
            resource_access={
                client: {"roles": list(roles or [])},
                "account": {"roles": ["manage-account", "view-profile"]},
            },
        )
        return True
    elif shape == "firebase":
        payload.update(
            auth_time=iat,
            user_id=payload.get("sub"),
            firebase={"identities": {}, "sign_in_provider": "password"},
        )
    elif shape == "supabase":
        payload.update(
            email="",
            phone="",
            app_metadata={"provider": "email", "providers": ["email"]},
            user_metadata={},
            role="authenticated",
            aal="aal1",
            amr=[{"method": "password", "timestamp": iat}],
            session_id=_uuid(),
            is_anonymous=False,
        )
    elif shape == "clerk":
        payload.update(azp=params["azp"], fva=[0, -1], sid=f"sess_{uuid.uuid4().hex[:27]}")
        payload.update(sts="active", v=2)
        payload.setdefault("nbf", iat - 5)  # Clerk's allowed clock skew
        if roles:
            if len(roles) != 1:
                raise ValueError("roles: a Clerk session has one organization role")
            role = roles[0].removeprefix("org:")
            payload["o"] = {"id": "org_example", "rol": role, "slg": "example"}
        return True
    return False


def preset(factory: TokenFactory, overrides: dict[str, Any]) -> Issuer:
    """The preset that trusts ``factory``'s tokens (keys from ``jwks_url=`` in ``overrides``)."""
    from .. import presets

    shape, params = factory._shape, factory._params
    if shape == "netlify":
        return presets.netlify(jwt_secret=factory.secret, **overrides)
    if shape == "privy":
        app_id = factory.audience or ""
        token = params.get("token", "identity")
        if "jwks_url" in overrides:
            return presets.privy(app_id, token=token, **overrides)
        return presets.privy(app_id, factory.public_pem(), token=token, **overrides)
    if "jwks_url" not in overrides:
        raise ConfigurationError(
            f"jwks_url: the {shape} preset fetches its keys; serve them with "
            "`with tokens.serve_jwks() as keys:` and pass jwks_url=keys.url"
        )
    if shape == "auth0":
        return presets.auth0(params["domain"], audience=params["audience"], **overrides)
    if shape == "cognito":
        return presets.cognito(
            params["region"],
            params["user_pool_id"],
            client_id=params["client_id"],
            token_use=params["token_use"],
            **overrides,
        )
    if shape == "keycloak":
        return presets.keycloak(params["realm_url"], client_id=params["client_id"], **overrides)
    if shape == "firebase":
        return presets.firebase(params["project_id"], **overrides)
    if shape == "supabase":
        return presets.supabase(params["project_url"], **overrides)
    if shape == "clerk":
        overrides.setdefault("authorized_parties", [params["azp"]])
        return presets.clerk(params["issuer_url"], **overrides)
    raise ValueError(shape)  # pragma: no cover - every shape is handled above
