"""Metrics and traces: what jwtgate reports, and the ``Observer`` interface that receives it.

Give an observer to the gate, ``Gate(..., observer=obs)``; the gate and both
adapters report to it. Two are ready made, each an optional extra:
``jwtgate.prometheus.PrometheusObserver`` and
``jwtgate.otel.OpenTelemetryObserver``. Write your own by subclassing
``Observer`` and overriding the events you want; each is called with
keyword arguments whose values come from bounded sets (configured issuer
names, error codes, reasons, outcomes), never a token, a claim or a path.

The events:

- ``accepted(issuer, how, count)``: tokens accepted, ``how`` being
  ``"verified"`` (a signature was checked) or ``"hit"`` (answered from a
  cache). Hits are counted on the hot path without a call, and delivered in
  batches by ``flush()``, which the ready observers call when they are read
  (a scrape, a metric collection) and the gate calls at most once a second
  on its slower paths;
- ``refused(issuer, error, reason)``: a refusal, by RFC 6750 error code
  (``"invalid_token"``, ``"csrf_rejected"`` …) and reason (the error's
  kind: ``"expired_token"``, ``"invalid_signature"``, ``"origin_mismatch"``
  …); ``issuer`` is empty when no configured issuer was involved;
- ``keys_fetched(issuer, result, seconds)`` and ``keys_changed(issuer,
  added, removed)``: remote key sets;
- ``revocation_checked(outcome, seconds)``: checks made by the gate
  (``"not_revoked"``, ``"revoked"``, ``"fail_open"``, ``"unavailable"``);
  the adapters' cache-hit path checks from memory and is counted as a hit;
- ``rule_decided(rule, decision)``: a path rule's decision, reported by the
  rules appliers for the requests a rule decides: ``rule`` is where the rule
  was written (``"line 12"``) or its position (``"rule 3"``), never the
  request's path; ``decision`` is ``allow``, ``rewrite``, ``redirect``,
  ``unauthorized``, ``forbidden`` or ``not_found`` (see ``jwtgate.rules_observe``);
- ``request_user(user)``: the authenticated user of each request, called
  only when the observer sets ``wants_user`` (a call per request).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .errors import AuthError, ConfigurationError

if TYPE_CHECKING:
    from .issuer import Issuer
    from .user import AnonymousUser, User

__all__ = ["BoundedLabel", "HitTally", "Observer", "Reporter", "reason_of"]


class Observer:
    """Receives what jwtgate does; every event does nothing here. Subclass and override.

    Events may come from any thread, at once: an observer must be
    thread-safe. An exception an observer raises is not caught: keep them
    simple.
    """

    #: True to receive ``request_user`` for every authenticated request.
    wants_user: bool = False

    def accepted(self, *, issuer: str, how: str, count: int = 1) -> None:
        """``count`` tokens of ``issuer`` were accepted, ``how``: ``"verified"`` or ``"hit"``."""

    def refused(self, *, issuer: str, error: str, reason: str) -> None:
        """A token or request was refused with RFC 6750 ``error`` for ``reason``."""

    def keys_fetched(self, *, issuer: str, result: str, seconds: float) -> None:
        """A fetch of ``issuer``'s remote keys ended with ``result`` (``"ok"`` or ``"error"``)."""

    def keys_changed(self, *, issuer: str, added: int, removed: int) -> None:
        """``issuer``'s key set gained ``added`` keys and lost ``removed``."""

    def revocation_checked(self, *, outcome: str, seconds: float) -> None:
        """The gate asked whether a token is revoked: ``outcome`` after ``seconds``."""

    def rule_decided(self, *, rule: str, decision: str) -> None:
        """Path rule ``rule`` (``"line 12"``, ``"rule 3"``) decided ``decision`` for a request."""

    def request_user(self, user: User) -> None:
        """The request being handled is ``user``'s (only if ``wants_user``)."""

    def flush(self) -> None:
        """Deliver the cache hits counted since the last flush to ``accepted``."""
        links = _TALLIES.get(self, [])
        for link in list(links):
            tally = link()
            if tally is None:
                links.remove(link)
                continue
            for issuer, count in tally.drain().items():
                self.accepted(issuer=issuer, how="hit", count=count)


# Which tallies feed which observer: a gate's (shared with its adapters), held
# weakly (a tally is a dict, unhashable, so in a list rather than a WeakSet).
_TALLIES: weakref.WeakKeyDictionary[Observer, list[weakref.ref[HitTally]]] = (
    weakref.WeakKeyDictionary()
)


def _count_of(counter: itertools.count[int]) -> int:
    # itertools.count exposes its next value only through its repr, "count(42)".
    return int(repr(counter)[6:-1])


class HitTally(dict[Any, "itertools.count[int]"]):
    """Cache hits per issuer (the token's ``iss``), counted on the hot path without a lock.

    The adapters count a hit with ``next(tally[user.issuer])``: a subscript
    and an ``itertools.count`` step, atomic in CPython, about 35 ns, where a
    call to an observer method would cost more than the rest of the hit.
    ``drain`` turns the counts into deltas per issuer name.
    """

    __slots__ = ("__weakref__", "_delivered", "_lock", "_name_of")

    def __init__(self, name_of: Callable[[str | None], str]) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._delivered: dict[Any, int] = {}
        self._name_of = name_of

    def __missing__(self, issuer: Any) -> itertools.count[int]:
        with self._lock:
            return self.setdefault(issuer, itertools.count())

    def drain(self) -> dict[str, int]:
        """The hits counted since the last drain, per issuer name."""
        found: dict[str, int] = {}
        with self._lock:
            for issuer, counter in list(self.items()):
                total = _count_of(counter)
                delta = total - self._delivered.get(issuer, 0)
                if delta:
                    self._delivered[issuer] = total
                    name = self._name_of(issuer)
                    found[name] = found.get(name, 0) + delta
        return found


_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")
_REASONS: dict[type, str] = {}


def reason_of(error: AuthError) -> str:
    """A refusal's reason label: the error's own ``reason``, else its class in snake case."""
    reason = getattr(error, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    kind = type(error)
    found = _REASONS.get(kind)
    if found is None:
        found = _SNAKE.sub("_", kind.__name__).lower()
        if len(_REASONS) < 256:
            _REASONS[kind] = found
    return found


class BoundedLabel:
    """Keeps a label's distinct values under ``limit``: values beyond it become ``"other"``.

    Every label jwtgate reports already comes from a bounded set; this is the
    guard that keeps a metric's series bounded whatever a subclass reports.
    """

    __slots__ = ("_limit", "_lock", "_seen")

    def __init__(self, limit: int = 100) -> None:
        self._seen: set[str] = set()
        self._limit = limit
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self._limit:
                self._seen.add(value)
                return value
        return "other"


class Reporter:
    """A gate's link to its observer: what the gate and its adapters call.

    ``tally`` counts cache hits (the adapters subscript it inline),
    ``on_user`` is the observer's ``request_user`` when it wants users.
    """

    __slots__ = ("_last_flush", "_name_by_iss", "_other", "observer", "on_user", "tally")

    def __init__(self, observer: Observer, issuers: Iterable[Issuer]) -> None:
        if not isinstance(observer, Observer):
            raise ConfigurationError("observer: must be a jwtgate.observe.Observer")
        issuers = tuple(issuers)
        self.observer = observer
        self._name_by_iss: dict[str | None, str] = {
            i.issuer: i.name for i in issuers if i.issuer is not None
        }
        any_issuer = [i.name for i in issuers if i.issuer is None]
        self._other = any_issuer[0] if any_issuer else "unknown"
        self.tally = HitTally(self.name_of)
        try:
            links = _TALLIES.setdefault(observer, [])
        except TypeError:
            raise ConfigurationError("observer: must be hashable (it keys its hit count)") from None
        links.append(weakref.ref(self.tally))
        self.on_user: Callable[[User], None] | None = (
            observer.request_user if observer.wants_user else None
        )
        self._last_flush = time.monotonic()
        for issuer in issuers:
            listen = getattr(issuer.keys, "on_fetch", None)
            if listen is not None:
                listen(self._fetch_listener(issuer.name))

    def name_of(self, iss: str | None) -> str:
        """The configured name of the issuer whose tokens carry ``iss``."""
        return self._name_by_iss.get(iss, self._other)

    def accepted(self, user: User, verified: bool) -> None:
        """The gate accepted ``user``: just verified (reported now), or from its cache (counted)."""
        if verified:
            self.observer.accepted(issuer=self.name_of(user.issuer), how="verified", count=1)
            self._flush_now_and_then()
        else:
            next(self.tally[user.issuer])

    def refused(self, error: AuthError, issuer: str = "") -> None:
        self.observer.refused(
            issuer=issuer or "", error=error.error or "missing_token", reason=reason_of(error)
        )
        self._flush_now_and_then()

    def refused_user(self, error: AuthError, user: User | AnonymousUser) -> None:
        """A refusal raised by the app (``require_auth``, ``require_roles``) for ``user``."""
        self.refused(error, self.name_of(user.issuer) if user.is_authenticated else "")

    def _flush_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._last_flush >= 1.0:
            self._last_flush = now
            self.observer.flush()

    def _fetch_listener(self, name: str) -> Callable[[bool, float, int, int], None]:
        observer = self.observer

        def fetched(ok: bool, seconds: float, added: int, removed: int) -> None:
            observer.keys_fetched(issuer=name, result="ok" if ok else "error", seconds=seconds)
            if added or removed:
                observer.keys_changed(issuer=name, added=added, removed=removed)

        return fetched
