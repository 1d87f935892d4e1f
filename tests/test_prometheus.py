"""PrometheusObserver with the real prometheus_client: in process, and scraped from a server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jwtgate import AuthError, ConfigurationError, Gate
from jwtgate.prometheus import PrometheusObserver
from jwtgate.revocation import MemoryRevocations
from jwtgate.testing import TokenFactory
from tests.servers import Server, running, uvicorn_command

SECRET = "a-test-secret-of-at-least-32-bytes!!"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape: (name, labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_the_observer_counts_into_its_registry(rs256, clock):
    registry = CollectorRegistry()
    store = MemoryRevocations(clock=clock)
    gate = Gate(
        issuers=[rs256.issuer_config(name="main")],
        clock=clock,
        observer=PrometheusObserver(registry=registry),
        is_revoked=store,
    )
    token = rs256.token(sub="prom-subject")
    for _ in range(4):
        gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    store.revoke(token)
    for bad in (rs256.expired(), token):
        with pytest.raises(AuthError):
            gate.authenticate(headers={"Authorization": f"Bearer {bad}"})
    gate.observer.rule_decided(rule="/admin/*", decision="deny")  # type: ignore[union-attr]
    text = generate_latest(registry).decode()
    found = samples(text)
    assert value(found, "jwtgate_accepted_total", issuer="main", how="verified") == 1
    assert value(found, "jwtgate_accepted_total", issuer="main", how="hit") == 3
    assert (
        value(
            found,
            "jwtgate_refused_total",
            issuer="main",
            error="invalid_token",
            reason="expired_token",
        )
        == 1
    )
    assert (
        value(
            found,
            "jwtgate_refused_total",
            issuer="main",
            error="invalid_token",
            reason="revoked_token",
        )
        == 1
    )
    assert value(found, "jwtgate_revocation_checks_total", outcome="not_revoked") == 4
    assert value(found, "jwtgate_revocation_checks_total", outcome="revoked") == 1
    assert value(found, "jwtgate_revocation_check_seconds_count") == 5
    assert value(found, "jwtgate_rule_decisions_total", rule="/admin/*", decision="deny") == 1
    assert token not in text
    assert "prom-subject" not in text


def test_key_fetches_are_timed(clock):
    registry = CollectorRegistry()
    tokens = TokenFactory("ES256", clock=clock)
    with tokens.serve_jwks() as server:
        gate = Gate(
            issuers=[tokens.issuer_config(jwks_url=server.url, name="idp")],
            clock=clock,
            observer=PrometheusObserver(registry=registry),
        )
        gate.authenticate(headers=tokens.headers())
    found = samples(generate_latest(registry).decode())
    assert value(found, "jwtgate_key_fetches_total", issuer="idp", result="ok") == 1
    assert value(found, "jwtgate_key_fetch_seconds_count", issuer="idp") == 1
    assert value(found, "jwtgate_key_changes_total", issuer="idp", change="added") == 1


def test_label_values_are_bounded():
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry=registry)
    for n in range(150):
        observer.rule_decided(rule=f"/rule/{n}", decision="allow")
    found = samples(generate_latest(registry).decode())
    rules = {
        dict(labels)["rule"] for name, labels in found if name == "jwtgate_rule_decisions_total"
    }
    assert len(rules) == 101
    assert value(found, "jwtgate_rule_decisions_total", rule="other", decision="allow") == 50


def test_one_observer_per_registry():
    registry = CollectorRegistry()
    PrometheusObserver(registry=registry)
    with pytest.raises(ValueError, match="Duplicated"):
        PrometheusObserver(registry=registry)
    PrometheusObserver(registry=registry, prefix="other")


def test_without_prometheus_client_the_error_says_which_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ConfigurationError, match="prometheus extra"):
        PrometheusObserver()


# --- a real server, scraped ----------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    env = {"TEST_SECRET": SECRET, "TEST_PROMETHEUS": "1"}
    with running(
        uvicorn_command("tests.integration.observed_apps:starlette_app", factory=True), env
    ) as running_server:
        running_server.wait_until_answering("/health")
        yield running_server


def test_metrics_scraped_from_a_real_server(server):
    tokens = TokenFactory("HS256", key=SECRET)
    token = tokens.token(sub="scraped-subject")
    for _ in range(5):
        assert (
            server.request(path="/me", headers={"Authorization": f"Bearer {token}"}).status == 200
        )
    assert (
        server.request(path="/me", headers={"Authorization": f"Bearer {tokens.expired()}"}).status
        == 401
    )
    assert server.request(path="/me").status == 401  # no token: require_auth refuses
    answer = server.request(path="/metrics/")
    assert answer.status == 200
    text = answer.body.decode()
    found = samples(text)
    assert value(found, "jwtgate_accepted_total", issuer="test", how="verified") == 1
    assert value(found, "jwtgate_accepted_total", issuer="test", how="hit") == 4
    assert (
        value(
            found,
            "jwtgate_refused_total",
            issuer="test",
            error="invalid_token",
            reason="expired_token",
        )
        == 1
    )
    assert (
        value(
            found, "jwtgate_refused_total", issuer="", error="missing_token", reason="missing_token"
        )
        == 1
    )
    assert token not in text
    assert "scraped-subject" not in text
    assert "/me" not in text
