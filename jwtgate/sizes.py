"""How many bytes a cached ``User`` keeps resident, for the caches' byte budgets.

A token's length says little about its memory: 7.8 KiB of JSON made of many
tiny objects (``[{},{},…]`` in a claim the user may edit, such as GoTrue's
``user_metadata``) parses into some 140 KiB of Python objects. So the caches
are bounded in bytes as well as in entries, and an entry is counted for what
its objects can cost, not for its token's length.

The estimate is made once, when an entry is stored (a cache miss), and is
cheap: the claims are bounded from their JSON text with a few ``bytes.count``
calls (about 0.6 µs for a typical token, where walking the parsed objects
costs 8 to 13 µs). The bound never understates CPython's sizes: each JSON
object is charged as a dict of as many keys as the text has colons, each
array as a tuple of as many items as it has commas, each string as a
``str`` of all its bytes (four per character where the text is not plain
ASCII), each value as a number besides. A typical token is overstated by
about 1.6 times; a pathological one (thousands of ``{}``) by up to 4 times,
which only makes it leave the cache sooner. Claims that a ``claims_hook``
rebuilt are measured by walking them instead (``object_size``), the user's
roles and token exactly.
"""

from __future__ import annotations

import sys
from typing import Any, Final

from .jws import json_marks
from .user import User

__all__ = ["ENTRY_OVERHEAD", "claims_bound", "entry_size", "object_size"]

#: A cache's own cost per entry beyond the user: its dict slot (hash, key,
#: value, at the dict's worst fill), the entry tuple and its deadline and size.
ENTRY_OVERHEAD: Final = 200

# CPython 3.11-3.13, 64-bit: a dict of n ≤ 5 keys is 184 bytes and each key
# beyond costs at most 40 (38.1 at the growth steps measured up to 5,000 keys);
# a tuple is 40 + 8 per item; an ASCII str 49 + 1 per character, any other at
# most 76 + 4; a JSON number at most 32 bytes plus half a byte per digit.
_DICT, _PER_KEY = 184, 40
_TUPLE, _PER_ITEM = 40, 8
_STR_ASCII, _STR_WIDE, _PER_CHAR_WIDE = 49, 76, 4
_NUMBER = 32
_BACKSLASH: Final = ord("\\")

_getsizeof = sys.getsizeof
#: A ``User``: the same for every one (its fields are slots).
_USER_BYTES: Final = _getsizeof(User(subject=None, claims={}))
# Objects every entry shares with the interpreter: counting them would overstate.
_SHARED: Final = frozenset({id(None), id(True), id(False)})


def claims_bound(payload: bytes, marks: bytes | None = None) -> int:
    """An upper bound on the bytes of the claims parsed from the JSON ``payload``.

    ``marks`` are its ``jwtgate.jws.json_marks``, when the caller has them.
    """
    if marks is None:
        marks = json_marks(payload)
    objects = marks.count(b"{")
    arrays = marks.count(b"[")
    colons = marks.count(b":")  # at least one per key
    quotes = marks.count(b'"')  # two per string, key or value (and any escaped quote)
    commas = len(marks) - objects - arrays - colons - quotes
    size = len(payload)
    values = commas + objects + arrays + 1  # every value is first in its container or after a comma
    # ord() and find(): `bytes in bytes` first tries its operand as an int, raising and
    # clearing a TypeError, which costs ten times the search (and this runs on every miss).
    if payload.isascii() and (_BACKSLASH not in payload or payload.find(b"\\u") < 0):
        text = (quotes // 2 + 1) * _STR_ASCII + size
    else:
        text = (quotes // 2 + 1) * _STR_WIDE + _PER_CHAR_WIDE * size
    return (
        objects * _DICT
        + colons * _PER_KEY
        + arrays * _TUPLE
        + (commas + arrays) * _PER_ITEM
        + text
        + values * _NUMBER
        + size // 2
    )


def object_size(value: Any) -> int:
    """Bytes held by ``value`` and everything it contains (parsed-JSON shapes), each once."""
    seen: set[int] = set(_SHARED)
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        ident = id(item)
        if ident in seen:
            continue
        seen.add(ident)
        total += _getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, tuple | list | frozenset | set):
            stack.extend(item)
    return total


def entry_size(user: User, payload: bytes | None, marks: bytes | None = None) -> int:
    """The bytes a cache entry for ``user`` is counted for.

    ``payload`` is the token's JSON claims text when ``user.claims`` were
    parsed from it unchanged, ``None`` when a hook rebuilt them; ``marks``
    its ``json_marks``, when the caller has them.
    """
    claims = claims_bound(payload, marks) if payload is not None else object_size(user.claims)
    roles = user.roles
    return (
        ENTRY_OVERHEAD
        + _USER_BYTES
        + _getsizeof(user.token)
        + _getsizeof(roles)
        + sum(map(_getsizeof, roles))
        + claims
    )
