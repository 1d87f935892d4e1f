"""Refusals remembered briefly: the same bad token sent again is refused without parsing it.

A client retrying, or a flood of one forged token, then costs about what a
cache hit costs instead of a parse and maybe a signature check each time.
The memory is keyed by the whole token, bounded in entries and in bytes,
and emptied with the gate's claims cache (``Gate.clear_cache``: keys
withdrawn, or the application asks). An entry holds the refusal's class,
its fixed description and the issuer it was reported under, never a claim.

What is remembered, and for how long, error class by error class:

- What is refused before the claims' checks: ``InvalidToken`` (malformed,
  not JSON, duplicate members, non-finite numbers, nested too deeply, JWE,
  unsigned, nested, an unsupported header member, an algorithm, key id or
  type the issuer refuses) and ``UntrustedIssuer``. It follows from the
  token's text and the gate's configuration, which does not change, and is
  remembered for ``REFUSAL_TTL`` seconds (at most the gate's ``cache_ttl``).
- What the claims' checks refuse (``ExpiredToken``, ``ImmatureToken``,
  ``InvalidClaims`` such as a wrong audience): which of those checks fails
  first can change as time passes. The claims' dates (``exp``, ``nbf``,
  ``iat`` and the issuer's ``past_claims``, each with the leeway) cut time
  into spans within which the checks' outcome is fixed; a refusal is
  remembered only within its span. So an ``ImmatureToken`` is forgotten when
  its ``nbf`` comes, and an expired one is not refused from memory if the
  clock is set back before its ``exp``.
- ``InvalidSignature``: it depends on the issuer's keys too. It is
  remembered with the keys that were tried, and recalled only while the
  issuer's key source hands out those very keys for the token's ``kid`` and
  ``alg``: a refresh that adds or replaces a key has the token checked again.
  A token for which no key existed is recalled only while the key source
  needs no fetch for its ``kid``, so that the unknown-``kid`` refetch still
  happens once its cooldown is over.
- A token that is not a compact JWS at all was judged by its source's check
  too: in ``Authorization`` it is a malformed header (``InvalidRequest``,
  400), in a cookie a malformed token (401). Such a refusal is recalled only
  for the source it came in.
- Never remembered: ``KeysUnavailable`` (the keys may be back any moment),
  ``RevokedToken`` and ``RevocationUnavailable`` (a revocation can be lifted,
  a store can come back; they are decided after this memory anyway), what
  is about the request rather than the token (two tokens, a header over its
  cap, ``CrossSiteRequest``: decided before this memory is asked), a refusal
  by a ``claims_hook`` or an ``expected_claims`` predicate (application
  code, which may depend on anything: such refusals are marked
  ``claim_rules.VARIABLE``), and any error jwtgate did not foresee.

Written here rather than with ``cachetools``: its ``TTLCache`` looked up behind
a lock measured 0.87 µs for a token it does not hold, and every cache miss
asks this memory first, where a ``dict`` lookup costs 0.03 µs.
"""

from __future__ import annotations

import math
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from .cache import put_bounded
from .claim_rules import VARIABLE
from .errors import (
    AuthError,
    ExpiredToken,
    ImmatureToken,
    InvalidClaims,
    InvalidRequest,
    InvalidSignature,
    InvalidToken,
    UntrustedIssuer,
)
from .issuer import is_numeric_date

if TYPE_CHECKING:
    from .issuer import Issuer
    from .keys import KeySource, VerificationKey

__all__ = ["ISSUER_NOTE", "REFUSALS_BYTES", "REFUSALS_SIZE", "REFUSAL_TTL", "Refusals"]

#: How long a refusal is remembered at most (seconds), within the gate's ``cache_ttl``.
REFUSAL_TTL: Final = 60.0
#: How many refusals are remembered at most (within the gate's ``cache_size``).
REFUSALS_SIZE: Final = 1024
#: The bytes the remembered refusals may hold at most (within the gate's ``cache_bytes``).
REFUSALS_BYTES: Final = 4 * 1024 * 1024
#: An entry's own cost beyond its token: the dict slot, the entry tuple, its numbers.
_ENTRY_OVERHEAD: Final = 300
_ALWAYS: Final = -math.inf
_getsizeof = sys.getsizeof

#: The classes remembered; their subclasses are not (they may carry more than a description).
_REMEMBERED: Final = frozenset(
    {
        InvalidToken,
        ExpiredToken,
        ImmatureToken,
        InvalidSignature,
        InvalidClaims,
        UntrustedIssuer,
        InvalidRequest,
    }
)

# (class, description, issuer's name, since, until, generation, keys tried or None, the
# source it holds for or None, bytes), where keys tried is (key source, kid, alg, the keys).
_Keys = tuple["KeySource", "str | None", str, "tuple[VerificationKey, ...]"]
_Entry = tuple[type[AuthError], str, str, float, float, int, "_Keys | None", "str | None", int]


class Refusals:
    """Token → the refusal it got, while that refusal still holds (see the module docstring)."""

    __slots__ = ("_entries", "_lock", "bytes", "max_bytes", "maxsize", "ttl")

    def __init__(self, maxsize: int, max_bytes: int, ttl: float) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.ttl = ttl
        #: The bytes the entries held now are counted for.
        self.bytes = 0
        # Ordered for a cheap eviction of the oldest (see jwtgate.cache).
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, token: str, now: float, generation: int, source: str) -> AuthError | None:
        """A fresh copy of the refusal ``token`` got from ``source``, if it still holds."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        kind, description, issuer, since, until, made_in, keys, only_for, _size = entry
        if (
            made_in != generation
            or not since <= now < until
            or (only_for is not None and only_for != source)
            or (keys is not None and not _same_keys(keys))
        ):
            return None
        error = kind(description)
        if issuer:
            error.__dict__[ISSUER_NOTE] = issuer
        return error

    def remember(
        self,
        token: str,
        error: AuthError,
        now: float,
        generation: int,
        issuer: Issuer | None,
        claims: Mapping[str, Any] | None,
        keys: _Keys | None,
        only_for: str | None,
    ) -> bool:
        """Remember ``error`` for ``token`` if its class may be; False when it was not kept.

        ``generation`` is the cache's when the verification started, ``issuer``
        the one the refusal is reported under, ``claims`` the token's claims
        when the refusal came from their checks (their dates bound the span the
        refusal holds in; ``None`` when it was decided before them),
        ``keys`` the key source, kid, alg and keys a signature was checked with
        (none for a kid no key has), ``only_for`` the source the refusal holds
        for, when it depends on it (``None``: any).
        """
        kind = type(error)
        if (
            kind not in _REMEMBERED
            or VARIABLE in error.__dict__
            or (kind is InvalidSignature) != (keys is not None)
        ):
            return False
        since, until = _ALWAYS, now + self.ttl
        if claims is not None:
            since, until = _span(claims, issuer, now, until)
        size = _ENTRY_OVERHEAD + _getsizeof(token)
        if size > self.max_bytes or self.maxsize <= 0:
            return False
        note = error.__dict__.get(ISSUER_NOTE)
        entry: _Entry = (
            kind,
            error.description or kind.default_description,
            note if isinstance(note, str) else "",
            since,
            until,
            generation,
            keys,
            only_for,
            size,
        )
        with self._lock:
            self.bytes = put_bounded(self._entries, token, entry, 8, self.bytes, self)
        return True

    def clear(self) -> None:
        """Forget every refusal."""
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


# Where the gate notes, on a refusal, the name of the issuer the token claimed.
ISSUER_NOTE: Final = "jwtgate.issuer"


def _same_keys(keys: _Keys) -> bool:
    """True while the key source would hand out the very keys the refusal was decided with."""
    source, kid, alg, tried = keys
    try:
        now = source.keys_for(kid, alg)
        if not tried:
            return not now and not source.needs_refresh(kid)
    except Exception:  # the keys can't be had now (KeysUnavailable): decide afresh
        return False
    return len(now) == len(tried) and all(a is b for a, b in zip(now, tried, strict=True))


def _span(
    claims: Mapping[str, Any], issuer: Issuer | None, now: float, until: float
) -> tuple[float, float]:
    """The span around ``now`` within which the claims' date checks keep their outcome.

    ``exp`` changes the outcome at ``exp + leeway``; ``nbf``, ``iat`` and the
    issuer's past claims at their value ``- leeway`` (see ``Issuer.check_claims``).
    """
    leeway = issuer.leeway if issuer is not None else 0
    since = -math.inf
    names: Sequence[str] = ("nbf", "iat", *(issuer.past_claims if issuer is not None else ()))
    moments = [(claims.get("exp"), leeway)] + [(claims.get(name), -leeway) for name in names]
    for value, shift in moments:
        if not is_numeric_date(value):
            continue
        moment = value + shift
        if moment <= now:
            since = max(since, moment)
        else:
            until = min(until, moment)
    return since, until
