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

The memo is bounded in bytes as well as entries, within its gate's
``cache_bytes``: an entry counts its raw value and, when it holds a verified
user, the bytes the gate's cache counts for that user (``Gate.hit_check``);
such an entry is kept only while the gate's cache holds its user, since it
could never be used otherwise.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from .sizes import entry_size
from .sources import Places, Source
from .user import User

if TYPE_CHECKING:
    from .gate import Gate

__all__ = ["MEMO_SIZE", "TAIL", "UNKEYABLE", "CredentialMemo", "credential_places"]

#: How many distinct credential values an adapter remembers.
MEMO_SIZE: Final = 4096
#: How many trailing characters of a raw value (or items of a tuple) file its entry.
TAIL: Final = 32
#: The byte budget of a memo without a gate.
MEMO_BYTES: Final = 16 * 1024 * 1024
#: An entry's own cost beyond its raw value and user: the dict slot, the entry
#: tuple, the tail key and what the adapter built (its RequestAuth, credentials).
_ENTRY_OVERHEAD: Final = 400


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
    first once ``maxsize`` entries or ``max_bytes`` bytes are held: a gate's
    ``cache_bytes`` when ``gate`` is given (see the module docstring).
    """

    __slots__ = ("_lock", "_lookup", "_sizes", "bytes", "entries", "max_bytes", "maxsize")

    def __init__(self, maxsize: int = MEMO_SIZE, *, gate: Gate | None = None) -> None:
        self.maxsize = maxsize
        self.max_bytes = gate.cache_bytes if gate is not None else MEMO_BYTES
        #: The bytes the entries held now are counted for.
        self.bytes = 0
        # Ordered for a cheap eviction of the oldest (see jwtgate.cache).
        self.entries: OrderedDict[Any, EntryT] = OrderedDict()
        self._sizes: dict[Any, int] = {}
        self._lookup = gate.hit_check().lookup if gate is not None else None
        self._lock = threading.Lock()

    def get(self, raw: Any) -> EntryT | None:
        """The entry built for exactly ``raw``, or ``None``."""
        entry = self.entries.get(raw[-TAIL:])
        return entry if entry is not None and entry[0] == raw else None

    def put(self, entry: EntryT) -> bool:
        """Remember ``entry`` for its raw value ``entry[0]``; False when it was not kept."""
        size = self._size(entry)
        if size is None or size > self.max_bytes or self.maxsize <= 0:
            return False
        key = entry[0][-TAIL:]
        with self._lock:
            entries, sizes = self.entries, self._sizes
            if key in entries:
                del entries[key]
                self.bytes -= sizes.pop(key)
            while entries and (len(entries) >= self.maxsize or self.bytes + size > self.max_bytes):
                oldest, _ = entries.popitem(last=False)
                self.bytes -= sizes.pop(oldest)
            entries[key] = entry
            sizes[key] = size
            self.bytes += size
        return True

    def _size(self, entry: EntryT) -> int | None:
        """The bytes ``entry`` is counted for; ``None`` if its user has left the gate's cache."""
        raw = entry[0]
        size = _ENTRY_OVERHEAD + (
            sum(map(sys.getsizeof, raw)) if type(raw) is tuple else sys.getsizeof(raw)
        )
        for item in entry[1:]:
            if not isinstance(item, User):
                continue
            if self._lookup is None:
                size += entry_size(item, None)
                continue
            cached = self._lookup(item.token)
            if cached is None or cached[0] is not item:
                return None
            size += cached[2]
        return size

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self.entries.clear()
            self._sizes.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self.entries)


def credential_places(sources: Sequence[Source]) -> Places | None:
    """The lowercase header names the sources read and whether they read the query string.

    ``None`` when a source may read anything: one that declares nothing
    (``Source.reads``), or whose ``extract`` was overridden below the class
    that declared it (a subclass that reads more than its parent said).
    """
    names: list[str] = []
    query = False
    for source in sources:
        kind = type(source)
        if not issubclass(_defined_in(kind, "reads"), _defined_in(kind, "extract")):
            return None
        places = source.reads()
        if places is None:
            return None
        names.extend(places[0])
        query = query or places[1]
    return tuple(dict.fromkeys(names)), query


def _defined_in(kind: type, name: str) -> type:
    """The class in ``kind``'s MRO whose body defines ``name``."""
    return next(c for c in kind.__mro__ if name in c.__dict__)
