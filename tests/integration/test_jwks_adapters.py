"""Key rotation and JWKS outages as an app sees them, through both adapters.

``serve_jwks()`` runs a real JWKS server on 127.0.0.1; the remote key
source's clock is fake, so cooldowns pass without sleeping.
"""

from __future__ import annotations

import json

import pytest

from jwtgate import Gate
from jwtgate.remote import RemoteOptions
from jwtgate.testing import TokenFactory
from jwtgate.testing.jwks_server import JWKS_PATH
from tests.test_factory_adapters import ADAPTERS, assert_refused
from tests.tokens import bearer

from ..conftest import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(50_000.0)


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory("ES256")


@pytest.fixture(params=sorted(ADAPTERS))
def get(request, tokens, server, clock):
    options = RemoteOptions(clock=clock, timeout=0.5)
    gate = Gate(issuers=[tokens.issuer_config(jwks_url=server.url, remote=options)])
    return ADAPTERS[request.param](gate)


def test_after_rotation_new_tokens_pass_and_old_ones_are_refused(get, tokens, server, clock):
    old = tokens.token(sub="before")
    assert get("/me", bearer(old))[0] == 200
    server.rotate()
    clock.now += 30
    status, _, body = get("/me", bearer(tokens.token(sub="after")))
    assert status == 200
    assert json.loads(body)["sub"] == "after"
    assert_refused(
        get("/me", bearer(old)),
        (401, "invalid_token", "No key of the issuer matches the token"),
        old,
    )
    assert server.paths == [JWKS_PATH, JWKS_PATH]


def test_during_an_overlap_both_keys_pass(get, tokens, server, clock):
    old = tokens.token(sub="before")
    assert get("/me", bearer(old))[0] == 200
    old_jwk = tokens.public_jwk()
    server.rotate()
    server.extra_keys = [old_jwk]  # the issuer still publishes the retiring key
    clock.now += 30
    assert get("/me", bearer(tokens.token(sub="after")))[0] == 200
    assert get("/me", bearer(old))[0] == 200


def test_an_outage_before_the_first_fetch_is_a_503_then_recovers(get, tokens, server, clock):
    server.fail_next(1)
    token = tokens.token()
    status, headers, body = get("/me", bearer(token))
    assert status == 503
    assert headers["retry-after"] == "1"
    assert json.loads(body)["error"] == "temporarily_unavailable"
    assert token not in body.decode()
    clock.now += 1
    assert get("/me", bearer(tokens.token()))[0] == 200
    assert server.count(JWKS_PATH) == 2


def test_an_outage_after_keys_were_fetched_keeps_serving(get, tokens, server, clock):
    assert get("/me", bearer(tokens.token()))[0] == 200
    server.fail_next(1000)
    clock.now += 3600
    for n in range(5):
        status, _, body = get("/me", bearer(tokens.token(sub=f"u{n}")))
        assert status == 200
        assert json.loads(body)["sub"] == f"u{n}"
