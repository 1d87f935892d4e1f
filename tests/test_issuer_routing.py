"""Which issuer a token goes to, and where a gate looks for tokens by default.

An issuer built with ``issuer=None`` (Netlify's: GoTrue sets no ``iss``) may
sit beside issuers that have one: tokens without ``iss`` go to it, the others
by their ``iss``. A gate without ``sources=`` reads each issuer's own sources,
and ``bearer`` for an issuer that has none.
"""

from __future__ import annotations

import pytest

from jwtgate import ConfigurationError, Gate, InvalidSignature, Issuer, UntrustedIssuer
from jwtgate.presets import netlify, privy
from jwtgate.testing import TokenFactory


@pytest.fixture
def site(clock) -> tuple[TokenFactory, TokenFactory, Gate]:
    identity = TokenFactory.netlify(clock=clock)
    auth0 = TokenFactory("RS256", issuer="https://tenant.auth0.test/", clock=clock)
    gate = Gate(issuers=[netlify(jwt_secret=identity.secret), auth0.issuer_config()], clock=clock)
    return identity, auth0, gate


def test_netlify_sits_beside_an_issuer_with_an_iss(site) -> None:
    identity, auth0, gate = site
    netlify_user = gate.authenticate(cookies=identity.cookies("nf_jwt", sub="from-netlify"))
    assert netlify_user is not None
    assert (netlify_user.subject, netlify_user.issuer) == ("from-netlify", None)
    other = gate.authenticate(headers=auth0.headers(sub="from-auth0"))
    assert other is not None
    assert (other.subject, other.issuer) == ("from-auth0", "https://tenant.auth0.test/")


def test_a_token_with_an_unknown_iss_never_reaches_the_issuerless_issuer(site) -> None:
    identity, _, gate = site
    # Signed with Netlify's own secret, but naming an issuer nobody trusts.
    with pytest.raises(UntrustedIssuer):
        gate.authenticate(cookies=identity.cookies("nf_jwt", iss="https://elsewhere.test/"))
    # Nor does a token without iss reach a named issuer: it is checked with Netlify's secret.
    auth0_key = TokenFactory("HS256", issuer=None, clock=identity.clock)
    with pytest.raises(InvalidSignature):
        gate.authenticate(headers=auth0_key.headers())


def test_an_issuerless_issuer_alone_still_accepts_any_iss(clock) -> None:
    identity = TokenFactory.netlify(clock=clock)
    gate = Gate(issuers=[netlify(jwt_secret=identity.secret)], clock=clock)
    user = gate.authenticate(cookies=identity.cookies("nf_jwt", iss="gotrue"))
    assert user is not None
    assert user.issuer == "gotrue"


def test_two_issuerless_issuers_are_refused(clock) -> None:
    first = netlify(jwt_secret="a" * 32)
    second = netlify(jwt_secret="b" * 32)
    with pytest.raises(ConfigurationError, match="only one Issuer may have issuer=None"):
        Gate(issuers=[first, second])


def test_a_plain_issuer_beside_privy_keeps_bearer(clock) -> None:
    # Privy brings its own sources and a plain Issuer none: Bearer must still be read.
    privy_tokens = TokenFactory.privy(app_id="app-123", clock=clock)
    api = TokenFactory("ES256", issuer="https://api-issuer.test/", clock=clock)
    gate = Gate(issuers=[privy_tokens.issuer_config(), api.issuer_config()], clock=clock)
    assert [s.spec for s in gate.sources] == [
        "cookie:privy-id-token",
        "header:privy-id-token",
        "bearer",
    ]
    user = gate.authenticate(headers=api.headers(sub="api-user"))
    assert user is not None
    assert user.subject == "api-user"


def test_default_sources_follow_the_issuers_order_without_repeats(clock) -> None:
    api = Issuer("https://api.test/", algorithms=["HS256"], secret="s" * 32)
    gate = Gate(issuers=[api, netlify(jwt_secret="n" * 32)])
    assert [s.spec for s in gate.sources] == ["bearer", "cookie:nf_jwt"]
    alone = Gate(issuers=[privy("app-123", TokenFactory("ES256").public_pem())])
    assert [s.spec for s in alone.sources] == ["cookie:privy-id-token", "header:privy-id-token"]
    empty = Issuer("https://quiet.test/", algorithms=["HS256"], secret="s" * 32, sources=())
    assert [s.spec for s in Gate(issuers=[empty]).sources] == ["bearer"]
