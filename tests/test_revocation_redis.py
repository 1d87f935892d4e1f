"""RedisRevocations against a real Redis server that the tests start on 127.0.0.1.

Two stores on one Redis stand for two workers. Faults are real: the server
is stopped and restarted, or frozen with SIGSTOP (a Redis that answers
nothing); every wait in these tests is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from jwtgate import Gate, RevocationUnavailable, RevokedToken, User
from jwtgate.revocation import RedisRevocations, RevocationError
from jwtgate.testing import TokenFactory
from tests.redis_server import RedisServer, running_redis, wait_for

TIMEOUT = 0.3


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    yield from running_redis()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def make_store(server, prefix) -> Iterator:
    made: list[RedisRevocations] = []

    def make(**options) -> RedisRevocations:
        options.setdefault("timeout", TIMEOUT)
        options.setdefault("heartbeat", 0.2)
        store = RedisRevocations(options.pop("url", server.url), prefix=prefix, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory("HS256")


def user_of(tokens: TokenFactory, **claims) -> User:
    gate = Gate(issuers=[tokens.issuer_config()])
    user = gate.authenticate(headers=tokens.headers(**claims))
    assert user is not None
    return user


def test_a_revocation_in_one_process_reaches_another_at_once(make_store, tokens):
    one, two = make_store(), make_store()
    assert two.wait_until_synced()
    user = user_of(tokens, sub="u1", jti="j1")
    assert not two.is_revoked(user)
    one.revoke(user)
    assert one.is_revoked(user)  # the revoking process knows at once
    elapsed = wait_for(lambda: two.vouch(user))
    assert two.is_revoked(user)
    assert elapsed < 2.0


def test_a_store_started_later_loads_what_was_revoked_before(make_store, tokens):
    user, other = user_of(tokens, sub="u1"), user_of(tokens, sub="u2", sid="s2")
    one = make_store()
    one.revoke(user)
    one.revoke_session("s2")
    one.revoke_subject("u3")
    late = make_store()
    assert late.wait_until_synced()
    assert late.is_revoked(user)
    assert late.is_revoked(other)
    assert len(late) == 3


def test_subject_session_and_restore_propagate(make_store, tokens):
    one, two = make_store(), make_store()
    assert two.wait_until_synced()
    user = user_of(tokens, sub="u1", sid="s1")
    one.revoke_subject("u1")
    wait_for(lambda: two.is_revoked(user))
    one.restore_subject("u1")
    wait_for(lambda: not two.is_revoked(user))
    one.revoke_session("s1")
    wait_for(lambda: two.is_revoked(user))


def test_entries_expire_in_redis_by_themselves_and_hold_no_token(
    server, make_store, prefix, tokens
):
    store = make_store(max_token_lifetime=600)
    token = tokens.token(sub="u1", expires_in=120)
    store.revoke(token)
    store.revoke_subject("u1")
    client = redis.Redis.from_url(server.url, decode_responses=True)
    keys = sorted(client.scan_iter(match=prefix + "*"))
    assert len(keys) == 2
    ttls = {key.split(":")[2]: client.pttl(key) / 1000 for key in keys}
    assert 120 < ttls["token"] <= 120 + 300 + 1  # exp + the most leeway an issuer allows
    assert 590 < ttls["subject"] <= 600
    stored = " ".join(keys + [client.get(k) for k in keys])
    assert token not in stored
    assert token.rsplit(".", 1)[1] not in stored
    client.close()


def test_an_expired_token_is_not_written(server, make_store, prefix, tokens):
    store = make_store()
    store.revoke(tokens.expired())
    client = redis.Redis.from_url(server.url)
    assert list(client.scan_iter(match=prefix + "*")) == []
    client.close()


def test_a_malformed_message_is_ignored_and_logged(server, make_store, tokens, caplog):
    store = make_store()
    assert store.wait_until_synced()
    client = redis.Redis.from_url(server.url)
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        for garbage in ("not json", '{"op":"set","kind":"token","id":""}', '{"op":"x"}', "[]"):
            client.publish(store.channel, garbage)
        client.publish(store.channel, '{"op":"set","kind":"subject","id":"u1","at":1,"until":"x"}')
        wait_for(lambda: caplog.text.count("malformed message") == 5)
    client.close()
    assert len(store) == 0
    assert store.vouch(user_of(tokens, sub="u1")) is False


def test_the_async_api_writes_to_redis(make_store, tokens):
    one, two = make_store(), make_store()
    assert two.wait_until_synced()
    user = user_of(tokens, sub="u1", sid="s1", jti="j1")

    async def scenario():
        await one.revoke_async(user)
        await one.revoke_subject_async("u2")
        await one.revoke_session_async("s9")
        await one.restore_subject_async("u2")
        assert await one.is_revoked_async(user)
        await one.aclose()

    asyncio.run(scenario())
    asyncio.run(scenario())  # a new event loop gets its own client
    wait_for(lambda: two.is_revoked(user) and len(two) == 2)


def test_the_gate_refuses_a_revoked_token_from_another_process(make_store, tokens):
    one, two = make_store(), make_store()
    gate = Gate(issuers=[tokens.issuer_config()], is_revoked=two)
    token = tokens.token(sub="u1")
    assert gate.authenticate(headers={"Authorization": f"Bearer {token}"}) is not None
    one.revoke(token)
    with pytest.raises(RevokedToken):
        wait_for(lambda: two.vouch(gate.authenticate(headers={"Authorization": f"Bearer {token}"})))


# --- faults -------------------------------------------------------------------------


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server of the test's own, to stop, freeze and restart."""
    yield from running_redis()


def test_a_stopped_redis_fails_closed_within_the_timeout_and_recovers(
    own_server, prefix, tokens, caplog
):
    store = RedisRevocations(own_server.url, prefix=prefix, timeout=TIMEOUT, heartbeat=0.2)
    writer = RedisRevocations(own_server.url, prefix=prefix, timeout=TIMEOUT)
    try:
        user = user_of(tokens, sub="u1")
        assert store.wait_until_synced()
        with caplog.at_level(logging.WARNING, logger="jwtgate"):
            own_server.stop()
            wait_for(lambda: not store._healthy)
            started = time.monotonic()
            with pytest.raises(RevocationUnavailable) as error:
                store.is_revoked(user)
            assert time.monotonic() - started < TIMEOUT
            assert error.value.status == 503
            assert ("Retry-After", "5") in error.value.response_headers()
            assert store.vouch(user) is True  # the fast path hands over to the policy
            started = time.monotonic()
            with pytest.raises(RevocationError, match="could not confirm"):
                writer.revoke(user)
            assert time.monotonic() - started < 2 * TIMEOUT + 0.5
            assert writer._revoked_here(user)  # recorded in this process at least
            own_server.restart()
            wait_for(lambda: store._healthy, timeout=10)
        assert store.is_revoked(user) is False
        writer.revoke_subject("u1")
        wait_for(lambda: store.is_revoked(user))
        assert "unreachable" in caplog.text
        assert "reachable again" in caplog.text
        assert "refusing tokens with 503" in caplog.text
    finally:
        store.close()
        writer.close()


def test_fail_open_accepts_logs_and_still_refuses_what_it_knew(own_server, prefix, tokens, caplog):
    store = RedisRevocations(
        own_server.url, prefix=prefix, timeout=TIMEOUT, heartbeat=0.2, on_error="allow"
    )
    try:
        known, unknown = user_of(tokens, sub="u1"), user_of(tokens, sub="u2")
        store.revoke(known)
        assert store.wait_until_synced()
        own_server.stop()
        wait_for(lambda: not store._healthy)
        with caplog.at_level(logging.WARNING, logger="jwtgate"):
            assert store.decide(unknown) == "fail_open"
            assert store.is_revoked(unknown) is False
            assert store.is_revoked(known) is True
        warnings = [r for r in caplog.records if "accepting a token without" in r.getMessage()]
        assert len(warnings) == 1  # throttled: one line per interval
        assert warnings[0].levelno == logging.WARNING
    finally:
        store.close()


def test_a_frozen_redis_is_noticed_by_the_heartbeat_and_nothing_waits_longer(
    own_server, prefix, tokens
):
    store = RedisRevocations(own_server.url, prefix=prefix, timeout=TIMEOUT, heartbeat=0.2)
    writer = RedisRevocations(own_server.url, prefix=prefix, timeout=TIMEOUT)
    try:
        user = user_of(tokens, sub="u1")
        assert store.wait_until_synced()
        writer.revoke_subject("u0")  # connect the writer before the freeze
        own_server.pause()
        noticed = wait_for(lambda: not store._healthy, timeout=5)
        assert noticed < 0.2 + TIMEOUT + 0.5  # heartbeat + timeout, and the poll interval
        started = time.monotonic()
        with pytest.raises(RevocationUnavailable):
            store.is_revoked(user)
        # Unconfirmed, not undone: a frozen Redis may still apply it once it wakes up.
        with pytest.raises(RevocationError, match="could not confirm"):
            writer.revoke(user_of(tokens, sub="u8"))
        assert time.monotonic() - started < 2 * TIMEOUT + 0.5

        async def write():
            await writer.revoke_subject_async("u9")

        started = time.monotonic()
        with pytest.raises(RevocationError):
            asyncio.run(write())
        assert time.monotonic() - started < 2 * TIMEOUT + 0.5
        own_server.resume()
        wait_for(lambda: store._healthy, timeout=10)
        assert store.is_revoked(user) is False
    finally:
        own_server.resume()
        store.close()
        writer.close()


def test_no_redis_at_all_waits_only_the_timeout_then_applies_the_policy(tokens):
    from tests.servers import free_port

    user = user_of(tokens)
    store = RedisRevocations(f"redis://127.0.0.1:{free_port()}/0", timeout=TIMEOUT)
    try:
        started = time.monotonic()
        with pytest.raises(RevocationUnavailable):
            store.is_revoked(user)
        assert time.monotonic() - started < TIMEOUT + 0.3

        async def check():
            return await store.is_revoked_async(user)

        started = time.monotonic()
        with pytest.raises(RevocationUnavailable):
            asyncio.run(check())
        assert time.monotonic() - started < TIMEOUT + 0.3
    finally:
        store.close()


def test_the_first_load_is_awaited_without_blocking_the_loop(make_store, tokens):
    store = make_store()
    user = user_of(tokens)

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        revoked = await store.is_revoked_async(user)
        task.cancel()
        return revoked, ticks

    revoked, ticks = asyncio.run(scenario())
    assert revoked is False
    assert ticks >= 1


def test_a_password_never_appears_in_errors_or_logs(tokens, caplog):
    with running_redis_with_password() as server:
        good = RedisRevocations(server.url, timeout=TIMEOUT)
        wrong = RedisRevocations(server.url.replace("s3cret-pw", "wrong-pw"), timeout=TIMEOUT)
        try:
            assert good.wait_until_synced()
            good.revoke_subject("u1")
            with caplog.at_level(logging.WARNING, logger="jwtgate"):
                with pytest.raises(RevocationError) as error:
                    wrong.revoke_subject("u1")
                with pytest.raises(RevocationUnavailable):
                    wrong.is_revoked(user_of(tokens))
            for text in (str(error.value), caplog.text, repr(wrong), wrong.location):
                assert "s3cret" not in text
                assert "wrong-pw" not in text
            assert f"127.0.0.1:{server.port}" in str(error.value)
        finally:
            good.close()
            wrong.close()


def running_redis_with_password():
    from contextlib import contextmanager

    @contextmanager
    def running():
        yield from running_redis(password="s3cret-pw")

    return running()


def test_a_reload_that_misses_known_revocations_says_so(server, make_store, tokens, caplog):
    store = make_store()
    user = user_of(tokens, sub="u1")
    store.revoke(user)
    assert store.wait_until_synced()
    client = redis.Redis.from_url(server.url)
    for key in client.scan_iter(match=store.prefix + "*"):
        client.delete(key)  # gone without a message, as from a Redis that lost its data
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        client.client_kill_filter(_type="pubsub")  # the subscriber reconnects and reloads
        wait_for(lambda: "no longer in" in caplog.text)
    client.close()
    assert "1 revocations known here are no longer in redis://127.0.0.1:" in caplog.text
    wait_for(lambda: store._healthy)
    assert store.is_revoked(user) is False  # Redis is the reference once reloaded
