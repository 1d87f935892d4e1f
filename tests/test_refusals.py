"""Refusals remembered: the same bad token again is refused without parsing it, while that holds.

Each rule of ``jwtgate.refusals`` (what is remembered, for how long, never
for what) is checked here through ``Gate.authenticate``, counting the parses
of the token to tell a remembered refusal from a fresh one.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest

import jwtgate.gate
from jwtgate import (
    AuthError,
    ExpiredToken,
    Gate,
    ImmatureToken,
    InvalidClaims,
    InvalidRequest,
    InvalidSignature,
    InvalidToken,
    KeysUnavailable,
    RevokedToken,
    UntrustedIssuer,
)
from jwtgate.refusals import REFUSALS_SIZE, Refusals
from jwtgate.remote import RemoteOptions
from jwtgate.revocation import MemoryRevocations
from jwtgate.testing import TokenFactory
from tests.tokens import bearer

from .conftest import FrozenClock
from .spies import first_arguments
from .test_observe import Events


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens the gate parsed: a remembered refusal parses nothing."""
    return first_arguments(monkeypatch, jwtgate.gate, "parse_header")


def refused(gate: Gate, headers: dict[str, str], **kwargs: Any) -> AuthError:
    with pytest.raises(AuthError) as info:
        gate.authenticate(headers=headers, **kwargs)
    return info.value


def twice(gate: Gate, token: str) -> tuple[AuthError, AuthError]:
    return refused(gate, bearer(token)), refused(gate, bearer(token))


# --- remembered ------------------------------------------------------------------------


def _raw(tokens: TokenFactory, payload: bytes) -> str:
    """A token signed over ``payload`` exactly as given (duplicate members and all)."""
    header = {"kid": tokens.kid, "typ": "JWT"}
    return jwt.api_jws.encode(payload, tokens.signing_key, algorithm="RS256", headers=header)


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda t: t.wrong_signature(), InvalidSignature),
        (lambda t: t.wrong_audience(), InvalidClaims),
        (lambda t: t.wrong_issuer(), UntrustedIssuer),
        (lambda t: t.expired(), ExpiredToken),
        (lambda t: t.not_yet_valid(), ImmatureToken),
        (lambda t: t.alg_none(), InvalidToken),
        (lambda t: t.token()[:-30] + "." + t.token()[-20:], InvalidToken),
        (
            lambda t: _raw(t, b'{"iss":"%s","sub":"u","exp":1,"exp":2}' % t.issuer.encode()),
            InvalidToken,
        ),
    ],
    ids=[
        "wrong-signature",
        "wrong-audience",
        "wrong-issuer",
        "expired",
        "not-yet-valid",
        "alg-none",
        "four-segments",
        "duplicate-exp",
    ],
)
def test_a_refusal_is_remembered_and_given_again_alike(
    rs256: TokenFactory, clock: FrozenClock, parses: list[str], make: Any, kind: type
) -> None:
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock)
    token = make(rs256)
    first, second = twice(gate, token)
    assert type(first) is type(second) is kind
    assert second is not first  # a fresh exception each time (tracebacks are not shared)
    assert (second.status, second.error, second.description) == (
        first.status,
        first.error,
        first.description,
    )
    assert len(parses) == 1


def test_a_remembered_refusal_is_reported_like_the_first(rs256: TokenFactory, clock: FrozenClock):
    events = Events()
    gate = Gate(issuers=[rs256.issuer_config(name="main")], clock=clock, observer=events)
    for token in (rs256.expired(), rs256.wrong_issuer()):
        twice(gate, token)
    assert events.named("refused") == [
        {"issuer": "main", "error": "invalid_token", "reason": "expired_token"},
        {"issuer": "main", "error": "invalid_token", "reason": "expired_token"},
        {"issuer": "", "error": "invalid_token", "reason": "untrusted_issuer"},
        {"issuer": "", "error": "invalid_token", "reason": "untrusted_issuer"},
    ]


def test_a_token_of_other_characters_is_refused_per_source(rs256: TokenFactory, parses):
    gate = Gate(issuers=[rs256.issuer_config()], sources=["bearer", "cookie:t"])
    token = rs256.token()[:40] + "%" + rs256.token()[41:]
    for _ in range(2):
        assert type(refused(gate, bearer(token))) is InvalidRequest  # 400: the header
    for _ in range(2):
        assert type(refused(gate, {}, cookies={"t": token})) is InvalidToken  # 401: the cookie
    assert len(parses) == 2


# --- held only while it holds ----------------------------------------------------------


def test_an_immature_token_is_accepted_once_its_nbf_comes(rs256, clock, parses):
    gate = Gate(issuers=[rs256.issuer_config(leeway=5)], clock=clock)
    token = rs256.token(nbf=clock.now + 20)
    twice(gate, token)
    assert len(parses) == 1
    clock.advance(15)  # nbf - leeway: from now on it is valid
    assert gate.authenticate(headers=bearer(token)) is not None


def test_an_expired_token_is_judged_again_when_the_clock_goes_back(rs256, clock, parses):
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock)
    token = rs256.token(expires_in=10)
    clock.advance(20)
    twice(gate, token)
    assert len(parses) == 1
    clock.advance(-15)  # a clock set back (NTP): the token has not expired yet
    assert gate.authenticate(headers=bearer(token)) is not None


def test_a_refusal_before_the_claims_checks_outlives_the_tokens_dates(rs256, clock, parses):
    # An untrusted issuer is refused whatever the time: its dates do not bound the memory.
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock)
    token = rs256.token(iss="https://elsewhere.example/", nbf=clock.now + 20, expires_in=30)
    first = refused(gate, bearer(token))
    clock.advance(40)  # past its nbf and its exp
    again = refused(gate, bearer(token))
    assert type(first) is type(again) is UntrustedIssuer
    assert len(parses) == 1


def test_a_refusal_is_forgotten_after_its_time(rs256, clock, parses):
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, cache_ttl=10)
    token = rs256.wrong_signature()
    twice(gate, token)
    clock.advance(10)
    refused(gate, bearer(token))
    assert len(parses) == 2


def test_a_refusal_in_a_past_claim_is_forgotten_when_that_time_comes(rs256, clock, parses):
    gate = Gate(issuers=[rs256.issuer_config(past_claims=["auth_time"])], clock=clock)
    token = rs256.token(auth_time=int(clock.now) + 30)
    first, _ = twice(gate, token)
    assert "auth_time" in first.description
    assert len(parses) == 1
    clock.advance(30)
    assert gate.authenticate(headers=bearer(token)) is not None


def test_clear_cache_forgets_refusals(gate, rs256, parses):
    token = rs256.wrong_signature()
    twice(gate, token)
    gate.clear_cache()
    refused(gate, bearer(token))
    assert len(parses) == 2


def test_nothing_is_remembered_with_the_cache_off(rs256, clock, parses):
    for options in ({"cache_size": 0}, {"cache_ttl": 0}):
        parses.clear()
        gate = Gate(issuers=[rs256.issuer_config()], clock=clock, **options)
        twice(gate, rs256.wrong_signature())
        assert len(parses) == 2


# --- never remembered ------------------------------------------------------------------


def test_application_code_refusals_are_never_remembered(rs256, clock, parses):
    answers = iter([False, True])
    issuer = rs256.issuer_config(expected_claims={"sub": lambda sub: next(answers)})
    gate = Gate(issuers=[issuer], clock=clock)
    token = rs256.token()
    assert type(refused(gate, bearer(token))) is InvalidClaims
    assert gate.authenticate(headers=bearer(token)) is not None


def test_a_failing_claims_hook_is_asked_again(rs256, clock):
    calls: list[int] = []

    def hook(claims: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("not yet")
        return claims

    gate = Gate(issuers=[rs256.issuer_config(claims_hook=hook)], clock=clock)
    token = rs256.token()
    assert type(refused(gate, bearer(token))) is InvalidClaims
    assert gate.authenticate(headers=bearer(token)) is not None


def test_a_revocation_is_never_remembered(rs256, clock):
    store = MemoryRevocations(clock=clock)
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=store)
    token = rs256.token(sub="u1")
    store.revoke_subject("u1")
    assert type(refused(gate, bearer(token))) is RevokedToken
    store.restore_subject("u1")
    assert gate.authenticate(headers=bearer(token)) is not None


def test_unavailable_keys_are_never_remembered(rs256: TokenFactory, clock: FrozenClock):
    ticks = FrozenClock(0.0)
    with rs256.serve_jwks() as server:
        issuer = rs256.issuer_config(jwks_url=server.url, remote=RemoteOptions(clock=ticks))
        gate = Gate(issuers=[issuer], clock=clock)
        token = rs256.token()
        server.fail_next(1)
        assert type(refused(gate, bearer(token))) is KeysUnavailable
        ticks.advance(1)  # the first retry is due after a second
        assert gate.authenticate(headers=bearer(token)) is not None


# --- refusals that depend on the keys ----------------------------------------------------


def test_an_unknown_kid_is_fetched_for_again_once_the_cooldown_is_over(rs256, clock):
    ticks = FrozenClock(0.0)
    newcomer = TokenFactory("RS256", issuer=rs256.issuer, audience=rs256.audience, kid="new-1")
    newcomer.clock = clock
    with rs256.serve_jwks() as server:
        issuer = rs256.issuer_config(jwks_url=server.url, remote=RemoteOptions(clock=ticks))
        gate = Gate(issuers=[issuer], clock=clock)
        assert gate.authenticate(headers=bearer(rs256.token())) is not None  # first fetch
        token = newcomer.token()
        first, second = twice(gate, token)  # within the cooldown: no fetch, refused
        assert type(first) is type(second) is InvalidSignature
        server.extra_keys.append(newcomer.public_jwk())
        fetched = server.requests
        assert type(refused(gate, bearer(token))) is InvalidSignature
        assert server.requests == fetched  # still within the cooldown
        ticks.advance(30)
        assert gate.authenticate(headers=bearer(token)) is not None
        assert server.requests == fetched + 1


def test_a_key_added_to_the_set_has_a_refused_token_checked_again(rs256, clock, parses):
    ticks = FrozenClock(0.0)
    newcomer = TokenFactory("RS256", issuer=rs256.issuer, audience=rs256.audience)
    newcomer.clock = clock
    with rs256.serve_jwks() as server:
        options = RemoteOptions(clock=ticks, cache_ttl=60)
        gate = Gate(issuers=[rs256.issuer_config(jwks_url=server.url, remote=options)], clock=clock)
        assert gate.authenticate(headers=bearer(rs256.token())) is not None
        parses.clear()
        token = newcomer.sign(newcomer.claims(), headers={"kid": None})  # no kid: every key
        twice(gate, token)
        assert len(parses) == 1
        server.extra_keys.append({**newcomer.public_jwk(), "kid": "added"})
        ticks.advance(60)  # stale: the next request refreshes in the background
        refused(gate, bearer(token))
        gate.issuers[0].keys.wait(10)  # type: ignore[attr-defined]
        assert gate.authenticate(headers=bearer(token)) is not None


# --- bounded ---------------------------------------------------------------------------


def test_the_memory_is_bounded_in_entries_and_bytes() -> None:
    memory = Refusals(maxsize=3, max_bytes=10_000, ttl=60)
    for n in range(10):
        assert memory.remember(f"t{n}", InvalidToken(), 0, 0, None, None, None, None)
    assert len(memory) == 3
    assert memory.recall("t9", 0, 0, "bearer") is not None
    assert memory.recall("t0", 0, 0, "bearer") is None
    small = Refusals(maxsize=100, max_bytes=2_000, ttl=60)
    for n in range(10):
        small.remember("x" * 500 + str(n), InvalidToken(), 0, 0, None, None, None, None)
    assert small.bytes <= 2_000
    assert len(small) < 10
    assert not small.remember("x" * 5_000, InvalidToken(), 0, 0, None, None, None, None)


def test_a_gate_remembers_at_most_refusals_size(make_factory, clock):
    hs256 = make_factory("HS256")
    gate = Gate(issuers=[hs256.issuer_config()], clock=clock)
    for n in range(REFUSALS_SIZE + 50):
        refused(gate, bearer(hs256.wrong_audience(sub=f"u{n}")))
    assert len(gate._refusals) == REFUSALS_SIZE


def test_a_refusal_decided_before_a_clear_is_not_recalled(rs256, clock) -> None:
    memory = Refusals(maxsize=10, max_bytes=100_000, ttl=60)
    memory.remember("t", InvalidToken(), 0, 0, None, None, None, None)
    assert memory.recall("t", 0, 1, "bearer") is None  # the cache's generation moved on


def test_keys_that_cannot_be_had_now_have_the_token_judged_afresh() -> None:
    from jwtgate.keys import KeySource

    class Gone(KeySource):
        def keys_for(self, kid, algorithm):
            raise KeysUnavailable()

    memory = Refusals(maxsize=10, max_bytes=100_000, ttl=60)
    memory.remember("t", InvalidSignature(), 0, 0, None, None, (Gone(), None, "RS256", ()), None)
    assert memory.recall("t", 0, 0, "bearer") is None


def test_a_source_with_a_check_of_its_own_is_asked_before_the_memory(rs256, clock):
    from jwtgate.sources import BearerSource

    class Picky(BearerSource):
        def check(self, token: str) -> None:
            if token.count(".") == 2 and len(token) % 2:
                raise InvalidToken("An odd-length token")
            super().check(token)

    gate = Gate(issuers=[rs256.issuer_config()], sources=[Picky()], clock=clock)
    token = next(t for t in (rs256.wrong_signature(sub=f"u{n}") for n in range(20)) if len(t) % 2)
    for _ in range(2):
        assert refused(gate, bearer(token)).description == "An odd-length token"
