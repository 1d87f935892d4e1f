"""The checks an Issuer can carry beyond iss/aud/dates: expected claims, azp, kid, past dates,
issuer aliases, and an HMAC secret beside public keys."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from jwtgate import (
    ConfigurationError,
    Gate,
    InvalidClaims,
    InvalidSignature,
    InvalidToken,
    Issuer,
    UntrustedIssuer,
)
from jwtgate.mixed_keys import MixedKeys
from jwtgate.remote import RemoteKeys
from jwtgate.testing import TokenFactory
from tests.tokens import raw_token

SECRET = "a-shared-secret-of-at-least-32-bytes!"


def refused(gate: Gate, token: str) -> Exception:
    with pytest.raises(InvalidToken) as info:
        gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    assert info.value.status == 401
    assert info.value.error == "invalid_token"
    return info.value


def accepted(gate: Gate, token: str) -> Any:
    user = gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    assert user is not None
    return user


# --- expected_claims ------------------------------------------------------------------


@pytest.fixture
def es256(make_factory) -> TokenFactory:
    return make_factory("ES256")


def test_an_exact_value_must_be_present_equal_and_of_the_same_type(es256, clock) -> None:
    gate = Gate(
        issuers=[es256.issuer_config(expected_claims={"typ": "Bearer", "v": 2, "ok": True})],
        clock=clock,
    )
    accepted(gate, es256.token(typ="Bearer", v=2, ok=True))
    for changed in ({"typ": "ID"}, {"v": "2"}, {"v": 2.0}, {"ok": 1}, {"typ": None}):
        error = refused(gate, es256.token(**{"typ": "Bearer", "v": 2, "ok": True, **changed}))
        (name,) = changed
        assert error.description == f"The token's {name} claim is not accepted"
    error = refused(gate, es256.token(v=2, ok=True))  # typ missing
    assert error.description == "The token's typ claim is not accepted"


def test_a_predicate_gets_the_value_or_none_when_the_claim_is_missing(es256, clock) -> None:
    seen: list[Any] = []

    def short_sub(value: Any) -> bool:
        seen.append(value)
        return isinstance(value, str) and 0 < len(value) <= 8

    gate = Gate(issuers=[es256.issuer_config(expected_claims={"sub": short_sub})], clock=clock)
    accepted(gate, es256.token(sub="u1"))
    refused(gate, es256.token(sub="a-much-longer-subject"))
    refused(gate, es256.token(sub=None))
    assert seen == ["u1", "a-much-longer-subject", None]


def test_only_true_passes_a_predicate(es256, clock) -> None:
    gate = Gate(issuers=[es256.issuer_config(expected_claims={"n": lambda v: v})], clock=clock)
    accepted(gate, es256.token(n=True))
    refused(gate, es256.token(n=1))  # truthy is not enough: a rule says True or refuses


def test_a_predicate_that_raises_refuses_the_token_and_logs_no_value(es256, clock, caplog) -> None:
    def broken(value: Any) -> bool:
        raise KeyError(value)

    gate = Gate(issuers=[es256.issuer_config(expected_claims={"tier": broken})], clock=clock)
    with caplog.at_level(logging.DEBUG, logger="jwtgate"):
        error = refused(gate, es256.token(tier="secret-tier-value"))
    assert error.description == "The token's tier claim is not accepted"
    assert "KeyError" in caplog.text
    assert "secret-tier-value" not in caplog.text
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        ("typ=Bearer", "must map claim names"),
        ({"": "x"}, "non-empty strings"),
        ({"typ": ["Bearer"]}, "must be a string, number or boolean"),
        ({"typ": None}, "must be a string, number or boolean"),
    ],
)
def test_bad_expected_claims_are_refused_at_construction(es256, expected, message) -> None:
    with pytest.raises(ConfigurationError, match=f"expected_claims: .*{message}"):
        es256.issuer_config(expected_claims=expected)


# --- authorized_parties ----------------------------------------------------------------


def test_azp_must_be_one_of_the_authorized_parties(es256, clock) -> None:
    issuer = es256.issuer_config(authorized_parties=["https://app.example", "cli"])
    gate = Gate(issuers=[issuer], clock=clock)
    accepted(gate, es256.token(azp="https://app.example"))
    accepted(gate, es256.token(azp="cli"))
    for azp in ("https://evil.example", ["cli"], None, ""):
        error = refused(gate, es256.token(azp=azp))
        assert error.description == "The token's authorized party (azp) is not accepted"
    refused(gate, es256.token())  # no azp at all


@pytest.mark.parametrize("parties", ["https://app.example", [], [""], [5]])
def test_bad_authorized_parties_are_refused(es256, parties) -> None:
    with pytest.raises(ConfigurationError, match="authorized_parties"):
        es256.issuer_config(authorized_parties=parties)


# --- require_kid ----------------------------------------------------------------------


def test_require_kid_refuses_a_token_without_one(es256, clock) -> None:
    gate = Gate(issuers=[es256.issuer_config(require_kid=True)], clock=clock)
    claims = es256.claims()
    accepted(gate, es256.sign(claims))
    for header in ({"alg": "ES256", "typ": "JWT"}, {"alg": "ES256", "kid": ""}):
        error = refused(gate, raw_token(es256, header, claims))
        assert error.description == "The token has no key id"
    lenient = Gate(issuers=[es256.issuer_config()], clock=clock)
    accepted(lenient, raw_token(es256, {"alg": "ES256"}, claims))


def test_require_kid_must_be_a_boolean(es256) -> None:
    with pytest.raises(ConfigurationError, match="require_kid"):
        es256.issuer_config(require_kid="yes")


# --- past_claims ----------------------------------------------------------------------


def test_past_claims_may_not_be_in_the_future(es256, clock) -> None:
    now = int(clock())
    gate = Gate(issuers=[es256.issuer_config(past_claims=["auth_time"], leeway=5)], clock=clock)
    accepted(gate, es256.token(auth_time=now - 600))
    accepted(gate, es256.token(auth_time=now + 5))  # within the leeway
    accepted(gate, es256.token())  # absent: require it with required_claims
    error = refused(gate, es256.token(auth_time=now + 6))
    assert error.description == "The token's auth_time claim is in the future"
    for bad in ("yesterday", True, -1, 10**20):
        error = refused(gate, es256.token(auth_time=bad))
        assert error.description == "The token's auth_time claim is not a valid date"


def test_past_claims_must_be_a_list_of_names(es256) -> None:
    with pytest.raises(ConfigurationError, match="past_claims"):
        es256.issuer_config(past_claims="auth_time")


# --- issuer_aliases -------------------------------------------------------------------


def test_an_issuer_accepts_its_aliases_and_the_gate_routes_them(es256, clock) -> None:
    issuer = es256.issuer_config(issuer_aliases=["https://new-form.issuer.test/"])
    gate = Gate(issuers=[issuer], clock=clock)
    assert accepted(gate, es256.token()).issuer == "https://issuer.test/"
    assert accepted(gate, es256.token(iss="https://new-form.issuer.test/")).issuer == (
        "https://new-form.issuer.test/"
    )
    with pytest.raises(UntrustedIssuer):
        gate.authenticate(headers=es256.headers(iss="https://other.issuer.test/"))
    # Check_claims refuses a stray iss even when called without the gate's routing.
    with pytest.raises(InvalidClaims):
        issuer.check_claims(es256.claims(iss="https://other.issuer.test/"), clock())


def test_aliases_need_an_issuer_and_may_not_collide(es256, make_factory) -> None:
    with pytest.raises(ConfigurationError, match="issuer_aliases: only goes with an issuer"):
        Issuer(None, algorithms=["HS256"], secret=SECRET, issuer_aliases=["https://a.test/"])
    with pytest.raises(ConfigurationError, match="issuer_aliases"):
        es256.issuer_config(issuer_aliases="https://a.test/")
    other = TokenFactory("ES256", issuer="https://other.test/", key=es256.signing_key)
    other_issuer = other.issuer_config()
    aliased = es256.issuer_config(issuer_aliases=["https://other.test/"])
    with pytest.raises(ConfigurationError, match="same iss"):
        Gate(issuers=[aliased, other_issuer])


# --- an HMAC secret beside public keys ----------------------------------------------


def hs256_and_es256(**public_keys: Any) -> Issuer:
    """An issuer of HS256 tokens signed with ``SECRET`` and of ES256 ones: ``public_keys``."""
    return Issuer(
        "https://issuer.test/",
        algorithms=["HS256", "ES256"],
        audience="api",
        secret=SECRET,
        **public_keys,
    )


@pytest.fixture
def migrating(clock) -> tuple[TokenFactory, TokenFactory, Issuer]:
    hs = TokenFactory("HS256", key=SECRET, clock=clock)
    es = TokenFactory("ES256", clock=clock)
    issuer = hs256_and_es256(key=es.public_jwk())
    return hs, es, issuer


def test_each_kind_of_token_is_checked_with_its_own_keys(migrating, clock) -> None:
    hs, es, issuer = migrating
    assert isinstance(issuer.keys, MixedKeys)
    gate = Gate(issuers=[issuer], clock=clock)
    accepted(gate, hs.token(sub="legacy"))
    accepted(gate, es.token(sub="new"))
    refused(gate, hs.wrong_signature())
    refused(gate, es.wrong_signature())
    refused(gate, TokenFactory("RS256").token())  # an algorithm the issuer does not allow


def test_the_public_key_never_verifies_an_hs256_token(migrating, clock) -> None:
    _, es, issuer = migrating
    gate = Gate(issuers=[issuer], clock=clock)
    # The classic confusion: an HS256 token whose "secret" is the issuer's public key.
    for secret in (es.public_pem().encode(), es.public_jwk()["x"].encode() * 2):
        forged = TokenFactory("HS256", key=secret, kid=es.kid, clock=clock).token()
        error = refused(gate, forged)
        assert isinstance(error, InvalidSignature)


def test_a_secret_beside_a_jwks_url(clock) -> None:
    hs = TokenFactory("HS256", key=SECRET, clock=clock)
    es = TokenFactory("ES256", clock=clock)
    with es.serve_jwks() as server:
        issuer = hs256_and_es256(jwks_url=server.url)
        assert isinstance(issuer.keys, MixedKeys)
        assert isinstance(issuer.keys.public, RemoteKeys)
        gate = Gate(issuers=[issuer], clock=clock)
        accepted(gate, hs.token())
        assert server.requests == 0  # an HS256 token never fetches the public keys
        accepted(gate, es.token())
        assert server.requests == 1
        gate.clear_cache()
        accepted(gate, hs.token(sub="again"))
        assert server.requests == 1
    assert "HMAC secret" in repr(issuer.keys)
    assert SECRET not in repr(issuer.keys)


def test_an_async_gate_fetches_the_public_keys_off_the_loop(clock) -> None:
    es = TokenFactory("ES256", clock=clock)
    with es.serve_jwks() as server:
        issuer = hs256_and_es256(jwks_url=server.url)
        gate = Gate(issuers=[issuer], clock=clock)
        user = asyncio.run(gate.authenticate_async(headers=es.headers()))
        assert user is not None
        assert server.requests == 1


def test_a_secret_beside_discovery(clock) -> None:
    es = TokenFactory("ES256", clock=clock)
    with es.serve_jwks() as server:
        issuer = Issuer(
            "https://issuer.test/",
            algorithms=["HS256", "ES256"],
            secret=SECRET,
            discovery=server.discovery_url,
        )
        assert accepted(Gate(issuers=[issuer], clock=clock), es.token()).subject == "user-1"
        implied = Issuer(
            "https://issuer.test/", algorithms=["HS256", "ES256"], secret=SECRET, discovery=True
        )
        assert isinstance(implied.keys, MixedKeys)
        assert implied.keys.public.discovery_url == (  # type: ignore[attr-defined]
            "https://issuer.test/.well-known/openid-configuration"
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algorithms": ["HS256", "ES256"], "secret": SECRET}, "can't be mixed"),
        ({"algorithms": ["HS256"], "secret": SECRET, "jwks_url": "https://x.test/k"}, "both"),
        ({"algorithms": ["ES256"], "secret": SECRET, "jwks_url": "https://x.test/k"}, "both"),
        (
            {"algorithms": ["HS256", "ES256"], "secret": SECRET, "discovery": ""},
            "discovery: must be True or the URL",
        ),
        (
            {"algorithms": ["HS256", "ES256"], "secret": "short", "jwks_url": "https://x.test/k"},
            "at least 32 bytes",
        ),
    ],
)
def test_mixed_keys_are_configured_in_full_or_refused(kwargs, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Issuer("https://issuer.test/", **kwargs)


def test_discovery_beside_a_secret_needs_an_issuer() -> None:
    with pytest.raises(ConfigurationError, match="discovery: needs the issuer"):
        Issuer(None, algorithms=["HS256", "ES256"], secret=SECRET, discovery=True)


def test_mixed_keys_check_every_algorithm_has_a_key(clock) -> None:
    es = TokenFactory("ES256")
    with pytest.raises(ConfigurationError, match="no configured key can verify RS256"):
        Issuer(
            "https://issuer.test/",
            algorithms=["HS256", "ES256", "RS256"],
            secret=SECRET,
            key=es.public_jwk(),
        )
