"""``PrometheusObserver``: jwtgate's events as Prometheus counters and histograms.

Needs the ``prometheus`` extra (``prometheus-client``).
Every label comes from a bounded set (configured issuer names, RFC 6750
error codes, reasons, outcomes, rules' lines or positions), and each is
capped besides (``BoundedLabel``): never a token, a subject or a path.

Metrics (``prefix`` defaults to ``jwtgate``):

========================================  =================================
``jwtgate_accepted_total``                issuer, how (``hit``/``verified``)
``jwtgate_refused_total``                 issuer, error, reason
``jwtgate_key_fetches_total``             issuer, result (``ok``/``error``)
``jwtgate_key_fetch_seconds``             issuer (histogram)
``jwtgate_key_changes_total``             issuer, change (``added``/``removed``)
``jwtgate_revocation_checks_total``       outcome
``jwtgate_revocation_check_seconds``      (histogram)
``jwtgate_rule_decisions_total``          rule, decision
========================================  =================================

Cache hits are counted without a call on the hot path and added to
``jwtgate_accepted_total`` each time the registry is collected (a scrape).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .observe import BoundedLabel, Observer

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

__all__ = ["PrometheusObserver"]

#: Key fetches take tens of milliseconds to seconds.
FETCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: A revocation check from memory takes microseconds; a hook, milliseconds.
CHECK_BUCKETS = (1e-5, 5e-5, 1e-4, 5e-4, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)
# Labelled children of the rule counter kept at hand (rules × decisions, bounded besides).
_CHILDREN = 1024


class PrometheusObserver(Observer):
    """Counts what jwtgate does in a Prometheus registry (the default one unless given).

    One observer per registry: its metrics are registered when it is built.
    Expose them as usual, e.g. ``prometheus_client.make_wsgi_app()`` or
    ``make_asgi_app()`` mounted at ``/metrics``.
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        prefix: str = "jwtgate",
        fetch_buckets: Sequence[float] = FETCH_BUCKETS,
        check_buckets: Sequence[float] = CHECK_BUCKETS,
    ) -> None:
        try:
            import prometheus_client
        except ImportError:
            raise ConfigurationError(
                "PrometheusObserver needs prometheus-client (jwtgate's prometheus extra): "
                "pip install prometheus-client"
            ) from None
        from prometheus_client import Counter, Histogram

        if registry is None:
            registry = prometheus_client.REGISTRY
        self.registry = registry
        self._issuer = BoundedLabel()
        self._error = BoundedLabel()
        self._reason = BoundedLabel()
        self._rule = BoundedLabel()
        self._decision = BoundedLabel()
        # Registered behind a collector that first adds the hits counted since the last scrape.
        self._accepted = Counter(
            f"{prefix}_accepted",
            "Tokens accepted, by issuer and how: verified, or a cache hit",
            ["issuer", "how"],
            registry=None,
        )
        registry.register(_FlushFirst(self, self._accepted))
        self._refused = Counter(
            f"{prefix}_refused",
            "Requests refused, by issuer, RFC 6750 error code and reason",
            ["issuer", "error", "reason"],
            registry=registry,
        )
        self._fetches = Counter(
            f"{prefix}_key_fetches",
            "Fetches of remote key sets, by issuer and result",
            ["issuer", "result"],
            registry=registry,
        )
        self._fetch_seconds = Histogram(
            f"{prefix}_key_fetch_seconds",
            "How long fetching a remote key set took",
            ["issuer"],
            buckets=fetch_buckets,
            registry=registry,
        )
        self._key_changes = Counter(
            f"{prefix}_key_changes",
            "Keys added to or removed from an issuer's remote key set",
            ["issuer", "change"],
            registry=registry,
        )
        self._revocations = Counter(
            f"{prefix}_revocation_checks",
            "Revocation checks made by the gate, by outcome",
            ["outcome"],
            registry=registry,
        )
        self._revocation_seconds = Histogram(
            f"{prefix}_revocation_check_seconds",
            "How long a revocation check made by the gate took",
            buckets=check_buckets,
            registry=registry,
        )
        self._rule_children: dict[tuple[str, str], Any] = {}
        self._rules = Counter(
            f"{prefix}_rule_decisions",
            "Path rule decisions, by rule (its line or position) and decision",
            ["rule", "decision"],
            registry=registry,
        )

    def accepted(self, *, issuer: str, how: str, count: int = 1) -> None:
        self._accepted.labels(self._issuer(issuer), how).inc(count)

    def refused(self, *, issuer: str, error: str, reason: str) -> None:
        self._refused.labels(self._issuer(issuer), self._error(error), self._reason(reason)).inc()

    def keys_fetched(self, *, issuer: str, result: str, seconds: float) -> None:
        name = self._issuer(issuer)
        self._fetches.labels(name, result).inc()
        self._fetch_seconds.labels(name).observe(seconds)

    def keys_changed(self, *, issuer: str, added: int, removed: int) -> None:
        name = self._issuer(issuer)
        if added:
            self._key_changes.labels(name, "added").inc(added)
        if removed:
            self._key_changes.labels(name, "removed").inc(removed)

    def revocation_checked(self, *, outcome: str, seconds: float) -> None:
        self._revocations.labels(outcome).inc()
        self._revocation_seconds.observe(seconds)

    def rule_decided(self, *, rule: str, decision: str) -> None:
        # The labelled child, found once: labels() costs more than the increment.
        child = self._rule_children.get((rule, decision))
        if child is None:
            child = self._rules.labels(self._rule(rule), self._decision(decision))
            if len(self._rule_children) < _CHILDREN:
                self._rule_children[(rule, decision)] = child
        child.inc()

    def __repr__(self) -> str:
        return f"PrometheusObserver(registry={self.registry!r})"


class _FlushFirst:
    """A collector serving ``metric`` after flushing the observer's counted hits into it."""

    def __init__(self, observer: Observer, metric: Any) -> None:
        self._observer = observer
        self._metric = metric

    def describe(self) -> Iterable[Metric]:
        described: Iterable[Metric] = self._metric.describe()
        return described

    def collect(self) -> Iterable[Metric]:
        self._observer.flush()
        collected: Iterable[Metric] = self._metric.collect()
        return collected
