"""The cognito preset: access or ID tokens of one user pool, one app client."""

from __future__ import annotations

import os

import pytest

from jwtgate import ConfigurationError, Gate, InvalidClaims, InvalidToken
from jwtgate.presets import UNCHECKED, cognito
from jwtgate.remote import RemoteKeys
from jwtgate.testing import TokenFactory

REGION, POOL, CLIENT = "eu-west-1", "eu-west-1_Example01", "4example1client2id3abc"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"


@pytest.fixture
def access(clock) -> TokenFactory:
    return TokenFactory.cognito(REGION, POOL, client_id=CLIENT, clock=clock)


def test_the_pool_gives_iss_keys_and_the_newer_issuer_form() -> None:
    issuer = cognito(REGION, POOL, client_id=CLIENT)
    assert issuer.issuer == ISSUER
    assert issuer.accepted_issuers == {
        ISSUER,
        f"https://issuer-cognito-idp.{REGION}.amazonaws.com/{POOL}",
    }
    assert isinstance(issuer.keys, RemoteKeys)
    assert issuer.keys.jwks_url == f"{ISSUER}/.well-known/jwks.json"
    assert issuer.require_kid
    assert issuer.roles_claim == "cognito:groups"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((REGION, "eu-west-1-Example01"), "user_pool_id: must look like"),
        (("us-east-1", POOL), "region: the user pool eu-west-1_Example01 is in eu-west-1"),
        ((None, POOL), "region: required"),
    ],
)
def test_a_bad_pool_is_refused(args, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        cognito(*args, client_id=CLIENT)


def test_the_client_id_is_required_unless_unchecked(access, clock) -> None:
    with pytest.raises(ConfigurationError, match=r"client_id: required .*UNCHECKED"):
        cognito(REGION, POOL, client_id=os.environ.get("JWTGATE_SURELY_UNSET"))
    with pytest.raises(ConfigurationError, match='token_use: "access" or "id"'):
        cognito(REGION, POOL, client_id=CLIENT, token_use="refresh")  # type: ignore[arg-type]
    with access.serve_jwks() as keys:
        any_client = cognito(REGION, POOL, client_id=UNCHECKED, jwks_url=keys.url)
        gate = Gate(issuers=[any_client], clock=clock)
        assert gate.authenticate(headers=access.headers(client_id="another-client"))
        id_token = TokenFactory.cognito(REGION, POOL, client_id=CLIENT, token_use="id")
        id_token.signing_key, id_token.kid, id_token.clock = access.signing_key, access.kid, clock
        with pytest.raises(InvalidClaims, match="token_use"):
            gate.authenticate(headers=id_token.headers())


def test_access_tokens_carry_client_id_and_id_tokens_aud(access, clock) -> None:
    claims = access.claims(roles=["admins"])
    assert "aud" not in claims
    assert (claims["client_id"], claims["token_use"], claims["cognito:groups"]) == (
        CLIENT,
        "access",
        ["admins"],
    )
    id_tokens = TokenFactory.cognito(REGION, POOL, client_id=CLIENT, token_use="id", clock=clock)
    id_claims = id_tokens.claims()
    assert (id_claims["aud"], id_claims["token_use"]) == (CLIENT, "id")
    with id_tokens.serve_jwks() as keys:
        gate = Gate(issuers=[id_tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        user = gate.authenticate(headers=id_tokens.headers(roles=["staff"]))
        assert user is not None
        assert user.roles == {"staff"}
        with pytest.raises(InvalidClaims, match="aud"):
            gate.authenticate(headers=id_tokens.headers(aud="another-client"))


def test_a_token_without_kid_is_refused(access, clock) -> None:
    with access.serve_jwks() as keys:
        gate = Gate(issuers=[access.issuer_config(jwks_url=keys.url)], clock=clock)
        with pytest.raises(InvalidToken, match="no key id"):
            gate.authenticate(headers=access.headers(headers={"kid": None}))
