"""An HMAC secret and public keys in one issuer, each verifying only its own algorithms.

Some providers move from a shared secret to published public keys while both
kinds of token are live under one ``iss`` (Supabase's JWT signing keys).
``Issuer(secret=..., jwks_url=...)`` with HS* and public-key algorithms builds
a ``MixedKeys``: an HS* token is checked with the secret only, any other
token with the public keys only. Every key is bound to its own algorithms
when it is loaded, so a public key can never serve as an HMAC secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .algorithms import family_of
from .keys import KeySource, VerificationKey

__all__ = ["MixedKeys"]


class MixedKeys(KeySource):
    """``secret`` verifies the HS* algorithms, ``public`` every other one."""

    def __init__(self, secret: KeySource, public: KeySource) -> None:
        self.secret = secret
        self.public = public

    def _for(self, algorithm: str) -> KeySource:
        return self.secret if family_of(algorithm) == "HMAC" else self.public

    def keys_for(self, kid: str | None, algorithm: str) -> Sequence[VerificationKey]:
        return self._for(algorithm).keys_for(kid, algorithm)

    def needs_refresh(self, kid: str | None) -> bool:
        # The secret never needs fetching: only the public keys can.
        return self.public.needs_refresh(kid)

    def refresh(self) -> None:
        self.public.refresh()

    async def refresh_async(self) -> None:
        await self.public.refresh_async()

    def subscribe(self, on_keys_removed: Callable[[], None]) -> None:
        self.public.subscribe(on_keys_removed)

    def check_algorithms(self, algorithms: Iterable[str]) -> None:
        algs = list(algorithms)
        self.secret.check_algorithms([a for a in algs if family_of(a) == "HMAC"])
        self.public.check_algorithms([a for a in algs if family_of(a) != "HMAC"])

    def __repr__(self) -> str:
        return f"MixedKeys(secret=<HMAC secret>, public={self.public!r})"
