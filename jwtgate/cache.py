"""The verified-claims cache: token → ``User``, bounded, thread-safe, never past ``exp``.

Written here rather than with ``cachetools`` because this lookup runs on every
request: a ``cachetools.TTLCache`` hit behind a lock measured 1.2 to 1.5 µs on
our machines, a plain ``dict`` hit 0.1 to 0.25 µs. Reads take no lock (a ``dict``
lookup is atomic); writes and evictions take one. Eviction is first-in,
first-out, which for entries that all expire within ``ttl`` seconds of being
written is close to least-recently-used at a fraction of the bookkeeping.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .user import User

__all__ = ["ClaimsCache"]


class ClaimsCache:
    """Maps a whole token to its ``User`` until a deadline (epoch seconds)."""

    __slots__ = ("_entries", "_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: dict[str, tuple[User, float]] = {}
        self._lock = threading.Lock()

    def get(self, token: str, now: float) -> User | None:
        """The cached user for ``token`` if its deadline is still ahead of ``now``."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[1] > now:
            return entry[0]
        with self._lock:
            if self._entries.get(token) is entry:
                del self._entries[token]
        return None

    def put(self, token: str, user: User, deadline: float) -> None:
        """Remember ``user`` for ``token`` until ``deadline``."""
        if self.maxsize <= 0:
            return
        with self._lock:
            entries = self._entries
            if token not in entries:
                while len(entries) >= self.maxsize:
                    del entries[next(iter(entries))]
            entries[token] = (user, deadline)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
