"""The keycloak preset: Bearer tokens of one realm, for one client."""

from __future__ import annotations

import pytest

from jwtgate import ConfigurationError, Gate, InvalidClaims
from jwtgate.presets import UNCHECKED, keycloak
from jwtgate.presets.keycloak import keycloak_roles
from jwtgate.remote import RemoteKeys
from jwtgate.testing import TokenFactory

REALM = "https://sso.example.com/realms/main"


def test_the_realm_gives_iss_and_keys() -> None:
    issuer = keycloak(REALM + "/", client_id="orders-api")
    assert issuer.issuer == REALM
    assert isinstance(issuer.keys, RemoteKeys)
    assert issuer.keys.jwks_url == f"{REALM}/protocol/openid-connect/certs"
    assert issuer.audience == {"orders-api"}  # the client, by default
    assert issuer.require_kid
    assert keycloak(REALM, client_id="orders-api", audience=UNCHECKED).audience is None
    assert keycloak(REALM, client_id="orders-api", audience=["a", "b"]).audience == {"a", "b"}


@pytest.mark.parametrize(
    ("realm_url", "client_id", "message"),
    [
        ("http://sso.example.com/realms/main", "api", "realm_url: must be an https:// URL"),
        (REALM, None, "client_id: required"),
        (REALM, "", "client_id: is empty"),
        (None, "api", "realm_url: required"),
    ],
)
def test_bad_arguments_are_refused(realm_url, client_id, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        keycloak(realm_url, client_id=client_id)


@pytest.mark.parametrize("client_id", ["orders-api", "api.orders.example.com"])
def test_roles_are_the_realm_roles_and_the_clients_own(client_id, clock) -> None:
    tokens = TokenFactory.keycloak(REALM, client_id=client_id, clock=clock)
    with tokens.serve_jwks() as keys:
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        user = gate.authenticate(headers=tokens.headers(roles=["approver"]))
        assert user is not None
        assert user.roles == {
            "approver",
            "default-roles-main",
            "offline_access",
            "uma_authorization",
        }  # not the account client's manage-account


def test_roles_survive_odd_shapes() -> None:
    roles = keycloak_roles("api")
    assert list(roles({"realm_access": "x", "resource_access": {"api": {"roles": [1, "a"]}}})) == [
        "a"
    ]
    assert list(roles({"resource_access": ["api"]})) == []


def test_only_access_tokens_for_the_client_are_accepted(clock) -> None:
    tokens = TokenFactory.keycloak(REALM, client_id="orders-api", clock=clock)
    with tokens.serve_jwks() as keys:
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        assert gate.authenticate(headers=tokens.headers())
        with pytest.raises(InvalidClaims, match="typ claim"):
            gate.authenticate(headers=tokens.headers(typ="ID"))
        with pytest.raises(InvalidClaims, match="audience"):
            gate.authenticate(headers=tokens.headers(aud="account"))
        custom = tokens.issuer_config(jwks_url=keys.url, roles_claim="realm_access.roles")
        user = Gate(issuers=[custom], clock=clock).authenticate(headers=tokens.headers())
        assert user is not None
        assert "offline_access" in user.roles
