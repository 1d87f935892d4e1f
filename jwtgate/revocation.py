"""Revocation: refuse tokens before they expire, in one process or across every worker.

``MemoryRevocations`` keeps revocations in the process; ``RedisRevocations``
shares them through Redis. Both have one API, sync and ``*_async``:
``revoke(user)`` (that token until its ``exp``), ``revoke_subject(sub)``
(every token of ``sub`` issued until now), ``revoke_session(sid)`` and
``restore_subject(sub)``. Pass either to ``Gate(is_revoked=store)``.

How a check stays free: every process keeps all current revocations in
memory (they are few: each lives only while a token it covers can still be
valid) and answers from there, so no request waits on the network. A
``RedisRevocations`` process loads them when it starts and is told of each
change by Redis pub/sub as it happens; while that channel is down, whether a
token was revoked elsewhere is unknown, and ``on_error`` decides: ``"deny"``
answers 503 with ``Retry-After`` (the default), ``"allow"`` accepts and logs
a warning. It reconnects by itself.

What is recorded, never the token itself: a token's ``jti`` with its
``iss``, or for a token without ``jti`` a SHA-256 digest of its signed part
(header and payload), which an ECDSA signature twin shares, so a re-encoded
signature does not escape the revocation.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import math
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, cast
from urllib.parse import urlsplit

from .errors import AuthError, ConfigurationError, RevocationUnavailable, RevokedToken
from .issuer import MAX_LEEWAY
from .jws import parse
from .logs import Throttle, logger
from .user import User

if TYPE_CHECKING:
    from .observe import Observer

__all__ = [
    "DEFAULT_MAX_TOKEN_LIFETIME",
    "MemoryRevocations",
    "RedisRevocations",
    "RevocationCheck",
    "RevocationError",
    "RevocationStore",
    "revocation_check",
    "token_key",
]

#: How long a subject or session revocation lasts unless told: a day, the
#: longest default token lifetime among the common providers (Auth0's).
DEFAULT_MAX_TOKEN_LIFETIME: Final = 86_400.0
#: The claims a session id is read from: OpenID Connect's ``sid``, GoTrue's and Supabase's.
SESSION_CLAIMS: Final = ("sid", "session_id")
_KINDS: Final = ("token", "subject", "session")

OnError = Literal["deny", "allow"]
#: What a check concluded: the token is revoked, it is not, or (``on_error="allow"``)
#: it was accepted without the store being in sync.
Outcome = Literal["revoked", "not_revoked", "fail_open"]


class RevocationError(Exception):
    """A change to the shared store was not confirmed (Redis is unreachable or too slow).

    The process that asked applies it anyway; other processes may not know
    of it, or learn of it later if Redis still carries it out: revoking is
    idempotent, so try again. The message names the store's host, never its
    password.
    """


# A token's key in the store: ("jti", iss, jti) or ("sha256", hex digest of its signed part).
TokenKey = tuple[str, ...]


#: How many tokens' keys a store remembers (see ``RevocationStore._keys_of``).
_KEYS_REMEMBERED: Final = 8192


def _digest(token: str) -> TokenKey:
    signed = token[: token.rfind(".")]
    return ("sha256", hashlib.sha256(signed.encode("utf-8", "replace")).hexdigest())


def token_key(user: User | str) -> tuple[TokenKey, float | None]:
    """The key a token is revoked under, and its ``exp`` (``None`` if it has none).

    ``user`` is a ``User`` or a token's text, which is parsed but not
    verified: recording a forged token's key can only refuse more.
    """
    if isinstance(user, User):
        claims: Mapping[str, Any] = user.claims
        issuer, token = user.issuer, user.token
    elif isinstance(user, str):
        claims = parse(user.strip()).claims
        iss = claims.get("iss")
        issuer, token = (iss if isinstance(iss, str) else None), user.strip()
    else:
        raise TypeError("revoke: give a User or a token")
    jti = claims.get("jti")
    exp = claims.get("exp")
    until = float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
    if isinstance(jti, str):
        return ("jti", issuer or "", jti), until
    return _digest(token), until


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _issued_by(user: User, cutoff: float, lifetime: float) -> bool:
    """Whether ``user``'s token may have been issued at or before ``cutoff``.

    By its ``iat``. A token without ``iat`` can't show when it was issued:
    it counts as issued before unless it expires later than a token issued
    at ``cutoff`` with the longest lifetime could (``lifetime``).
    """
    claims = user.claims
    iat = claims.get("iat")
    if isinstance(iat, int | float) and not isinstance(iat, bool):
        return iat <= cutoff
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return exp <= cutoff + lifetime
    return True


class RevocationStore:
    """What both stores share: the API, and the in-memory copy every check reads.

    A subject revocation refuses the subject's tokens (from any issuer)
    whose ``iat`` is at or before the moment of revocation, until
    ``restore_subject`` or until ``max_token_lifetime`` has passed, which
    must be at least the longest lifetime of a token. A token without
    ``iat`` (Netlify Identity's) is refused unless its ``exp`` is later than
    revocation time + ``max_token_lifetime``: set that to the provider's
    token lifetime (3600 for Netlify) and a user who signs in again after
    the revocation is let in; a token without ``iat`` nor ``exp`` is
    refused. A session revocation refuses every token carrying that session
    id (``sid`` or ``session_id``, ``session_claims``).
    """

    on_error: OnError = "deny"

    def __init__(
        self,
        *,
        max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME,
        session_claims: Iterable[str] = SESSION_CLAIMS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (
            not _number(max_token_lifetime)
            or not 60 <= max_token_lifetime <= 366 * 86_400
            or math.isnan(max_token_lifetime)
        ):
            raise ConfigurationError(
                "max_token_lifetime: must be a number of seconds between 60 and a year"
            )
        if isinstance(session_claims, str):
            raise ConfigurationError("session_claims: must be a list of claim names")
        names = tuple(session_claims)
        if not all(isinstance(n, str) and n for n in names):
            raise ConfigurationError("session_claims: must be a list of claim names")
        if not callable(clock):
            raise ConfigurationError("clock: must be a callable returning epoch seconds")
        self.max_token_lifetime = float(max_token_lifetime)
        self.session_claims = names
        self._clock = clock
        self._lock = threading.Lock()
        # The in-memory copy. Checks read these without a lock (a dict lookup is
        # atomic); writers replace entries under the lock.
        self._tokens: dict[TokenKey, float] = {}  # key -> until
        self._subjects: dict[str, tuple[float, float]] = {}  # sub -> (cutoff, until)
        self._sessions: dict[str, float] = {}  # sid -> until
        self._keys: dict[str, tuple[tuple[str, ...], TokenKey]] = {}  # token -> _keys_of
        #: False while this process can't be sure its copy is current (Redis only).
        self._healthy = True
        self._last_sweep = 0.0

    # --- the API -------------------------------------------------------------------

    def revoke(self, user: User | str) -> None:
        """Refuse this token (a ``User``, or a token's text) from now until it expires."""
        key, exp = token_key(user)
        self._record("token", _token_ident(key), None, self._token_until(exp))

    def revoke_subject(self, sub: str, *, before: float | None = None) -> None:
        """Refuse every token of ``sub`` issued at or before now (or ``before``, epoch seconds).

        Tokens the subject gets afterwards are accepted. The revocation lasts
        ``max_token_lifetime``, by when every token it covers has expired.
        """
        cutoff = self._cutoff(before)
        self._record("subject", _checked_id("sub", sub), cutoff, cutoff + self.max_token_lifetime)

    def revoke_session(self, sid: str) -> None:
        """Refuse every token carrying session id ``sid``, for ``max_token_lifetime``."""
        now = self._clock()
        self._record("session", _checked_id("sid", sid), now, now + self.max_token_lifetime)

    def restore_subject(self, sub: str) -> None:
        """Undo ``revoke_subject``: the subject's earlier tokens are accepted again."""
        self._erase("subject", _checked_id("sub", sub))

    async def revoke_async(self, user: User | str) -> None:
        """``revoke`` for asyncio."""
        key, exp = token_key(user)
        await self._record_async("token", _token_ident(key), None, self._token_until(exp))

    async def revoke_subject_async(self, sub: str, *, before: float | None = None) -> None:
        """``revoke_subject`` for asyncio."""
        cutoff = self._cutoff(before)
        await self._record_async(
            "subject", _checked_id("sub", sub), cutoff, cutoff + self.max_token_lifetime
        )

    async def revoke_session_async(self, sid: str) -> None:
        """``revoke_session`` for asyncio."""
        now = self._clock()
        await self._record_async(
            "session", _checked_id("sid", sid), now, now + self.max_token_lifetime
        )

    async def restore_subject_async(self, sub: str) -> None:
        """``restore_subject`` for asyncio."""
        await self._erase_async("subject", _checked_id("sub", sub))

    def is_revoked(self, user: User) -> bool:
        """True when ``user``'s token is revoked.

        Raises ``RevocationUnavailable`` when the store can't tell and fails
        closed; never waits longer than the store's timeout.
        """
        return self.decide(user) == "revoked"

    async def is_revoked_async(self, user: User) -> bool:
        """``is_revoked`` for asyncio: never blocks the event loop."""
        return await self.decide_async(user) == "revoked"

    def decide(self, user: User) -> Outcome:
        """What a check concludes: ``"revoked"``, ``"not_revoked"`` or ``"fail_open"``."""
        return "revoked" if self._revoked_here(user) else "not_revoked"

    async def decide_async(self, user: User) -> Outcome:
        """``decide`` for asyncio."""
        return self.decide(user)

    # --- the in-memory copy ----------------------------------------------------------

    def vouch(self, user: User) -> bool:
        """The adapters' per-request check: True when revoked, or when only ``decide`` can tell.

        Reads memory only: never blocks, never raises, safe on an event loop.
        """
        if self._healthy:
            return self._revoked_here(user)
        return True

    def _revoked_here(self, user: User) -> bool:
        """Whether the in-memory copy revokes ``user``'s token."""
        subjects = self._subjects
        if subjects:
            found = subjects.get(user.subject)  # type: ignore[arg-type]
            if (
                found is not None
                and found[1] > self._clock()
                and _issued_by(user, found[0], self.max_token_lifetime)
            ):
                return True
        sessions, tokens = self._sessions, self._tokens
        if sessions or tokens:
            keys = self._keys.get(user.token)
            if keys is None:
                keys = self._keys_of(user)
            if sessions:
                for sid in keys[0]:
                    until = sessions.get(sid)
                    if until is not None and until > self._clock():
                        return True
            if tokens:
                until = tokens.get(keys[1])
                if until is not None and until > self._clock():
                    return True
        return False

    def _keys_of(self, user: User) -> tuple[tuple[str, ...], TokenKey]:
        """A token's session ids and its key, remembered for the next request with it.

        A plain dict, cleared when full: this is read on every request while
        any token or session revocation exists, and a dict hit (about 20 ns,
        the token's hash being cached) beats reading the claims again (150 ns)
        and a locked ``cachetools.LRUCache`` (260 ns).
        """
        claims = user.claims
        sids = tuple(
            sid for name in self.session_claims if isinstance(sid := claims.get(name), str)
        )
        keys = (sids, token_key(user)[0])
        if len(self._keys) >= _KEYS_REMEMBERED:
            self._keys.clear()
        self._keys[user.token] = keys
        return keys

    def _put(self, kind: str, ident: str, at: float | None, until: float) -> None:
        """Add an entry to the in-memory copy (the caller holds the lock)."""
        _add(self._tokens, self._subjects, self._sessions, kind, ident, at, until)

    def _drop(self, kind: str, ident: str) -> None:
        """Remove an entry from the in-memory copy (the caller holds the lock)."""
        if kind == "subject":
            self._subjects.pop(ident, None)
        elif kind == "session":
            self._sessions.pop(ident, None)
        elif kind == "token":
            key = _token_key_of(ident)
            if key is not None:
                self._tokens.pop(key, None)

    def _sweep(self) -> None:
        """Forget expired entries, at most once a minute (the caller holds the lock)."""
        now = self._clock()
        if now - self._last_sweep < 60:
            return
        self._last_sweep = now
        self._tokens = {k: u for k, u in self._tokens.items() if u > now}
        self._subjects = {k: v for k, v in self._subjects.items() if v[1] > now}
        self._sessions = {k: u for k, u in self._sessions.items() if u > now}

    def _remember(self, kind: str, ident: str, at: float | None, until: float | None) -> None:
        with self._lock:
            self._sweep()
            self._put(kind, ident, at, math.inf if until is None else until)

    def _forget(self, kind: str, ident: str) -> None:
        with self._lock:
            self._drop(kind, ident)

    # --- storage: in memory here, shared in RedisRevocations -----------------------

    def _record(self, kind: str, ident: str, at: float | None, until: float | None) -> None:
        self._remember(kind, ident, at, until)

    def _erase(self, kind: str, ident: str) -> None:
        self._forget(kind, ident)

    async def _record_async(
        self, kind: str, ident: str, at: float | None, until: float | None
    ) -> None:
        self._record(kind, ident, at, until)

    async def _erase_async(self, kind: str, ident: str) -> None:
        self._erase(kind, ident)

    # --- helpers -----------------------------------------------------------------

    def _token_until(self, exp: float | None) -> float | None:
        # Kept past exp by the most leeway an issuer may allow; a token without
        # exp never expires, and neither does its revocation.
        return None if exp is None else exp + MAX_LEEWAY

    def _cutoff(self, before: float | None) -> float:
        if before is None:
            return float(math.floor(self._clock()))
        if not _number(before) or not math.isfinite(before):
            raise ValueError("before: must be epoch seconds")
        return float(before)

    def __len__(self) -> int:
        """How many revocations the in-memory copy holds now."""
        return len(self._tokens) + len(self._subjects) + len(self._sessions)


class MemoryRevocations(RevocationStore):
    """Revocations kept in this process: for one-process apps, tests and development.

    Every check answers from memory; nothing is shared with other processes.
    """

    def __repr__(self) -> str:
        return f"MemoryRevocations(entries={len(self)})"


class RedisRevocations(RevocationStore):
    """Revocations shared through Redis by every worker on every machine.

    ``url``: ``redis://``, ``rediss://`` (TLS) or ``unix://`` with the
    database, e.g. ``"redis://redis.internal:6379/0"``. ``prefix`` starts
    every key and the pub/sub channel. ``on_error``: what a check answers
    while the store is out of sync (Redis unreachable or too slow):
    ``"deny"`` (503 with ``Retry-After: retry_after``) or ``"allow"`` (the
    token is accepted, and a warning logged). ``timeout`` (seconds) bounds
    every wait on Redis: a connection, a command, a first load, a heartbeat's
    answer. ``heartbeat``: how often an idle subscription is checked, so a
    silently lost connection is noticed within ``heartbeat + timeout``.

    Each process starts its subscriber thread on its first check (or
    ``start()``), also after a fork. ``close()`` stops it.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "jwtgate:",
        on_error: OnError = "deny",
        timeout: float = 0.5,
        heartbeat: float = 1.0,
        retry_after: int = 5,
        max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME,
        session_claims: Iterable[str] = SESSION_CLAIMS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            max_token_lifetime=max_token_lifetime, session_claims=session_claims, clock=clock
        )
        try:
            import redis  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "RedisRevocations needs redis-py (jwtgate's redis extra): pip install redis"
            ) from None
        if not isinstance(url, str) or urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigurationError(
                'url: must be a redis://, rediss:// or unix:// URL, e.g. "redis://localhost:6379/0"'
            )
        if not isinstance(prefix, str):
            raise ConfigurationError('prefix: must be a string such as "jwtgate:"')
        if on_error not in ("deny", "allow"):
            raise ConfigurationError(
                'on_error: must be "deny" (fail closed) or "allow" (fail open)'
            )
        for name, value, low, high in (
            ("timeout", timeout, 0.01, 30),
            ("heartbeat", heartbeat, 0.05, 60),
        ):
            if not _number(value) or not low <= value <= high:
                raise ConfigurationError(f"{name}: must be a number of seconds in [{low}, {high}]")
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 1:
            raise ConfigurationError("retry_after: must be a whole number of seconds ≥ 1")
        self.url = url
        self.prefix = prefix
        self.on_error = on_error
        self.timeout = float(timeout)
        self.heartbeat = float(heartbeat)
        self.retry_after = retry_after
        self.channel = prefix + "revocations"
        #: Where the store is, for messages: the URL without its password.
        self.location = _redact(url)
        self._healthy = False
        self._throttle = Throttle(10.0)
        self._reset_process_state()
        _FORKED.add(self)

    # --- process state -------------------------------------------------------------

    def _reset_process_state(self) -> None:
        """Forget everything tied to this process: its thread, its connections (also after fork)."""
        self._lock = threading.Lock()
        self._healthy = False
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._synced: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._synced.set_running_or_notify_cancel()  # a waiter's cancellation must not cancel it
        self._client: Any = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._outage: str | None = None

    def start(self) -> None:
        """Start following Redis in this process, if not already (checks do this themselves)."""
        with self._lock:
            if self._pid != os.getpid():  # pragma: no cover - at-fork hook resets it first
                self._reset_process_state()
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._follow, name="jwtgate-revocations", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop following Redis and close the connections (a later check starts again)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + self.heartbeat + 1)
        self._healthy = False
        self._synced = concurrent.futures.Future()
        self._synced.set_running_or_notify_cancel()
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def wait_until_synced(self, timeout: float | None = None) -> bool:
        """Start if needed; wait at most ``timeout`` (default: the store's) for the first load."""
        self.start()
        try:
            self._synced.result(timeout=self.timeout if timeout is None else timeout)
        except concurrent.futures.TimeoutError:
            return False
        return self._healthy

    def __enter__(self) -> RedisRevocations:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- checks ----------------------------------------------------------------------

    def decide(self, user: User) -> Outcome:
        if not self._healthy:
            if not self._synced.done():
                self.wait_until_synced()
            if not self._healthy:
                return self._out_of_sync(user)
        return "revoked" if self._revoked_here(user) else "not_revoked"

    async def decide_async(self, user: User) -> Outcome:
        if not self._healthy:
            if not self._synced.done():
                self.start()
                await asyncio.wait({asyncio.wrap_future(self._synced)}, timeout=self.timeout)
            if not self._healthy:
                return self._out_of_sync(user)
        return "revoked" if self._revoked_here(user) else "not_revoked"

    def _out_of_sync(self, user: User) -> Outcome:
        """The policy while revocations made elsewhere may be missing here."""
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            self.start()
        if self.on_error == "deny":
            self._warn_out_of_sync("refusing tokens with 503", "refused")
            raise RevocationUnavailable(retry_after=self.retry_after)
        if self._revoked_here(user):  # what is known is still refused
            return "revoked"
        self._warn_out_of_sync(
            "accepting a token without an up-to-date revocation check", "accepted"
        )
        return "fail_open"

    def _warn_out_of_sync(self, doing: str, done: str) -> None:
        """Say what the ``on_error`` policy does, a line at most as often as the throttle lets."""
        held = self._throttle.allow(self.on_error)
        if held is not None:
            logger.warning(
                "jwtgate: %s: the revocations at %s are unavailable (%s; on_error='%s')%s",
                doing,
                self.location,
                self._outage or "not loaded yet",
                self.on_error,
                f"; {held} more {done} since the last line" if held else "",
            )

    # --- writes ----------------------------------------------------------------------

    def _record(self, kind: str, ident: str, at: float | None, until: float | None) -> None:
        writes = self._recording(kind, ident, at, until)
        if writes is not None:
            self._write(writes, "recorded")

    def _erase(self, kind: str, ident: str) -> None:
        self._write(self._erasing(kind, ident), "removed")

    async def _record_async(
        self, kind: str, ident: str, at: float | None, until: float | None
    ) -> None:
        writes = self._recording(kind, ident, at, until)
        if writes is not None:
            await self._write_async(writes, "recorded")

    async def _erase_async(self, kind: str, ident: str) -> None:
        await self._write_async(self._erasing(kind, ident), "removed")

    def _recording(
        self, kind: str, ident: str, at: float | None, until: float | None
    ) -> Callable[[Any], None] | None:
        """Remember an entry here, then what queues it on a Redis pipeline and tells the
        other workers; ``None`` when nothing it covers is valid any more."""
        self._remember(kind, ident, at, until)  # refused here at once, whatever Redis says
        key, value, message = self._entry(kind, ident, at, until)
        if until is not None and until <= self._clock():
            return None

        def writes(pipe: Any) -> None:
            if until is None:
                pipe.set(key, value)
            else:
                pipe.set(key, value, pxat=math.ceil(until * 1000))
            pipe.publish(self.channel, message)

        return writes

    def _erasing(self, kind: str, ident: str) -> Callable[[Any], None]:
        """Forget an entry here, then what queues its removal on a Redis pipeline."""
        self._forget(kind, ident)
        message = json.dumps({"op": "del", "kind": kind, "id": ident}, separators=(",", ":"))

        def writes(pipe: Any) -> None:
            pipe.delete(self._key(kind, ident))
            pipe.publish(self.channel, message)

        return writes

    def _write(self, writes: Callable[[Any], None], doing: str) -> None:
        """``writes`` in one Redis transaction; a failure is a ``RevocationError``."""
        try:
            with self._sync_client().pipeline(transaction=True) as pipe:
                writes(pipe)
                pipe.execute()
        except Exception as exc:
            raise RevocationError(self._failure(doing, exc)) from None

    async def _write_async(self, writes: Callable[[Any], None], doing: str) -> None:
        """``_write`` on the event loop, within the store's timeout."""
        try:
            async with asyncio.timeout(self.timeout):
                async with self._async_client().pipeline(transaction=True) as pipe:
                    writes(pipe)
                    await pipe.execute()
        except Exception as exc:
            raise RevocationError(self._failure(doing, exc)) from None

    def _entry(
        self, kind: str, ident: str, at: float | None, until: float | None
    ) -> tuple[str, str, str]:
        """The key, value and pub/sub message of an entry."""
        value = {"at": at, "until": until}
        message = {"op": "set", "kind": kind, "id": ident, **value}
        return (
            self._key(kind, ident),
            json.dumps(value, separators=(",", ":")),
            json.dumps(message, separators=(",", ":")),
        )

    def _key(self, kind: str, ident: str) -> str:
        return f"{self.prefix}revoked:{kind}:{ident}"

    def _failure(self, doing: str, exc: BaseException) -> str:
        return (
            f"could not confirm the change at {self.location} ({_reason(exc)}): "
            f"it may not be {doing}; try again"
        )

    # --- clients -----------------------------------------------------------------------

    def _make_client(self) -> Any:
        import redis
        from redis.retry import Retry

        return redis.Redis.from_url(self.url, **self._client_options(Retry))

    def _client_options(self, retry: Any) -> dict[str, Any]:
        """How every client connects, given redis' sync or asyncio ``Retry`` class.

        No retries: every wait is bounded by one timeout, and the policy, not a
        retry loop, decides what a request gets while Redis is away.
        """
        from redis.backoff import NoBackoff

        return {
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
            "decode_responses": True,
            "encoding_errors": "replace",
            "retry": retry(NoBackoff(), 0),
        }

    def _sync_client(self) -> Any:
        client = self._client
        if client is None or self._pid != os.getpid():
            client = self._client = self._make_client()
        return client

    def _async_client(self) -> Any:
        import redis.asyncio
        from redis.asyncio.retry import Retry

        # A redis.asyncio client belongs to the event loop it first ran on.
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(self.url, **self._client_options(Retry))
            self._async_clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close this event loop's connections (``close()`` stops the subscriber)."""
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    # --- the subscriber ------------------------------------------------------------------

    def _follow(self) -> None:
        """The subscriber thread: load, then apply pushed changes; reconnect when lost."""
        pause = 0.05
        while not self._stop.is_set():
            try:
                self._follow_once()
                pause = 0.05
            except Exception as exc:
                self._lost(exc)
            if self._stop.wait(pause):
                break
            pause = min(pause * 2, max(self.heartbeat, 0.5))
        self._healthy = False

    def _follow_once(self) -> None:
        client = self._make_client()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            # Subscribe first, then load: a change made during the load arrives
            # as a message afterwards and is applied on top of it, in order.
            pubsub.subscribe(self.channel)
            entries = self._load(client)
            tokens: dict[TokenKey, float] = {}
            subjects: dict[str, tuple[float, float]] = {}
            sessions: dict[str, float] = {}
            for kind, ident, at, until in entries:
                _add(tokens, subjects, sessions, kind, ident, at, until)
            with self._lock:  # replaced whole: a check never sees a half-loaded copy
                lost = self._lost_entries(tokens, subjects, sessions)
                self._tokens, self._subjects, self._sessions = tokens, subjects, sessions
            if lost:
                logger.warning(
                    "jwtgate: %d revocations known here are no longer in %s (restored "
                    "meanwhile, or lost by a Redis restarted without persistence)",
                    lost,
                    self.location,
                )
            while (message := pubsub.get_message(timeout=0)) is not None:
                self._apply(message)
            self._synced_now()
            # A heartbeat: a PING on the subscription whenever it was idle for
            # `heartbeat` seconds; no PONG within `timeout` means the link is lost.
            pinged = time.monotonic()
            waiting = False
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=min(0.25, self.heartbeat))
                now = time.monotonic()
                if message is not None:
                    if message.get("type") == "pong":
                        waiting = False
                    elif message.get("type") == "message":
                        self._apply(message)
                if waiting and now - pinged > self.timeout:
                    raise TimeoutError(f"no answer to a heartbeat within {self.timeout:g} s")
                if not waiting and now - pinged >= self.heartbeat:
                    pubsub.ping()
                    pinged, waiting = now, True
                with self._lock:
                    self._sweep()
        finally:
            try:
                pubsub.close()
            finally:
                client.close()

    def _load(self, client: Any) -> list[tuple[str, str, float | None, float]]:
        """Every entry in Redis now (a SCAN of the prefix, then MGET by batches)."""
        head = f"{self.prefix}revoked:"
        keys = list(client.scan_iter(match=_glob_escape(head) + "*", count=1000))
        entries: list[tuple[str, str, float | None, float]] = []
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            for key, raw in zip(batch, client.mget(batch), strict=True):
                kind, _, ident = key[len(head) :].partition(":")
                parsed = _parse_value(raw)
                if kind in _KINDS and ident and parsed is not None:
                    entries.append((kind, ident, *parsed))
        return entries

    def _lost_entries(
        self,
        tokens: dict[TokenKey, float],
        subjects: dict[str, tuple[float, float]],
        sessions: dict[str, float],
    ) -> int:
        """How many unexpired entries known here a reload does not have."""
        now = self._clock()
        return (
            sum(1 for k, u in self._tokens.items() if u > now and k not in tokens)
            + sum(1 for k, v in self._subjects.items() if v[1] > now and k not in subjects)
            + sum(1 for k, u in self._sessions.items() if u > now and k not in sessions)
        )

    def _apply(self, message: Mapping[str, Any]) -> None:
        """Apply one pushed change; anything malformed is ignored (and logged)."""
        try:
            change = json.loads(message["data"])
            op, kind, ident = change["op"], change["kind"], change["id"]
            if kind not in _KINDS or not isinstance(ident, str) or not ident:
                raise ValueError(kind)
            parsed = _times(change.get("at"), change.get("until"))
            if op not in ("set", "del") or (op == "set" and parsed is None):
                raise ValueError(op)
        except (ValueError, KeyError, TypeError):
            logger.warning("jwtgate: ignoring a malformed message on %s", self.channel)
            return
        if op == "del":
            self._forget(kind, ident)
        elif parsed is not None:
            with self._lock:
                self._put(kind, ident, *parsed)

    def _synced_now(self) -> None:
        if self._outage is not None:
            logger.warning(
                "jwtgate: the revocations at %s are reachable again and in sync", self.location
            )
        self._outage = None
        self._healthy = True
        if not self._synced.done():
            self._synced.set_result(None)

    def _lost(self, exc: BaseException) -> None:
        self._healthy = False
        reason = _reason(exc)
        if self._outage is None:
            logger.warning(
                "jwtgate: the revocations at %s are unreachable (%s); %s until they are back",
                self.location,
                reason,
                "requests with a token get 503"
                if self.on_error == "deny"
                else "tokens are accepted without an up-to-date revocation check",
            )
        self._outage = reason
        if not self._synced.done():
            self._synced.set_result(None)  # the first load failed: waiters apply the policy

    def __repr__(self) -> str:
        return (
            f"RedisRevocations({self.location!r}, prefix={self.prefix!r}, "
            f"on_error={self.on_error!r})"
        )


# --- the gate's side ---------------------------------------------------------------


def _ask_the_gate(user: User) -> bool:
    """The fast check of a hook that can't be called inline: always "ask the slow path"."""
    return True


class RevocationCheck:
    """How a ``Gate`` asks whether a user is revoked, whatever ``is_revoked`` it was given.

    ``inline`` is the check the WSGI adapter's cache-hit path calls (True:
    refuse, or let the gate decide); ``on_loop`` the one the ASGI adapter's
    calls, which must never block. ``check`` and ``check_async`` raise
    ``RevokedToken`` or ``RevocationUnavailable``.
    """

    __slots__ = ("_hook", "_is_async", "_store", "inline", "observer", "on_loop")

    def __init__(self, is_revoked: Any, observer: Observer | None = None) -> None:
        self.observer = observer
        self._store: RevocationStore | None = None
        self._hook: Callable[[User], Any] | None = None
        self._is_async = False
        if isinstance(is_revoked, RevocationStore):
            self._store = is_revoked
            self.inline: Callable[[User], bool] = is_revoked.vouch
            self.on_loop: Callable[[User], bool] = is_revoked.vouch
        elif callable(is_revoked):
            from asgiref.sync import iscoroutinefunction

            self._hook = is_revoked
            # A coroutine function, or an object whose __call__ is one.
            self._is_async = iscoroutinefunction(is_revoked) or iscoroutinefunction(
                type(is_revoked).__call__
            )
            self.inline = _ask_the_gate if self._is_async else is_revoked
            self.on_loop = _ask_the_gate
        else:
            raise ConfigurationError(
                "is_revoked: must be a revocation store (MemoryRevocations, RedisRevocations), "
                "a callable taking a User, or None"
            )

    def check(self, user: User) -> None:
        """Raise ``RevokedToken`` (or ``RevocationUnavailable``) unless ``user`` may pass."""
        started = time.perf_counter()
        try:
            if self._store is not None:
                outcome = self._store.decide(user)
            else:
                hook = cast("Callable[[User], Any]", self._hook)
                if self._is_async:
                    from asgiref.sync import async_to_sync

                    outcome = _outcome(async_to_sync(hook)(user))
                else:
                    outcome = _outcome(hook(user))
        except Exception as error:
            raise self._failure(error, started) from None
        self._conclude(outcome, started)

    async def check_async(self, user: User) -> None:
        """``check`` for asyncio: a store reads memory, an async hook is awaited, a sync one
        runs in a worker thread (asgiref's ``sync_to_async``), never on the event loop."""
        started = time.perf_counter()
        try:
            if self._store is not None:
                outcome = await self._store.decide_async(user)
            else:
                hook = cast("Callable[[User], Any]", self._hook)
                if self._is_async:
                    outcome = _outcome(await _awaitable(hook(user)))
                else:
                    from asgiref.sync import sync_to_async

                    outcome = _outcome(await sync_to_async(hook, thread_sensitive=False)(user))
        except Exception as error:
            raise self._failure(error, started) from None
        self._conclude(outcome, started)

    def _conclude(self, outcome: str, started: float) -> None:
        self._report(outcome, started)
        if outcome == "revoked":
            raise RevokedToken()

    def _failure(self, error: Exception, started: float) -> Exception:
        """What a check that failed raises: a jwtgate error as it is, anything else
        (a failing hook) logged and made ``RevocationUnavailable``."""
        self._report("unavailable", started)
        if isinstance(error, AuthError):
            return error
        logger.exception("jwtgate: the is_revoked hook failed; the token is refused with 503")
        return RevocationUnavailable()

    def _report(self, outcome: str, started: float) -> None:
        if self.observer is not None:
            self.observer.revocation_checked(outcome=outcome, seconds=time.perf_counter() - started)


def _outcome(revoked: object) -> Outcome:
    """A hook's answer as a check's outcome."""
    return "revoked" if revoked else "not_revoked"


async def _awaitable(value: Awaitable[Any] | Any) -> Any:
    return await value


def revocation_check(is_revoked: Any, observer: Observer | None = None) -> RevocationCheck | None:
    """The gate's ``RevocationCheck`` for its ``is_revoked`` argument (``None`` for none)."""
    return None if is_revoked is None else RevocationCheck(is_revoked, observer)


# --- helpers -------------------------------------------------------------------------


def _add(
    tokens: dict[TokenKey, float],
    subjects: dict[str, tuple[float, float]],
    sessions: dict[str, float],
    kind: str,
    ident: str,
    at: float | None,
    until: float,
) -> None:
    """Add one entry to an in-memory copy's three tables."""
    if kind == "token":
        key = _token_key_of(ident)
        if key is not None:
            tokens[key] = until
    elif kind == "subject":
        subjects[ident] = (at if at is not None else until, until)
    elif kind == "session":
        sessions[ident] = until


def _checked_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: must be a non-empty string")
    return value


def _token_ident(key: TokenKey) -> str:
    """A token key as text, for Redis keys and messages."""
    if key[0] == "jti":
        return "jti:" + json.dumps([key[1], key[2]], separators=(",", ":"), ensure_ascii=False)
    return f"sha256:{key[1]}"


def _token_key_of(ident: str) -> TokenKey | None:
    """``_token_ident`` undone; ``None`` for text that is neither form."""
    kind, _, rest = ident.partition(":")
    if kind == "sha256" and len(rest) == 64:
        return ("sha256", rest)
    if kind == "jti":
        try:
            iss, jti = json.loads(rest)
        except (ValueError, TypeError):
            return None
        if isinstance(iss, str) and isinstance(jti, str):
            return ("jti", iss, jti)
    return None


def _parse_value(raw: Any) -> tuple[float | None, float] | None:
    """An entry's ``(at, until)`` from its stored JSON; ``None`` when malformed."""
    if not isinstance(raw, str):
        return None
    try:
        value = json.loads(raw)
        return _times(value["at"], value["until"])
    except (ValueError, TypeError, KeyError):
        return None


def _times(at: Any, until: Any) -> tuple[float | None, float] | None:
    """``(at, until)`` checked: numbers, ``until`` infinite when ``None``; else ``None``."""
    if at is not None and not _number(at):
        return None
    if until is None:
        return at, math.inf
    if not _number(until):
        return None
    return at, float(until)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _redact(url: str) -> str:
    """``url`` without its user name and password (which must never reach a log)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _reason(exc: BaseException) -> str:
    """A one-line reason for a Redis failure, without the URL (it may hold a password)."""
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    if "@" in text or "://" in text:
        text = ""
    return f"{name}: {text}" if text else name


# Each store starts over in a forked child: its thread and connections stayed in the parent.
_FORKED: weakref.WeakSet[RedisRevocations] = weakref.WeakSet()


def _after_fork() -> None:  # pragma: no cover - runs in forked children
    for store in list(_FORKED):
        store._reset_process_state()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
