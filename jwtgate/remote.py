"""Remote keys: a JWKS URL, or the one an OpenID provider's discovery document names.

``RemoteKeys`` is the ``KeySource`` behind ``Issuer(jwks_url=...)`` and
``Issuer(discovery=...)``. Its policy, every number of which is in
``RemoteOptions``:

- The set is fetched on first use and kept for ``cache_ttl`` (10 min), or for
  the answer's ``Cache-Control: max-age`` kept within [1 min, 24 h]. Once that
  has passed, requests go on with the keys in hand while one background
  thread fetches the set again: the network is never on a request's path
  except when no key for its ``kid`` is known.
- An unknown ``kid`` refetches at most once per ``cooldown`` (30 s): a storm of
  random ``kid``s costs one fetch, not one per request.
- Single flight: one fetch per source at a time. Threads wait for the fetch in
  progress; asyncio tasks await the same fetch, which runs in a worker thread.
- Stale if error: a failed fetch keeps the last good set (logged), usable up
  to ``max_stale`` (24 h) past its freshness. Failed fetches are retried after
  1, 2, 4 … s, never more often, at most ``cooldown`` apart. Only when no
  usable key exists at all does a request get ``KeysUnavailable`` (503 with
  ``Retry-After``). An answer with no usable key (``{"keys": []}``, or only
  keys jwtgate may not use) is a failed fetch too: it never replaces a set.
- A key that leaves the set stops verifying at once, and the gate forgets
  every token it had verified (``subscribe``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .algorithms import family_of
from .errors import ConfigurationError, KeysUnavailable
from .fetch import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, FetchError, check_url, fetch, freshness
from .jwks import KeySet, read_key_set
from .keys import KeySource, VerificationKey
from .logs import logger

if TYPE_CHECKING:
    from .issuer import Issuer

__all__ = [
    "MAX_TTL",
    "MIN_TTL",
    "RemoteKeys",
    "RemoteOptions",
    "discovery_url",
    "remote_key_source",
]

#: ``Cache-Control: max-age`` is honoured within these bounds (seconds).
MIN_TTL = 60.0
MAX_TTL = 86_400.0
_FIRST_RETRY = 1.0
#: How long past a fetch's deadline a waiter gives the fetching thread to publish.
_GRACE = 0.1
_REPORTED_LIMIT = 1024


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigurationError(f"{name}: must be a number of seconds in [{low:g}, {high:g}]")
    return float(value)


@dataclass(frozen=True, slots=True)
class RemoteOptions:
    """How remote keys are fetched and cached; the defaults suit production.

    ``cache_ttl``: how long a set is fresh when its answer has no ``max-age``.
    ``cooldown``: the least time between two fetches caused by unknown ``kid``s.
    ``max_stale``: how long past its freshness a set may serve while fetching fails.
    ``timeout``: the wall-clock deadline of one fetch (connect, TLS, headers and body
    together); a request waiting for a fetch never waits past it. ``max_bytes``: the
    largest answer read.
    ``allow_http``: accept ``http://`` for non-loopback hosts (tests only).
    ``clock``: monotonic seconds; tests pass a fake one instead of sleeping.
    """

    cache_ttl: float = 600.0
    cooldown: float = 30.0
    max_stale: float = 86_400.0
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    allow_http: bool = False
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        _number("cache_ttl", self.cache_ttl, MIN_TTL, MAX_TTL)
        _number("cooldown", self.cooldown, 1, 3600)
        _number("max_stale", self.max_stale, 0, 30 * 86_400)
        _number("timeout", self.timeout, 0.001, 60)
        if (
            isinstance(self.max_bytes, bool)
            or not isinstance(self.max_bytes, int)
            or not 1024 <= self.max_bytes <= 16 * DEFAULT_MAX_BYTES
        ):
            raise ConfigurationError("max_bytes: must be a whole number in [1024, 16 MiB]")
        if not isinstance(self.allow_http, bool):
            raise ConfigurationError("allow_http: must be True or False")
        if not callable(self.clock):
            raise ConfigurationError("clock: must be a callable returning seconds")


_Flight = concurrent.futures.Future[None]


@dataclass(frozen=True, slots=True)
class _Cached:
    """A fetched set and when it stops being fresh, then usable."""

    keys: KeySet
    fresh_until: float
    usable_until: float


@dataclass(frozen=True, slots=True)
class _Discovered:
    jwks_url: str
    fresh_until: float


def discovery_url(issuer: str) -> str:
    """``{issuer}/.well-known/openid-configuration`` (OpenID Connect Discovery §4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


class RemoteKeys(KeySource):
    """An issuer's keys, fetched from ``jwks_url`` or through OIDC discovery.

    Give ``jwks_url``, or ``discovery`` (the URL of an OpenID configuration
    document whose ``issuer`` must equal ``expected_issuer`` exactly).
    ``algorithms`` are the issuer's: only keys that can verify one of them are
    kept, and they must all be public-key algorithms.
    """

    def __init__(
        self,
        jwks_url: str | None = None,
        *,
        discovery: str | None = None,
        expected_issuer: str | None = None,
        algorithms: Iterable[str],
        options: RemoteOptions | None = None,
    ) -> None:
        self.options = options if options is not None else RemoteOptions()
        if not isinstance(self.options, RemoteOptions):
            raise ConfigurationError("remote: must be a RemoteOptions")
        self.algorithms = frozenset(algorithms)
        if any(family_of(a) == "HMAC" for a in self.algorithms):
            raise ConfigurationError(
                "jwks_url, discovery: HS* algorithms need a shared secret; "
                "keys from a JWKS are public keys (use secret=)"
            )
        if (jwks_url is None) == (discovery is None):
            raise ConfigurationError("jwks_url, discovery: give exactly one")
        allow_http = self.options.allow_http
        self.jwks_url = _checked("jwks_url", jwks_url, allow_http) if jwks_url is not None else None
        self.discovery_url = (
            _checked("discovery", discovery, allow_http) if discovery is not None else None
        )
        if self.discovery_url is not None and not expected_issuer:
            raise ConfigurationError("discovery: needs the issuer, to check the document against")
        self.expected_issuer = expected_issuer
        #: The URL fetched first: the JWKS, or the discovery document.
        self.source_url: str = self.jwks_url or self.discovery_url or ""
        self._clock = self.options.clock
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        self._discovered: _Discovered | None = None
        self._inflight: concurrent.futures.Future[None] | None = None
        # When the fetch in progress must be over (time.monotonic(), not the clock option:
        # fetch deadlines are real time).
        self._inflight_ends = 0.0
        self._next_fetch = -math.inf
        self._failures = 0
        self._callbacks: list[Callable[[], None]] = []
        self._fetch_listeners: list[Callable[[bool, float, int, int], None]] = []
        self._change = (0, 0)
        self._reported: set[str] = set()
        #: Fetches of the key set that succeeded / failed so far (discovery included).
        self.fetches = 0
        self.failures = 0
        self.last_error: str | None = None

    # --- KeySource -----------------------------------------------------------------

    def keys_for(self, kid: str | None, algorithm: str) -> Sequence[VerificationKey]:
        cached = self._cached
        now = self._clock()
        if cached is None or now >= cached.usable_until:
            if self._inflight is None and now < self._next_fetch:
                raise KeysUnavailable(retry_after=max(1, math.ceil(self._next_fetch - now)))
            return ()
        if now >= cached.fresh_until:
            self._refresh_in_background()
        return cached.keys.select(kid, algorithm)

    def needs_refresh(self, kid: str | None) -> bool:
        return self._inflight is not None or self._clock() >= self._next_fetch

    def refresh(self) -> None:
        """Fetch the set if a fetch is due, or wait for the one in progress."""
        future, leader = self._claim()
        if future is None:
            return
        if leader:
            self._run(future)
            return
        try:
            future.result(timeout=self._wait_left())
        except concurrent.futures.TimeoutError:
            self._unavailable_if_empty()

    async def refresh_async(self) -> None:
        """``refresh`` for asyncio: the fetch runs in a worker thread; callers share it."""
        future, leader = self._claim()
        if future is None:
            return
        if leader:
            asyncio.get_running_loop().run_in_executor(None, self._run, future)
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), self._wait_left())
        except TimeoutError:
            self._unavailable_if_empty()

    def subscribe(self, on_keys_removed: Callable[[], None]) -> None:
        self._callbacks.append(on_keys_removed)

    def on_fetch(self, listener: Callable[[bool, float, int, int], None]) -> None:
        """Call ``listener(ok, seconds, added, removed)`` after each fetch (for metrics)."""
        self._fetch_listeners.append(listener)

    # --- introspection -------------------------------------------------------------

    @property
    def kids(self) -> tuple[str, ...]:
        """The ``kid`` of every usable key held now (empty before the first fetch)."""
        cached = self._cached
        return cached.keys.kids if cached is not None else ()

    @property
    def fetching(self) -> bool:
        """True while a fetch is in progress."""
        return self._inflight is not None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the fetch in progress, if any (e.g. a background refresh in a test)."""
        future = self._inflight
        if future is not None:
            future.result(timeout=timeout)

    # --- the fetch -----------------------------------------------------------------

    def _wait_left(self) -> float:
        """How long a waiter may wait for the fetch in progress: never past its deadline.

        Each fetch ends by its deadline (``fetch`` sees to it), so a waiter
        normally wakes with the outcome; if the fetching thread is stuck
        where no deadline reaches (name resolution), the waiter gives up on
        time all the same.
        """
        return max(0.0, self._inflight_ends - time.monotonic()) + _GRACE

    def _claim(
        self, *, due_at: float | None = None
    ) -> tuple[concurrent.futures.Future[None] | None, bool]:
        """The fetch to wait for, and whether the caller must run it (it was due and none ran)."""
        with self._lock:
            if self._inflight is not None:
                return self._inflight, False
            now = self._clock()
            if now < self._next_fetch or (due_at is not None and now < due_at):
                return None, False
            future: concurrent.futures.Future[None] = concurrent.futures.Future()
            future.set_running_or_notify_cancel()  # a waiter's cancellation must not cancel it
            self._inflight = future
            # Discovery, then the set: two fetches, each bounded by the timeout.
            fetches = 1 if self.discovery_url is None else 2
            self._inflight_ends = time.monotonic() + fetches * self.options.timeout
            return future, True

    def _refresh_in_background(self) -> None:
        cached = self._cached
        future, leader = self._claim(due_at=cached.fresh_until if cached else None)
        if future is not None and leader:
            threading.Thread(
                target=self._run, args=(future,), name="jwtgate-keys", daemon=True
            ).start()

    def _run(self, future: concurrent.futures.Future[None]) -> None:
        """Fetch, then publish the outcome before anyone waiting is woken."""
        removed = ok = False
        started = time.perf_counter()
        self._change = (0, 0)
        try:
            removed = self._fetch_and_store()
            ok = True
        except Exception as exc:  # never let a fetch kill a request or a thread
            removed = self._fail(exc)
        finally:
            with self._lock:
                self._inflight = None
            future.set_result(None)
        if removed:
            self._notify()
        for listener in list(self._fetch_listeners):
            try:
                listener(ok, time.perf_counter() - started, *self._change)
            except Exception:
                logger.exception("jwtgate: a key-fetch listener failed")

    def _fetch_and_store(self) -> bool:
        options = self.options
        url = self._current_jwks_url()
        response = fetch(
            url,
            timeout=options.timeout,
            max_bytes=options.max_bytes,
            allow_http=options.allow_http,
        )
        try:
            keys = read_key_set(response.body, self.algorithms)
        except ValueError as exc:
            raise FetchError(str(exc)) from None
        self._report(keys)
        if not keys.keys:
            # Never let an empty answer replace a good set (and clear the cache): a
            # provider mid-deploy, or anyone who can write the file, would lock
            # everyone out. Fail like any other bad answer: keep the last good set.
            raise FetchError("the key set holds no usable key")
        now = self._clock()
        fresh_for = freshness(response, options.cache_ttl, MIN_TTL, MAX_TTL)
        with self._lock:
            old = self._cached
            before = old.keys.identities if old is not None else frozenset()
            self._change = (len(keys.identities - before), len(before - keys.identities))
            self._cached = _Cached(keys, now + fresh_for, now + fresh_for + options.max_stale)
            self._next_fetch = now + options.cooldown
            self._failures = 0
            self.fetches += 1
            self.last_error = None
        return old is not None and not old.keys.identities <= keys.identities

    def _fail(self, exc: Exception) -> bool:
        reason = str(exc) if isinstance(exc, FetchError) else f"unexpected {type(exc).__name__}"
        now = self._clock()
        with self._lock:
            self._failures += 1
            self.failures += 1
            self.last_error = reason
            delay = min(self.options.cooldown, _FIRST_RETRY * 2 ** (self._failures - 1))
            self._next_fetch = now + delay
            cached = self._cached
            dropped = cached is not None and now >= cached.usable_until
            if dropped:
                self._cached = None
        source = self.source_url
        if cached is not None and not dropped:
            logger.warning(
                "jwtgate: fetching the keys from %s failed (%s); still using the keys "
                "fetched before, usable for %.0f s more; next try in %.0f s",
                source,
                reason,
                cached.usable_until - now,
                delay,
            )
        else:
            logger.error(
                "jwtgate: fetching the keys from %s failed (%s); no usable key, "
                "requests get 503 until a fetch succeeds; next try in %.0f s",
                source,
                reason,
                delay,
            )
        return dropped

    def _current_jwks_url(self) -> str:
        if self.discovery_url is None:
            return self.source_url
        known = self._discovered
        now = self._clock()
        if known is not None and now < known.fresh_until:
            return known.jwks_url
        try:
            found = self._discover(self.discovery_url, now)
        except FetchError as exc:
            if known is None:
                raise
            logger.warning(
                "jwtgate: fetching %s failed (%s); using the jwks_uri it gave before",
                self.discovery_url,
                exc,
            )
            return known.jwks_url
        self._discovered = found
        return found.jwks_url

    def _discover(self, url: str, now: float) -> _Discovered:
        options = self.options
        response = fetch(
            url,
            timeout=options.timeout,
            max_bytes=options.max_bytes,
            allow_http=options.allow_http,
        )
        try:
            document: Any = json.loads(response.body)
        except (ValueError, RecursionError):
            raise FetchError("the discovery document is not JSON") from None
        if not isinstance(document, dict):
            raise FetchError("the discovery document is not a JSON object")
        if document.get("issuer") != self.expected_issuer:
            raise FetchError("the discovery document names another issuer")
        try:
            jwks_uri = check_url(document.get("jwks_uri"), allow_http=options.allow_http)
        except ValueError as exc:
            raise FetchError(f"the discovery document's jwks_uri {exc}") from None
        return _Discovered(jwks_uri, now + freshness(response, options.cache_ttl, MIN_TTL, MAX_TTL))

    def _report(self, keys: KeySet) -> None:
        """Log each ignored member once, with its reason (never its key material)."""
        for skipped in keys.skipped:
            mark = f"{skipped.identity}:{skipped.reason}"
            if mark in self._reported:
                continue
            if len(self._reported) >= _REPORTED_LIMIT:
                self._reported.clear()
            self._reported.add(mark)
            logger.warning(
                "jwtgate: ignoring key %s of %s: %s",
                repr(skipped.kid) if skipped.kid is not None else "without kid",
                self.source_url,
                skipped.reason,
            )

    def _notify(self) -> None:
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:
                logger.exception("jwtgate: a keys-removed callback failed")

    def _unavailable_if_empty(self) -> None:
        cached = self._cached
        if cached is None or self._clock() >= cached.usable_until:
            raise KeysUnavailable(retry_after=max(1, math.ceil(self.options.cooldown)))

    def __repr__(self) -> str:
        where = (
            f"jwks_url={self.jwks_url!r}" if self.jwks_url else f"discovery={self.discovery_url!r}"
        )
        return f"RemoteKeys({where}, kids={list(self.kids)!r})"


def _checked(name: str, url: str, allow_http: bool) -> str:
    try:
        return check_url(url, allow_http=allow_http)
    except ValueError as exc:
        raise ConfigurationError(f"{name}: {exc}") from None


def remote_key_source(
    issuer: Issuer,
    *,
    jwks_url: str | None,
    discovery: bool | str,
    options: RemoteOptions | None = None,
    algorithms: frozenset[str] | None = None,
) -> KeySource:
    """The key source for ``Issuer(jwks_url=...)`` or ``Issuer(discovery=...)``.

    ``algorithms`` are the ones its keys may serve (default: the issuer's).
    """
    if discovery is True:
        if issuer.issuer is None:
            raise ConfigurationError("discovery: needs the issuer, whose URL it starts from")
        discovery = discovery_url(issuer.issuer)
    if discovery is not False and (not isinstance(discovery, str) or not discovery):
        raise ConfigurationError("discovery: must be True or the URL of the OpenID configuration")
    return RemoteKeys(
        jwks_url,
        discovery=discovery if isinstance(discovery, str) else None,
        expected_issuer=issuer.issuer,
        algorithms=issuer.algorithms if algorithms is None else algorithms,
        options=options,
    )
