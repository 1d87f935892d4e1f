"""The core: every way a token is refused, the issuer choice, the cache, revocation."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

import jwtgate.gate
from jwtgate import (
    ConfigurationError,
    ExpiredToken,
    Gate,
    ImmatureToken,
    InvalidClaims,
    InvalidRequest,
    InvalidSignature,
    InvalidToken,
    Issuer,
    RevokedToken,
    UntrustedIssuer,
)
from jwtgate.keys import KeySource, VerificationKey
from jwtgate.testing import TokenFactory
from jwtgate.testing.factory import generate_key
from tests.tokens import bearer

from .conftest import NOW
from .spies import first_arguments
from .tokens import b64, header_for, raw_token

ALGORITHMS = ["HS256", "RS256", "ES256", "EdDSA"]


def refuse(gate: Gate, token: str, error: type, message: str | None = None):
    with pytest.raises(error) as info:
        gate.authenticate(headers=bearer(token))
    assert type(info.value) is error
    assert info.value.status == 401
    assert info.value.error == "invalid_token"
    assert token not in str(info.value.description)
    if message is not None:
        assert message in info.value.description
    return info.value


@pytest.fixture(params=ALGORITHMS)
def factory(request, make_factory) -> TokenFactory:
    return make_factory(request.param)


@pytest.fixture
def any_gate(factory, clock) -> Gate:
    return Gate(issuers=[factory.issuer_config()], clock=clock)


def test_a_good_token_yields_its_user(factory, any_gate):
    user = any_gate.authenticate(
        headers=factory.headers(sub="u1", roles=["admin"], email="a@example.com")
    )
    assert user is not None
    assert user.subject == "u1"
    assert user.roles == {"admin"}
    assert user.email == "a@example.com"
    assert user.issuer == factory.issuer
    assert user.source == "bearer"
    assert user.expires_at == int(NOW) + 3600
    assert user.claims["aud"] == "api"


def test_every_user_holds_the_issuers_own_iss_and_aud_strings(make_factory, clock):
    """A cached user keeps no copy of the strings every user shares (memory per entry)."""
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock)
    first, second = (gate.authenticate(headers=factory.headers(sub=s)) for s in ("a", "b"))
    assert first is not None
    assert second is not None
    assert first.claims["iss"] is second.claims["iss"]
    assert first.claims["aud"] is second.claims["aud"]
    assert first.issuer is first.claims["iss"] is second.issuer


def test_no_token_is_none_not_an_error(any_gate):
    assert any_gate.authenticate(headers={}) is None
    assert any_gate.authenticate(headers={"Authorization": "Basic dTpw"}) is None


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda f: f.expired(), ExpiredToken, "expired"),
        (lambda f: f.not_yet_valid(), ImmatureToken, "not valid yet"),
        (lambda f: f.token(iat=int(NOW) + 60), ImmatureToken, "issued in the future"),
        (lambda f: f.wrong_signature(), InvalidSignature, "signature"),
        (lambda f: f.tampered(), InvalidSignature, "signature"),
        (lambda f: f.wrong_audience(), InvalidClaims, "audience"),
        (lambda f: f.wrong_issuer(), UntrustedIssuer, "issuer"),
        (lambda f: f.alg_none(), InvalidToken, "Unsigned"),
        (lambda f: f.token(expires_in=None), InvalidClaims, "lacks the exp"),
        (lambda f: f.token(aud=None), InvalidClaims, "audience"),
        (lambda f: f.token(aud=["other", "x"]), InvalidClaims, "audience"),
        (lambda f: f.token(aud=[]), InvalidClaims, "audience"),
        (lambda f: f.token(aud=["api", 5]), InvalidClaims, "audience"),
        (lambda f: f.token(aud=5), InvalidClaims, "audience"),
        (lambda f: f.token(aud={"api": 1}), InvalidClaims, "audience"),
        (lambda f: f.token(iss="https://issuer.test"), UntrustedIssuer, "issuer"),
        (lambda f: f.token(iss="https://issuer.test/x"), UntrustedIssuer, "issuer"),
        (lambda f: f.token(iss=["https://issuer.test/"]), UntrustedIssuer, "issuer"),
        (lambda f: f.token(iss=None), UntrustedIssuer, "issuer"),
        (lambda f: f.token(sub=5), InvalidClaims, "sub"),
        (lambda f: f.token(exp="9999999999"), InvalidClaims, "exp claim is not a valid date"),
        (lambda f: f.token(exp=True), InvalidClaims, "exp claim"),
        (lambda f: f.token(exp=None), InvalidClaims, "exp claim"),
        (lambda f: f.token(exp=[1]), InvalidClaims, "exp claim"),
        (lambda f: f.token(exp=1e30), InvalidClaims, "exp claim"),
        (lambda f: f.token(exp=10**400), InvalidClaims, "exp claim"),
        (lambda f: f.token(exp=-1), InvalidClaims, "exp claim"),
        (lambda f: f.token(nbf=True), InvalidClaims, "nbf claim"),
        (lambda f: f.token(nbf="0"), InvalidClaims, "nbf claim"),
        (lambda f: f.token(iat=False), InvalidClaims, "iat claim"),
        (lambda f: f.token(iat={"t": 1}), InvalidClaims, "iat claim"),
        (lambda f: f.token(headers={"crit": ["exp"]}), InvalidToken, "critical"),
        (lambda f: f.token(headers={"crit": []}), InvalidToken, "critical"),
        (lambda f: f.token(headers={"b64": False, "crit": ["b64"]}), InvalidToken, "critical"),
        (lambda f: raw_token(f, header_for(f, b64=True), f.claims()), InvalidToken, "Unencoded"),
        (lambda f: f.token(headers={"zip": "DEF"}), InvalidToken, "Compressed"),
        (lambda f: f.token(headers={"enc": "A128GCM"}), InvalidToken, "Encrypted"),
        (lambda f: f.token(headers={"cty": "JWT"}), InvalidToken, "Nested"),
        (lambda f: f.token(headers={"cty": "application/jwt"}), InvalidToken, "Nested"),
        (lambda f: f.token(headers={"cty": 5}), InvalidToken, "Nested"),
        (lambda f: f.token(headers={"kid": 5}), InvalidToken, "key id"),
        (lambda f: f.token(headers={"kid": "k" * 257}), InvalidToken, "key id"),
    ],
)
def test_refusals(factory, any_gate, make, error, message):
    refuse(any_gate, make(factory), error, message)


def test_float_dates_are_accepted(factory, any_gate):
    token = factory.token(exp=NOW + 10.5, nbf=NOW - 0.5, iat=NOW - 0.25)
    assert any_gate.authenticate(headers=bearer(token)).expires_at == NOW + 10.5


def test_aud_list_containing_ours_is_accepted(factory, any_gate):
    assert any_gate.authenticate(headers=bearer(factory.token(aud=["x", "api"]))) is not None


def test_unknown_header_keys_and_urls_are_never_used(make_factory, clock):
    factory = make_factory("RS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock)
    attacker = generate_key("RS256")
    evil_jwk = RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    for header in (
        {"jwk": evil_jwk},
        {"jku": "http://127.0.0.1:1/jwks.json"},
        {"x5u": "http://127.0.0.1:1/cert.pem"},
        {"x5c": ["MIIB"]},
    ):
        forged = factory.sign(factory.claims(), headers=header, key=attacker)
        refuse(gate, forged, InvalidSignature)
        good = factory.token(headers=header)
        assert gate.authenticate(headers=bearer(good)) is not None


def test_rs256_public_key_as_hmac_secret_is_refused(make_factory, clock):
    factory = make_factory("RS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock)
    pem = factory.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused = (
        raw_token(
            TokenFactory.__new__(TokenFactory),  # only signing_key and algorithm are read
            header_for(factory, alg="HS256"),
            factory.claims(),
            alg="HS256",
        )
        if False
        else None
    )
    fake = TokenFactory.__new__(TokenFactory)
    fake.algorithm, fake.signing_key, fake.kid = "HS256", pem, factory.kid
    confused = raw_token(fake, header_for(fake), factory.claims())
    refuse(gate, confused, InvalidToken, "algorithm is not allowed")


def test_ps256_token_for_an_rs256_only_issuer_is_refused(make_factory, clock):
    factory = make_factory("RS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock)
    token = raw_token(factory, header_for(factory, alg="PS256"), factory.claims(), alg="PS256")
    refuse(gate, token, InvalidToken, "algorithm")


def test_one_key_serves_rs_and_ps_only_when_both_are_allowed(make_factory, clock):
    factory = make_factory("RS256")
    gate = Gate(issuers=[factory.issuer_config(algorithms=["RS256", "PS256"])], clock=clock)
    token = raw_token(factory, header_for(factory, alg="PS256"), factory.claims(), alg="PS256")
    assert gate.authenticate(headers=bearer(token)) is not None


@pytest.mark.parametrize(
    ("header", "payload", "message"),
    [
        ({"typ": "JWT"}, '{"iss":"%s","sub":"u","exp":1,"exp":9999999999}', "duplicate"),
        ('{"alg":"HS256","alg":"HS256"}', None, "duplicate"),
        ({"alg": "none"}, None, "algorithm"),
        ({"alg": "None"}, None, "algorithm"),
        ({"alg": "nOnE"}, None, "algorithm"),
        ({"alg": "HS512"}, None, "algorithm"),
        ({"alg": ["HS256"]}, None, "algorithm"),
        ({"alg": None}, None, "algorithm"),
        ('{"typ":"JWT"}', None, "algorithm"),
    ],
)
def test_hostile_headers_and_payloads(make_factory, clock, header, payload, message):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock)
    if isinstance(header, dict):
        header = {**header_for(factory), **header}
    body = payload % factory.issuer if payload else factory.claims()
    refuse(gate, raw_token(factory, header, body, alg="HS256"), InvalidToken, message)


def test_a_token_its_header_refuses_is_not_decoded_further(make_factory, clock, monkeypatch):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock)
    decoded = first_arguments(monkeypatch, jwtgate.gate, "parse_body")
    bad_alg = raw_token(factory, header_for(factory, alg="HS512"), factory.claims(), alg="HS512")
    refuse(gate, bad_alg, InvalidToken, "algorithm")
    # A payload that is not canonical base64url is not looked at either: refused alike.
    head, payload, signature = bad_alg.split(".")
    refuse(gate, f"{head}.{payload}x.{signature}", InvalidToken, "algorithm")
    assert decoded == []
    good = factory.token()
    assert gate.authenticate(headers=bearer(good)) is not None
    assert decoded == [good]
    refuse(gate, f"{good[:-1]}x", InvalidToken, "malformed")  # decoded: its header is fine


@pytest.mark.parametrize(
    ("character", "status", "description"),
    [
        ("!", 400, "The Authorization header is malformed"),  # outside RFC 6750's b64token
        (" ", 400, "The Authorization header is malformed"),
        ("=", 400, "The Authorization header is malformed"),  # only at the end of one
        ("+", 401, "The token is malformed"),  # b64token, but not base64url
        ("/", 401, "The token is malformed"),
        ("~", 401, "The token is malformed"),
    ],
)
def test_a_character_outside_base64url_is_judged_before_the_header(
    make_factory, clock, character, status, description
):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock)
    bad_alg = raw_token(factory, header_for(factory, alg="HS512"), factory.claims(), alg="HS512")
    head, payload, signature = bad_alg.split(".")
    token = f"{head}.{payload[:5]}{character}{payload[5:]}.{signature}"
    with pytest.raises((InvalidRequest, InvalidToken)) as info:
        gate.authenticate(headers=bearer(token))
    assert (info.value.status, info.value.description) == (status, description)


@pytest.mark.parametrize(("offset", "accepted"), [(-29, True), (-30, False), (-31, False)])
def test_exp_leeway_boundary(make_factory, clock, offset, accepted):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config(leeway=30)], clock=clock)
    token = factory.token(exp=int(NOW) + offset)
    if accepted:
        assert gate.authenticate(headers=bearer(token)) is not None
    else:
        refuse(gate, token, ExpiredToken)


def test_exp_equal_to_now_is_expired_without_leeway(make_factory, clock):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock)
    refuse(gate, factory.token(exp=int(NOW)), ExpiredToken)
    assert gate.authenticate(headers=bearer(factory.token(exp=int(NOW) + 1))) is not None


@pytest.mark.parametrize(("offset", "accepted"), [(30, True), (31, False)])
def test_nbf_leeway_boundary(make_factory, clock, offset, accepted):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config(leeway=30)], clock=clock)
    token = factory.token(nbf=int(NOW) + offset)
    if accepted:
        assert gate.authenticate(headers=bearer(token)) is not None
    else:
        refuse(gate, token, ImmatureToken)


def test_required_claims_can_be_relaxed_and_extended(make_factory, clock):
    factory = make_factory("HS256")
    relaxed = Gate(issuers=[factory.issuer_config(required_claims=())], clock=clock)
    user = relaxed.authenticate(headers=bearer(factory.token(expires_in=None)))
    assert user is not None
    assert user.expires_at is None
    strict = Gate(issuers=[factory.issuer_config(required_claims=("exp", "jti"))], clock=clock)
    refuse(strict, factory.token(), InvalidClaims, "lacks the jti")
    assert strict.authenticate(headers=bearer(factory.token(jti="1"))) is not None


@pytest.mark.parametrize(
    ("typ", "accepted"),
    [
        ("at+jwt", True),
        ("application/at+jwt", True),
        ("AT+JWT", True),
        ("JWT", False),
        (None, False),
    ],
)
def test_token_type_is_checked_when_configured(make_factory, clock, typ, accepted):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config(token_type="at+jwt")], clock=clock)
    header = header_for(factory)
    if typ is None:
        del header["typ"]
    else:
        header["typ"] = typ
    token = raw_token(factory, header, factory.claims())
    if accepted:
        assert gate.authenticate(headers=bearer(token)) is not None
    else:
        refuse(gate, token, InvalidToken, "type")


def test_unknown_kid_with_named_keys_is_refused(make_factory, clock):
    factory = make_factory("RS256")
    gate = Gate(issuers=[factory.issuer_config(key=factory.jwks())], clock=clock)
    assert gate.authenticate(headers=factory.headers()) is not None
    refuse(gate, factory.token(headers={"kid": "unknown"}), InvalidSignature, "No key")


def test_token_size_is_capped_before_decoding(make_factory, clock):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock, max_token_bytes=1024)
    refuse(gate, factory.token(pad="x" * 2000), InvalidToken, "too large")


def test_json_depth_is_capped(make_factory, clock):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], clock=clock, max_json_depth=4)
    assert gate.authenticate(headers=bearer(factory.token(a={"b": {"c": [1]}}))) is not None
    refuse(gate, factory.token(a={"b": {"c": [[1]]}}), InvalidToken, "nests too deeply")
    # Many shallow members are fine: only depth counts.
    assert gate.authenticate(headers=bearer(factory.token(many=[{"x": 1}] * 40))) is not None


def test_garbage_in_a_cookie_is_a_malformed_token(make_factory, clock):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], sources=["cookie:t"], clock=clock)
    for value in ("not-a-jwt", "a.b.c", "%00%01", "<script>"):
        with pytest.raises(InvalidToken):
            gate.authenticate(headers={"Cookie": f"t={value}"})


# --- several issuers -----------------------------------------------------------------


@pytest.fixture
def two_issuers(make_factory, clock):
    first = make_factory("RS256")
    second = TokenFactory("ES256", issuer="https://second.test/", clock=clock)
    gate = Gate(issuers=[first.issuer_config(), second.issuer_config()], clock=clock)
    return first, second, gate


def test_the_issuer_is_chosen_by_iss(two_issuers):
    first, second, gate = two_issuers
    assert gate.authenticate(headers=first.headers()).issuer == "https://issuer.test/"
    assert gate.authenticate(headers=second.headers()).issuer == "https://second.test/"


def test_only_the_named_issuers_keys_are_tried(two_issuers):
    first, second, gate = two_issuers
    # Signed by the first issuer's key but claiming to come from the second.
    token = first.token(iss="https://second.test/")
    refuse(gate, token, InvalidToken, "algorithm")
    mixed = TokenFactory("ES256", issuer="https://second.test/", clock=second.clock)
    refuse(gate, mixed.token(), InvalidSignature)


def test_a_token_without_iss_matches_no_named_issuer(two_issuers):
    first, _, gate = two_issuers
    refuse(gate, first.token(iss=None), UntrustedIssuer)


def test_only_one_issuer_may_go_without_iss(make_factory):
    factory = make_factory("HS256")
    issuerless = Issuer(None, algorithms=["HS256"], secret=factory.secret)
    another = Issuer(None, algorithms=["HS256"], secret=factory.secret)
    with pytest.raises(ConfigurationError, match="only one Issuer may have issuer=None"):
        Gate(issuers=[factory.issuer_config(), issuerless, another])
    with pytest.raises(ConfigurationError, match="same iss"):
        Gate(issuers=[factory.issuer_config(), factory.issuer_config()])


def test_issuer_none_accepts_any_iss(make_factory, clock):
    factory = make_factory("HS256")
    gate = Gate(issuers=[Issuer(None, algorithms=["HS256"], secret=factory.secret)], clock=clock)
    assert gate.authenticate(headers=factory.headers(iss="whoever")).issuer == "whoever"
    assert gate.authenticate(headers=factory.headers(iss=None)).issuer is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"issuers": []}, "issuers"),
        ({"issuers": ["x"]}, "issuers"),
        ({"sources": []}, "sources"),
        ({"sources": ["bearer", "bearer"]}, "sources"),
        ({"cache_size": -1}, "cache_size"),
        ({"cache_size": 1.5}, "cache_size"),
        ({"cache_ttl": -1}, "cache_ttl"),
        ({"cache_ttl": "1"}, "cache_ttl"),
        ({"clock": 5}, "clock"),
        ({"is_revoked": 5}, "is_revoked"),
        ({"max_token_bytes": 10}, "max_token_bytes"),
        ({"max_token_bytes": "big"}, "max_token_bytes"),
        ({"max_json_depth": 1}, "max_json_depth"),
        ({"max_json_depth": 1000}, "max_json_depth"),
        ({"max_json_depth": "deep"}, "max_json_depth"),
    ],
)
def test_bad_gate_configuration(make_factory, kwargs, field):
    kwargs.setdefault("issuers", [make_factory("HS256").issuer_config()])
    with pytest.raises(ConfigurationError, match=field):
        Gate(**kwargs)


def test_a_single_issuer_or_source_needs_no_list(make_factory):
    issuer = make_factory("HS256").issuer_config()
    gate = Gate(issuers=issuer, sources="cookie:a")
    assert gate.issuers == (issuer,)
    assert [s.spec for s in gate.sources] == ["cookie:a"]
    assert "cookie:a" in repr(gate)


# --- sources through the gate ------------------------------------------------------------


def test_default_sources_come_from_the_issuers(make_factory):
    factory = make_factory("HS256")
    assert [s.spec for s in Gate(issuers=[factory.issuer_config()]).sources] == ["bearer"]
    with_sources = factory.issuer_config(sources=["cookie:a", "bearer"])
    assert [s.spec for s in Gate(issuers=[with_sources]).sources] == ["cookie:a", "bearer"]


def test_two_different_tokens_are_invalid_request(make_factory, clock):
    factory = make_factory("HS256")
    gate = Gate(issuers=[factory.issuer_config()], sources=["bearer", "cookie:t"], clock=clock)
    one, two = factory.token(sub="a"), factory.token(sub="b")
    with pytest.raises(InvalidRequest) as info:
        gate.authenticate(headers={**bearer(one), "Cookie": f"t={two}"})
    assert info.value.status == 400
    user = gate.authenticate(headers={**bearer(one), "Cookie": f"t={one}"})
    assert user.source == "bearer"
    assert gate.authenticate(headers={}, cookies={"t": one}).source == "cookie:t"


# --- the cache ---------------------------------------------------------------------


@pytest.fixture
def parse_calls(monkeypatch):
    return first_arguments(monkeypatch, jwtgate.gate, "parse_header")


def test_a_verified_token_is_served_from_the_cache(gate, rs256, parse_calls):
    token = rs256.token()
    first = gate.authenticate(headers=bearer(token))
    second = gate.authenticate(headers=bearer(token))
    assert len(parse_calls) == 1
    assert second is first
    assert gate.cache_size == 1


def test_a_cached_token_is_refused_from_the_moment_it_expires(gate, rs256, clock, parse_calls):
    token = rs256.token(expires_in=60)
    gate.authenticate(headers=bearer(token))
    clock.advance(59)
    assert gate.authenticate(headers=bearer(token)) is not None
    assert len(parse_calls) == 1
    clock.advance(1)
    refuse(gate, token, ExpiredToken)


def test_cache_entries_live_at_most_cache_ttl(rs256, clock, parse_calls):
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, cache_ttl=10)
    token = rs256.token()
    gate.authenticate(headers=bearer(token))
    clock.advance(9)
    gate.authenticate(headers=bearer(token))
    assert len(parse_calls) == 1
    clock.advance(1)
    gate.authenticate(headers=bearer(token))
    assert len(parse_calls) == 2


def test_the_cache_is_bounded(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, cache_size=3)
    tokens = [rs256.token(sub=f"u{i}") for i in range(5)]
    for token in tokens:
        gate.authenticate(headers=bearer(token))
    assert gate.cache_size == 3
    # The newest entries stay.
    for token in tokens[2:]:
        gate.authenticate(headers=bearer(token))
    assert gate.cache_size == 3


def test_failures_are_never_cached_as_users(gate, rs256, parse_calls):
    token = rs256.wrong_signature()
    for _ in range(2):
        refuse(gate, token, InvalidSignature)
    assert len(parse_calls) == 1  # the second refusal is remembered (tests/test_refusals.py)
    assert gate.cache_size == 0


def test_cache_can_be_disabled_and_cleared(rs256, clock, parse_calls):
    token = rs256.token()
    for kwargs in ({"cache_size": 0}, {"cache_ttl": 0}):
        parse_calls.clear()
        gate = Gate(issuers=[rs256.issuer_config()], clock=clock, **kwargs)
        gate.authenticate(headers=bearer(token))
        gate.authenticate(headers=bearer(token))
        assert len(parse_calls) == 2
    parse_calls.clear()
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock)
    gate.authenticate(headers=bearer(token))
    gate.clear_cache()
    assert gate.cache_size == 0
    gate.authenticate(headers=bearer(token))
    assert len(parse_calls) == 2


def test_a_prefix_or_signature_sibling_is_not_served_from_the_cache(gate, rs256):
    token = rs256.token()
    gate.authenticate(headers=bearer(token))
    with pytest.raises(InvalidToken):
        gate.authenticate(headers=bearer(token[:-2]))
    _, _, signature = token.split(".")
    other = rs256.token(sub="other")
    spliced = f"{other.split('.')[0]}.{other.split('.')[1]}.{signature}"
    refuse(gate, spliced, InvalidSignature)


def test_a_cache_hit_reports_the_source_it_came_from(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], sources=["bearer", "cookie:t"], clock=clock)
    token = rs256.token()
    assert gate.authenticate(headers=bearer(token)).source == "bearer"
    assert gate.authenticate(headers={"Cookie": f"t={token}"}).source == "cookie:t"


def test_is_revoked_is_asked_on_every_request_hit_or_miss(rs256, clock):
    revoked: set[str] = set()
    asked = []

    def is_revoked(user):
        asked.append(user.subject)
        return user.subject in revoked

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=is_revoked)
    token = rs256.token(sub="u1")
    assert gate.authenticate(headers=bearer(token)) is not None
    revoked.add("u1")
    error = refuse(gate, token, RevokedToken, "revoked")
    assert error.status == 401
    assert asked == ["u1", "u1"]


def test_threads_each_see_their_own_user(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, cache_size=8)
    tokens = {f"user-{i}": rs256.token(sub=f"user-{i}") for i in range(32)}
    mismatches = []

    def worker(offset: int) -> None:
        for round_ in range(20):
            sub = f"user-{(offset + round_) % 32}"
            user = gate.authenticate(headers=bearer(tokens[sub]))
            if user.subject != sub:
                mismatches.append((sub, user.subject))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert mismatches == []
    assert gate.cache_size <= 8


# --- key sources that fetch, and async ------------------------------------------------


class SlowSource(KeySource):
    """A key source that has nothing until refreshed: stands in for a remote JWKS."""

    def __init__(self, key):
        self.key = key
        self.loaded = False
        self.refreshes = 0
        self.async_refreshes = 0

    def keys_for(self, kid, algorithm):
        return [VerificationKey(self.key, frozenset({"RS256"}), kid)] if self.loaded else []

    def needs_refresh(self, kid):
        return not self.loaded

    def refresh(self):
        self.refreshes += 1
        self.loaded = True

    async def refresh_async(self):
        self.async_refreshes += 1
        self.loaded = True


def test_sync_authenticate_refreshes_a_key_source_once(rs256, clock):
    source = SlowSource(rs256.public_key)
    gate = Gate(issuers=[rs256.issuer_config(key=source)], clock=clock)
    assert gate.authenticate(headers=rs256.headers()).subject == "user-1"
    assert (source.refreshes, source.async_refreshes) == (1, 0)


def test_async_authenticate_awaits_the_refresh(rs256, clock):
    source = SlowSource(rs256.public_key)
    gate = Gate(issuers=[rs256.issuer_config(key=source)], clock=clock)
    user = asyncio.run(gate.authenticate_async(headers=rs256.headers()))
    assert user.subject == "user-1"
    assert (source.refreshes, source.async_refreshes) == (0, 1)
    assert asyncio.run(gate.authenticate_async(headers={})) is None


def test_a_refresh_that_finds_nothing_is_a_signature_refusal(rs256, clock):
    class Empty(SlowSource):
        def refresh(self):
            self.refreshes += 1

    source = Empty(rs256.public_key)
    gate = Gate(issuers=[rs256.issuer_config(key=source)], clock=clock)
    refuse(gate, rs256.token(), InvalidSignature, "No key")
    assert source.refreshes == 1


def test_whatever_a_dependency_raises_becomes_invalid_token(rs256, clock, caplog):
    class Broken(KeySource):
        def keys_for(self, kid, algorithm):
            # An object PyJWT can't verify with: it raises AttributeError inside.
            return [VerificationKey(object(), frozenset({"RS256"}))]

    gate = Gate(issuers=[rs256.issuer_config(key=Broken())], clock=clock)
    caplog.set_level(logging.DEBUG, logger="jwtgate")
    token = rs256.token()
    refuse(gate, token, InvalidToken, "could not be verified")
    assert "AttributeError" in caplog.text
    assert token not in caplog.text


def test_refusals_are_logged_by_fingerprint_never_by_token(gate, rs256, caplog):
    caplog.set_level(logging.DEBUG, logger="jwtgate")
    token = rs256.expired()
    refuse(gate, token, ExpiredToken)
    assert "sha256:" in caplog.text
    for part in token.split("."):
        assert part not in caplog.text


def test_b64_helper_round_trips():
    assert b64("{}") == "e30"
