"""jwtgate against a real OpenID provider: the npm package ``oidc-provider``.

The provider (``tests/oidc_provider/server.js``, pinned by its lockfile and
installed with ``npm ci``) runs in its own process on 127.0.0.1, on a port the
system picks, and issues RFC 9068 JWT access tokens (``typ`` ``at+jwt``)
through the client-credentials grant. jwtgate finds its keys only through
discovery. The process is stopped by its PID when the module ends, pass or fail.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jwtgate import Gate, InvalidClaims, InvalidSignature
from jwtgate.presets import oidc
from jwtgate.remote import RemoteKeys
from tests.servers import stop
from tests.tokens import bearer
from tests.tools import node_with

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT = {"client_id": "jwtgate-tests", "client_secret": "not-a-secret-only-for-local-tests"}
AUDIENCES = ["urn:jwtgate:es256", "urn:jwtgate:rs256"]
START_TIMEOUT = 30.0


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                return process.stdout.readline()
            if process.poll() is not None:
                break
    raise RuntimeError("the OpenID provider did not start")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node = node_with(PROVIDER_DIR, "the OpenID provider is the npm package oidc-provider")
    log = tmp_path_factory.mktemp("oidc-provider") / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [node, "server.js"],
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    try:
        try:
            started = json.loads(_first_line(process, START_TIMEOUT))
        except (RuntimeError, ValueError):
            pytest.fail(f"oidc-provider did not start:\n{log.read_text()}")
        assert started["issuer"].startswith("http://127.0.0.1:")
        yield started["issuer"]
    finally:
        stop(process)
        assert process.stdout is not None
        process.stdout.close()


def access_token(issuer: str, resource: str = "urn:jwtgate:es256", scope: str = "read") -> str:
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "resource": resource, "scope": scope, **CLIENT}
    ).encode()
    request = urllib.request.Request(f"{issuer}/token", data=form, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        token: str = json.load(answer)["access_token"]
    return token


def gate_for(issuer: str, **options: Any) -> Gate:
    preset = oidc(issuer, audience=AUDIENCES, token_type="at+jwt", roles_claim="scope", **options)
    return Gate(issuers=[preset])


def test_access_tokens_verify_through_discovery(issuer: str) -> None:
    gate = gate_for(issuer)
    for resource in AUDIENCES:
        user = gate.authenticate(headers=bearer(access_token(issuer, resource, "read write")))
        assert user is not None
        assert user.subject == "jwtgate-tests"
        assert user.issuer == issuer
        assert user.roles == {"read", "write"}
        assert user.claims["aud"] == resource
    keys = gate.issuers[0].keys
    assert isinstance(keys, RemoteKeys)
    assert keys.fetches == 1
    assert set(keys.kids) == {"ec-1", "rsa-1"}


def test_concurrent_first_requests_fetch_the_keys_once(issuer: str) -> None:
    gate = gate_for(issuer)
    token = access_token(issuer)
    results: list[Any] = []
    barrier = threading.Barrier(20)

    def worker() -> None:
        barrier.wait(10)
        results.append(gate.authenticate(headers=bearer(token)))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(results) == 20
    assert all(user is not None for user in results)
    assert gate.issuers[0].keys.fetches == 1  # type: ignore[attr-defined]


def test_a_tampered_access_token_is_refused(issuer: str) -> None:
    gate = gate_for(issuer)
    header, payload, signature = access_token(issuer).split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(InvalidSignature) as info:
        gate.authenticate(headers=bearer(forged))
    assert info.value.status == 401
    assert info.value.error == "invalid_token"
    assert forged not in info.value.body().decode()


def test_an_access_token_for_another_resource_is_refused(issuer: str) -> None:
    gate = Gate(issuers=[oidc(issuer, audience="urn:jwtgate:es256", token_type="at+jwt")])
    with pytest.raises(InvalidClaims) as info:
        gate.authenticate(headers=bearer(access_token(issuer, "urn:jwtgate:rs256")))
    assert info.value.status == 401
    assert info.value.error == "invalid_token"
