"""Keycloak: ``keycloak-connect`` (bearer-only, ``verify-token-audience``) and ``presets.keycloak``.

keycloak-connect's ``auth-server-url`` points it at a realm served on
127.0.0.1, whose ``/protocol/openid-connect/certs`` it fetches; the preset's
``realm_url`` is the same realm, so both find the keys at the same URL.
"""

from __future__ import annotations

import time

import pytest

from jwtgate import Gate
from jwtgate.presets import keycloak
from jwtgate.testing import TokenFactory
from tests.integration.verifier_kit import Case, run_table, serving, variants
from tests.tokens import raw_token

REALM = "example"
CERTS_PATH = f"/realms/{REALM}/protocol/openid-connect/certs"
CLIENT_ROLES = ["reports-read", "admin"]
ALL_ROLES = [*CLIENT_ROLES, f"default-roles-{REALM}", "offline_access", "uma_authorization"]


def _cases(tokens: TokenFactory, es256: TokenFactory, now: int, realm_url: str) -> list[Case]:
    claims = tokens.claims(sub="2c8a6f3e-4b1d-4c55-8f0e-7a9d3b2e1f00", roles=CLIENT_ROLES)
    header = {"alg": "RS256", "typ": "JWT", "kid": tokens.kid}
    client = tokens.audience

    signed, without = variants(tokens, claims, header)

    return [
        Case("valid", signed()),
        Case("an ID token", signed(typ="ID")),
        Case("a refresh token", signed(typ="Refresh")),
        Case("no typ claim", without("typ")),
        Case("expired a minute ago", signed(exp=now - 60)),
        Case(
            "expires this second",
            signed(exp=now),
            stricter="RFC 7519: a token is valid only before its exp",
        ),
        Case("no exp", without("exp"), stricter="exp is required"),
        Case(
            "iat an hour ahead",
            signed(iat=now + 3600),
            stricter="a token issued in the future is refused",
        ),
        Case(
            "nbf an hour ahead",
            signed(nbf=now + 3600),
            stricter="nbf is honoured (keycloak-connect ignores it)",
        ),
        Case("another realm", signed(iss=realm_url.replace(REALM, "other"))),
        Case("aud only account", signed(aud="account")),
        Case("aud the client alone", signed(aud=client)),
        Case("no aud", without("aud")),
        Case("azp another client", signed(azp="some-other-app")),
        Case("no kid", raw_token(tokens, {"alg": "RS256", "typ": "JWT"}, claims)),
        Case("unknown kid", tokens.sign(claims, headers={"kid": "unknown"})),
        Case("other key, same kid", tokens.sign(claims, key=TokenFactory("RS256").signing_key)),
        Case(
            "RS256 signature labelled RS512",
            raw_token(tokens, {**header, "alg": "RS512"}, claims, alg="RS256"),
            stricter="the header's alg must be the signature's algorithm",
        ),
        Case("ES256 token", es256.sign(claims)),
        Case("alg none", tokens.alg_none()),
    ]


@pytest.mark.parametrize("client_id", ["example-api", "api.example.com"])
def test_keycloak_verdicts_match_keycloak_connect(client_id: str) -> None:
    now = int(time.time())
    with serving({}) as realm:
        realm_url = f"{realm.base_url}/realms/{REALM}"
        tokens = TokenFactory.keycloak(realm_url, client_id=client_id, clock=lambda: now)
        es256 = TokenFactory("ES256", kid="ec-key")
        realm.routes[CERTS_PATH] = {"keys": [tokens.public_jwk(), es256.public_jwk()]}
        cases = _cases(tokens, es256, now, realm_url)
        gate = Gate(issuers=[keycloak(realm_url, client_id=client_id)], clock=lambda: now)
        verdicts = run_table(
            "keycloak",
            "keycloak.mjs",
            gate,
            cases,
            now=now,
            config={
                "realm": REALM,
                "server_url": realm.base_url,
                "client_id": client_id,
                "verify_token_audience": True,
            },
            roles=True,
            node_case=lambda c: {"name": c.name, "token": c.token, "roles": ALL_ROLES},
        )
    assert verdicts.sdk["valid"].ok
    assert verdicts.sdk["valid"].roles == set(ALL_ROLES)
