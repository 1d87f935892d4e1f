"""``jwtgate revoke`` against a real Redis: what it writes, what it prints, its exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import redis

from jwtgate import Gate
from jwtgate.cli_revoke import _DEFAULT_LIFETIME
from jwtgate.revocation import DEFAULT_MAX_TOKEN_LIFETIME, RedisRevocations
from jwtgate.testing import TokenFactory
from tests.in_process import run as jwtgate
from tests.redis_server import RedisServer, running_redis
from tests.servers import free_port


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    yield from running_redis(password="cli-s3cret")


@pytest.fixture
def prefix() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory("ES256")


def follower(server: RedisServer, prefix: str) -> RedisRevocations:
    store = RedisRevocations(server.url, prefix=prefix, timeout=1)
    assert store.wait_until_synced(5)
    return store


def test_revoke_a_token_every_worker_then_refuses(server, prefix, tokens):
    token = tokens.token(sub="u1")
    code, out, err = jwtgate("revoke", "--redis", server.url, "--prefix", prefix, "token", token)
    assert (code, err) == (0, "")
    assert out.startswith("revoked the token (by a digest of its signed part); refused until 20")
    store = follower(server, prefix)
    gate = Gate(issuers=[tokens.issuer_config()])
    user = gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    assert user is not None
    assert store.is_revoked(user)
    store.close()


def test_revoke_reads_the_token_from_stdin_and_says_it_used_the_jti(server, prefix, tokens):
    code, out, _ = jwtgate(
        "revoke",
        "--redis",
        server.url,
        "--prefix",
        prefix,
        "token",
        "-",
        stdin=f"Bearer {tokens.token(jti='j-7')}\n",
    )
    assert code == 0
    assert "by its jti" in out


def test_an_expired_token_needs_no_revocation(server, prefix, tokens):
    code, out, _ = jwtgate(
        "revoke", "--redis", server.url, "--prefix", prefix, "token", tokens.expired()
    )
    assert code == 0
    assert "nothing to revoke" in out


def test_revoke_and_restore_a_subject_and_revoke_a_session(server, prefix, tokens):
    base = ("revoke", "--redis", server.url, "--prefix", prefix)
    code, out, _ = jwtgate(*base, "subject", "u1", "--max-token-lifetime", "3600")
    assert code == 0
    assert out.startswith("revoked subject 'u1': its tokens issued until 20")
    store = follower(server, prefix)
    assert "u1" in store._subjects
    code, out, _ = jwtgate(*base, "subject", "u1", "--restore")
    assert (code, out) == (0, "restored subject 'u1': its earlier tokens are accepted again\n")
    code, out, _ = jwtgate(*base, "session", "s-1")
    assert code == 0
    assert out.startswith("revoked session 's-1' until 20")
    client = redis.Redis.from_url(server.url, decode_responses=True)
    assert sorted(client.scan_iter(match=prefix + "*")) == [f"{prefix}revoked:session:s-1"]
    client.close()
    store.close()


def test_the_url_may_come_from_the_environment(server, prefix, monkeypatch):
    monkeypatch.setenv("JWTGATE_REDIS_URL", server.url)
    code, _, err = jwtgate("revoke", "--prefix", prefix, "session", "s-2")
    assert (code, err) == (0, "")


def test_unreachable_redis_is_exit_1_in_one_line_without_the_password(tokens):
    url = f"redis://:hunter2-pw@127.0.0.1:{free_port()}/0"
    code, out, err = jwtgate("revoke", "--redis", url, "--timeout", "0.2", "subject", "u1")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("jwtgate: error: could not confirm the change at redis://127.0.0.1:")
    assert "try again" in err
    assert "hunter2" not in err


def test_a_wrong_password_is_exit_1_without_the_password(server):
    url = server.url.replace("cli-s3cret", "not-it")
    code, _, err = jwtgate("revoke", "--redis", url, "session", "s-3")
    assert code == 1
    assert "not-it" not in err
    assert "cli-s3cret" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revoke", "subject", "u1"), "--redis: give the Redis URL, or set JWTGATE_REDIS_URL"),
        (("revoke", "--redis", "http://x", "subject", "u1"), "--redis: must be a redis://"),
        (("revoke", "--redis", "redis://x", "token", "not-a-token"), "The token is malformed"),
        (("revoke", "--redis", "redis://x", "subject", ""), "sub: must be a non-empty string"),
        (("revoke", "--redis", "redis://x", "--timeout", "0", "subject", "u"), "--timeout"),
        (
            ("revoke", "--redis", "redis://x", "subject", "u", "--max-token-lifetime", "1"),
            "--max-token-lifetime: must be a number of seconds",
        ),
    ],
)
def test_usage_errors_are_exit_2_in_one_line(args, message, monkeypatch):
    monkeypatch.delenv("JWTGATE_REDIS_URL", raising=False)
    code, out, err = jwtgate(*args)
    assert code == 2
    assert out == ""
    assert err.startswith("jwtgate: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_the_parser_default_is_the_stores():
    assert _DEFAULT_LIFETIME == DEFAULT_MAX_TOKEN_LIFETIME


def test_the_installed_command_revokes(server, prefix):
    env = {k: v for k, v in os.environ.items() if k != "JWTGATE_REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "jwtgate", "revoke", "--redis", server.url, "--prefix", prefix,
         "subject", "u9"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("revoked subject 'u9'")
    assert "Traceback" not in done.stderr
