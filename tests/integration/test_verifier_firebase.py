"""Firebase: ``firebase-admin``'s ``auth.verify_id_token`` (PyPI) and ``presets.firebase``.

firebase-admin hard-codes the URL of Google's certificates
(``firebase_admin._token_gen.ID_TOKEN_CERT_URI``) and documents no way to
supply keys, so this test sets that module constant to a certificate map
served on 127.0.0.1 before the app is created; the SDK's verification code
(its own checks, then google-auth's signature and date checks) runs
unchanged. Its clock is frozen with freezegun at the table's ``now``. The
preset reads the same certificate map, or the same keys as a JWK Set.
"""

from __future__ import annotations

import datetime
import os
import time
import uuid
from typing import Any

import pytest

from jwtgate import Gate
from jwtgate.presets import firebase
from jwtgate.testing import TokenFactory
from tests.integration.verifier_kit import (
    Case,
    Verdict,
    compare,
    documented,
    jwtgate_verdicts,
    serving,
    summary,
    variants,
)
from tests.tokens import raw_token
from tests.tools import unavailable

PROJECT = "example-project-1a2b3"
CERTS_PATH = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
JWKS_PATH = "/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
CUSTOM_TOKEN_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)


def _sdk() -> tuple[Any, Any, Any]:
    try:
        import firebase_admin
        from firebase_admin import _token_gen, auth
        from freezegun import freeze_time
    except ImportError:
        unavailable(
            "needs firebase-admin and freezegun (pip install -r tests/verifiers/requirements.txt)"
        )
    return firebase_admin, (_token_gen, auth), freeze_time


def _service_account(firebase_admin: Any, tokens: TokenFactory) -> Any:
    """A service account credential that is never used to call Google (nothing here needs one)."""
    from cryptography.hazmat.primitives import serialization

    private_pem = tokens.signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return firebase_admin.credentials.Certificate(
        {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "local-test-key",
            "private_key": private_pem,
            "client_email": f"tests@{PROJECT}.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": "http://127.0.0.1:9/token",
        }
    )


def _cases(tokens: TokenFactory, now: int) -> list[Case]:
    uid = "Xk3QwRtY8uIo1pAsDfGh2jKlZx93"
    claims = tokens.claims(sub=uid, email="ada@example.com", email_verified=True)
    header = {"alg": "RS256", "kid": tokens.kid, "typ": "JWT"}

    signed, without = variants(tokens, claims, header)

    return [
        Case("valid", signed()),
        Case("expired", signed(exp=now - 60)),
        Case(
            "expires this second",
            signed(exp=now),
            stricter="RFC 7519: a token is valid only before its exp",
        ),
        Case("no exp", without("exp")),
        Case("no iat", without("iat")),
        Case("iat now", signed(iat=now)),
        Case("iat 1 s ahead", signed(iat=now + 1)),
        Case(
            "auth_time an hour ahead",
            signed(auth_time=now + 3600),
            stricter="auth_time must be in the past, as Firebase documents",
        ),
        Case(
            "nbf an hour ahead",
            signed(nbf=now + 3600),
            stricter="nbf is honoured (google-auth ignores it)",
        ),
        Case("no kid", raw_token(tokens, {"alg": "RS256", "typ": "JWT"}, claims)),
        Case("empty kid", tokens.sign(claims, headers={"kid": ""})),
        Case("unknown kid", tokens.sign(claims, headers={"kid": "unknown"})),
        Case("other key, same kid", tokens.sign(claims, key=TokenFactory("RS256").signing_key)),
        Case("another project", signed(aud="another-project")),
        Case("project in a list", signed(aud=[PROJECT])),
        Case("another issuer", signed(iss="https://securetoken.google.com/another-project")),
        Case("a session cookie", signed(iss=f"https://session.firebase.google.com/{PROJECT}")),
        Case("a custom token", signed(aud=CUSTOM_TOKEN_AUDIENCE)),
        Case("empty sub", signed(sub="")),
        Case("no sub", without("sub")),
        Case("sub of 128 characters", signed(sub="u" * 128)),
        Case("sub of 129 characters", signed(sub="u" * 129)),
        Case("numeric sub", signed(sub=7)),
        Case("RS512", raw_token(tokens, {**header, "alg": "RS512"}, claims, alg="RS512")),
        Case("alg none", tokens.alg_none()),
    ]


def test_firebase_verdicts_match_firebase_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    firebase_admin, (token_gen, auth), freeze_time = _sdk()
    now = int(time.time())
    tokens = TokenFactory.firebase(PROJECT, clock=lambda: now)
    cases = _cases(tokens, now)
    monkeypatch.setitem(os.environ, "NO_PROXY", "127.0.0.1,localhost")
    routes = {CERTS_PATH: tokens.certificate_map(), JWKS_PATH: tokens.jwks()}
    with serving(routes) as google:
        # The SDK reads the certificate map, as it does from Google.
        monkeypatch.setattr(token_gen, "ID_TOKEN_CERT_URI", google.base_url + CERTS_PATH)
        app = firebase_admin.initialize_app(
            _service_account(firebase_admin, tokens),
            options={"projectId": PROJECT},
            name=f"jwtgate-{uuid.uuid4().hex}",
        )
        try:
            sdk: dict[str, Verdict] = {}
            with freeze_time(datetime.datetime.fromtimestamp(now, datetime.UTC)):
                for case in cases:
                    try:
                        claims = auth.verify_id_token(case.token, app=app)
                    except Exception as exc:  # every refusal, whatever its class
                        sdk[case.name] = Verdict(False, f"{type(exc).__name__}: {exc}"[:200])
                    else:
                        sdk[case.name] = Verdict(True, "accepted", extra={"uid": claims["uid"]})
        finally:
            firebase_admin.delete_app(app)
        # jwtgate reads either format: the same verdicts from both.
        for keys_path in (CERTS_PATH, JWKS_PATH):
            gate = Gate(
                issuers=[firebase(PROJECT, jwks_url=google.base_url + keys_path)],
                clock=lambda: now,
            )
            ours = jwtgate_verdicts(gate, cases)
            compare(cases, sdk, ours)
            assert sdk["valid"].extra["uid"] == ours["valid"].extra["sub"]
        assert [path for path, _ in google.requests].count(CERTS_PATH) >= 2  # both judges read it
    print(summary("firebase", cases, sdk))
    documented("firebase", cases)
