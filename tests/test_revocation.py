"""Revocation in one process: MemoryRevocations, and how a Gate asks any ``is_revoked``.

The stores' rules (token, subject, session; expiry) are proved here on the
in-memory store, which shares all of them with the Redis one; Redis itself
is in test_revocation_redis.py.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading

import pytest
from werkzeug.test import Client

from jwtgate import ConfigurationError, Gate, RevocationUnavailable, RevokedToken, User
from jwtgate.revocation import (
    MAX_LEEWAY,
    MemoryRevocations,
    RedisRevocations,
    RevocationCheck,
    token_key,
)
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware

# --- the store's rules ---------------------------------------------------------------


@pytest.fixture
def store(clock) -> MemoryRevocations:
    return MemoryRevocations(clock=clock)


@pytest.fixture
def protected(rs256, clock, store) -> Gate:
    return Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=store)


def login(gate: Gate, token: str) -> User:
    user = gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    assert user is not None
    return user


def refused(gate: Gate, token: str) -> bool:
    try:
        login(gate, token)
    except RevokedToken:
        return True
    return False


def test_revoke_refuses_that_token_and_no_other(rs256, protected, store):
    first, second = rs256.token(sub="u1"), rs256.token(sub="u1", jti="other")
    user = login(protected, first)
    store.revoke(user)
    assert refused(protected, first)
    assert not refused(protected, second)


def test_a_token_with_jti_is_revoked_by_issuer_and_jti(rs256, protected, store):
    token = rs256.token(jti="j-1")
    store.revoke(login(protected, token))
    assert refused(protected, rs256.token(jti="j-1"))  # the same jti, another encoding
    assert not refused(protected, rs256.token(jti="j-2"))
    assert list(store._tokens) == [("jti", rs256.issuer, "j-1")]


def test_the_same_jti_from_another_issuer_is_not_revoked(clock, store):
    one = TokenFactory("HS256", issuer="https://one.test/", clock=clock)
    two = TokenFactory("HS256", issuer="https://two.test/", clock=clock)
    gate = Gate(issuers=[one.issuer_config(), two.issuer_config()], clock=clock, is_revoked=store)
    store.revoke(login(gate, one.token(jti="shared")))
    assert refused(gate, one.token(jti="shared"))
    assert not refused(gate, two.token(jti="shared"))


def test_a_token_without_jti_is_revoked_by_a_digest_never_by_its_text(rs256, protected, store):
    token = rs256.token()
    store.revoke(token)  # a token's text works as well as a User
    assert refused(protected, token)
    remembered = repr(store._tokens)
    assert token not in remembered
    assert token.rsplit(".", 1)[1] not in remembered  # not even its signature


def test_an_ecdsa_signature_twin_is_revoked_with_the_token(clock, store):
    # (r, n - s) verifies as well as (r, s): the digest covers header and payload only.
    tokens = TokenFactory("ES256", clock=clock)
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, is_revoked=store)
    token = tokens.token()
    signed, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    s = int.from_bytes(raw[32:], "big")
    twin_signature = raw[:32] + (order - s).to_bytes(32, "big")
    twin = signed + "." + base64.urlsafe_b64encode(twin_signature).rstrip(b"=").decode()
    assert twin != token
    assert login(gate, twin).subject == "user-1"  # the twin verifies
    store.revoke(login(gate, token))
    assert refused(gate, token)
    assert refused(gate, twin)


def test_a_revoked_token_is_forgotten_once_it_can_no_longer_be_valid(rs256, clock, store):
    token = rs256.token(expires_in=60)
    key, exp = token_key(token)
    store.revoke(token)
    assert store._tokens[key] == exp + MAX_LEEWAY
    clock.advance(60 + MAX_LEEWAY + 61)
    store.revoke(rs256.token(jti="later"))  # writes sweep expired entries
    assert key not in store._tokens


def test_a_token_without_exp_stays_revoked(clock, store):
    tokens = TokenFactory("HS256", clock=clock)
    gate = Gate(issuers=[tokens.issuer_config(required_claims=())], clock=clock, is_revoked=store)
    token = tokens.token(expires_in=None)
    store.revoke(login(gate, token))
    clock.advance(400 * 86_400)
    assert refused(gate, token)


def test_revoke_subject_refuses_tokens_issued_until_now_and_accepts_later_ones(
    rs256, protected, store, clock
):
    old = rs256.token(sub="u1")
    other_user = rs256.token(sub="u2")
    clock.advance(5)
    store.revoke_subject("u1")
    same_second = rs256.token(sub="u1")  # iat == the revocation's second: refused too
    clock.advance(1)
    fresh = rs256.token(sub="u1")
    assert refused(protected, old)
    assert refused(protected, same_second)
    assert not refused(protected, fresh)
    assert not refused(protected, other_user)


def test_revoke_subject_before_a_moment(rs256, protected, store, clock):
    early = rs256.token(sub="u1")
    clock.advance(100)
    late = rs256.token(sub="u1")
    store.revoke_subject("u1", before=clock.now - 50)
    assert refused(protected, early)
    assert not refused(protected, late)


def test_restore_subject_accepts_earlier_tokens_again(rs256, protected, store):
    token = rs256.token(sub="u1")
    store.revoke_subject("u1")
    assert refused(protected, token)
    store.restore_subject("u1")
    assert not refused(protected, token)


def test_a_subject_revocation_ends_after_max_token_lifetime(rs256, clock):
    store = MemoryRevocations(clock=clock, max_token_lifetime=3600)
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=store)
    token = rs256.token(sub="u1", expires_in=7200)  # lives longer than the store was told
    store.revoke_subject("u1")
    assert refused(gate, token)
    clock.advance(3601)
    assert not refused(gate, token)


def test_a_token_without_iat_counts_as_issued_before_unless_it_outlives_the_revocation(clock):
    tokens = TokenFactory.netlify(clock=clock)  # GoTrue's tokens carry no iat
    store = MemoryRevocations(clock=clock, max_token_lifetime=3600)
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, is_revoked=store)
    before = tokens.token(sub="u1", expires_in=3600)
    store.revoke_subject("u1")
    assert refused(gate, before)
    assert refused(gate, tokens.token(sub="u1", expires_in=3600))  # the same second
    clock.advance(1)
    assert not refused(gate, tokens.token(sub="u1", expires_in=3600))  # signed in again


def test_a_token_without_iat_nor_exp_is_refused_while_its_subject_is_revoked(clock, store):
    tokens = TokenFactory("HS256", clock=clock)
    gate = Gate(issuers=[tokens.issuer_config(required_claims=())], clock=clock, is_revoked=store)
    token = tokens.sign({"sub": "u1", "iss": tokens.issuer, "aud": "api"})
    store.revoke_subject("u1")
    assert refused(gate, token)


@pytest.mark.parametrize("claim", ["sid", "session_id"])
def test_revoke_session_refuses_every_token_of_the_session(rs256, protected, store, clock, claim):
    first = rs256.token(sub="u1", **{claim: "s-1"})
    clock.advance(10)
    later = rs256.token(sub="u1", **{claim: "s-1"})
    elsewhere = rs256.token(sub="u1", **{claim: "s-2"})
    store.revoke_session("s-1")
    assert refused(protected, first)
    assert refused(protected, later)
    assert not refused(protected, elsewhere)


def test_a_session_id_that_is_not_a_string_is_ignored(rs256, protected, store):
    store.revoke_session("s-1")
    assert not refused(protected, rs256.token(sid={"id": "s-1"}))
    assert not refused(protected, rs256.token(sid=["s-1"]))


def test_session_claims_are_configurable(rs256, clock):
    store = MemoryRevocations(clock=clock, session_claims=["ssn"])
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=store)
    store.revoke_session("s-1")
    assert refused(gate, rs256.token(ssn="s-1"))
    assert not refused(gate, rs256.token(sid="s-1"))


def test_the_async_api_does_the_same(rs256, protected, store):
    token = rs256.token(sub="u1", sid="s-9")
    user = login(protected, token)

    async def scenario():
        assert not await store.is_revoked_async(user)
        await store.revoke_subject_async("u1")
        assert await store.is_revoked_async(user)
        await store.restore_subject_async("u1")
        await store.revoke_session_async("s-9")
        assert await store.is_revoked_async(user)

    asyncio.run(scenario())
    other = rs256.token(sub="u3", jti="x")
    asyncio.run(store.revoke_async(other))
    assert refused(protected, other)
    assert len(store) == 2


@pytest.mark.parametrize(
    ("method", "argument"),
    [("revoke_subject", ""), ("revoke_session", None), ("restore_subject", 42)],
)
def test_an_empty_or_non_string_identifier_is_refused(store, method, argument):
    with pytest.raises(ValueError, match="non-empty string"):
        getattr(store, method)(argument)


def test_revoke_takes_a_user_or_a_token(store):
    with pytest.raises(TypeError, match="a User or a token"):
        store.revoke(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_token_lifetime": 10}, "max_token_lifetime"),
        ({"max_token_lifetime": True}, "max_token_lifetime"),
        ({"session_claims": "sid"}, "session_claims"),
        ({"session_claims": [""]}, "session_claims"),
        ({"clock": 5}, "clock"),
    ],
)
def test_store_configuration_is_checked(options, message):
    with pytest.raises(ConfigurationError, match=message):
        MemoryRevocations(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://localhost"}, "url"),
        ({"url": 42}, "url"),
        ({"on_error": "maybe"}, "on_error"),
        ({"timeout": 0}, "timeout"),
        ({"heartbeat": "1"}, "heartbeat"),
        ({"retry_after": 0}, "retry_after"),
        ({"prefix": None}, "prefix"),
    ],
)
def test_redis_store_configuration_is_checked(options, message):
    arguments = {"url": "redis://127.0.0.1:1/0", **options}
    with pytest.raises(ConfigurationError, match=message):
        RedisRevocations(**arguments)


# --- the gate: a store, a callable, an async callable -------------------------------------


def test_is_revoked_must_be_a_store_or_a_callable(rs256):
    with pytest.raises(ConfigurationError, match="is_revoked"):
        Gate(issuers=[rs256.issuer_config()], is_revoked=42)  # type: ignore[arg-type]


def wsgi_status(app, token: str) -> int:
    response = Client(app).get("/", headers={"Authorization": f"Bearer {token}"})
    status = response.status_code
    response.close()
    return status


def protected_wsgi(gate: Gate):
    from jwtgate.decorators import require_auth

    @require_auth
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return GateMiddleware(app, gate)


def test_a_revocation_reaches_the_adapters_cache_hit_path_at_once(rs256, protected, store):
    app = protected_wsgi(protected)
    token = rs256.token()
    assert wsgi_status(app, token) == 200
    assert wsgi_status(app, token) == 200  # now answered from the adapter's memo
    store.revoke(token)
    assert wsgi_status(app, token) == 401


def test_a_sync_hook_under_wsgi_is_called_on_the_request_thread(rs256, clock):
    seen: list[int] = []

    def is_revoked(user: User) -> bool:
        seen.append(threading.get_ident())
        return user.subject == "bad"

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=is_revoked)
    app = protected_wsgi(gate)
    assert wsgi_status(app, rs256.token(sub="good")) == 200
    assert wsgi_status(app, rs256.token(sub="good")) == 200
    assert wsgi_status(app, rs256.token(sub="bad")) == 401
    assert set(seen) == {threading.get_ident()}


def test_an_async_hook_is_awaited_under_asyncio_and_run_to_completion_under_wsgi(rs256, clock):
    calls: list[str] = []

    async def is_revoked(user: User) -> bool:
        await asyncio.sleep(0)
        calls.append(user.subject or "")
        return user.subject == "bad"

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=is_revoked)
    assert gate._is_revoked_on_loop is not None
    assert gate._is_revoked_on_loop(User(subject="x", claims={}))
    assert wsgi_status(protected_wsgi(gate), rs256.token(sub="bad")) == 401
    assert wsgi_status(protected_wsgi(gate), rs256.token(sub="good")) == 200

    async def scenario():
        ok = await gate.authenticate_async(headers=rs256.headers(sub="good"))
        assert ok is not None
        with pytest.raises(RevokedToken):
            await gate.authenticate_async(headers=rs256.headers(sub="bad"))

    asyncio.run(scenario())
    assert calls == ["bad", "good", "good", "bad"]


def test_an_object_with_an_async_call_is_an_async_hook(rs256, clock):
    class Hook:
        async def __call__(self, user: User) -> bool:
            return True

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=Hook())
    with pytest.raises(RevokedToken):
        login(gate, rs256.token())


def test_a_sync_hook_never_runs_on_the_event_loop(rs256, clock):
    threads: list[int] = []

    def is_revoked(user: User) -> bool:
        threads.append(threading.get_ident())
        return False

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=is_revoked)

    async def scenario() -> int:
        loop_thread = threading.get_ident()
        for _ in range(3):
            assert await gate.authenticate_async(headers=rs256.headers()) is not None
        return loop_thread

    loop_thread = asyncio.run(scenario())
    assert len(threads) == 3
    assert loop_thread not in threads


def test_the_asgi_adapter_never_calls_a_sync_hook_inline(rs256, clock):
    from jwtgate.asgi import GateMiddleware as ASGIMiddleware

    threads: list[int] = []

    def is_revoked(user: User) -> bool:
        threads.append(threading.get_ident())
        return user.subject == "bad"

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=is_revoked)
    seen: list[object] = []

    async def app(scope, receive, send):
        seen.append(scope["user"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = ASGIMiddleware(app, gate)

    async def scenario() -> int:
        for sub in ("good", "good", "bad", "bad"):
            headers = [(b"authorization", f"Bearer {rs256.token(sub=sub)}".encode())]
            scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}

            async def receive():
                return {"type": "http.request", "body": b""}

            async def send(message):
                pass

            await middleware(scope, receive, send)
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    assert [getattr(u, "subject", None) for u in seen] == ["good", "good", None, None]
    assert threads
    assert loop_thread not in threads


def test_a_failing_hook_answers_503_and_is_logged(rs256, clock, caplog):
    def is_revoked(user: User) -> bool:
        raise ConnectionError("database down")

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=is_revoked)
    token = rs256.token()
    with (
        caplog.at_level(logging.ERROR, logger="jwtgate"),
        pytest.raises(RevocationUnavailable) as error,
    ):
        login(gate, token)
    assert error.value.status == 503
    assert ("Retry-After", "5") in error.value.response_headers()
    assert "is_revoked hook failed" in caplog.text
    assert token not in caplog.text

    async def failing(user: User) -> bool:
        raise ConnectionError("down")

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=failing)
    with pytest.raises(RevocationUnavailable):
        asyncio.run(gate.authenticate_async(headers=rs256.headers()))


def test_a_hook_may_raise_its_own_refusal(rs256, clock):
    def is_revoked(user: User) -> bool:
        raise RevokedToken("Signed out by an administrator")

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=is_revoked)
    with pytest.raises(RevokedToken, match="administrator"):
        login(gate, rs256.token())


def test_still_valid_consults_the_store(rs256, protected, store):
    user = login(protected, rs256.token())
    assert protected.still_valid(user)
    store.revoke(user)
    assert not protected.still_valid(user)


def test_a_store_is_checked_from_memory_on_the_loop_and_off_it(rs256, protected, store):
    check = protected._revocation
    assert isinstance(check, RevocationCheck)
    assert check.inline == store.vouch
    assert check.on_loop == store.vouch
    user = login(protected, rs256.token())
    store.revoke(user)
    with pytest.raises(RevokedToken):
        asyncio.run(protected.authenticate_async(headers={"Authorization": f"Bearer {user.token}"}))


def test_a_subject_revocation_spans_every_issuer(clock, store):
    one = TokenFactory("HS256", issuer="https://one.test/", clock=clock)
    two = TokenFactory("HS256", issuer="https://two.test/", clock=clock)
    gate = Gate(issuers=[one.issuer_config(), two.issuer_config()], clock=clock, is_revoked=store)
    store.revoke_subject("u1")
    assert refused(gate, one.token(sub="u1"))
    assert refused(gate, two.token(sub="u1"))
    assert not refused(gate, two.token(sub="u2"))


def test_without_redis_py_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match="redis extra"):
        RedisRevocations("redis://127.0.0.1:1/0")


def test_a_websocket_recheck_never_runs_a_sync_hook_on_the_event_loop(rs256, clock):
    from jwtgate.recheck import Recheck
    from jwtgate.sources import MappingView

    threads: list[int] = []

    def is_revoked(user: User) -> bool:
        threads.append(threading.get_ident())
        return False

    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, is_revoked=is_revoked)
    headers = rs256.headers()
    recheck = Recheck(gate, MappingView(headers), login(gate, headers["Authorization"][7:]))
    threads.clear()

    async def scenario() -> int:
        assert (await recheck.user_async()).subject == "user-1"
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    assert threads
    assert loop_thread not in threads
    assert recheck.user().subject == "user-1"  # in sync code the hook runs where it is called


def test_jwtgate_redis_url_gives_the_gate_a_redis_store():
    from jwtgate.settings import gate_from_settings

    settings = {
        "JWTGATE_ALGORITHMS": "HS256",
        "JWTGATE_SECRET": "a-test-secret-of-at-least-32-bytes!!",
        "JWTGATE_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    gate = gate_from_settings(settings)
    assert gate is not None
    check = gate._revocation
    assert isinstance(check, RevocationCheck)
    assert isinstance(check._store, RedisRevocations)
    assert check._store.location == "redis://127.0.0.1:1/0"
    with pytest.raises(ConfigurationError, match=r"^JWTGATE_REDIS_URL: must be a redis://"):
        gate_from_settings({**settings, "JWTGATE_REDIS_URL": "http://127.0.0.1/"})
