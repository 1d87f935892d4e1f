"""Clerk session tokens, with the checks of ``@clerk/backend``'s ``authenticateRequest``."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..issuer import Issuer
from ..sources import CookieSource, Places, RequestView, Source, _one
from ._common import Unchecked, checked_values, https_url, key_location

if TYPE_CHECKING:
    from ..remote import RemoteOptions

__all__ = ["CLERK_LEEWAY", "ClerkSessionCookie", "clerk", "clerk_roles"]

#: @clerk/backend's default clock skew (seconds); Clerk's session tokens live 60 s.
CLERK_LEEWAY = 5
# Machine-to-machine tokens share the instance's keys; their subject starts so.
_MACHINE_SUBJECT = "mch_"
_MEMO_SIZE = 256
_UNKNOWN = object()


def clerk_roles(claims: Mapping[str, Any]) -> Iterable[str]:
    """The active organization role, as Clerk's ``orgRole`` reads it.

    Session tokens v2 keep it in ``o.rol`` without the ``org:`` prefix that
    Clerk adds; v1 in ``org_role``, prefixed.
    """
    if claims.get("v") == 2:
        org = claims.get("o")
        role = org.get("rol") if isinstance(org, Mapping) else None
        return [f"org:{role}"] if isinstance(role, str) and role else []
    role = claims.get("org_role")
    return [role] if isinstance(role, str) and role else []


def _issued_at(token: str) -> Any:
    """The unverified ``iat`` of a token, or ``None`` when it cannot be read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError):
        return None
    return payload.get("iat") if isinstance(payload, dict) else None


class ClerkSessionCookie(CookieSource):
    """Clerk's ``__session`` cookie, taken only while ``__client_uat`` says the client is signed in.

    Clerk's frontend sets ``__client_uat`` to the time the client last signed
    in or out (``0`` once signed out). As ``authenticateRequest`` does for a
    request that cannot be sent through Clerk's handshake, a session cookie
    is ignored (no token: anonymous) when ``__client_uat`` is missing or 0,
    or newer than the token's ``iat`` (the token predates the last sign-in
    or sign-out).
    """

    __slots__ = ("_client_uat", "_issued", "_lock")

    def __init__(self, name: str = "__session", client_uat: str = "__client_uat") -> None:
        super().__init__(name)
        self._client_uat = client_uat
        # The unverified iat of recent tokens: a repeated request decodes nothing.
        self._issued: dict[str, Any] = {}
        self._lock = threading.Lock()

    def reads(self) -> Places:
        """Its ``__session`` and ``__client_uat`` are both in the ``Cookie`` header."""
        return ("cookie",), False

    def extract(self, view: RequestView) -> str | None:
        token = _one(view.cookie_values(self.name), f"{self.name} cookie")
        if token is None:
            return None
        raw = _one(view.cookie_values(self._client_uat), f"{self._client_uat} cookie") or ""
        signed_in_at = int(raw) if raw.isdigit() and len(raw) <= 12 else 0
        if signed_in_at <= 0:
            return None
        iat = self._issued.get(token, _UNKNOWN)
        if iat is _UNKNOWN:
            iat = _issued_at(token)
            with self._lock:
                if len(self._issued) >= _MEMO_SIZE:
                    self._issued.clear()
                self._issued[token] = iat
        if isinstance(iat, int | float) and not isinstance(iat, bool) and iat < signed_in_at:
            return None
        return token


def clerk(
    issuer_url: str,
    *,
    authorized_parties: str | Sequence[str] | Unchecked | None,
    leeway: float = CLERK_LEEWAY,
    jwks_url: str | None = None,
    remote: RemoteOptions | None = None,
    sources: Sequence[str | Source] | None = None,
) -> Issuer:
    """Clerk session tokens of one instance, checked as ``authenticateRequest`` checks them.

    ``issuer_url`` is the instance's Frontend API URL (Dashboard → API keys:
    ``https://clerk.example.com`` in production, ``https://<name>.clerk.accounts.dev``
    in development); the keys are its ``/.well-known/jwks.json``. RS256,
    header ``typ`` "JWT" and ``kid``, ``exp`` and a string ``sub`` required, 5 s of
    leeway. ``azp`` must be one of ``authorized_parties`` (your app's
    origins, e.g. ``https://example.com``; ``jwtgate.presets.UNCHECKED``
    skips it, as Clerk does when none are given). Pending sessions
    (``sts: "pending"``) and machine tokens are refused, as Clerk signs them
    out. Roles: the organization role (``org:admin``), from ``o.rol`` (v2
    tokens) or ``org_role`` (v1). Tokens are read from ``Authorization:
    Bearer`` and the ``__session`` cookie (see ``ClerkSessionCookie``).
    """
    issuer = https_url(
        "issuer_url", issuer_url, "the Frontend API URL, e.g. https://clerk.example.com"
    )
    parties = checked_values(
        "authorized_parties", authorized_parties, "your app's origins, e.g. https://example.com"
    )
    return Issuer(
        issuer,
        algorithms=["RS256"],
        token_type="JWT",
        require_kid=True,
        authorized_parties=parties,
        expected_claims={
            "sub": lambda sub: isinstance(sub, str) and not sub.startswith(_MACHINE_SUBJECT),
            "sts": lambda status: status != "pending",
        },
        roles_claim=clerk_roles,
        leeway=leeway,
        required_claims=("exp", "sub"),
        name=f"clerk:{issuer}",
        sources=("bearer", ClerkSessionCookie()) if sources is None else sources,
        metadata={"issuer_url": issuer},
        **key_location(f"{issuer}/.well-known/jwks.json", jwks_url, remote),
    )
