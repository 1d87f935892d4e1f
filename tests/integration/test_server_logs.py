"""jwtgate's warnings reach the server's own log under gunicorn and uvicorn, with no setup.

Each server is a real process whose stderr (its error log) the test reads:
a JWKS outage and an unreachable Redis answer 503 *and* say so in the log,
formatted as the server's own lines; with the ``jwtgate`` logger at DEBUG
each refusal is explained (a CSRF refusal with the Origin and the origin
the app expected), and no line holds a token or a claim value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from jwtgate.testing import TokenFactory
from tests.servers import Server, free_port, gunicorn_command, running, uvicorn_command

SECRET = "a-test-secret-of-at-least-32-bytes!!"
# How each server prefixes a line of its error log at a level.
PREFIX = {
    "gunicorn": r"\[\d+\] \[{level}\] ",
    "uvicorn": r"{level}:\s+",
}


def start(kind: str, env: dict[str, str]):
    command = (
        gunicorn_command("tests.integration.observed_apps:flask_app()")
        if kind == "gunicorn"
        else uvicorn_command("tests.integration.observed_apps:starlette_app", factory=True)
    )
    return running(command, env)


def line(kind: str, level: str, message: str) -> str:
    return PREFIX[kind].format(level=level) + message


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def kind(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def outage_server(kind) -> Iterator[Server]:
    env = {"TEST_JWKS_URL": f"http://127.0.0.1:{free_port()}/jwks", "TEST_DEBUG": "1"}
    with start(kind, env) as server:
        server.wait_until_answering("/health")
        yield server


@pytest.fixture(scope="module")
def redis_down_server(kind) -> Iterator[Server]:
    env = {
        "TEST_SECRET": SECRET,
        "TEST_REDIS_URL": f"redis://:pw-not-for-logs@127.0.0.1:{free_port()}/0",
        "TEST_DEBUG": "1",
    }
    with start(kind, env) as server:
        server.wait_until_answering("/health")
        yield server


def test_a_jwks_outage_answers_503_and_says_so_in_the_servers_log(kind, outage_server):
    tokens = TokenFactory("ES256")
    token = tokens.token(sub="subject-not-for-logs")
    answer = outage_server.request(path="/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 503
    assert answer.json["error"] == "temporarily_unavailable"
    assert "retry-after" in answer.headers
    outage_server.wait_for_log(
        line(kind, "ERROR", r"jwtgate: fetching the keys from http://127\.0\.0\.1:\d+/jwks failed")
    )
    assert token not in outage_server.log
    assert "subject-not-for-logs" not in outage_server.log


def test_an_unreachable_redis_answers_503_and_says_so_in_the_servers_log(kind, redis_down_server):
    tokens = TokenFactory("HS256", key=SECRET)
    token = tokens.token(sub="subject-not-for-logs")
    answer = redis_down_server.request(path="/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.seconds < 2
    redis_down_server.wait_for_log(
        line(
            kind,
            "WARNING",
            r"jwtgate: the revocations at redis://127\.0\.0\.1:\d+/0 are unreachable",
        )
    )
    redis_down_server.wait_for_log(line(kind, "WARNING", r"jwtgate: refusing tokens with 503"))
    log = redis_down_server.log
    assert "pw-not-for-logs" not in log
    assert token not in log
    assert "subject-not-for-logs" not in log


def test_at_debug_a_csrf_refusal_shows_the_origin_and_the_expected_one(kind, redis_down_server):
    tokens = TokenFactory("HS256", key=SECRET)
    token = tokens.token(sub="subject-not-for-logs", email="ada@example.com")
    server = redis_down_server
    origin = f"https://127.0.0.1:{server.port}"  # a TLS proxy in front, no ProxyFix
    answer = server.request("POST", "/me", headers={"Cookie": f"session={token}", "Origin": origin})
    assert answer.status == 403
    assert answer.json["error"] == "csrf_rejected"
    server.wait_for_log(
        line(
            kind,
            "DEBUG",
            re.escape(
                f"jwtgate: CSRF: refused a POST authenticated by a cookie: its Origin '{origin}' "
                f"is neither the request's own origin 'http://127.0.0.1:{server.port}' "
                "nor a trusted one []; only the scheme differs"
            ),
        )
    )
    server.wait_for_log(
        line(kind, "DEBUG", r"jwtgate: refused POST token sha256:[0-9a-f]{12} from cookie:session")
        + r".*CrossSiteRequest"
    )
    log = server.log
    for secret in (token, "subject-not-for-logs", "ada@example.com", SECRET):
        assert secret not in log


def test_at_debug_each_refusal_is_explained_without_the_token(kind, outage_server):
    tokens = TokenFactory("ES256")
    expired = tokens.expired(sub="subject-not-for-logs")
    answer = outage_server.request(path="/me", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status in (401, 503)
    outage_server.wait_for_log(
        line(kind, "DEBUG", r"jwtgate: refused GET token sha256:[0-9a-f]{12} from bearer")
    )
    answer = outage_server.request(path="/me", headers={"Authorization": "Bearer not-a-token"})
    assert answer.status == 401
    outage_server.wait_for_log(line(kind, "DEBUG", r"jwtgate: refused GET .*InvalidToken"))
    assert expired not in outage_server.log
