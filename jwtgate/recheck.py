"""Re-checking a long-lived connection's user each time a decorator asks.

An HTTP request is authenticated once, microseconds before its view runs. A
websocket lives for minutes or hours after its handshake: meanwhile its token
expires, ``is_revoked`` starts refusing it, or its signing key is withdrawn.
The adapters give a websocket's ``RequestAuth`` a ``Recheck``, through which
``require_auth`` and ``require_roles`` ask the gate again on every call: the
gate's cheap ``still_valid`` first, and only when that cannot vouch for the
user (expired, revoked, or no longer cached) the handshake's request itself,
authenticated again, which raises the refusal the gate would give it now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import MissingToken

if TYPE_CHECKING:
    from .gate import Gate
    from .sources import RequestView
    from .user import User

__all__ = ["Recheck"]


class Recheck:
    """How the decorators ask whether a connection's user still passes.

    ``view`` is the connection's opening request (its handshake), which
    carries the token where the gate found it, so any source works, custom
    ones included.
    """

    __slots__ = ("_user", "gate", "view")

    def __init__(self, gate: Gate, view: RequestView, user: User) -> None:
        self.gate = gate
        self.view = view
        self._user = user

    def user(self) -> User:
        """The user as the gate sees them now; raises the ``AuthError`` it would raise.

        May block on a key fetch when the user is no longer cached and the
        issuer's keys must be refreshed: call ``user_async`` from async code.
        """
        user = self._user
        if self.gate.still_valid(user):
            return user
        return self._remember(self.gate.authenticate(self.view))

    async def user_async(self) -> User:
        """``user()`` for asyncio: a key fetch, when one is needed, runs off the event loop."""
        user = self._user
        if self.gate.still_valid(user, on_loop=True):
            return user
        return self._remember(await self.gate.authenticate_async(self.view))

    def _remember(self, user: User | None) -> User:
        if user is None:  # the handshake's token vanished: cannot happen with a real request
            raise MissingToken()
        self._user = user
        return user

    def __repr__(self) -> str:
        return f"Recheck({self._user!r})"
