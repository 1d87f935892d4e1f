"""OpenTelemetryObserver, read through the SDK's in-memory metric reader and span exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from werkzeug.test import Client

from jwtgate import AuthError, ConfigurationError, Gate
from jwtgate.asgi import GateMiddleware as ASGIMiddleware
from jwtgate.otel import OpenTelemetryObserver
from jwtgate.revocation import MemoryRevocations
from jwtgate.wsgi import GateMiddleware
from tests.asgi_helpers import Recorder, http_scope, run
from tests.tokens import bearer


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meters(reader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict, float]]]:
    """Each metric's data points: name -> [(attributes, value or histogram count)]."""
    found: dict[str, list[tuple[dict, float]]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = point.count
                    found.setdefault(metric.name, []).append((dict(point.attributes), value))
    return found


def test_metrics_are_read_by_the_sdk(rs256, clock, meters, reader):
    store = MemoryRevocations(clock=clock)
    observer = OpenTelemetryObserver(meter_provider=meters, spans=False)
    gate = Gate(
        issuers=[rs256.issuer_config(name="main")], clock=clock, observer=observer, is_revoked=store
    )
    token = rs256.token(sub="otel-subject")
    for _ in range(3):
        gate.authenticate(headers=bearer(token))
    with pytest.raises(AuthError):
        gate.authenticate(headers=bearer(rs256.expired()))
    observer.rule_decided(rule="/admin/*", decision="deny")
    found = points(reader)
    assert sorted(found["jwtgate.accepted"], key=repr) == [
        ({"jwtgate.issuer": "main", "jwtgate.how": "hit"}, 2),
        ({"jwtgate.issuer": "main", "jwtgate.how": "verified"}, 1),
    ]
    assert found["jwtgate.refused"] == [
        (
            {
                "jwtgate.issuer": "main",
                "jwtgate.error": "invalid_token",
                "jwtgate.reason": "expired_token",
            },
            1,
        )
    ]
    assert found["jwtgate.revocation.checks"] == [({"jwtgate.outcome": "not_revoked"}, 3)]
    assert found["jwtgate.revocation.check.duration"] == [({"jwtgate.outcome": "not_revoked"}, 3)]
    assert found["jwtgate.rule.decisions"] == [
        ({"jwtgate.rule": "/admin/*", "jwtgate.decision": "deny"}, 1)
    ]
    assert "otel-subject" not in repr(found)
    # Read again: cumulative, and the hits counted since are added.
    gate.authenticate(headers=bearer(token))
    again = dict((a["jwtgate.how"], v) for a, v in points(reader)["jwtgate.accepted"])
    assert again == {"hit": 3, "verified": 1}


def test_key_fetches_are_recorded(clock, meters, reader):
    from jwtgate.testing import TokenFactory

    tokens = TokenFactory("ES256", clock=clock)
    with tokens.serve_jwks() as server:
        gate = Gate(
            issuers=[tokens.issuer_config(jwks_url=server.url, name="idp")],
            clock=clock,
            observer=OpenTelemetryObserver(meter_provider=meters),
        )
        gate.authenticate(headers=tokens.headers())
    found = points(reader)
    assert found["jwtgate.key.fetches"] == [({"jwtgate.issuer": "idp", "jwtgate.result": "ok"}, 1)]
    assert found["jwtgate.key.fetch.duration"] == [({"jwtgate.issuer": "idp"}, 1)]
    assert found["jwtgate.key.changes"] == [
        ({"jwtgate.issuer": "idp", "jwtgate.change": "added"}, 1)
    ]


def traced_requests(gate: Gate, tracer, tokens: list[str]) -> None:
    """Each token in a request under a server span, through both adapters."""

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b""]

    wsgi = GateMiddleware(app, gate)
    asgi = ASGIMiddleware(Recorder(), gate)
    for token in tokens:
        headers = bearer(token) if token else {}
        with tracer.start_as_current_span("GET / (wsgi)"):
            Client(wsgi).get("/", headers=headers).close()
        with tracer.start_as_current_span("GET / (asgi)"):
            run(asgi, http_scope(headers.items()))


def test_the_user_goes_on_the_current_span_without_the_subject_by_default(
    rs256, clock, meters, spans
):
    provider, exporter = spans
    gate = Gate(
        issuers=[rs256.issuer_config()],
        clock=clock,
        observer=OpenTelemetryObserver(meter_provider=meters),
    )
    token = rs256.token(sub="private-subject", roles=["editor", "admin"])
    traced_requests(gate, provider.get_tracer("test"), [token, token, ""])
    finished = exporter.get_finished_spans()
    assert len(finished) == 6
    with_user = [s for s in finished if "user.roles" in s.attributes]
    assert len(with_user) == 4  # both adapters, fast path and slow path; none for anonymous
    for span in with_user:
        assert span.attributes["user.roles"] == ("admin", "editor")
        assert "enduser.id" not in span.attributes
        assert "user.hash" not in span.attributes
    assert "private-subject" not in repr([dict(s.attributes) for s in finished])


def test_the_subject_and_a_keyed_hash_only_when_asked(rs256, clock, meters, spans):
    provider, exporter = spans
    observer = OpenTelemetryObserver(
        meter_provider=meters, record_subject=True, user_hash_key=b"k" * 32
    )
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, observer=observer)
    traced_requests(gate, provider.get_tracer("test"), [rs256.token(sub="u1")])
    span = exporter.get_finished_spans()[0]
    assert span.attributes["enduser.id"] == "u1"
    assert len(span.attributes["user.hash"]) == 32
    assert span.attributes["user.hash"] != "u1"
    other = OpenTelemetryObserver(meter_provider=meters, user_hash_key=b"z" * 32, spans=True)
    assert other._user_hash("https://issuer.test/", "u1") != span.attributes["user.hash"]


def test_a_refusal_is_an_event_on_the_span(rs256, clock, meters, spans):
    provider, exporter = spans
    gate = Gate(
        issuers=[rs256.issuer_config(name="main")],
        clock=clock,
        observer=OpenTelemetryObserver(meter_provider=meters),
    )
    with provider.get_tracer("test").start_as_current_span("request"), pytest.raises(AuthError):
        gate.authenticate(headers=bearer(rs256.expired()))
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    assert event.name == "jwtgate.refused"
    assert dict(event.attributes) == {
        "jwtgate.issuer": "main",
        "jwtgate.error": "invalid_token",
        "jwtgate.reason": "expired_token",
    }


def test_without_an_sdk_everything_is_a_no_op(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, observer=OpenTelemetryObserver())
    token = rs256.token()
    gate.authenticate(headers=bearer(token))
    gate.authenticate(headers=bearer(token))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"spans": "yes"}, "spans"),
        ({"record_subject": 1}, "record_subject"),
        ({"user_hash_key": b"short"}, "user_hash_key"),
        ({"user_hash_key": "a string of 32 characters or more"}, "user_hash_key"),
    ],
)
def test_configuration_is_checked(options, message):
    with pytest.raises(ConfigurationError, match=message):
        OpenTelemetryObserver(**options)


def test_without_the_api_the_error_says_which_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigurationError, match="otel extra"):
        OpenTelemetryObserver()
