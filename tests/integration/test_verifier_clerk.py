"""Clerk: ``@clerk/backend``'s ``authenticateRequest`` (then ``toAuth()``) and ``presets.clerk``.

Clerk's SDK fetches the instance's keys from its Backend API at
``{apiUrl}/v1/jwks``; its ``apiUrl`` option points it at 127.0.0.1, where
the preset's ``jwks_url`` finds the same set. The instance is a production
one (its publishable key names the Frontend API ``clerk.example.test``), so
that cookie requests go through the production rules (``__client_uat``).
"""

from __future__ import annotations

import base64
import time

from jwtgate import Gate
from jwtgate.presets import clerk
from jwtgate.testing import TokenFactory
from tests.integration.verifier_kit import Case, run_table, serving, variants
from tests.tokens import raw_token

FRONTEND_API = "clerk.example.test"
ISSUER = f"https://{FRONTEND_API}"
APP = "https://example.test"
PUBLISHABLE_KEY = "pk_live_" + base64.b64encode(f"{FRONTEND_API}$".encode()).decode()
M2M_CATEGORY = "cl_B7d4PD333AAA"


def test_clerk_verdicts_match_authenticate_request() -> None:
    now = int(time.time())
    tokens = TokenFactory.clerk(ISSUER, azp=APP, clock=lambda: now)
    claims = tokens.claims(sub="user_2abcDEFghiJKLmnoPQRstu", roles=["org:admin"], expires_in=60)
    header = {"alg": "RS256", "typ": "JWT", "kid": tokens.kid}

    signed, without = variants(tokens, claims, header)

    v1 = {k: v for k, v in claims.items() if k not in ("v", "o", "sts", "fva")}
    v1.update(org_id="org_example", org_role="org:admin", org_slug="example")

    def cookie(token: str, client_uat: int | str | None) -> dict[str, str]:
        jar = f"__session={token}"
        if client_uat is not None:
            jar += f"; __client_uat={client_uat}"
        return {"Cookie": jar}

    valid = signed()
    cases = [
        Case("valid", valid),
        Case("v1 claims", tokens.sign(v1)),
        Case("no organization", without("o")),
        Case("pending session", signed(sts="pending")),
        Case("foreign azp", signed(azp="https://evil.example")),
        Case("no azp", without("azp")),
        Case("expired a minute ago", signed(exp=now - 60)),
        Case("expired 4 s ago (within 5 s)", signed(exp=now - 4)),
        Case("expired 5 s ago (the edge)", signed(exp=now - 5)),
        Case("no exp", without("exp")),
        Case("nbf 5 s ahead", signed(nbf=now + 5)),
        Case("nbf 6 s ahead", signed(nbf=now + 6)),
        Case("iat 5 s ahead", signed(iat=now + 5)),
        Case("iat 6 s ahead", signed(iat=now + 6)),
        Case("no sub", without("sub")),
        Case("numeric sub", signed(sub=12345)),
        Case(
            "machine token",
            tokens.sign({**claims, "sub": "mch_2xyzMachineTokenId"}, headers={"cat": M2M_CATEGORY}),
        ),
        Case("OAuth access token", tokens.sign(claims, headers={"typ": "at+jwt"})),
        Case(
            "no typ header",
            raw_token(tokens, {"alg": "RS256", "kid": tokens.kid}, claims),
            stricter="the header typ must be JWT, as Clerk's session tokens have it",
        ),
        Case(
            "another instance's iss",
            signed(iss="https://clerk.other.test"),
            stricter="iss must be the instance's Frontend API URL",
        ),
        Case("unknown kid", tokens.sign(claims, headers={"kid": "ins_unknown"})),
        Case("no kid", raw_token(tokens, {"alg": "RS256", "typ": "JWT"}, claims)),
        Case("other key, same kid", tokens.sign(claims, key=TokenFactory("RS256").signing_key)),
        Case("RS512", raw_token(tokens, {**header, "alg": "RS512"}, claims, alg="RS512")),
        Case("alg none", tokens.alg_none()),
        Case("cookie", valid, headers=cookie(valid, now - 30)),
        Case("cookie, client signed out", valid, headers=cookie(valid, 0)),
        Case("cookie, no __client_uat", valid, headers=cookie(valid, None)),
        Case("cookie older than the sign-in", valid, headers=cookie(valid, now + 1)),
        Case("cookie of a pending session", valid, headers=cookie(signed(sts="pending"), now)),
        Case("cookie, foreign azp", valid, headers=cookie(signed(azp="https://evil.example"), now)),
    ]
    with serving({"/v1/jwks": tokens.jwks()}) as api:
        gate = Gate(
            issuers=[clerk(ISSUER, authorized_parties=[APP], jwks_url=api.base_url + "/v1/jwks")],
            clock=lambda: now,
        )
        verdicts = run_table(
            "clerk",
            "clerk.mjs",
            gate,
            cases,
            now=now,
            config={
                "secret_key": "sk_live_notasecretonlyforlocaltests000000",
                "publishable_key": PUBLISHABLE_KEY,
                "api_url": api.base_url,
                "authorized_parties": [APP],
            },
            roles=True,
        )
    assert verdicts.sdk["valid"].roles == {"org:admin"}
    assert verdicts.sdk["v1 claims"].roles == {"org:admin"}
