"""Cognito: ``aws-jwt-verify``'s ``CognitoJwtVerifier`` and ``presets.cognito`` agree.

aws-jwt-verify derives its JWKS URL from the user pool id and offers no
option to change it; the keys are handed to it with its documented
``cacheJwks()`` (and ``verifySync()``, which never fetches). The preset
fetches the same set from 127.0.0.1 through ``jwks_url``.
"""

from __future__ import annotations

import time

import pytest

from jwtgate import Gate
from jwtgate.presets import cognito
from jwtgate.testing import TokenFactory
from tests.integration.verifier_kit import Case, run_table, serving, variants
from tests.tokens import raw_token

REGION = "eu-west-1"
POOL = "eu-west-1_Example01"
CLIENT = "4example1client2id3abc"
JWKS_PATH = f"/{POOL}/.well-known/jwks.json"


def _cases(token_use: str, now: int) -> tuple[TokenFactory, list[Case]]:
    tokens = TokenFactory.cognito(
        REGION, POOL, client_id=CLIENT, token_use=token_use, clock=lambda: now
    )
    other_kind = TokenFactory.cognito(
        REGION, POOL, client_id=CLIENT, token_use="id" if token_use == "access" else "access"
    )
    other_kind.signing_key, other_kind.kid, other_kind.clock = (
        tokens.signing_key,
        tokens.kid,
        tokens.clock,
    )
    claims = tokens.claims(sub="7b1f3c52-0d3e-4f4c-9a8e-2f5f1c0d9e11", roles=["admins", "staff"])
    header = {"kid": tokens.kid, "alg": "RS256"}
    client_claim = "aud" if token_use == "id" else "client_id"

    signed, without = variants(tokens, claims, header)

    cases = [
        Case("valid", signed()),
        Case("no groups", without("cognito:groups")),
        Case("expired a minute ago", signed(exp=now - 60)),
        Case("expired 1 s ago", signed(exp=now - 1)),
        Case(
            "expires this second",
            signed(exp=now),
            stricter="RFC 7519: a token is valid only before its exp",
        ),
        Case("no exp", without("exp"), stricter="exp is required"),
        Case("nbf a minute ahead", signed(nbf=now + 60)),
        Case("nbf now", signed(nbf=now)),
        Case(
            "iat an hour ahead",
            signed(iat=now + 3600),
            stricter="a token issued in the future is refused",
        ),
        Case("the other token_use", other_kind.token(sub=claims["sub"])),
        Case("no token_use", without("token_use")),
        Case("another app client", signed(**{client_claim: "another-client-id"})),
        Case(f"no {client_claim}", without(client_claim)),
        Case(f"{client_claim} in a list", signed(**{client_claim: [CLIENT]})),
        Case(
            "another user pool",
            signed(iss=f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_Other0001"),
        ),
        Case(
            "the global issuer form",
            signed(iss=f"https://issuer-cognito-idp.{REGION}.amazonaws.com/{POOL}"),
        ),
        Case("no kid", raw_token(tokens, {"alg": "RS256"}, claims)),
        Case("unknown kid", tokens.sign(claims, headers={"kid": "unknown"})),
        Case("other key, same kid", tokens.sign(claims, key=TokenFactory("RS256").signing_key)),
        Case("RS512", raw_token(tokens, {**header, "alg": "RS512"}, claims, alg="RS512")),
        Case("alg none", tokens.alg_none()),
    ]
    if token_use == "access":
        cases.append(
            Case(
                "aud instead of client_id",
                raw_token(
                    tokens,
                    header,
                    {**{k: v for k, v in claims.items() if k != "client_id"}, "aud": CLIENT},
                ),
            )
        )
    return tokens, cases


@pytest.mark.parametrize("token_use", ["access", "id"])
def test_cognito_verdicts_match_aws_jwt_verify(token_use: str) -> None:
    now = int(time.time())
    tokens, cases = _cases(token_use, now)
    with serving({JWKS_PATH: tokens.jwks()}) as keys:
        issuer = cognito(
            REGION,
            POOL,
            client_id=CLIENT,
            token_use=token_use,  # type: ignore[arg-type]
            jwks_url=keys.base_url + JWKS_PATH,
        )
        gate = Gate(issuers=[issuer], clock=lambda: now)
        verdicts = run_table(
            "cognito",
            "cognito.mjs",
            gate,
            cases,
            now=now,
            config={
                "user_pool_id": POOL,
                "token_use": token_use,
                "client_id": CLIENT,
                "jwks": tokens.jwks(),
            },
            roles=True,
        )
    assert verdicts.sdk["valid"].ok
    assert verdicts.sdk["valid"].roles == {"admins", "staff"}
