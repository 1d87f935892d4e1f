"""A JWKS server that drips its answer, as a whole gate sees it: sync, asyncio and uvicorn.

The server (``tests/drip.py``, raw sockets on 127.0.0.1) drips its first
answer a byte every 50 ms, well within any per-read timeout, then answers
later connections at once. With a 1 s fetch deadline the first fetch must
fail at 1 s, every request waiting for it must get its 503 by then, and the
documented back-off (first retry after 1 s) must then fetch again and let
requests through. Times are bounded generously for a loaded machine; the
dripped answer alone would take 15 s or more.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jwtgate import Gate, KeysUnavailable
from jwtgate.remote import RemoteOptions
from jwtgate.testing import TokenFactory

from ..conftest import FrozenClock
from ..drip import DripServer
from ..servers import running, uvicorn_command

DEADLINE = 1.0
#: How late past the deadline a request may finish on a loaded machine.
SLACK = 1.0
WAITERS = 4


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory("ES256")


@pytest.fixture(params=["headers", "chunked"])
def drip(request: pytest.FixtureRequest, tokens: TokenFactory) -> Iterator[DripServer]:
    body = json.dumps(tokens.jwks()).encode()
    with DripServer(mode=request.param, interval=0.05, max_bytes=300, body=body) as server:
        yield server


def _timed(call: Any) -> tuple[str, float, float]:
    """Run ``call``; its outcome ("ok" or the error's status and Retry-After), start, end."""
    started = time.monotonic()
    try:
        call()
        outcome = "ok"
    except KeysUnavailable as exc:
        outcome = f"{exc.status} retry-after={dict(exc.response_headers())['Retry-After']}"
    return outcome, started, time.monotonic()


def test_a_sync_gate_stops_waiting_at_the_deadline_then_retries(
    tokens: TokenFactory, drip: DripServer
) -> None:
    clock = FrozenClock(1_000.0)
    issuer = tokens.issuer_config(
        jwks_url=drip.url, remote=RemoteOptions(timeout=DEADLINE, clock=clock)
    )
    gate = Gate(issuers=[issuer])
    headers = tokens.headers(sub="u1")
    results: list[tuple[str, float, float]] = []

    def request() -> None:
        results.append(_timed(lambda: gate.authenticate(headers=headers)))

    leader = threading.Thread(target=request)
    started = time.monotonic()
    leader.start()
    while drip.connections == 0 and time.monotonic() - started < 5:
        time.sleep(0.01)
    waiters = [threading.Thread(target=request) for _ in range(WAITERS)]
    for thread in waiters:
        thread.start()
    for thread in [leader, *waiters]:
        thread.join(DEADLINE + 10)
    assert len(results) == 1 + WAITERS
    assert {outcome for outcome, _, _ in results} == {"503 retry-after=1"}
    # Nobody, leader or waiter, waited past the fetch's deadline.
    assert max(end for _, _, end in results) < started + DEADLINE + SLACK
    assert min(end for _, _, end in results) >= started + DEADLINE * 0.95
    assert drip.connections == 1
    # The back-off: no new fetch within the first second, then one that succeeds.
    assert _timed(lambda: gate.authenticate(headers=headers))[0] == "503 retry-after=1"
    assert drip.connections == 1
    clock.advance(1)
    user = gate.authenticate(headers=headers)
    assert user is not None
    assert user.subject == "u1"
    assert drip.connections == 2


def test_asyncio_tasks_stop_waiting_at_the_deadline(tokens: TokenFactory, drip: DripServer) -> None:
    clock = FrozenClock(1_000.0)
    issuer = tokens.issuer_config(
        jwks_url=drip.url, remote=RemoteOptions(timeout=DEADLINE, clock=clock)
    )
    gate = Gate(issuers=[issuer])
    headers = tokens.headers(sub="u1")

    async def one() -> tuple[str, float]:
        try:
            await gate.authenticate_async(headers=headers)
        except KeysUnavailable as exc:
            return str(exc.status), time.monotonic()
        return "ok", time.monotonic()

    async def many() -> list[tuple[str, float]]:
        return await asyncio.gather(*(one() for _ in range(1 + WAITERS)))

    started = time.monotonic()
    results = asyncio.run(many())
    assert [outcome for outcome, _ in results] == ["503"] * (1 + WAITERS)
    assert max(end for _, end in results) < started + DEADLINE + SLACK
    assert drip.connections == 1
    clock.advance(1)
    assert asyncio.run(one())[0] == "ok"
    assert drip.connections == 2


def test_under_uvicorn_requests_get_503_by_the_deadline_then_200(
    tokens: TokenFactory, drip: DripServer
) -> None:
    env = {"DEADLINE_JWKS_URL": drip.url, "DEADLINE_TIMEOUT": str(DEADLINE)}
    with running(uvicorn_command("tests.integration.deadline_app:app"), env) as server:
        token = tokens.token(sub="u1")
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ) as client:

            def get() -> tuple[int, float]:
                response = client.get("/")
                return response.status_code, time.monotonic()

            started = time.monotonic()
            answers: list[tuple[int, float]] = []
            threads = [threading.Thread(target=lambda: answers.append(get())) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(DEADLINE + 10)
            assert [status for status, _ in answers] == [503] * 8
            assert max(end for _, end in answers) < started + DEADLINE + SLACK
            assert drip.connections == 1
            # The documented back-off (1 s after the first failure), then a prompt answer.
            time.sleep(1.05)
            status, _ = get()
            assert status == 200
            assert client.get("/").text == "u1"
            assert drip.connections == 2
