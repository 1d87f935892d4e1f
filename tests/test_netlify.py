"""Netlify Identity (GoTrue) tokens through the netlify preset."""

from __future__ import annotations

import pytest

from jwtgate import ConfigurationError, Gate, InvalidClaims, InvalidSignature
from jwtgate.presets import netlify
from jwtgate.testing import TokenFactory


@pytest.fixture
def tokens(clock) -> TokenFactory:
    return TokenFactory.netlify(clock=clock)


@pytest.fixture
def gate(tokens, clock) -> Gate:
    return Gate(issuers=[netlify(jwt_secret=tokens.secret)], clock=clock)


def test_preset_shape():
    issuer = netlify(jwt_secret="s" * 32, identity_url="https://site.netlify.app/.netlify/identity")
    assert issuer.issuer is None
    assert issuer.algorithms == {"HS256"}
    assert issuer.audience is None
    assert issuer.required_claims == ("exp", "sub")
    assert [s.spec for s in issuer.sources] == ["cookie:nf_jwt", "bearer"]
    assert issuer.metadata == {"identity_url": "https://site.netlify.app/.netlify/identity"}
    assert issuer.name == "netlify"


def test_gate_uses_the_presets_sources_by_default(gate):
    assert [s.spec for s in gate.sources] == ["cookie:nf_jwt", "bearer"]


def test_gotrue_token_shape(tokens):
    claims = tokens.claims(sub="u1", roles=["admin"], email="a@example.com")
    assert "iss" not in claims
    assert "iat" not in claims
    assert claims["aud"] == ""
    assert claims["app_metadata"]["roles"] == ["admin"]
    header = tokens.token().split(".")[0]
    import base64
    import json

    assert json.loads(base64.urlsafe_b64decode(header + "=="))["kid"] == "nf-ident"


def test_nf_jwt_cookie_and_bearer_both_work(tokens, gate):
    token = tokens.token(sub="u1", email="a@example.com")
    by_cookie = gate.authenticate(headers={"Cookie": f"nf_jwt={token}"})
    assert (by_cookie.subject, by_cookie.email, by_cookie.source) == (
        "u1",
        "a@example.com",
        "cookie:nf_jwt",
    )
    assert gate.authenticate(headers={"Authorization": f"Bearer {token}"}).source == "bearer"


def test_roles_are_the_union_of_both_netlify_claims(tokens, gate):
    token = tokens.token(
        app_metadata={
            "provider": "email",
            "roles": ["editor"],
            "authorization": {"roles": ["admin"]},
        }
    )
    user = gate.authenticate(headers={"Cookie": f"nf_jwt={token}"})
    assert user.roles == {"editor", "admin"}
    assert user.has_roles("admin", "editor")


def test_sub_and_exp_are_required(tokens, gate):
    with pytest.raises(InvalidClaims, match="sub"):
        gate.authenticate(cookies={"nf_jwt": tokens.token(sub=None)})
    with pytest.raises(InvalidClaims, match="exp"):
        gate.authenticate(cookies={"nf_jwt": tokens.token(expires_in=None)})


def test_a_token_from_another_site_is_refused(tokens, gate):
    other = TokenFactory.netlify()
    with pytest.raises(InvalidSignature):
        gate.authenticate(cookies={"nf_jwt": other.token()})


def test_short_site_secrets_are_refused():
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        netlify(jwt_secret="short-secret")


def test_readme_core_example_runs(tokens):
    import time

    import jwt

    from jwtgate import Gate
    from jwtgate.presets import netlify

    secret = tokens.secret
    gate = Gate(issuers=[netlify(jwt_secret=secret)])
    token = jwt.encode(
        {"sub": "u1", "exp": int(time.time()) + 600, "app_metadata": {"roles": ["admin"]}},
        secret,
        algorithm="HS256",
        headers={"kid": "nf-ident"},
    )
    user = gate.authenticate(headers={"Cookie": f"nf_jwt={token}"})
    assert user.subject == "u1"
    assert user.has_roles("admin")
