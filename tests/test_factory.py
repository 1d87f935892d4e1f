"""TokenFactory mints what its issuer accepts, in every algorithm and provider shape."""

from __future__ import annotations

import base64
import json

import pytest

from jwtgate import ConfigurationError, Gate, Issuer
from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory


def decode_segment(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@pytest.mark.parametrize(
    "algorithm",
    [
        "HS256",
        "HS384",
        "HS512",
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    ],
)
def test_every_algorithm_round_trips(algorithm):
    tokens = TokenFactory(algorithm)
    gate = Gate(issuers=[tokens.issuer_config()])
    user = gate.authenticate(headers=tokens.headers(sub="u", roles=["r"]))
    assert user.subject == "u"
    assert user.roles == {"r"}


def test_unknown_algorithm_is_refused():
    with pytest.raises(ConfigurationError, match="algorithm"):
        TokenFactory("none")


def test_keys_in_every_form_configure_an_issuer():
    tokens = TokenFactory("ES256")
    for key in (tokens.public_key, tokens.public_pem(), tokens.public_jwk(), tokens.jwks()):
        gate = Gate(issuers=[Issuer(tokens.issuer, algorithms=["ES256"], audience="api", key=key)])
        assert gate.authenticate(headers=tokens.headers()) is not None
    jwk = tokens.public_jwk()
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == (tokens.kid, "ES256", "sig")
    assert "d" not in jwk


def test_hmac_factories_never_publish_their_secret():
    tokens = TokenFactory("HS256")
    assert len(tokens.secret) == 32
    with pytest.raises(ConfigurationError, match="never be published"):
        tokens.jwks()
    with pytest.raises(ConfigurationError, match="HMAC"):
        _ = tokens.public_key
    with pytest.raises(ConfigurationError, match="private key"):
        _ = TokenFactory("RS256").secret


def test_a_given_key_signs_instead_of_a_fresh_one():
    tokens = TokenFactory("HS256", key=DEVELOPMENT_SECRET)
    assert tokens.secret == DEVELOPMENT_SECRET.encode()


def test_claims_and_headers_can_be_overridden():
    tokens = TokenFactory("HS256", clock=lambda: 1000, roles_claim="app.roles")
    token = tokens.token(
        sub="x", roles=["a"], expires_in=60, not_before=-5, headers={"typ": "at+jwt"}, extra=1
    )
    header, payload, _ = token.split(".")
    assert decode_segment(header)["typ"] == "at+jwt"
    assert decode_segment(payload) == {
        "iat": 1000,
        "iss": "https://issuer.test/",
        "aud": "api",
        "sub": "x",
        "exp": 1060,
        "nbf": 995,
        "app": {"roles": ["a"]},
        "extra": 1,
    }


def test_issuer_config_overrides():
    tokens = TokenFactory("HS256")
    issuer = tokens.issuer_config(leeway=10, audience=["api", "other"])
    assert issuer.leeway == 10
    assert issuer.audience == {"api", "other"}


def test_cookies_and_headers_shapes():
    tokens = TokenFactory("HS256")
    assert list(tokens.cookies("nf_jwt")) == ["nf_jwt"]
    assert tokens.headers()["Authorization"].startswith("Bearer ey")
    assert "HS256" in repr(tokens)


def test_tampered_token_claims_admin_but_keeps_the_old_signature():
    tokens = TokenFactory("HS256")
    token = tokens.tampered(sub="victim")
    assert decode_segment(token.split(".")[1])["roles"] == ["admin"]
    assert decode_segment(token.split(".")[1])["sub"] == "admin"


def test_alg_none_token_is_unsigned():
    token = TokenFactory("RS256").alg_none(headers={"kid": "x"})
    header, _, signature = token.split(".")
    assert decode_segment(header) == {"alg": "none", "typ": "JWT", "kid": "x"}
    assert signature == ""


def test_wrong_signature_keeps_headers():
    tokens = TokenFactory("HS256")
    token = tokens.wrong_signature(headers={"kid": "other"})
    assert decode_segment(token.split(".")[0])["kid"] == "other"


def test_a_header_member_given_as_none_is_left_out() -> None:
    import base64
    import json

    from jwtgate.testing import TokenFactory

    tokens = TokenFactory("ES256")
    header_b64 = tokens.token(headers={"kid": None, "typ": None}).split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    assert header == {"alg": "ES256"}
