"""The clerk preset: session tokens of one instance, azp, pending sessions, the __session cookie."""

from __future__ import annotations

import os

import pytest

from jwtgate import ConfigurationError, Gate, InvalidClaims, InvalidToken
from jwtgate.presets import UNCHECKED, ClerkSessionCookie, clerk
from jwtgate.presets.clerk import clerk_roles
from jwtgate.remote import RemoteKeys
from jwtgate.sources import MappingView
from jwtgate.testing import TokenFactory

INSTANCE = "https://clerk.example.com"
APP = "https://example.com"


@pytest.fixture
def tokens(clock) -> TokenFactory:
    return TokenFactory.clerk(INSTANCE, azp=APP, clock=clock)


def test_the_instance_gives_iss_keys_and_sources() -> None:
    issuer = clerk(INSTANCE + "/", authorized_parties=[APP])
    assert issuer.issuer == INSTANCE
    assert isinstance(issuer.keys, RemoteKeys)
    assert issuer.keys.jwks_url == f"{INSTANCE}/.well-known/jwks.json"
    assert issuer.leeway == 5
    assert issuer.authorized_parties == {APP}
    assert issuer.sources is not None
    assert [s.spec for s in issuer.sources] == ["bearer", "cookie:__session"]
    assert clerk(INSTANCE, authorized_parties=APP).authorized_parties == {APP}
    assert clerk(INSTANCE, authorized_parties=UNCHECKED).authorized_parties is None


def test_authorized_parties_are_required_unless_unchecked() -> None:
    with pytest.raises(ConfigurationError, match=r"authorized_parties: required .*UNCHECKED"):
        clerk(INSTANCE, authorized_parties=os.environ.get("JWTGATE_SURELY_UNSET"))
    with pytest.raises(ConfigurationError, match="issuer_url: must be an https:// URL"):
        clerk("clerk.example.com", authorized_parties=[APP])


def test_tokens_have_clerks_v2_shape(tokens) -> None:
    claims = tokens.claims(roles=["org:admin"])
    assert (claims["azp"], claims["v"], claims["sts"]) == (APP, 2, "active")
    assert claims["o"]["rol"] == "admin"
    assert claims["nbf"] == claims["iat"] - 5
    assert "aud" not in claims
    with pytest.raises(ValueError, match="one organization role"):
        tokens.claims(roles=["org:admin", "org:member"])


def test_roles_are_the_organization_role_of_either_version() -> None:
    assert list(clerk_roles({"v": 2, "o": {"rol": "admin"}})) == ["org:admin"]
    assert list(clerk_roles({"org_role": "org:member"})) == ["org:member"]
    assert list(clerk_roles({"v": 2, "o": "admin"})) == []
    assert list(clerk_roles({"v": 2, "org_role": "org:admin"})) == []  # v2 reads o only
    assert list(clerk_roles({"org_role": ""})) == []


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        ({"sts": "pending"}, InvalidClaims, "The token's sts claim is not accepted"),
        ({"sub": "mch_2machine"}, InvalidClaims, "The token's sub claim is not accepted"),
        ({"azp": "https://evil.example"}, InvalidClaims, "authorized party (azp) is not accepted"),
        ({"headers": {"typ": "at+jwt"}}, InvalidToken, "The token's type is not accepted"),
        ({"headers": {"kid": None}}, InvalidToken, "The token has no key id"),
    ],
)
def test_what_clerk_signs_out_is_refused(tokens, clock, changes, error, description) -> None:
    with tokens.serve_jwks() as keys:
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        user = gate.authenticate(headers=tokens.headers(roles=["org:admin"]))
        assert user is not None
        assert user.roles == {"org:admin"}
        with pytest.raises(error) as info:
            gate.authenticate(headers=tokens.headers(**changes))
        assert description in (info.value.description or "")


# --- the __session cookie ------------------------------------------------------------


def _extract(token: str, client_uat: str | None) -> str | None:
    jar = f"__session={token}" + ("" if client_uat is None else f"; __client_uat={client_uat}")
    return ClerkSessionCookie().extract(MappingView({"Cookie": jar}))


def test_the_session_cookie_counts_only_while_the_client_is_signed_in(tokens, clock) -> None:
    now = int(clock())
    token = tokens.token()
    assert _extract(token, str(now - 60)) == token
    assert _extract(token, str(now)) == token  # signed in the second the token was issued
    for client_uat in (None, "0", "", "soon", "-5", "9" * 20, str(now + 1)):
        assert _extract(token, client_uat) is None
    # A token whose payload cannot be read is passed on, for the gate to refuse.
    assert _extract("not.a.token", str(now)) == "not.a.token"
    assert _extract("garbage", str(now)) == "garbage"
    assert ClerkSessionCookie().extract(MappingView({"Cookie": "__client_uat=5"})) is None


def test_the_cookie_through_the_gate(tokens, clock) -> None:
    now = int(clock())
    with tokens.serve_jwks() as keys:
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        token = tokens.token(sub="user_cookie")
        jar = {"Cookie": f"__session={token}; __client_uat={now - 10}"}
        user = gate.authenticate(headers=jar)
        assert user is not None
        assert (user.subject, user.source) == ("user_cookie", "cookie:__session")
        assert gate.authenticate(headers={"Cookie": f"__session={token}; __client_uat=0"}) is None


def test_the_issued_at_memo_is_bounded(tokens, clock) -> None:
    from jwtgate.presets.clerk import _MEMO_SIZE

    source = ClerkSessionCookie()
    signed_in_at = int(clock()) - 60
    for n in range(_MEMO_SIZE + 1):
        token = tokens.token(sub=f"user_{n}")
        view = MappingView({"Cookie": f"__session={token}; __client_uat={signed_in_at}"})
        assert source.extract(view) == token
    assert len(source._issued) <= _MEMO_SIZE
