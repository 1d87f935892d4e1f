"""The firebase preset: a project's ID tokens, keys as a certificate map or a JWK Set."""

from __future__ import annotations

import pytest

from jwtgate import ConfigurationError, Gate, InvalidClaims, InvalidToken
from jwtgate.presets import FIREBASE_CERTIFICATES_URL, FIREBASE_JWKS_URL, firebase
from jwtgate.remote import RemoteKeys
from jwtgate.testing import TokenFactory

PROJECT = "example-project"


@pytest.fixture
def tokens(clock) -> TokenFactory:
    return TokenFactory.firebase(PROJECT, clock=clock)


def test_the_project_gives_iss_and_googles_certificates() -> None:
    issuer = firebase(PROJECT)
    assert issuer.issuer == f"https://securetoken.google.com/{PROJECT}"
    assert isinstance(issuer.keys, RemoteKeys)
    assert issuer.keys.jwks_url == FIREBASE_CERTIFICATES_URL
    assert firebase(PROJECT, jwks_url=FIREBASE_JWKS_URL).keys.jwks_url == FIREBASE_JWKS_URL  # type: ignore[attr-defined]
    assert issuer.required_claims == ("exp", "iat", "sub")
    assert issuer.past_claims == ("auth_time",)


@pytest.mark.parametrize(("project", "message"), [(None, "required"), ("My Project", "must be")])
def test_a_bad_project_id_is_refused(project, message) -> None:
    with pytest.raises(ConfigurationError, match=f"project_id: {message}"):
        firebase(project)


def test_tokens_have_firebases_shape(tokens) -> None:
    claims = tokens.claims(sub="uid-1", roles=["admin"])
    assert (claims["aud"], claims["user_id"], claims["auth_time"]) == (
        PROJECT,
        "uid-1",
        claims["iat"],
    )
    assert claims["firebase"]["sign_in_provider"] == "password"
    assert claims["roles"] == ["admin"]


@pytest.mark.parametrize("serve", ["certificate map", "JWK Set"])
def test_either_key_format_verifies(tokens, clock, serve) -> None:
    with tokens.serve_jwks() as keys:
        if serve == "certificate map":
            keys.respond(tokens.certificate_map())
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        user = gate.authenticate(headers=tokens.headers(sub="uid-1", roles=["admin"]))
        assert user is not None
        assert (user.subject, user.roles) == ("uid-1", {"admin"})


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"sub": ""}, InvalidClaims, "The token's sub claim is not accepted"),
        ({"sub": "u" * 129}, InvalidClaims, "The token's sub claim is not accepted"),
        ({"aud": [PROJECT]}, InvalidClaims, "The token's aud claim is not accepted"),
        (
            {"auth_time": 1_800_000_100},
            InvalidClaims,
            "The token's auth_time claim is in the future",
        ),
        ({"iat": None}, InvalidClaims, "The token lacks the iat claim"),
        ({"headers": {"kid": ""}}, InvalidToken, "The token has no key id"),
    ],
)
def test_firebase_admins_checks(tokens, clock, claims, error, description) -> None:
    with tokens.serve_jwks() as keys:
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        token = tokens.token(**claims)
        if claims.get("iat", 0) is None:
            payload = tokens.claims()
            del payload["iat"]
            token = tokens.sign(payload)
        with pytest.raises(error) as info:
            gate.authenticate(headers={"Authorization": f"Bearer {token}"})
        assert info.value.description == description
