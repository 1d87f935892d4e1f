"""Supabase: ``@supabase/auth-js``'s ``getClaims()`` and ``presets.supabase``, and the
``@supabase/ssr`` session cookie read by ``SupabaseSessionCookie``.

auth-js's ``url`` option points it at an Auth served on 127.0.0.1: its
``/.well-known/jwks.json`` (the project's signing keys) and ``/user``, which
answers 401 to any token it was not told about. ``getClaims()`` checks
asymmetric tokens itself and hands HS256 ones (and tokens whose key it does
not have) to the Auth server's ``/user``: for those the table records that it
deferred, and asserts jwtgate's own verdict with the legacy secret.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from jwtgate import Gate
from jwtgate.presets import supabase
from jwtgate.testing import TokenFactory
from tests.integration.verifier_kit import Case, run_node, run_table, serving, variants
from tests.tokens import raw_token

JWKS_PATH = "/auth/v1/.well-known/jwks.json"
USER_PATH = "/auth/v1/user"
SUB = "5f2b9c1e-7a4d-4e3b-9c2f-0d1e2f3a4b5c"


def _auth_server(users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The two routes of Supabase Auth that the SDKs call here."""

    def user(headers: Any) -> tuple[int, Any]:
        token = (headers.get("Authorization") or "").removeprefix("Bearer ")
        if token in users:
            return 200, users[token]
        return 401, {"code": 401, "error_code": "bad_jwt", "msg": "invalid JWT"}

    return {USER_PATH: user}


def test_supabase_verdicts_match_auth_js_get_claims() -> None:
    now = int(time.time())
    legacy_secret = secrets.token_urlsafe(32)
    with serving(_auth_server({})) as auth:
        project = auth.base_url
        es = TokenFactory.supabase(project, clock=lambda: now)
        rs = TokenFactory.supabase(project, algorithm="RS256", clock=lambda: now)
        hs = TokenFactory.supabase(project, algorithm="HS256", clock=lambda: now)
        hs.signing_key = legacy_secret.encode()
        auth.routes[JWKS_PATH] = {"keys": [es.public_jwk(), rs.public_jwk()]}
        claims = es.claims(sub=SUB, roles=["editor"], email="ada@example.com")
        header = {"alg": "ES256", "typ": "JWT", "kid": es.kid}

        signed, without = variants(es, claims, header)

        cases = [
            Case("ES256", signed()),
            Case("RS256", rs.sign(claims)),
            Case("anonymous user", signed(is_anonymous=True, email="")),
            Case("expired", signed(exp=now - 60)),
            Case("expires this second", signed(exp=now)),
            Case("no exp", without("exp")),
            Case("other key, same kid", es.sign(claims, key=TokenFactory("ES256").signing_key)),
            Case("RS256 with the EC key's kid", rs.sign(claims, headers={"kid": es.kid})),
            Case("alg none", es.alg_none()),
            Case(
                "aud anon",
                signed(aud="anon"),
                stricter="aud must be authenticated: a signed-in user's token",
            ),
            Case("no aud", without("aud"), stricter="aud must be authenticated"),
            Case(
                "another project's iss",
                signed(iss="https://other.supabase.co/auth/v1"),
                stricter="iss must be the project's Auth URL",
            ),
            Case(
                "iat an hour ahead",
                signed(iat=now + 3600),
                stricter="a token issued in the future is refused",
            ),
            Case(
                "nbf an hour ahead",
                signed(nbf=now + 3600),
                stricter="nbf is honoured (getClaims ignores it)",
            ),
            Case("HS256, the legacy secret", hs.sign(claims), server_decides=True),
            Case(
                "HS256, another secret",
                hs.sign(claims, key=secrets.token_bytes(32)),
                server_decides=False,
            ),
            Case("HS256, expired", hs.sign({**claims, "exp": now - 60})),
            Case(
                "no kid", raw_token(es, {"alg": "ES256", "typ": "JWT"}, claims), server_decides=True
            ),
            Case("unknown kid", es.sign(claims, headers={"kid": "unknown"}), server_decides=False),
        ]
        gate = Gate(
            issuers=[supabase(project, jwt_secret=legacy_secret)],
            clock=lambda: now,
        )
        verdicts = run_table(
            "supabase",
            "supabase.mjs",
            gate,
            cases,
            now=now,
            config={"auth_url": f"{project}/auth/v1"},
        )
    assert verdicts.jwtgate["ES256"].roles == {"editor"}
    assert verdicts.sdk["ES256"].extra["deferred"] is False


def test_the_ssr_session_cookie_is_read_as_supabase_ssr_writes_it() -> None:
    now = int(time.time())
    with serving({}) as auth:
        project = auth.base_url
        tokens = TokenFactory.supabase(project, clock=lambda: now)
        auth.routes[JWKS_PATH] = tokens.jwks()
        short = tokens.token(sub=SUB, email="ada@example.com")
        long = tokens.token(sub="a-user-with-a-long-profile", email="bob@example.com")
        users = {
            short: {"id": SUB, "aud": "authenticated", "role": "authenticated", "email": "a"},
            long: {
                "id": "a-user-with-a-long-profile",
                "aud": "authenticated",
                "role": "authenticated",
                "user_metadata": {"bio": "lorem ipsum " * 400},
            },
        }
        auth.routes.update(_auth_server(users))
        jars = run_node(
            "supabase.mjs",
            {
                "now": now,
                "mode": "cookies",
                "config": {"project_url": project},
                "cases": [{"access_token": short}, {"access_token": long}],
            },
        )
        gate = Gate(issuers=[supabase(project, jwks_url=project + JWKS_PATH)], clock=lambda: now)
        found = []
        for jar in jars:
            cookie_header = "; ".join(f"{name}={value}" for name, value in jar)
            user = gate.authenticate(headers={"Cookie": cookie_header})
            assert user is not None
            found.append((sorted(name for name, _ in jar), user.subject, user.source))
    assert found[0] == (["sb-127-auth-token"], SUB, "cookie:sb-127-auth-token")
    names, subject, _ = found[1]
    assert names[:2] == ["sb-127-auth-token.0", "sb-127-auth-token.1"]  # split by @supabase/ssr
    assert subject == "a-user-with-a-long-profile"
    assert all(value.startswith("base64-") for name, value in jars[0])
