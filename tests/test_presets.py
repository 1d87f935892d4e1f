"""Presets: Privy identity tokens and any OIDC provider (Netlify's has its own tests)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from jwtgate import (
    ConfigurationError,
    Gate,
    InvalidClaims,
    InvalidRequest,
    InvalidToken,
    Issuer,
    UntrustedIssuer,
)
from jwtgate.presets import PRIVY_JWKS_URL, decode_json_claims, netlify, oidc, privy
from jwtgate.remote import RemoteKeys, RemoteOptions
from jwtgate.testing import TokenFactory
from jwtgate.testing.jwks_server import DISCOVERY_PATH, JWKS_PATH
from jwtgate.user import FrozenDict

# --- Privy ------------------------------------------------------------------------------


@pytest.fixture
def privy_tokens() -> TokenFactory:
    return TokenFactory.privy(app_id="app-123")


def test_privy_verifies_identity_tokens_with_the_dashboard_key(privy_tokens) -> None:
    issuer = privy("app-123", verification_key=privy_tokens.public_pem())
    assert issuer.issuer == "privy.io"
    assert issuer.algorithms == {"ES256"}
    assert issuer.audience == {"app-123"}
    user = Gate(issuers=[issuer]).authenticate(
        cookies={"privy-id-token": privy_tokens.token(sub="did:privy:abc")}
    )
    assert user is not None
    assert (user.subject, user.issuer, user.source) == (
        "did:privy:abc",
        "privy.io",
        "cookie:privy-id-token",
    )


def test_privy_reads_the_cookie_then_the_header(privy_tokens) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()])
    token = privy_tokens.token()
    header_user = gate.authenticate(headers={"privy-id-token": token})
    assert header_user is not None
    assert header_user.source == "header:privy-id-token"
    both = gate.authenticate(headers={"privy-id-token": token}, cookies={"privy-id-token": token})
    assert both is not None
    assert both.source == "cookie:privy-id-token"
    assert gate.authenticate(headers={"Authorization": f"Bearer {token}"}) is None
    with pytest.raises(InvalidRequest) as info:
        gate.authenticate(
            headers={"privy-id-token": privy_tokens.token(sub="other")},
            cookies={"privy-id-token": token},
        )
    assert info.value.status == 400
    assert info.value.error == "invalid_request"


def test_privy_decodes_custom_metadata_and_linked_accounts(privy_tokens) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()])
    accounts = [{"type": "email", "address": "a@example.com"}, {"type": "wallet", "chain": "1"}]
    token = privy_tokens.token(
        custom_metadata={"plan": "pro", "roles": ["editor"]}, linked_accounts=accounts
    )
    assert isinstance(json.loads(_payload(token))["custom_metadata"], str)  # text in the token
    user = gate.authenticate(cookies={"privy-id-token": token})
    assert user is not None
    assert user.claims["custom_metadata"] == {"plan": "pro", "roles": ("editor",)}
    assert user.claims["linked_accounts"][0]["address"] == "a@example.com"
    assert user.roles == {"editor"}  # read from custom_metadata.roles, once decoded
    with pytest.raises(TypeError):
        user.claims["custom_metadata"]["plan"] = "free"
    assert isinstance(user.claims, FrozenDict)


def _payload(token: str) -> str:
    import base64

    segment = token.split(".")[1]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode()


@pytest.mark.parametrize("raw", ["{not json", "[" * 5000 + "]" * 5000])
def test_a_malformed_json_claim_keeps_its_text_and_the_request_succeeds(
    privy_tokens, raw: str, caplog
) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], max_token_bytes=32_768)
    token = privy_tokens.token(custom_metadata=raw, linked_accounts=[{"type": "email"}])
    with caplog.at_level(logging.DEBUG, logger="jwtgate"):
        user = gate.authenticate(headers={"privy-id-token": token})
    assert user is not None
    assert user.claims["custom_metadata"] == raw
    assert user.claims["linked_accounts"] == ({"type": "email"},)
    assert user.roles == frozenset()
    assert "custom_metadata claim is not valid JSON" in caplog.text
    assert token not in caplog.text


def test_privy_refuses_another_apps_tokens(privy_tokens) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()])
    with pytest.raises(InvalidClaims) as info:
        gate.authenticate(cookies={"privy-id-token": privy_tokens.wrong_audience()})
    assert info.value.status == 401
    assert info.value.error == "invalid_token"


def test_privy_refuses_another_issuer(privy_tokens) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()])
    with pytest.raises(UntrustedIssuer) as info:
        gate.authenticate(cookies={"privy-id-token": privy_tokens.wrong_issuer()})
    assert info.value.status == 401
    assert info.value.error == "invalid_token"


def test_privy_accepts_es256_only(privy_tokens) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()])
    rs = TokenFactory("RS256", issuer="privy.io", audience="app-123")
    with pytest.raises(InvalidToken) as info:
        gate.authenticate(cookies={"privy-id-token": rs.token()})
    assert info.value.status == 401
    assert info.value.description == ("The token's algorithm is not allowed")


def test_privy_requires_sub_and_exp(privy_tokens) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()])
    for token in (privy_tokens.token(sub=None), privy_tokens.token(expires_in=None)):
        with pytest.raises(InvalidClaims):
            gate.authenticate(cookies={"privy-id-token": token})


def test_privy_without_a_key_uses_the_apps_jwks_without_fetching_yet() -> None:
    issuer = privy("app-123")
    assert isinstance(issuer.keys, RemoteKeys)
    assert issuer.keys.jwks_url == "https://auth.privy.io/api/v1/apps/app-123/jwks.json"
    assert issuer.keys.jwks_url == PRIVY_JWKS_URL.format(app_id="app-123")
    assert issuer.keys.fetches == 0


def test_privy_over_a_jwks_server(privy_tokens) -> None:
    with privy_tokens.serve_jwks() as server:
        issuer = privy_tokens.issuer_config(jwks_url=server.url, remote=RemoteOptions())
        gate = Gate(issuers=[issuer])
        for n in range(3):
            assert gate.authenticate(cookies=privy_tokens.cookies("privy-id-token", sub=f"u{n}"))
        assert server.paths == [JWKS_PATH]


@pytest.mark.parametrize("app_id", ["", "app/../x", "app id", 5, "a" * 129])
def test_privy_checks_the_app_id(app_id: Any) -> None:
    with pytest.raises(ConfigurationError, match="app_id"):
        privy(app_id)


def test_privy_takes_a_key_or_a_jwks_url_not_both(privy_tokens) -> None:
    with pytest.raises(ConfigurationError, match="give one or the other"):
        privy("app", verification_key=privy_tokens.public_pem(), jwks_url="https://x.example/j")


# --- claims hooks -----------------------------------------------------------------------


def test_decode_json_claims_leaves_claims_without_text_alone() -> None:
    hook = decode_json_claims("meta")
    claims = FrozenDict({"sub": "u", "meta": {"already": "object"}})
    assert hook(claims) is claims


def test_a_claims_hook_that_fails_is_a_401_not_a_500(caplog) -> None:
    tokens = TokenFactory("ES256")

    def broken(claims: Any) -> Any:
        raise KeyError("surprise")

    gate = Gate(issuers=[tokens.issuer_config(claims_hook=broken)])
    with caplog.at_level(logging.ERROR, logger="jwtgate"), pytest.raises(InvalidClaims) as info:
        gate.authenticate(headers=tokens.headers())
    assert info.value.status == 401
    assert info.value.description == "The token's claims could not be read"
    assert "claims_hook" in caplog.text


def test_a_failing_claims_hook_logs_the_issuer_and_exception_type_but_no_claim(caplog) -> None:
    tokens = TokenFactory("ES256")
    canary = "claim-value-4f1c9d"

    def strict(claims: Any) -> Any:
        return {**claims, "age": int(claims["age"])}  # ValueError quoting the claim

    gate = Gate(issuers=[tokens.issuer_config(claims_hook=strict, name="people")])
    with caplog.at_level(logging.DEBUG, logger="jwtgate"), pytest.raises(InvalidClaims) as info:
        gate.authenticate(headers=tokens.headers(age=canary))
    assert canary not in info.value.description
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "jwtgate: the claims_hook of issuer 'people' failed with ValueError"
    ]
    for record in caplog.records:
        assert canary not in record.getMessage()
        assert record.exc_info is None  # no traceback: its last line quotes the claim
        assert canary not in (record.exc_text or "")
    assert canary not in caplog.text


def test_a_claims_hook_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="claims_hook"):
        TokenFactory("ES256").issuer_config(claims_hook="decode")


# --- OIDC -------------------------------------------------------------------------------


def test_oidc_finds_the_keys_through_discovery() -> None:
    rs = TokenFactory("RS256")
    es = TokenFactory("ES256", issuer=rs.issuer)
    with rs.serve_jwks() as server:
        server.extra_keys = [es.public_jwk()]
        gate = Gate(issuers=[oidc(rs.issuer or "", audience="api")])
        assert isinstance(gate.issuers[0].keys, RemoteKeys)
        # The configured issuer is https: point the preset at the local document instead.
        gate = Gate(issuers=[oidc(rs.issuer or "", audience="api", discovery=server.discovery_url)])
        assert gate.authenticate(headers=rs.headers(sub="rs"))
        assert gate.authenticate(headers=es.headers(sub="es"))  # RS256 and ES256 by default
        assert server.paths == [DISCOVERY_PATH, JWKS_PATH]


def test_oidc_checks_the_token_type_when_asked() -> None:
    tokens = TokenFactory("ES256")
    with tokens.serve_jwks() as server:
        issuer = oidc(
            tokens.issuer or "",
            audience="api",
            algorithms=["ES256"],
            discovery=server.discovery_url,
            token_type="at+jwt",
            roles_claim="scope",
        )
        gate = Gate(issuers=[issuer])
        user = gate.authenticate(headers=tokens.headers(headers={"typ": "at+jwt"}, scope="a b"))
        assert user is not None
        assert user.roles == {"a", "b"}
        with pytest.raises(InvalidToken) as info:
            gate.authenticate(headers=tokens.headers(sub="plain-jwt"))
        assert info.value.description == "The token's type is not accepted"


def test_oidc_refuses_tokens_for_another_audience() -> None:
    tokens = TokenFactory("ES256")
    with tokens.serve_jwks() as server:
        gate = Gate(
            issuers=[oidc(tokens.issuer or "", audience="api", discovery=server.discovery_url)]
        )
        with pytest.raises(InvalidClaims) as info:
            gate.authenticate(headers={"Authorization": f"Bearer {tokens.wrong_audience()}"})
        assert info.value.status == 401
        assert info.value.error == "invalid_token"


def test_oidc_needs_https_issuers() -> None:
    with pytest.raises(ConfigurationError, match="discovery: must be https"):
        oidc("http://issuer.example", audience="api")


# --- Netlify stays as it was ------------------------------------------------------------


def test_netlify_is_unchanged() -> None:
    tokens = TokenFactory.netlify()
    issuer = netlify(jwt_secret=tokens.secret)
    assert isinstance(issuer, Issuer)
    assert issuer.sources is not None
    assert [s.spec for s in issuer.sources] == ["cookie:nf_jwt", "bearer"]
    assert Gate(issuers=[issuer]).authenticate(cookies=tokens.cookies("nf_jwt"))
