"""The auth0 preset: an API's access tokens, roles from permissions and a namespaced claim."""

from __future__ import annotations

import pytest

from jwtgate import ConfigurationError, Gate, InvalidClaims, UntrustedIssuer
from jwtgate.presets import UNCHECKED, auth0
from jwtgate.remote import RemoteKeys
from jwtgate.testing import TokenFactory

DOMAIN = "example.us.auth0.com"
API = "https://api.example.com"


@pytest.fixture
def tokens(clock) -> TokenFactory:
    return TokenFactory.auth0(DOMAIN, audience=API, clock=clock)


def test_the_tenant_domain_gives_iss_and_keys() -> None:
    issuer = auth0(DOMAIN, audience=API)
    assert issuer.issuer == f"https://{DOMAIN}/"
    assert isinstance(issuer.keys, RemoteKeys)
    assert issuer.keys.jwks_url == f"https://{DOMAIN}/.well-known/jwks.json"
    assert issuer.algorithms == {"RS256"}
    assert issuer.leeway == 5
    assert issuer.audience == {API}
    for spelling in (f"https://{DOMAIN}/", "Example.US.auth0.com", f"https://{DOMAIN}"):
        assert auth0(spelling, audience=API).issuer == f"https://{DOMAIN}/"


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (None, "domain: required"),
        ("", "domain: is empty"),
        ("http://example.us.auth0.com", "domain: must be a host name"),
        ("example.us.auth0.com/path", "domain: must be a host name"),
    ],
)
def test_a_bad_domain_is_refused(domain, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        auth0(domain, audience=API)


def test_the_audience_is_required_and_cannot_be_skipped() -> None:
    with pytest.raises(ConfigurationError, match=r"audience: required .*API Identifier"):
        auth0(DOMAIN, audience=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="it cannot be UNCHECKED"):
        auth0(DOMAIN, audience=UNCHECKED)  # type: ignore[arg-type]


def test_tokens_have_auth0s_shape(tokens) -> None:
    claims = tokens.claims(sub="auth0|64d1", roles=["read:reports"])
    assert claims["aud"] == [API, f"https://{DOMAIN}/userinfo"]
    assert claims["permissions"] == ["read:reports"]
    assert claims["scope"] == "openid profile email"
    assert claims["azp"]


def test_roles_come_from_permissions_and_the_namespaced_claim(tokens, clock) -> None:
    with tokens.serve_jwks() as keys:
        plain = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        namespaced = Gate(
            issuers=[
                tokens.issuer_config(jwks_url=keys.url, roles_claim="https://example.com/roles")
            ],
            clock=clock,
        )
        token_headers = tokens.headers(
            roles=["read:reports"], **{"https://example.com/roles": ["admin"]}
        )
        user = plain.authenticate(headers=token_headers)
        assert user is not None
        assert user.roles == {"read:reports"}
        user = namespaced.authenticate(headers=token_headers)
        assert user is not None
        assert user.roles == {"read:reports", "admin"}


def test_five_seconds_of_clock_skew_as_the_sdk_allows(tokens, clock) -> None:
    now = int(clock())
    with tokens.serve_jwks() as keys:
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        assert gate.authenticate(headers=tokens.headers(iat=now + 3))
        assert gate.authenticate(headers=tokens.headers(expires_in=-4))
        with pytest.raises(InvalidClaims):
            gate.authenticate(headers=tokens.headers(aud="https://other.example.com"))
        with pytest.raises(UntrustedIssuer):
            gate.authenticate(headers=tokens.headers(iss=f"https://{DOMAIN}"))


def test_the_factory_needs_the_served_keys(tokens) -> None:
    with pytest.raises(ConfigurationError, match=r"jwks_url=keys\.url"):
        tokens.issuer_config()
