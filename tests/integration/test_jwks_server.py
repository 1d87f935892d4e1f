"""A Gate against the real local JWKS server: each scenario asserts what was fetched, how often.

The server (``TokenFactory.serve_jwks``) listens on 127.0.0.1 on a port the
system picks and is stopped when each test ends, failure or not. The source's
clock is fake, so cooldowns and cache lifetimes pass without sleeping.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest

from jwtgate import Gate, InvalidSignature, KeysUnavailable, User
from jwtgate.remote import RemoteKeys, RemoteOptions
from jwtgate.testing import TokenFactory
from jwtgate.testing.jwks_server import DISCOVERY_PATH, JWKS_PATH, JWKSServer

from ..conftest import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(50_000.0)


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory("RS256")


@pytest.fixture
def gate(tokens: TokenFactory, server: JWKSServer, clock: FrozenClock) -> Gate:
    options = RemoteOptions(clock=clock, timeout=0.5)
    return Gate(issuers=[tokens.issuer_config(jwks_url=server.url, remote=options)])


def keys_of(gate: Gate) -> RemoteKeys:
    keys = gate.issuers[0].keys
    assert isinstance(keys, RemoteKeys)
    return keys


def ok(gate: Gate, tokens: TokenFactory, **kwargs: Any) -> User:
    user = gate.authenticate(headers=tokens.headers(**kwargs))
    assert user is not None
    return user


def refusal(gate: Gate, token: str) -> Any:
    with pytest.raises((InvalidSignature, KeysUnavailable)) as info:
        gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    body = json.loads(info.value.body())  # type: ignore[union-attr]
    assert token not in json.dumps(body)
    return info.value


# --- the server itself ----------------------------------------------------------------


def test_the_server_publishes_the_factorys_key_and_a_discovery_document(tokens) -> None:
    with tokens.serve_jwks() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.url.endswith(JWKS_PATH)
        with urllib.request.urlopen(server.url, timeout=5) as answer:  # noqa: S310 - loopback
            assert json.load(answer) == tokens.jwks()
        with urllib.request.urlopen(server.discovery_url, timeout=5) as answer:  # noqa: S310
            document = json.load(answer)
        assert document["issuer"] == tokens.issuer
        assert document["jwks_uri"] == server.url
        assert server.requests == 2
        assert server.paths == [JWKS_PATH, DISCOVERY_PATH]
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.base_url + "/other", timeout=5)  # noqa: S310
        assert info.value.code == 404
        info.value.close()
        port = int(server.base_url.rsplit(":", 1)[1])
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1),
    ):
        pass  # stopped: nothing listens any more


def test_rotate_gives_the_factory_a_new_key_and_drops_the_old_one(tokens, server) -> None:
    old_kid, old_jwk = tokens.kid, tokens.public_jwk()
    server.rotate()
    assert tokens.kid != old_kid
    assert server.jwks() == {"keys": [tokens.public_jwk()]}
    assert old_jwk not in server.jwks()["keys"]


# --- scenarios ------------------------------------------------------------------------


def test_rotation(gate, tokens, server, clock) -> None:
    before = tokens.token(sub="before")
    assert gate.authenticate(headers={"Authorization": f"Bearer {before}"})
    server.rotate()
    clock.now += 30
    assert ok(gate, tokens, sub="after").subject == "after"
    assert refusal(gate, before).status == 401  # its key left the set; its cached claims too
    assert server.paths == [JWKS_PATH, JWKS_PATH]


def test_outage_before_the_first_fetch(gate, tokens, server, clock) -> None:
    server.fail_next(3)
    error = refusal(gate, tokens.token())
    assert error.status == 503
    assert ("Retry-After", "1") in error.response_headers()
    assert json.loads(error.body())["error"] == "temporarily_unavailable"
    clock.now += 1
    assert refusal(gate, tokens.token()).status == 503
    clock.now += 2
    assert refusal(gate, tokens.token()).status == 503
    clock.now += 4
    assert ok(gate, tokens).subject == "user-1"
    assert server.count(JWKS_PATH) == 4


def test_outage_after_keys_were_fetched(gate, tokens, server, clock) -> None:
    ok(gate, tokens)
    server.fail_next(1000)
    clock.now += 3600
    for n in range(20):
        assert ok(gate, tokens, sub=f"u{n}").subject == f"u{n}"
    keys_of(gate).wait(5)
    assert server.count(JWKS_PATH) == 2  # one background retry, then backing off
    assert keys_of(gate).last_error == "HTTP 500"


def test_slow_answers(gate, tokens, server, clock) -> None:
    server.delay = 2.0
    assert refusal(gate, tokens.token()).status == 503
    assert keys_of(gate).last_error == "no complete answer within 0.5 s"
    server.delay = 0
    clock.now += 1
    assert ok(gate, tokens).subject == "user-1"
    assert server.count(JWKS_PATH) == 2


def test_oversize_body(tokens, server, clock) -> None:
    options = RemoteOptions(clock=clock, max_bytes=4096)
    gate = Gate(issuers=[tokens.issuer_config(jwks_url=server.url, remote=options)])
    server.extra_keys = [TokenFactory("RS256").public_jwk() for _ in range(10)]
    assert refusal(gate, tokens.token()).status == 503
    assert keys_of(gate).last_error == "the answer is larger than 4096 bytes"
    assert server.count(JWKS_PATH) == 1


@pytest.mark.parametrize("garbage", [b"<html>502 Bad Gateway</html>", b'{"keys": 1}', b""])
def test_garbage_json(gate, tokens, server, garbage: bytes) -> None:
    server.respond(garbage)
    assert refusal(gate, tokens.token()).status == 503
    assert server.count(JWKS_PATH) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(gate, tokens, server, status: int) -> None:
    server.respond(b"", status=status, headers={"Location": server.discovery_url})
    assert refusal(gate, tokens.token()).status == 503
    assert server.paths == [JWKS_PATH]  # the Location was never asked for
    assert keys_of(gate).last_error == f"redirects are not followed (HTTP {status})"


def test_cache_control(gate, tokens, server, clock) -> None:
    server.cache_control = "public, max-age=300"
    ok(gate, tokens)
    clock.now += 299
    ok(gate, tokens, sub="fresh")
    assert server.count(JWKS_PATH) == 1
    clock.now += 1
    ok(gate, tokens, sub="stale")
    keys_of(gate).wait(5)
    assert server.count(JWKS_PATH) == 2


def test_discovery_end_to_end(tokens, server, clock) -> None:
    issuer = tokens.issuer_config(discovery=server.discovery_url, remote=RemoteOptions(clock=clock))
    gate = Gate(issuers=[issuer])
    for n in range(5):
        ok(gate, tokens, sub=f"u{n}")
    assert server.paths == [DISCOVERY_PATH, JWKS_PATH]


def test_respond_none_restores_the_key_set(tokens, server) -> None:
    server.respond(b"garbage")
    server.respond(None)
    with urllib.request.urlopen(server.url, timeout=5) as answer:  # noqa: S310 - loopback
        assert json.load(answer) == tokens.jwks()
    assert repr(server) == f"JWKSServer({server.url!r}, requests=1)"
