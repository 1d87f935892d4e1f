"""Gates with an observer or a revocation store, for the cache-hit rows of the benchmarks.

``bench_wsgi.py`` and ``bench_asgi.py`` time each of these behind the
middleware around the smallest app, next to the same gate without them, so
each row's delta is what the observer (or store) adds to a cache hit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jwtgate import Gate
from jwtgate.revocation import MemoryRevocations
from jwtgate.testing import TokenFactory


def _prometheus() -> Any:
    from prometheus_client import CollectorRegistry

    from jwtgate.prometheus import PrometheusObserver

    return PrometheusObserver(registry=CollectorRegistry())


def _otel_api() -> Any:
    from jwtgate.otel import OpenTelemetryObserver

    return OpenTelemetryObserver()  # no SDK: the API's no-op providers


def _otel_sdk(spans: bool = True) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from jwtgate.otel import OpenTelemetryObserver

    # Metrics through the SDK; no span is current, as outside a traced request.
    return OpenTelemetryObserver(
        meter_provider=MeterProvider([InMemoryMetricReader()]), spans=spans
    )


def _busy_store() -> MemoryRevocations:
    store = MemoryRevocations()
    other = TokenFactory("HS256")
    for n in range(300):
        store.revoke(other.token(sub=f"gone-{n}", jti=f"j-{n}"))
        store.revoke(other.token(sub=f"gone-{n}"))
        store.revoke_subject(f"subject-{n}")
        store.revoke_session(f"session-{n}")
    return store


#: Row label -> what the gate gets besides its issuer.
OBSERVED: dict[str, Callable[[], dict[str, Any]]] = {
    "+ PrometheusObserver": lambda: {"observer": _prometheus()},
    "+ OpenTelemetryObserver, API only": lambda: {"observer": _otel_api()},
    "+ OpenTelemetryObserver, SDK metrics": lambda: {"observer": _otel_sdk()},
    "+ OpenTelemetryObserver, spans=False": lambda: {"observer": _otel_sdk(spans=False)},
    "+ MemoryRevocations, empty": lambda: {"is_revoked": MemoryRevocations()},
    "+ MemoryRevocations, 1200 entries": lambda: {"is_revoked": _busy_store()},
}


def observed_gates(tokens: TokenFactory) -> dict[str, Gate]:
    """One gate per row of ``OBSERVED``, trusting ``tokens``."""
    return {
        label: Gate(issuers=[tokens.issuer_config()], **make()) for label, make in OBSERVED.items()
    }
