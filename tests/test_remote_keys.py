"""RemoteKeys: caching, cooldown, single flight, stale-if-error and 503s, over real HTTP.

Every policy number has a test here that fails without it. Time is a fake
monotonic clock handed to ``RemoteOptions``, so nothing sleeps for a cooldown;
the only real waits are a local server's ``delay``, used to hold a fetch open
while concurrent requests pile up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from typing import Any

import pytest

from jwtgate import (
    ConfigurationError,
    Gate,
    InvalidSignature,
    Issuer,
    KeysUnavailable,
    User,
)
from jwtgate.fetch import FetchError
from jwtgate.remote import RemoteKeys, RemoteOptions, discovery_url
from jwtgate.testing import TokenFactory
from jwtgate.testing.jwks_server import DISCOVERY_PATH, JWKS_PATH, JWKSServer

from .conftest import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(1_000.0)


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory("ES256")


def make_gate(
    tokens: TokenFactory, server: JWKSServer, clock: FrozenClock, **options: Any
) -> tuple[Gate, RemoteKeys]:
    issuer = tokens.issuer_config(jwks_url=server.url, remote=RemoteOptions(clock=clock, **options))
    assert isinstance(issuer.keys, RemoteKeys)
    return Gate(issuers=[issuer]), issuer.keys


def fetches(server: JWKSServer) -> int:
    return server.count(JWKS_PATH)


def authenticate(gate: Gate, tokens: TokenFactory, **kwargs: Any) -> User:
    user = gate.authenticate(headers=tokens.headers(**kwargs))
    assert user is not None
    return user


def refused(gate: Gate, token: str) -> Exception:
    with pytest.raises((InvalidSignature, KeysUnavailable)) as info:
        gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    error = info.value
    assert token not in error.description  # type: ignore[union-attr]
    return error


def assert_401(error: Exception) -> None:
    assert isinstance(error, InvalidSignature)
    assert error.status == 401
    assert error.error == "invalid_token"


def assert_503(error: Exception, retry_after: int) -> None:
    assert isinstance(error, KeysUnavailable)
    assert error.status == 503
    assert error.error == "temporarily_unavailable"
    assert ("Retry-After", str(retry_after)) in error.response_headers()


# --- caching --------------------------------------------------------------------------


def test_the_set_is_fetched_on_first_use_then_served_from_memory(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock)
    assert fetches(server) == 0  # nothing at construction
    for n in range(5):
        assert authenticate(gate, tokens, sub=f"u{n}").subject == f"u{n}"
    assert fetches(server) == 1
    assert keys.kids == (tokens.kid,)


def test_after_ten_minutes_the_set_is_refetched_in_the_background(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens, sub="first")
    clock.advance(599)
    authenticate(gate, tokens, sub="still-fresh")
    assert fetches(server) == 1
    clock.advance(1)
    server.delay = 1.0
    # The request is answered with the keys in hand while the refetch is still running.
    authenticate(gate, tokens, sub="stale")
    assert keys.fetching
    keys.wait(5)
    assert not keys.fetching
    assert fetches(server) == 2


def test_only_one_background_refetch_runs_at_a_time(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    clock.advance(600)
    server.delay = 0.5
    for n in range(20):
        authenticate(gate, tokens, sub=f"u{n}")
    keys.wait(5)
    assert fetches(server) == 2


def test_a_refetched_set_is_fresh_again(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    clock.advance(600)
    authenticate(gate, tokens, sub="triggers")
    keys.wait(5)
    clock.advance(599)
    authenticate(gate, tokens, sub="fresh")
    assert not keys.fetching
    assert fetches(server) == 2


@pytest.mark.parametrize(
    ("cache_control", "fresh_for"),
    [
        ("max-age=120", 120),
        ("public, max-age=3600", 3600),
        ("max-age=1", 60),  # at least a minute
        ("no-store", 60),
        ("max-age=604800", 86_400),  # at most a day
    ],
)
def test_cache_control_max_age_sets_the_freshness_within_bounds(
    tokens, server, clock, cache_control: str, fresh_for: float
) -> None:
    server.cache_control = cache_control
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    clock.advance(fresh_for - 1)
    authenticate(gate, tokens, sub="fresh")
    assert not keys.fetching
    assert fetches(server) == 1
    clock.advance(1)
    authenticate(gate, tokens, sub="stale")
    keys.wait(5)
    assert fetches(server) == 2


def test_cache_ttl_is_the_freshness_without_max_age(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock, cache_ttl=120)
    authenticate(gate, tokens)
    clock.advance(119)
    authenticate(gate, tokens, sub="fresh")
    assert fetches(server) == 1
    clock.advance(1)
    authenticate(gate, tokens, sub="stale")
    keys.wait(5)
    assert fetches(server) == 2


# --- unknown kids -----------------------------------------------------------------------


def test_a_storm_of_unknown_kids_fetches_once_per_cooldown(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    for _ in range(300):
        assert_401(refused(gate, tokens.token(headers={"kid": f"{random.getrandbits(64):x}"})))
    assert fetches(server) == 1  # within the cooldown of the first fetch: no refetch at all
    clock.advance(30)
    for _ in range(300):
        assert_401(refused(gate, tokens.token(headers={"kid": f"{random.getrandbits(64):x}"})))
    assert fetches(server) == 2  # the first unknown kid after the cooldown: one refetch
    clock.advance(29.9)
    assert_401(refused(gate, tokens.token(headers={"kid": "another"})))
    assert fetches(server) == 2
    clock.advance(0.1)
    assert_401(refused(gate, tokens.token(headers={"kid": "another"})))
    assert fetches(server) == 3


def test_a_rotated_key_is_picked_up_at_the_first_unknown_kid_after_the_cooldown(
    tokens, server, clock
) -> None:
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    server.rotate()
    assert_401(refused(gate, tokens.token()))  # the new kid, within the cooldown
    clock.advance(30)
    assert authenticate(gate, tokens, sub="after").subject == "after"
    assert fetches(server) == 2
    assert keys.kids == (tokens.kid,)


def test_the_cooldown_is_configurable(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock, cooldown=5)
    authenticate(gate, tokens)
    clock.advance(5)
    assert_401(refused(gate, tokens.token(headers={"kid": "unknown"})))
    assert fetches(server) == 2


# --- single flight --------------------------------------------------------------------


def test_concurrent_first_requests_in_threads_share_one_fetch(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock)
    server.delay = 0.3
    headers = [tokens.headers(sub=f"u{n}") for n in range(50)]
    barrier = threading.Barrier(50)
    results: list[Any] = [None] * 50

    def worker(n: int) -> None:
        barrier.wait(5)
        try:
            results[n] = gate.authenticate(headers=headers[n])
        except Exception as exc:  # pragma: no cover - reported by the assert below
            results[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [getattr(r, "subject", r) for r in results] == [f"u{n}" for n in range(50)]
    assert fetches(server) == 1


def test_concurrent_first_requests_under_asyncio_share_one_fetch_off_the_loop(
    tokens, server, clock
) -> None:
    gate, _ = make_gate(tokens, server, clock)
    server.delay = 0.3
    headers = [tokens.headers(sub=f"u{n}") for n in range(50)]

    async def main() -> tuple[list[User | None], int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())
        users = await asyncio.gather(*(gate.authenticate_async(headers=h) for h in headers))
        done.set()
        await ticking
        return users, ticks

    users, ticks = asyncio.run(main())
    assert [u.subject for u in users if u] == [f"u{n}" for n in range(50)]
    assert fetches(server) == 1
    assert ticks >= 5  # the loop kept running while the 0.3 s fetch was in progress


def test_threads_and_asyncio_tasks_share_one_fetch(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock)
    server.delay = 0.3
    sync_result: list[Any] = []
    thread = threading.Thread(
        target=lambda: sync_result.append(gate.authenticate(headers=tokens.headers(sub="t")))
    )

    async def main() -> list[User | None]:
        thread.start()
        return await asyncio.gather(
            *(gate.authenticate_async(headers=tokens.headers(sub=f"a{n}")) for n in range(10))
        )

    users = asyncio.run(main())
    thread.join(10)
    assert sync_result[0].subject == "t"
    assert all(u is not None for u in users)
    assert fetches(server) == 1


def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock)
    server.delay = 0.3

    async def main() -> User | None:
        first = asyncio.create_task(gate.authenticate_async(headers=tokens.headers(sub="a")))
        second = asyncio.create_task(gate.authenticate_async(headers=tokens.headers(sub="b")))
        await asyncio.sleep(0.05)
        first.cancel()
        return await second

    user = asyncio.run(main())
    assert user is not None
    assert user.subject == "b"
    assert fetches(server) == 1
    assert keys.kids == (tokens.kid,)


def test_an_async_refresh_that_is_not_due_does_nothing(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    asyncio.run(keys.refresh_async())
    keys.refresh()
    assert fetches(server) == 1


# --- stale if error and 503 -----------------------------------------------------------


def test_a_failed_refetch_keeps_serving_the_last_good_set(tokens, server, clock, caplog) -> None:
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    clock.advance(600)
    server.fail_next(1)
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        authenticate(gate, tokens, sub="during-outage")
        keys.wait(5)
    assert keys.failures == 1
    assert keys.last_error == "HTTP 500"
    assert "still using the keys fetched before" in caplog.text
    assert authenticate(gate, tokens, sub="still-fine").subject == "still-fine"
    assert fetches(server) == 2


def test_stale_keys_serve_up_to_max_stale_then_503(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    server.fail_next(1000)
    clock.advance(600 + 86_399)
    assert authenticate(gate, tokens, sub="last-stale-second").subject == "last-stale-second"
    keys.wait(5)
    clock.advance(1)
    assert_503(refused(gate, tokens.token(sub="too-stale")), retry_after=2)
    assert keys.kids == ()


def test_max_stale_is_configurable(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock, max_stale=0)
    authenticate(gate, tokens)
    server.fail_next(1000)
    clock.advance(600)
    assert_503(refused(gate, tokens.token(sub="stale")), retry_after=1)


def test_the_first_fetch_failing_is_a_503_with_retry_after(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock)
    server.fail_next(1)
    token = tokens.token()
    assert_503(refused(gate, token), retry_after=1)
    assert_503(refused(gate, token), retry_after=1)  # backing off: no new fetch
    assert fetches(server) == 1
    clock.advance(1)
    assert authenticate(gate, tokens).subject == "user-1"
    assert fetches(server) == 2


def test_failed_fetches_are_retried_after_1_2_4_seconds_up_to_the_cooldown(
    tokens, server, clock
) -> None:
    gate, _ = make_gate(tokens, server, clock)
    server.fail_next(1000)
    token = tokens.token()
    for backoff in (1, 2, 4, 8, 16, 30, 30):
        assert_503(refused(gate, token), retry_after=backoff)
        count = fetches(server)
        clock.advance(backoff - 0.5)
        assert_503(refused(gate, token), retry_after=1)
        assert fetches(server) == count
        clock.advance(0.5)
    assert fetches(server) == 7


def test_an_unknown_kid_while_the_provider_is_down_is_401_not_503(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    server.fail_next(1000)
    clock.advance(30)
    assert_401(refused(gate, tokens.token(headers={"kid": "unknown"})))
    assert fetches(server) == 2
    assert authenticate(gate, tokens, sub="known").subject == "known"


def test_an_answer_that_is_no_jwks_is_a_failed_fetch(tokens, server, clock, caplog) -> None:
    gate, keys = make_gate(tokens, server, clock)
    server.respond(b"<html>maintenance</html>")
    with caplog.at_level(logging.ERROR, logger="jwtgate"):
        assert_503(refused(gate, tokens.token()), retry_after=1)
    assert keys.last_error == "the answer is not JSON"
    assert "no usable key" in caplog.text


OCT_ONLY = {"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXg"}]}


@pytest.mark.parametrize("answer", [{"keys": []}, OCT_ONLY], ids=["empty", "no-usable-key"])
def test_a_first_answer_with_no_usable_key_is_a_failed_fetch(
    tokens, server, clock, caplog, answer
) -> None:
    gate, keys = make_gate(tokens, server, clock)
    server.respond(answer)
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        assert_503(refused(gate, tokens.token()), retry_after=1)
    assert keys.failures == 1
    assert keys.last_error == "the key set holds no usable key"
    assert "requests get 503 until a fetch succeeds" in caplog.text


@pytest.mark.parametrize("answer", [{"keys": []}, OCT_ONLY], ids=["empty", "no-usable-key"])
def test_an_answer_with_no_usable_key_never_replaces_the_good_set(
    tokens, server, clock, caplog, answer
) -> None:
    gate, keys = make_gate(tokens, server, clock)
    token = tokens.token(sub="cached")
    assert gate.authenticate(headers={"Authorization": f"Bearer {token}"}) is not None
    assert gate.cache_size == 1
    server.respond(answer)
    clock.advance(601)  # stale: the next verification refetches in the background
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        assert authenticate(gate, tokens, sub="second").subject == "second"
        keys.wait(5)
    assert fetches(server) == 2
    assert keys.failures == 1
    assert "still using the keys fetched before" in caplog.text
    assert gate.cache_size == 2  # not cleared: no key was withdrawn
    assert gate.authenticate(headers={"Authorization": f"Bearer {token}"}) is not None
    assert keys.kids == (tokens.kid,)
    assert authenticate(gate, tokens, sub="fresh").subject == "fresh"  # the old set verifies


def test_a_leader_that_outlives_the_wait_is_a_503_for_waiters(monkeypatch, tokens, clock) -> None:
    """Waiters are bounded even if a fetch hangs past its own deadline (e.g. in DNS)."""
    release = threading.Event()

    def stuck(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        raise FetchError("gave up")

    monkeypatch.setattr("jwtgate.remote.fetch", stuck)
    keys = RemoteKeys(
        "https://issuer.test/jwks.json",
        algorithms=["ES256"],
        options=RemoteOptions(clock=clock, timeout=0.05),
    )
    leader = threading.Thread(target=keys.refresh)
    leader.start()
    try:
        while not keys.fetching:
            threading.Event().wait(0.01)
        with pytest.raises(KeysUnavailable):
            keys.refresh()
        with pytest.raises(KeysUnavailable):
            asyncio.run(keys.refresh_async())
    finally:
        release.set()
        leader.join(5)
    assert keys.failures == 1


def test_an_unexpected_error_in_a_fetch_is_contained(monkeypatch, tokens, clock, caplog) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr("jwtgate.remote.fetch", broken)
    issuer = tokens.issuer_config(
        jwks_url="https://issuer.test/jwks.json", remote=RemoteOptions(clock=clock)
    )
    gate = Gate(issuers=[issuer])
    with caplog.at_level(logging.ERROR, logger="jwtgate"):
        assert_503(refused(gate, tokens.token()), retry_after=1)
    assert "unexpected RuntimeError" in caplog.text


# --- keys leaving the set ---------------------------------------------------------------


def test_a_key_leaving_the_set_drops_cached_claims_of_its_tokens(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock)
    old_token = tokens.token(sub="old")
    assert gate.authenticate(headers={"Authorization": f"Bearer {old_token}"}) is not None
    assert gate.cache_size == 1
    server.rotate()
    clock.advance(30)
    authenticate(gate, tokens, sub="new")  # the new kid refetches; the old key is gone
    assert fetches(server) == 2
    assert_401(refused(gate, old_token))  # cached claims forgotten, key unknown
    assert fetches(server) == 2


def test_a_key_leaving_at_a_background_refresh_drops_cached_claims(tokens, server, clock) -> None:
    server.extra_keys = [TokenFactory("ES256", kid="other").public_jwk()]
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    assert gate.cache_size == 1
    server.extra_keys = []  # the other key is withdrawn
    server.delay = 0.2  # the refetch ends after the request below has been cached
    clock.advance(600)
    authenticate(gate, tokens, sub="triggers")
    assert gate.cache_size == 2
    keys.wait(5)
    assert gate.cache_size == 0


def test_new_keys_alone_keep_cached_claims(tokens, server, clock) -> None:
    gate, _ = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    newcomer = TokenFactory("ES256", kid="newcomer")
    server.extra_keys = [newcomer.public_jwk()]
    clock.advance(30)
    assert gate.authenticate(headers=newcomer.headers()) is not None
    assert fetches(server) == 2
    assert gate.cache_size == 2


def test_a_failing_callback_is_logged_and_the_others_still_run(
    tokens, server, clock, caplog
) -> None:
    gate, keys = make_gate(tokens, server, clock)
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    keys.subscribe(broken)
    keys.subscribe(lambda: calls.append("ran"))
    authenticate(gate, tokens)
    server.rotate()
    clock.advance(30)
    with caplog.at_level(logging.ERROR, logger="jwtgate"):
        authenticate(gate, tokens, sub="new")
    assert calls == ["ran"]
    assert "keys-removed callback failed" in caplog.text


# --- logging ---------------------------------------------------------------------------


def test_each_ignored_key_is_logged_once_with_its_reason(tokens, server, clock, caplog) -> None:
    secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"
    server.extra_keys = [
        {"kty": "oct", "kid": "hmac", "k": secret},
        {**TokenFactory("ES256", kid="enc").public_jwk(), "use": "enc"},
    ]
    gate, keys = make_gate(tokens, server, clock)
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        authenticate(gate, tokens)
        clock.advance(600)
        authenticate(gate, tokens, sub="refetch")
        keys.wait(5)
    assert fetches(server) == 2
    ignored = [r.getMessage() for r in caplog.records if "ignoring key" in r.getMessage()]
    assert len(ignored) == 2
    assert "'hmac'" in ignored[0]
    assert "symmetric (oct)" in ignored[0]
    assert "'enc'" in ignored[1]
    assert "not for signatures" in ignored[1]
    assert secret not in caplog.text


# --- discovery ------------------------------------------------------------------------


def test_discovery_fetches_the_document_then_its_jwks_uri(tokens, server, clock) -> None:
    issuer = tokens.issuer_config(discovery=server.discovery_url, remote=RemoteOptions(clock=clock))
    gate = Gate(issuers=[issuer])
    assert authenticate(gate, tokens).subject == "user-1"
    assert server.paths == [DISCOVERY_PATH, JWKS_PATH]


def test_discovery_true_starts_from_the_issuer_url(clock) -> None:
    tokens = TokenFactory("RS256")
    with tokens.serve_jwks() as server:
        tokens.issuer = server.issuer = server.base_url + "/"
        issuer = tokens.issuer_config(discovery=True, remote=RemoteOptions(clock=clock))
        assert issuer.keys.discovery_url == server.discovery_url  # type: ignore[attr-defined]
        assert authenticate(Gate(issuers=[issuer]), tokens).issuer == server.base_url + "/"
        assert server.paths == [DISCOVERY_PATH, JWKS_PATH]


def test_discovery_url_strips_one_trailing_slash() -> None:
    assert discovery_url("https://a.example/") == (
        "https://a.example/.well-known/openid-configuration"
    )
    assert discovery_url("https://a.example/tenant") == (
        "https://a.example/tenant/.well-known/openid-configuration"
    )


def test_the_document_must_name_the_configured_issuer_exactly(tokens, clock, caplog) -> None:
    with tokens.serve_jwks(issuer="https://issuer.test") as server:  # no trailing slash
        issuer = tokens.issuer_config(
            discovery=server.discovery_url, remote=RemoteOptions(clock=clock)
        )
        with caplog.at_level(logging.ERROR, logger="jwtgate"):
            assert_503(refused(Gate(issuers=[issuer]), tokens.token()), retry_after=1)
        assert server.paths == [DISCOVERY_PATH]
    assert "names another issuer" in caplog.text


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"issuer": "https://issuer.test/"}, "jwks_uri must be a URL string"),
        (
            {"issuer": "https://issuer.test/", "jwks_uri": "http://evil.example/jwks.json"},
            "jwks_uri must be https",
        ),
        ({"issuer": "https://issuer.test/", "jwks_uri": "file:///etc/passwd"}, "must be an https"),
        (["not", "an", "object"], "not a JSON object"),
        ("{oops", "not JSON"),
    ],
)
def test_a_bad_document_is_a_failed_fetch(tokens, server, clock, document: Any, why: str) -> None:
    issuer = tokens.issuer_config(discovery=server.discovery_url, remote=RemoteOptions(clock=clock))
    server.respond(document, path=DISCOVERY_PATH)
    assert_503(refused(Gate(issuers=[issuer]), tokens.token()), retry_after=1)
    assert why in (issuer.keys.last_error or "")  # type: ignore[attr-defined]
    assert server.count(JWKS_PATH) == 0


def test_the_document_is_cached_like_the_set(tokens, server, clock) -> None:
    issuer = tokens.issuer_config(discovery=server.discovery_url, remote=RemoteOptions(clock=clock))
    gate = Gate(issuers=[issuer])
    authenticate(gate, tokens)
    clock.advance(30)
    assert_401(refused(gate, tokens.token(headers={"kid": "unknown"})))
    assert server.paths == [DISCOVERY_PATH, JWKS_PATH, JWKS_PATH]
    clock.advance(600)
    authenticate(gate, tokens, sub="refetch")
    issuer.keys.wait(5)  # type: ignore[attr-defined]
    assert server.paths[3:] == [DISCOVERY_PATH, JWKS_PATH]


def test_a_failed_document_refetch_keeps_the_known_jwks_uri(tokens, server, clock, caplog) -> None:
    issuer = tokens.issuer_config(discovery=server.discovery_url, remote=RemoteOptions(clock=clock))
    gate = Gate(issuers=[issuer])
    authenticate(gate, tokens)
    clock.advance(600)
    server.fail_next(1)
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        authenticate(gate, tokens, sub="refetch")
        issuer.keys.wait(5)  # type: ignore[attr-defined]
    assert server.paths == [DISCOVERY_PATH, JWKS_PATH, DISCOVERY_PATH, JWKS_PATH]
    assert "using the jwks_uri it gave before" in caplog.text
    assert issuer.keys.failures == 0  # type: ignore[attr-defined]


# --- configuration --------------------------------------------------------------------


def test_hmac_algorithms_never_take_keys_from_a_jwks() -> None:
    with pytest.raises(ConfigurationError, match="HS\\* algorithms need a shared secret"):
        Issuer("https://a.example/", algorithms=["HS256"], jwks_url="https://a.example/jwks")


def test_plain_http_is_refused_for_other_hosts_unless_opted_in() -> None:
    with pytest.raises(ConfigurationError, match="jwks_url: must be https"):
        Issuer("https://a.example/", algorithms=["RS256"], jwks_url="http://a.example/jwks")
    issuer = Issuer(
        "https://a.example/",
        algorithms=["RS256"],
        jwks_url="http://a.example/jwks",
        remote=RemoteOptions(allow_http=True),
    )
    assert isinstance(issuer.keys, RemoteKeys)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"remote": RemoteOptions(), "key": TokenFactory("ES256").public_pem()}, "remote: only"),
        ({"jwks_url": "https://a.example/j", "discovery": True}, "give exactly one"),
        ({"discovery": ""}, "discovery: must be True or the URL"),
        ({"discovery": 5}, "discovery: must be True or the URL"),
        ({"jwks_url": ""}, "jwks_url: must be a URL string"),
        ({"jwks_url": "https://a.example/j", "remote": {"cooldown": 1}}, "remote: must be a"),
    ],
)
def test_bad_remote_configuration_fails_at_construction(kwargs: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Issuer("https://a.example/", algorithms=["ES256"], **kwargs)


def test_discovery_needs_the_issuer() -> None:
    with pytest.raises(ConfigurationError, match="discovery: needs the issuer"):
        Issuer(None, algorithms=["ES256"], discovery=True)
    with pytest.raises(ConfigurationError, match="discovery: needs the issuer"):
        Issuer(None, algorithms=["ES256"], discovery="https://a.example/.well-known/x")


def test_remote_keys_need_exactly_one_url() -> None:
    with pytest.raises(ConfigurationError, match="give exactly one"):
        RemoteKeys(algorithms=["ES256"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cache_ttl": 59}, "cache_ttl"),
        ({"cache_ttl": 86_401}, "cache_ttl"),
        ({"cooldown": 0}, "cooldown"),
        ({"cooldown": True}, "cooldown"),
        ({"max_stale": -1}, "max_stale"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"max_bytes": 100}, "max_bytes"),
        ({"max_bytes": 1.5}, "max_bytes"),
        ({"allow_http": "yes"}, "allow_http"),
        ({"clock": 5}, "clock"),
    ],
)
def test_remote_options_are_validated(options: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RemoteOptions(**options)


def test_repr_names_the_url_and_kids_only(tokens, server, clock) -> None:
    gate, keys = make_gate(tokens, server, clock)
    authenticate(gate, tokens)
    assert repr(keys) == f"RemoteKeys(jwks_url={server.url!r}, kids=[{tokens.kid!r}])"


# --- the defaults ---------------------------------------------------------------------


def test_every_fetch_uses_the_default_5_s_deadline_and_1_mib_cap(monkeypatch, clock) -> None:
    seen: list[dict[str, Any]] = []

    def record(url: str, **kwargs: Any) -> Any:
        seen.append(kwargs)
        raise FetchError("recorded")

    monkeypatch.setattr("jwtgate.remote.fetch", record)
    keys = RemoteKeys("https://issuer.test/jwks.json", algorithms=["ES256"])
    keys.refresh()
    assert seen == [{"timeout": 5.0, "max_bytes": 1_048_576, "allow_http": False}]


def test_a_set_of_exactly_1_mib_is_read_and_one_byte_more_is_not(tokens, server, clock) -> None:
    document = json.dumps(tokens.jwks()).encode()
    padding = 1_048_576 - len(document)
    server.respond(document + b" " * padding)
    gate, keys = make_gate(tokens, server, clock)
    assert authenticate(gate, tokens).subject == "user-1"
    server.respond(document + b" " * (padding + 1))
    clock.advance(600)
    authenticate(gate, tokens, sub="refetch")
    keys.wait(5)
    assert keys.last_error == "the answer is larger than 1048576 bytes"


def test_the_memory_of_logged_keys_is_bounded(monkeypatch, tokens, server, clock, caplog) -> None:
    monkeypatch.setattr("jwtgate.remote._REPORTED_LIMIT", 1)
    server.extra_keys = [
        {**TokenFactory("ES256", kid=f"enc{n}").public_jwk(), "use": "enc"} for n in range(3)
    ]
    gate, _ = make_gate(tokens, server, clock)
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        authenticate(gate, tokens)
    assert caplog.text.count("ignoring key") == 3
    assert len(gate.issuers[0].keys._reported) == 1  # type: ignore[attr-defined]
