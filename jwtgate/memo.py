"""The adapters' memo: a request's raw credential values → what was built for them.

Both adapters answer a repeated request from it without reading a token or
asking the gate to find one: the key is every raw value the gate's sources
read (the ``Authorization`` header, the ``Cookie`` header, a custom header,
the query string), so equal values always make the gate find the same token
in the same source. An adapter uses an entry only while ``Gate.still_valid``
vouches for its user (cached, unexpired, not revoked), so a memo is never
more lenient than the gate.

Written here rather than with ``cachetools`` for the same reason as the
claims cache: this lookup runs on every request. Entries are filed under the
last ``TAIL`` characters of the raw value and hold the whole value, which a
hit compares in full: hashing a fresh 1 KB header costs about 0.3 µs a
request, comparing it with the stored one a few nanoseconds. The tail of a
token is its signature, so two values share a tail only by forgery, and a
forged value only ever misses (it fails the comparison, and a forged token
is never stored).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final, Generic, TypeVar, cast

from .sources import BearerSource, CookieSource, HeaderSource, QuerySource, Source

__all__ = ["MEMO_SIZE", "TAIL", "UNKEYABLE", "CredentialMemo", "credential_places"]

#: How many distinct credential values an adapter remembers.
MEMO_SIZE: Final = 4096
#: How many trailing characters of a raw value (or items of a tuple) file its entry.
TAIL: Final = 32


class _Unkeyable:
    """The key of a request a memo must not answer (a custom source, a header sent twice)."""


#: The memo key of such a request: it always goes to the gate, and nothing is remembered.
UNKEYABLE: Final[Any] = _Unkeyable()

#: What a memo entry holds: the raw value first, then the adapter's own items.
EntryT = TypeVar("EntryT", bound=tuple[Any, ...])


class CredentialMemo(Generic[EntryT]):
    """Raw credential value (``str``, ``bytes`` or a tuple of them) → an entry, bounded.

    An entry is a tuple whose first item is the raw value it was built for.
    Adapters inline the read: ``entry = memo.entries[raw[-TAIL:]]`` (a
    subscript is cheaper than a ``get`` call), then ``entry[0] == raw`` (a
    tuple of at most ``TAIL`` items slices to itself). Reads take no lock (a
    ``dict`` lookup is atomic); writes take one, and evict the oldest entry
    first once ``maxsize`` are held.
    """

    __slots__ = ("_lock", "entries", "maxsize")

    def __init__(self, maxsize: int = MEMO_SIZE) -> None:
        self.maxsize = maxsize
        self.entries: dict[Any, EntryT] = {}
        self._lock = threading.Lock()

    def get(self, raw: Any) -> EntryT | None:
        """The entry built for exactly ``raw``, or ``None``."""
        entry = self.entries.get(raw[-TAIL:])
        return entry if entry is not None and entry[0] == raw else None

    def put(self, entry: EntryT) -> None:
        """Remember ``entry`` for its raw value ``entry[0]``."""
        key = entry[0][-TAIL:]
        with self._lock:
            entries = self.entries
            if key not in entries and len(entries) >= self.maxsize:
                del entries[next(iter(entries))]
            entries[key] = entry

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)


def credential_places(sources: Sequence[Source]) -> tuple[tuple[str, ...], bool] | None:
    """The lowercase header names the sources read and whether they read the query string.

    ``None`` when a source is not one of the built-in ones: a subclass may
    read anything, so no memo can be keyed for it.
    """
    names: list[str] = []
    query = False
    for source in sources:
        kind = type(source)
        if kind is BearerSource:
            names.append("authorization")
        elif kind is CookieSource:
            names.append("cookie")
        elif kind is HeaderSource:
            names.append(cast(HeaderSource, source).header)
        elif kind is QuerySource:
            query = True
        else:
            return None
    return tuple(dict.fromkeys(names)), query
