"""The oidc preset: any OpenID provider, keys through discovery or a JWKS URL."""

from __future__ import annotations

import os

import pytest

from jwtgate import ConfigurationError, Gate, InvalidClaims, InvalidToken
from jwtgate.presets import UNCHECKED, oidc
from jwtgate.remote import RemoteKeys
from jwtgate.testing import TokenFactory
from jwtgate.testing.jwks_server import DISCOVERY_PATH, JWKS_PATH


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


def test_an_unset_audience_is_refused_naming_the_opt_out() -> None:
    with pytest.raises(ConfigurationError) as info:
        oidc("https://idp.example.org", audience=os.environ.get("JWTGATE_SURELY_UNSET"))
    message = str(info.value)
    assert message.startswith("audience: required")
    assert "jwtgate.presets.UNCHECKED" in message
    assert "environment variable" in message
    for empty in ("", [], [""]):
        with pytest.raises(ConfigurationError, match="audience"):
            oidc("https://idp.example.org", audience=empty)


def test_unchecked_accepts_any_audience() -> None:
    tokens = TokenFactory("ES256")
    with tokens.serve_jwks() as server:
        issuer = oidc(tokens.issuer or "", audience=UNCHECKED, jwks_url=server.url)
        assert issuer.audience is None
        token = tokens.wrong_audience()
        user = Gate(issuers=[issuer]).authenticate(headers={"Authorization": f"Bearer {token}"})
        assert user is not None


def test_oidc_takes_a_jwks_url_instead_of_discovery() -> None:
    tokens = TokenFactory("ES256")
    with tokens.serve_jwks() as server:
        issuer = oidc(tokens.issuer or "", audience="api", jwks_url=server.url)
        assert isinstance(issuer.keys, RemoteKeys)
        assert issuer.keys.jwks_url == server.url
        assert Gate(issuers=[issuer]).authenticate(headers=tokens.headers())
        assert server.paths == [JWKS_PATH]


def test_oidc_passes_expected_claims_and_authorized_parties_on() -> None:
    tokens = TokenFactory("ES256")
    with tokens.serve_jwks() as server:
        issuer = oidc(
            tokens.issuer or "",
            audience="api",
            jwks_url=server.url,
            expected_claims={"tenant": "acme"},
            authorized_parties=["web-app"],
        )
        gate = Gate(issuers=[issuer])
        assert gate.authenticate(headers=tokens.headers(tenant="acme", azp="web-app"))
        for claims in ({"tenant": "other", "azp": "web-app"}, {"tenant": "acme", "azp": "cli"}):
            with pytest.raises(InvalidClaims):
                gate.authenticate(headers=tokens.headers(**claims))


def test_oidc_needs_its_issuer() -> None:
    with pytest.raises(ConfigurationError, match="issuer: required"):
        oidc(None, audience="api")  # type: ignore[arg-type]


def test_oidc_refuses_hmac_algorithms_by_name() -> None:
    # Its keys come from discovery or a JWKS: public keys, never a shared secret.
    with pytest.raises(ConfigurationError) as info:
        oidc("https://id.example.com/", audience="api", algorithms=["RS256", "HS256"])
    assert str(info.value) == (
        "algorithms: HS256 needs a shared secret; an OpenID provider's keys are public "
        "(RS256, ES256 …)"
    )
