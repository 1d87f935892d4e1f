"""The Privy preset: identity tokens and access tokens, each refusing the other."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from jwtgate import (
    ConfigurationError,
    Gate,
    InvalidClaims,
    InvalidRequest,
    InvalidToken,
    UntrustedIssuer,
)
from jwtgate.presets import PRIVY_JWKS_URL, privy
from jwtgate.remote import RemoteKeys, RemoteOptions
from jwtgate.testing import TokenFactory
from jwtgate.testing.jwks_server import JWKS_PATH
from jwtgate.user import FrozenDict

APP = "app-123"
EMAIL_ACCOUNT = {"type": "email", "address": "a@example.com", "lv": 1717000000}


@pytest.fixture
def privy_tokens(clock) -> TokenFactory:
    return TokenFactory.privy(app_id=APP, clock=clock)


@pytest.fixture
def access_tokens(privy_tokens, clock) -> TokenFactory:
    tokens = TokenFactory.privy(app_id=APP, token="access", clock=clock)
    tokens.signing_key, tokens.kid = privy_tokens.signing_key, privy_tokens.kid
    return tokens


def _payload(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


# --- identity tokens -------------------------------------------------------------------


def test_privy_verifies_identity_tokens_with_the_dashboard_key(privy_tokens, clock) -> None:
    issuer = privy(APP, verification_key=privy_tokens.public_pem())
    assert issuer.issuer == "privy.io"
    assert issuer.algorithms == {"ES256"}
    assert issuer.audience == {APP}
    assert issuer.token_type == "JWT"
    user = Gate(issuers=[issuer], clock=clock).authenticate(
        cookies={"privy-id-token": privy_tokens.token(sub="did:privy:abc")}
    )
    assert user is not None
    assert (user.subject, user.issuer, user.source) == (
        "did:privy:abc",
        "privy.io",
        "cookie:privy-id-token",
    )


def test_identity_tokens_have_privys_shape(privy_tokens) -> None:
    payload = _payload(privy_tokens.token(linked_accounts=[EMAIL_ACCOUNT]))
    assert "sid" not in payload  # the session id is the access token's
    assert isinstance(payload["linked_accounts"], str)
    assert json.loads(payload["linked_accounts"]) == [EMAIL_ACCOUNT]
    assert payload["custom_metadata"] == "{}"
    assert payload["cr"].isdigit()


def test_privy_reads_the_cookie_then_the_header(privy_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
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


def test_privy_decodes_custom_metadata_and_linked_accounts(privy_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    accounts = [{"type": "wallet", "chain_type": "ethereum"}, EMAIL_ACCOUNT]
    token = privy_tokens.token(
        custom_metadata={"plan": "pro", "roles": ["editor"]}, linked_accounts=accounts
    )
    assert isinstance(_payload(token)["custom_metadata"], str)  # text in the token
    user = gate.authenticate(cookies={"privy-id-token": token})
    assert user is not None
    assert user.claims["custom_metadata"] == {"plan": "pro", "roles": ("editor",)}
    assert user.claims["linked_accounts"][1]["address"] == "a@example.com"
    assert user.roles == {"editor"}  # read from custom_metadata.roles, once decoded
    assert user.email == "a@example.com"  # the first email account, as Privy's SDK finds it
    with pytest.raises(TypeError):
        user.claims["custom_metadata"]["plan"] = "free"
    assert isinstance(user.claims, FrozenDict)


def test_roles_go_in_custom_metadata(privy_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    user = gate.authenticate(cookies=privy_tokens.cookies("privy-id-token", roles=["admin"]))
    assert user is not None
    assert user.roles == {"admin"}


def test_a_token_email_claim_wins_and_no_email_account_means_no_email(privy_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    own = gate.authenticate(
        cookies=privy_tokens.cookies(
            "privy-id-token", email="own@example.com", linked_accounts=[EMAIL_ACCOUNT]
        )
    )
    assert own is not None
    assert own.email == "own@example.com"
    wallet_only = gate.authenticate(
        cookies=privy_tokens.cookies("privy-id-token", linked_accounts=[{"type": "wallet"}, 5])
    )
    assert wallet_only is not None
    assert wallet_only.email is None


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ({"linked_accounts": "{not json"}, "linked_accounts"),
        ({"linked_accounts": "{}"}, "linked_accounts"),
        ({"custom_metadata": "{not json"}, "custom_metadata"),
        ({"custom_metadata": "7"}, "custom_metadata"),
        ({"custom_metadata": "[" * 5000 + "]" * 5000}, "custom_metadata"),
    ],
)
def test_malformed_json_claims_are_refused_as_privys_sdk_refuses_them(
    privy_tokens, clock, claims, name
) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], max_token_bytes=32_768, clock=clock)
    with pytest.raises(InvalidClaims) as info:
        gate.authenticate(headers={"privy-id-token": privy_tokens.token(**claims)})
    assert info.value.description == f"The token's {name} claim is not accepted"


def test_an_access_token_is_not_an_identity_token(privy_tokens, access_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    with pytest.raises(InvalidClaims) as info:
        gate.authenticate(cookies={"privy-id-token": access_tokens.token()})
    assert info.value.description == "The token lacks the linked_accounts claim"


def test_privy_refuses_another_apps_tokens(privy_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    with pytest.raises(InvalidClaims) as info:
        gate.authenticate(cookies={"privy-id-token": privy_tokens.wrong_audience()})
    assert info.value.status == 401
    assert info.value.error == "invalid_token"


def test_privy_refuses_another_issuer(privy_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    with pytest.raises(UntrustedIssuer) as info:
        gate.authenticate(cookies={"privy-id-token": privy_tokens.wrong_issuer()})
    assert info.value.status == 401
    assert info.value.error == "invalid_token"


def test_privy_accepts_es256_only(privy_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    rs = TokenFactory("RS256", issuer="privy.io", audience=APP, clock=clock)
    with pytest.raises(InvalidToken) as info:
        gate.authenticate(cookies={"privy-id-token": rs.token()})
    assert info.value.status == 401
    assert info.value.description == ("The token's algorithm is not allowed")


def test_privy_requires_a_jwt_typ_header(privy_tokens, clock) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    token = privy_tokens.token(headers={"typ": "at+jwt"})
    with pytest.raises(InvalidToken) as info:
        gate.authenticate(cookies={"privy-id-token": token})
    assert info.value.description == "The token's type is not accepted"


@pytest.mark.parametrize("claims", [{"sub": None}, {"sub": ""}, {"expires_in": None}])
def test_privy_requires_sub_and_exp(privy_tokens, clock, claims) -> None:
    gate = Gate(issuers=[privy_tokens.issuer_config()], clock=clock)
    with pytest.raises(InvalidClaims):
        gate.authenticate(cookies={"privy-id-token": privy_tokens.token(**claims)})


# --- access tokens ---------------------------------------------------------------------


def test_access_tokens_come_as_bearer_or_the_privy_token_cookie(access_tokens, clock) -> None:
    issuer = privy(APP, access_tokens.public_pem(), token="access")
    assert issuer.name == "privy-access"
    gate = Gate(issuers=[issuer], clock=clock)
    assert [s.spec for s in gate.sources] == ["cookie:privy-token", "bearer"]
    payload = _payload(access_tokens.token())
    assert payload["sid"]
    assert "linked_accounts" not in payload
    bearer = gate.authenticate(headers=access_tokens.headers(sub="did:privy:u1"))
    assert bearer is not None
    assert (bearer.subject, bearer.source) == ("did:privy:u1", "bearer")
    cookie = gate.authenticate(cookies=access_tokens.cookies("privy-token"))
    assert cookie is not None
    assert cookie.source == "cookie:privy-token"


def test_an_identity_token_is_not_an_access_token(privy_tokens, access_tokens, clock) -> None:
    gate = Gate(issuers=[access_tokens.issuer_config()], clock=clock)
    with pytest.raises(InvalidClaims) as info:
        gate.authenticate(headers=privy_tokens.headers())
    assert info.value.description == "The token lacks the sid claim"


@pytest.mark.parametrize(
    "claims",
    [{"sid": ""}, {"iat": 0}, {"aud": [APP]}, {"sub": ""}],
    ids=["empty sid", "iat zero", "aud in a list", "empty sub"],
)
def test_access_tokens_are_checked_as_verify_access_token_checks_them(
    access_tokens, clock, claims
) -> None:
    gate = Gate(issuers=[access_tokens.issuer_config()], clock=clock)
    with pytest.raises(InvalidClaims):
        gate.authenticate(headers=access_tokens.headers(**claims))


# --- configuration -----------------------------------------------------------------------


def test_privy_without_a_key_uses_the_apps_jwks_without_fetching_yet() -> None:
    issuer = privy(APP)
    assert isinstance(issuer.keys, RemoteKeys)
    assert issuer.keys.jwks_url == "https://auth.privy.io/api/v1/apps/app-123/jwks.json"
    assert issuer.keys.jwks_url == PRIVY_JWKS_URL.format(app_id=APP)
    assert issuer.keys.fetches == 0


def test_privy_over_a_jwks_server(privy_tokens, clock) -> None:
    with privy_tokens.serve_jwks() as server:
        issuer = privy_tokens.issuer_config(jwks_url=server.url, remote=RemoteOptions())
        gate = Gate(issuers=[issuer], clock=clock)
        for n in range(3):
            assert gate.authenticate(cookies=privy_tokens.cookies("privy-id-token", sub=f"u{n}"))
        assert server.paths == [JWKS_PATH]


@pytest.mark.parametrize("app_id", ["", "app/../x", "app id", 5, "a" * 129])
def test_privy_checks_the_app_id(app_id: Any) -> None:
    with pytest.raises(ConfigurationError, match="app_id"):
        privy(app_id)


def test_privy_checks_the_token_kind() -> None:
    with pytest.raises(ConfigurationError, match='token: "identity" or "access"'):
        privy(APP, token="refresh")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="token"):
        TokenFactory.privy(token="refresh")


def test_privy_takes_a_key_or_a_jwks_url_not_both(privy_tokens) -> None:
    with pytest.raises(ConfigurationError, match="give one or the other"):
        privy(APP, verification_key=privy_tokens.public_pem(), jwks_url="https://x.example/j")
