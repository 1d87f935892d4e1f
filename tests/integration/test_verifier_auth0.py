"""Auth0: ``express-oauth2-jwt-bearer`` (Auth0's Express SDK) and ``presets.auth0`` agree.

The SDK's ``auth()`` middleware gets the issuer, the audience, ``tokenSigningAlg:
"RS256"`` and the local JWKS URL (its ``jwksUri`` option); the preset gets
the same URL as ``jwks_url``.
"""

from __future__ import annotations

import time

from jwtgate import Gate
from jwtgate.presets import auth0
from jwtgate.testing import TokenFactory
from tests.integration.verifier_kit import Case, run_table, serving, variants
from tests.tokens import raw_token

DOMAIN = "example.us.auth0.com"
API = "https://api.example.com"
JWKS_PATH = "/.well-known/jwks.json"


def test_auth0_verdicts_match_express_oauth2_jwt_bearer() -> None:
    now = int(time.time())
    tokens = TokenFactory.auth0(DOMAIN, audience=API, clock=lambda: now)
    other_key = TokenFactory("RS256")
    claims = tokens.claims(sub="auth0|64d1f0c2", roles=["read:reports"])
    header = {"alg": "RS256", "typ": "JWT", "kid": tokens.kid}

    signed, without = variants(tokens, claims, header)

    cases = [
        Case("valid", signed()),
        Case("expired an hour ago", signed(exp=now - 3600)),
        Case("expired 4 s ago (within 5 s)", signed(exp=now - 4)),
        Case("expired 5 s ago (the edge)", signed(exp=now - 5)),
        Case("no exp", without("exp")),
        Case("nbf 5 s ahead", signed(nbf=now + 5)),
        Case("nbf 6 s ahead", signed(nbf=now + 6)),
        Case("iat 3 s ahead", signed(iat=now + 3)),
        Case(
            "iat a minute ahead",
            signed(iat=now + 60),
            stricter="a token issued in the future is refused beyond the leeway",
        ),
        Case("no iat", without("iat")),
        Case("another audience", signed(aud="https://other.example.com")),
        Case("audience in a list", signed(aud=["https://other.example.com", API])),
        Case("another tenant", signed(iss="https://other.us.auth0.com/")),
        Case("issuer without slash", signed(iss=f"https://{DOMAIN}")),
        Case("other key, same kid", tokens.sign(claims, key=other_key.signing_key)),
        Case("unknown kid", tokens.sign(claims, headers={"kid": "unknown"})),
        Case("no kid", raw_token(tokens, {"alg": "RS256", "typ": "JWT"}, claims)),
        Case("alg none", tokens.alg_none(sub="auth0|64d1f0c2")),
        Case("RS384", raw_token(tokens, {**header, "alg": "RS384"}, claims, alg="RS384")),
        Case("typ at+jwt", tokens.sign(claims, headers={"typ": "at+jwt"})),
        Case("numeric sub", signed(sub=42)),
        Case("no sub", without("sub")),
    ]

    with serving({JWKS_PATH: tokens.jwks()}) as keys:
        gate = Gate(
            issuers=[auth0(DOMAIN, audience=API, jwks_url=keys.base_url + JWKS_PATH)],
            clock=lambda: now,
        )
        verdicts = run_table(
            "auth0",
            "auth0.mjs",
            gate,
            cases,
            now=now,
            config={
                "issuer": f"https://{DOMAIN}/",
                "audience": API,
                "jwks_url": keys.base_url + JWKS_PATH,
            },
        )
    assert verdicts.sdk["valid"].ok
    assert not verdicts.sdk["expired an hour ago"].ok
