"""Revocation shared by real servers: two gunicorn workers and two uvicorn workers, one Redis.

A token revoked through one worker is refused by all four; Redis is then
stopped and restarted while they serve, and each worker keeps to the
configured policy (503 with ``Retry-After``, or accept and log), never
hangs, and recovers by itself. Each response carries ``X-Worker-Pid``, so
the test knows which worker answered; requests go on new connections until
every worker has been seen, within bounded time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jwtgate.testing import TokenFactory
from tests.redis_server import RedisServer, running_redis
from tests.servers import Server, gunicorn_command, running, uvicorn_command
from tests.tokens import bearer

SECRET = "a-test-secret-of-at-least-32-bytes!!"
WORKERS = 2
DEADLINE = 15.0  # for all workers of a server to be seen answering as expected
REQUEST_LIMIT = 3.0  # no request may take longer, whatever Redis does


@dataclass
class Cluster:
    redis: RedisServer
    servers: list[Server]
    tokens: TokenFactory
    policy: str


@pytest.fixture(scope="module", params=["deny", "allow"])
def cluster(request) -> Iterator[Cluster]:
    policy = request.param
    for redis in running_redis():
        env = {
            "TEST_SECRET": SECRET,
            "TEST_REDIS_URL": redis.url,
            "TEST_PREFIX": f"multi-{uuid.uuid4().hex[:8]}:",
            "TEST_ON_ERROR": policy,
        }
        gunicorn = [
            *gunicorn_command("tests.integration.observed_apps:flask_app()", workers=WORKERS),
            "--preload",
        ]
        uvicorn = uvicorn_command(
            "tests.integration.observed_apps:starlette_app", factory=True, workers=WORKERS
        )
        with running(gunicorn, env) as one, running(uvicorn, env) as two:
            for server in (one, two):
                server.wait_until_answering("/health")
            tokens = TokenFactory("HS256", key=SECRET)
            yield Cluster(redis, [one, two], tokens, policy)


def every_worker(server: Server, token: str, status: int) -> dict[str, float]:
    """Ask until each worker has answered ``status`` for ``token``; the longest request took."""
    seen: set[str] = set()
    longest = 0.0
    deadline = time.monotonic() + DEADLINE
    answers: list[tuple[str, int]] = []
    while len(seen) < WORKERS:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not every worker of {server.url} answered {status} within {DEADLINE} s: "
                f"{answers[-20:]}\n{server.log[-3000:]}"
            )
        answer = server.request(path="/me", headers=bearer(token))
        longest = max(longest, answer.seconds)
        pid = answer.headers["x-worker-pid"]
        answers.append((pid, answer.status))
        if answer.status == status:
            seen.add(pid)
            if status == 503:
                assert answer.headers["retry-after"] == "5"
                assert answer.json["error"] == "temporarily_unavailable"
        time.sleep(0.005)
    assert longest < REQUEST_LIMIT, f"a request took {longest:.2f} s"
    return {"longest": longest}


def test_a_revocation_through_one_worker_is_refused_by_every_worker(cluster):
    tokens = cluster.tokens
    revoked, other = tokens.token(sub="u1"), tokens.token(sub="u2")
    for server in cluster.servers:
        every_worker(server, revoked, 200)
        every_worker(server, other, 200)
    gunicorn, uvicorn = cluster.servers
    logout = gunicorn.request("POST", "/logout", headers=bearer(revoked))
    assert logout.status == 200
    started = time.monotonic()
    for server in cluster.servers:
        every_worker(server, revoked, 401)
        every_worker(server, other, 200)
    print(f"every worker refused within {time.monotonic() - started:.3f} s (polling included)")
    # The other way round: through a uvicorn worker, refused by the gunicorn ones.
    third = tokens.token(sub="u3")
    every_worker(gunicorn, third, 200)
    assert uvicorn.request("POST", "/logout", headers=bearer(third)).status == 200
    for server in cluster.servers:
        every_worker(server, third, 401)


def test_redis_stopped_and_restarted_while_serving(cluster):
    tokens = cluster.tokens
    revoked, valid = tokens.token(sub="r1"), tokens.token(sub="r2")
    gunicorn, _ = cluster.servers
    assert gunicorn.request("POST", "/logout", headers=bearer(revoked)).status == 200
    for server in cluster.servers:
        every_worker(server, revoked, 401)
        every_worker(server, valid, 200)
    cluster.redis.stop()
    try:
        for server in cluster.servers:
            if cluster.policy == "deny":
                every_worker(server, valid, 503)
            else:
                every_worker(server, valid, 200)
            every_worker(server, revoked, 401 if cluster.policy == "allow" else 503)
            assert server.request(path="/health").status == 200  # no token, nothing to check
            server.wait_for_log(r"the revocations at redis://127\.0\.0\.1:\d+/0 are unreachable")
            if cluster.policy == "allow":
                server.wait_for_log(r"accepting a token without an up-to-date revocation check")
            else:
                server.wait_for_log(r"refusing tokens with 503")
    finally:
        cluster.redis.restart()
    for server in cluster.servers:
        every_worker(server, valid, 200)
        every_worker(server, revoked, 401)  # Redis kept it (persistence), the workers reloaded it
        server.wait_for_log(r"reachable again and in sync")
    for server in cluster.servers:
        for line in server.lines:
            assert revoked not in line
            assert valid not in line
