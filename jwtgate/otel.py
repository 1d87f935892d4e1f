"""``OpenTelemetryObserver``: jwtgate's events as OpenTelemetry metrics, the user on the span.

Needs the ``otel`` extra, which is ``opentelemetry-api`` only: the app
configures the SDK and its exporters; without one every call here is a
no-op of the API.

Metrics (attributes in parentheses, each from a bounded set):

- ``jwtgate.accepted`` (``jwtgate.issuer``, ``jwtgate.how``: ``hit`` or
  ``verified``), an observable counter read at each collection;
- ``jwtgate.refused`` (``jwtgate.issuer``, ``jwtgate.error``, ``jwtgate.reason``);
- ``jwtgate.key.fetches`` (``jwtgate.issuer``, ``jwtgate.result``) and
  ``jwtgate.key.fetch.duration`` (seconds); ``jwtgate.key.changes``
  (``jwtgate.issuer``, ``jwtgate.change``: ``added`` or ``removed``);
- ``jwtgate.revocation.checks`` (``jwtgate.outcome``) and
  ``jwtgate.revocation.check.duration`` (seconds);
- ``jwtgate.rule.decisions`` (``jwtgate.rule``, ``jwtgate.decision``).

Spans: on the current span, when it is recording, each authenticated
request gets ``user.roles``, and a refusal adds a ``jwtgate.refused`` event
(error code and reason). The subject goes on the span as ``enduser.id``
only with ``record_subject=True`` (semantic conventions: PII);
``user_hash_key=`` adds ``user.hash``, an HMAC-SHA256 of issuer and subject
that correlates a user's requests without naming them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import ConfigurationError
from .observe import BoundedLabel, Observer

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

    from .user import User

__all__ = ["OpenTelemetryObserver"]

ENDUSER_ID = "enduser.id"
USER_HASH = "user.hash"
USER_ROLES = "user.roles"


class OpenTelemetryObserver(Observer):
    """Records what jwtgate does with the OpenTelemetry API.

    ``meter_provider``: where the metrics go (default: the global one).
    ``spans``: put the user on the current span (a call per request).
    ``record_subject``: add the subject as ``enduser.id`` (off: it is PII).
    ``user_hash_key``: bytes keying ``user.hash`` (at least 16 bytes).
    """

    def __init__(
        self,
        *,
        meter_provider: MeterProvider | None = None,
        spans: bool = True,
        record_subject: bool = False,
        user_hash_key: bytes | None = None,
    ) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError:
            raise ConfigurationError(
                "OpenTelemetryObserver needs opentelemetry-api (jwtgate's otel extra): "
                "pip install opentelemetry-api"
            ) from None
        for name, value in (("spans", spans), ("record_subject", record_subject)):
            if not isinstance(value, bool):
                raise ConfigurationError(f"{name}: must be True or False")
        if user_hash_key is not None and (
            not isinstance(user_hash_key, bytes) or len(user_hash_key) < 16
        ):
            raise ConfigurationError("user_hash_key: must be at least 16 random bytes, or None")
        self._current_span = trace.get_current_span
        self.wants_user = spans
        self.record_subject = record_subject
        self._user_hash = _user_hasher(user_hash_key) if user_hash_key is not None else None
        meter = metrics.get_meter("jwtgate", __version__, meter_provider=meter_provider)
        self._lock = threading.Lock()
        self._accepted_totals: dict[tuple[str, str], int] = {}
        self._issuer = BoundedLabel()
        self._error = BoundedLabel()
        self._reason = BoundedLabel()
        self._rule = BoundedLabel()
        self._decision = BoundedLabel()
        meter.create_observable_counter(
            "jwtgate.accepted",
            callbacks=[self._observe_accepted],
            unit="{token}",
            description="Tokens accepted, by issuer and how: verified, or a cache hit",
        )
        self._refused = meter.create_counter(
            "jwtgate.refused",
            unit="{request}",
            description="Requests refused, by issuer, RFC 6750 error code and reason",
        )
        self._fetches = meter.create_counter(
            "jwtgate.key.fetches", unit="{fetch}", description="Fetches of remote key sets"
        )
        self._fetch_duration = meter.create_histogram(
            "jwtgate.key.fetch.duration",
            unit="s",
            description="How long fetching a remote key set took",
        )
        self._key_changes = meter.create_counter(
            "jwtgate.key.changes",
            unit="{key}",
            description="Keys added to or removed from an issuer's remote key set",
        )
        self._revocations = meter.create_counter(
            "jwtgate.revocation.checks",
            unit="{check}",
            description="Revocation checks made by the gate, by outcome",
        )
        self._revocation_duration = meter.create_histogram(
            "jwtgate.revocation.check.duration",
            unit="s",
            description="How long a revocation check made by the gate took",
        )
        # Counted here and observed when read: the SDK's Counter.add costs microseconds.
        self._rule_totals: dict[tuple[str, str], int] = {}
        meter.create_observable_counter(
            "jwtgate.rule.decisions",
            callbacks=[self._observe_rules],
            unit="{decision}",
            description="Path rule decisions, by rule (its line or position) and decision",
        )

    # --- metrics ---------------------------------------------------------------------

    def accepted(self, *, issuer: str, how: str, count: int = 1) -> None:
        key = (self._issuer(issuer), how)
        with self._lock:
            self._accepted_totals[key] = self._accepted_totals.get(key, 0) + count

    def _observe_accepted(self, options: CallbackOptions) -> Iterable[Observation]:
        self.flush()
        return self._observations(self._accepted_totals, "jwtgate.issuer", "jwtgate.how")

    def refused(self, *, issuer: str, error: str, reason: str) -> None:
        attributes = {
            "jwtgate.issuer": self._issuer(issuer),
            "jwtgate.error": self._error(error),
            "jwtgate.reason": self._reason(reason),
        }
        self._refused.add(1, attributes)
        span = self._current_span()
        if span.is_recording():
            span.add_event("jwtgate.refused", attributes)

    def keys_fetched(self, *, issuer: str, result: str, seconds: float) -> None:
        name = self._issuer(issuer)
        self._fetches.add(1, {"jwtgate.issuer": name, "jwtgate.result": result})
        self._fetch_duration.record(seconds, {"jwtgate.issuer": name})

    def keys_changed(self, *, issuer: str, added: int, removed: int) -> None:
        name = self._issuer(issuer)
        if added:
            self._key_changes.add(added, {"jwtgate.issuer": name, "jwtgate.change": "added"})
        if removed:
            self._key_changes.add(removed, {"jwtgate.issuer": name, "jwtgate.change": "removed"})

    def revocation_checked(self, *, outcome: str, seconds: float) -> None:
        self._revocations.add(1, {"jwtgate.outcome": outcome})
        self._revocation_duration.record(seconds, {"jwtgate.outcome": outcome})

    def rule_decided(self, *, rule: str, decision: str) -> None:
        key = (self._rule(rule), self._decision(decision))
        with self._lock:
            self._rule_totals[key] = self._rule_totals.get(key, 0) + 1

    def _observe_rules(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observations(self._rule_totals, "jwtgate.rule", "jwtgate.decision")

    def _observations(
        self, totals: dict[tuple[str, str], int], *attributes: str
    ) -> list[Observation]:
        """The counted ``totals``, each with its key's values as ``attributes``."""
        from opentelemetry.metrics import Observation

        with self._lock:
            counted = list(totals.items())
        return [
            Observation(total, dict(zip(attributes, key, strict=True))) for key, total in counted
        ]

    # --- spans -----------------------------------------------------------------------

    def request_user(self, user: User) -> None:
        span = self._current_span()
        if not span.is_recording():
            return
        attributes: dict[str, Any] = {USER_ROLES: _sorted_roles(user.roles)}
        if self.record_subject and user.subject:
            attributes[ENDUSER_ID] = user.subject
        if self._user_hash is not None and user.subject:
            attributes[USER_HASH] = self._user_hash(user.issuer or "", user.subject)
        span.set_attributes(attributes)

    def __repr__(self) -> str:
        return (
            f"OpenTelemetryObserver(spans={self.wants_user}, record_subject={self.record_subject})"
        )


@functools.lru_cache(maxsize=256)
def _sorted_roles(roles: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(roles))


def _user_hasher(key: bytes) -> Any:
    @functools.lru_cache(maxsize=4096)
    def user_hash(issuer: str, subject: str) -> str:
        message = issuer.encode("utf-8", "replace") + b"\0" + subject.encode("utf-8", "replace")
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]

    return user_hash
