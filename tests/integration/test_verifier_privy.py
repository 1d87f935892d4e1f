"""Privy: ``@privy-io/node``'s ``verifyIdentityToken``, ``verifyAccessToken`` vs ``presets.privy``.

The SDK's ``apiUrl`` option points its JWKS fetch
(``{apiUrl}/v1/apps/{app id}/jwks.json``) at 127.0.0.1; the preset's
``jwks_url`` names the same set.
"""

from __future__ import annotations

import json
import time

import pytest

from jwtgate import Gate
from jwtgate.presets import privy
from jwtgate.testing import TokenFactory
from tests.integration.verifier_kit import Case, run_table, serving, variants
from tests.tokens import raw_token

APP = "cm3example0app0id00000000"
JWKS_PATH = f"/v1/apps/{APP}/jwks.json"
ACCOUNTS = [
    {"type": "wallet", "address": "0x2f1c0d9e1100aa", "chain_type": "ethereum", "lv": 1717000000},
    {"type": "email", "address": "ada@example.com", "lv": 1717000100},
]


def _identity_cases(tokens: TokenFactory, access: TokenFactory, now: int) -> list[Case]:
    claims = tokens.claims(
        sub="did:privy:cm3user0000001", linked_accounts=ACCOUNTS, custom_metadata={"plan": "pro"}
    )
    header = {"alg": "ES256", "typ": "JWT", "kid": tokens.kid}

    signed, without = variants(tokens, claims, header)

    return [
        Case("valid", signed()),
        Case("an access token", access.token(sub=claims["sub"])),
        Case("no linked_accounts", without("linked_accounts")),
        Case("linked_accounts not JSON", signed(linked_accounts="[{")),
        Case("linked_accounts an object", signed(linked_accounts="{}")),
        Case("linked_accounts not text", signed(linked_accounts=ACCOUNTS)),
        Case("no custom_metadata", without("custom_metadata")),
        Case("custom_metadata not JSON", signed(custom_metadata="{plan")),
        Case("custom_metadata an array", signed(custom_metadata="[1]")),
        Case("custom_metadata a number", signed(custom_metadata="7")),
        Case("expired", signed(exp=now - 60)),
        Case("expires this second", signed(exp=now)),
        Case("no exp", without("exp"), stricter="exp is required"),
        Case(
            "iat an hour ahead",
            signed(iat=now + 3600),
            stricter="a token issued in the future is refused",
        ),
        Case("nbf a minute ahead", signed(nbf=now + 60)),
        Case("another app", signed(aud="cm3another0app0id0000000")),
        Case("app id in a list", signed(aud=["cm3another0app0id0000000", APP])),
        Case("another issuer", signed(iss="privy.example")),
        Case("empty sub", signed(sub=""), stricter="sub (the user's DID) must not be empty"),
        Case("no sub", without("sub"), stricter="sub (the user's DID) is required"),
        Case("no typ header", raw_token(tokens, {"alg": "ES256", "kid": tokens.kid}, claims)),
        Case("typ application/jwt", tokens.sign(claims, headers={"typ": "application/jwt"})),
        Case("no kid", raw_token(tokens, {"alg": "ES256", "typ": "JWT"}, claims)),
        Case("other key, same kid", tokens.sign(claims, key=TokenFactory("ES256").signing_key)),
        Case("alg none", tokens.alg_none()),
    ]


def _access_cases(tokens: TokenFactory, identity: TokenFactory, now: int) -> list[Case]:
    claims = tokens.claims(sub="did:privy:cm3user0000001")
    header = {"alg": "ES256", "typ": "JWT", "kid": tokens.kid}

    signed, without = variants(tokens, claims, header)

    return [
        Case("valid", signed()),
        Case("an identity token", identity.token(sub=claims["sub"], linked_accounts=ACCOUNTS)),
        Case("no sid", without("sid")),
        Case("empty sid", signed(sid="")),
        Case("no iat", without("iat")),
        Case("iat zero", signed(iat=0)),
        Case(
            "iat an hour ahead",
            signed(iat=now + 3600),
            stricter="a token issued in the future is refused",
        ),
        Case("expired", signed(exp=now - 60)),
        Case("no exp", without("exp")),
        Case("another app", signed(aud="cm3another0app0id0000000")),
        Case("app id in a list", signed(aud=[APP])),
        Case("empty sub", signed(sub="")),
        Case("no typ header", raw_token(tokens, {"alg": "ES256", "kid": tokens.kid}, claims)),
        Case("other key, same kid", tokens.sign(claims, key=TokenFactory("ES256").signing_key)),
    ]


@pytest.mark.parametrize("kind", ["identity", "access"])
def test_privy_verdicts_match_privy_io_node(kind: str) -> None:
    now = int(time.time())
    identity = TokenFactory.privy(app_id=APP, clock=lambda: now)
    access = TokenFactory.privy(app_id=APP, token="access", clock=lambda: now)
    access.signing_key, access.kid = identity.signing_key, identity.kid
    if kind == "identity":
        cases = _identity_cases(identity, access, now)
        for case in cases:
            case.headers = {"privy-id-token": case.token}
    else:
        cases = _access_cases(access, identity, now)
    for case in cases:
        case.node = {"kind": kind}
    with serving({JWKS_PATH: identity.jwks()}) as api:
        issuer = privy(APP, token=kind, jwks_url=api.base_url + JWKS_PATH)  # type: ignore[arg-type]
        gate = Gate(issuers=[issuer], clock=lambda: now)
        verdicts = run_table(
            "privy",
            "privy.mjs",
            gate,
            cases,
            now=now,
            config={"app_id": APP, "api_url": api.base_url},
        )
    valid_sdk, valid_ours = verdicts.sdk["valid"], verdicts.jwtgate["valid"]
    assert valid_sdk.extra["sub"] == valid_ours.extra["sub"] == "did:privy:cm3user0000001"
    if kind == "identity":
        # The email Privy's SDK finds in linked_accounts is the user's email in jwtgate too.
        assert valid_sdk.extra["email"] == valid_ours.extra["email"] == "ada@example.com"
    assert json.dumps(ACCOUNTS)  # the accounts above are JSON-serialisable, as Privy sends them
