"""A fetched JWK Set, read with the remote policy.

A published set is not configuration (nor is Google's ``{kid: certificate}``
map, read the same way): a provider may add keys for other uses
or algorithms at any time, so one bad member must never take the others down.
Each member is loaded with ``keys.load_jwk`` (the same checks as a configured
key: public members only, ``use``/``key_ops``/``alg``, key type and size
fitting the issuer's algorithms) and skipped, with the reason, when it fails.
On top of that, symmetric (``oct``) members are never taken from a remote
set, and every member sharing a ``kid`` with another usable one is dropped:
which of them signed a token would be a guess.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .certificates import certificate_map
from .errors import ConfigurationError
from .keys import MAX_CANDIDATES, VerificationKey, load_jwk

__all__ = ["MAX_MEMBERS", "KeySet", "Skipped", "read_key_set"]

#: Members read from one set; the rest are skipped. Real sets hold a handful.
MAX_MEMBERS = 100


@dataclass(frozen=True, slots=True)
class Skipped:
    """A member of the set that was ignored, and why (safe to log: no key material)."""

    kid: str | None
    reason: str
    identity: str


@dataclass(frozen=True, slots=True)
class KeySet:
    """The usable keys of one fetched set, indexed by ``kid``."""

    keys: tuple[VerificationKey, ...]
    identities: frozenset[str]
    skipped: tuple[Skipped, ...] = ()
    by_kid: Mapping[str, tuple[VerificationKey, ...]] = field(default_factory=dict)

    def select(self, kid: str | None, algorithm: str) -> list[VerificationKey]:
        """The keys a token with this ``kid`` and ``alg`` may be tried against.

        A ``kid`` must match exactly when the set names its keys (so an unknown
        ``kid`` finds nothing and may trigger a refetch); a token without one
        is tried against every compatible key, at most ``MAX_CANDIDATES``.
        """
        pool = self.by_kid.get(kid, ()) if kid is not None and self.by_kid else self.keys
        return [k for k in pool if algorithm in k.algorithms][:MAX_CANDIDATES]

    @property
    def kids(self) -> tuple[str, ...]:
        """The ``kid`` of every usable key, in the set's order."""
        return tuple(k.kid for k in self.keys if k.kid is not None)


def _identity(member: Any) -> str:
    canonical = json.dumps(member, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _printable_kid(member: Any) -> str | None:
    kid = member.get("kid") if isinstance(member, dict) else None
    if not isinstance(kid, str):
        return None
    return "".join(c for c in kid[:64] if c.isprintable())


def read_key_set(body: bytes, algorithms: frozenset[str]) -> KeySet:
    """The usable keys of a JWKS document; ``ValueError`` when it is not one at all."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("the answer is not JSON") from None
    members = document.get("keys") if isinstance(document, dict) else None
    skipped: list[Skipped] = []
    certificates = certificate_map(document) if isinstance(document, dict) else None
    if members is None and certificates is not None:  # Google's {kid: certificate} map
        members, unreadable = certificates
        for name in unreadable:
            reason = "the certificate or its key could not be read"
            skipped.append(Skipped(_printable_kid({"kid": name}), reason, _identity(name)))
    if not isinstance(members, list):
        raise ValueError('the answer is not a JWK Set (no "keys" list) nor a certificate map')
    loaded: list[tuple[VerificationKey, str]] = []
    for index, member in enumerate(members):
        identity = _identity(member)
        kid = _printable_kid(member)
        if index >= MAX_MEMBERS:
            skipped.append(Skipped(kid, f"the set holds more than {MAX_MEMBERS} keys", identity))
            continue
        if not isinstance(member, dict):
            skipped.append(Skipped(None, "the member is not a JSON object", identity))
            continue
        if member.get("kty") == "oct":
            skipped.append(
                Skipped(kid, "symmetric (oct) keys are never taken from a JWKS", identity)
            )
            continue
        try:
            key = load_jwk(member, algorithms)
        except ConfigurationError as exc:
            skipped.append(Skipped(kid, str(exc).removeprefix("key: "), identity))
            continue
        loaded.append((key, identity))
    ambiguous = _ambiguous_kids([key for key, _ in loaded])
    keys: list[VerificationKey] = []
    identities: set[str] = set()
    by_kid: dict[str, tuple[VerificationKey, ...]] = {}
    for key, identity in loaded:
        if key.kid is not None and key.kid in ambiguous:
            reason = "another key of the set has the same kid"
            skipped.append(Skipped(_printable_kid({"kid": key.kid}), reason, identity))
            continue
        keys.append(key)
        identities.add(identity)
        if key.kid is not None:
            by_kid[key.kid] = (*by_kid.get(key.kid, ()), key)
    return KeySet(tuple(keys), frozenset(identities), tuple(skipped), by_kid)


def _ambiguous_kids(keys: list[VerificationKey]) -> set[str]:
    """The kids held by two usable keys that could verify the same algorithm."""
    seen: dict[str, list[VerificationKey]] = {}
    ambiguous: set[str] = set()
    for key in keys:
        if key.kid is None:
            continue
        others = seen.setdefault(key.kid, [])
        if any(not other.algorithms.isdisjoint(key.algorithms) for other in others):
            ambiguous.add(key.kid)
        others.append(key)
    return ambiguous
