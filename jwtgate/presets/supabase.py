"""Supabase Auth access tokens: the legacy JWT secret and the new signing keys, one issuer."""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..errors import ConfigurationError, InvalidToken, RenamedParameters
from ..issuer import Issuer
from ..sources import CookieSource, Places, RequestView, Source, _one
from ..user import RolesClaim
from ._common import https_url, key_location

if TYPE_CHECKING:
    from ..remote import RemoteOptions

__all__ = ["SUPABASE_AUDIENCE", "SupabaseSessionCookie", "supabase"]

#: The ``aud`` of a signed-in user's access token (anonymous sign-ins included).
SUPABASE_AUDIENCE = "authenticated"
#: @supabase/ssr splits a cookie value longer than 3180 characters into ``NAME.0``,
#: ``NAME.1`` …; a session fits in a handful. More chunks than this are not read.
MAX_CHUNKS = 16
_BASE64_PREFIX = "base64-"
_MEMO_SIZE = 256


def _access_token(session_text: str) -> str:
    """The ``access_token`` of a session as @supabase/ssr stores it, or ``InvalidToken``."""
    if session_text.startswith(_BASE64_PREFIX):
        encoded = session_text[len(_BASE64_PREFIX) :]
        try:
            text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, ValueError):
            raise InvalidToken("The session cookie is malformed") from None
    else:
        # Before the base64- encoding, the session was stored as JSON, URL-encoded.
        text = unquote(session_text)
    try:
        session = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidToken("The session cookie is malformed") from None
    token = session.get("access_token") if isinstance(session, dict) else None
    if not isinstance(token, str) or not token:
        raise InvalidToken("The session cookie holds no access token")
    return token


class SupabaseSessionCookie(CookieSource):
    """The access token inside the ``@supabase/ssr`` session cookie ``sb-<ref>-auth-token``.

    The cookie holds the whole session as JSON, stored as ``base64-`` and
    its base64url text (older versions: the JSON itself, URL-encoded), and
    is split into ``NAME.0``, ``NAME.1`` … when it is long; the chunks are
    joined in order, as @supabase/ssr joins them. A cookie that cannot be
    read is a malformed token (401). Decoded values are remembered (a few
    hundred), so a repeated request does not parse the session again.
    """

    __slots__ = ("_lock", "_memo")

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._memo: dict[str, str] = {}
        self._lock = threading.Lock()

    def reads(self) -> Places:
        """Every chunk is in the ``Cookie`` header."""
        return ("cookie",), False

    def extract(self, view: RequestView) -> str | None:
        value = _one(view.cookie_values(self.name), f"{self.name} cookie")
        if value is None:
            chunks: list[str] = []
            for index in range(MAX_CHUNKS):
                chunk = _one(view.cookie_values(f"{self.name}.{index}"), f"{self.name} cookie")
                if chunk is None:
                    break
                chunks.append(chunk)
            if not chunks:
                return None
            value = "".join(chunks)
        token = self._memo.get(value)
        if token is None:
            token = _access_token(value)
            with self._lock:
                if len(self._memo) >= _MEMO_SIZE:
                    self._memo.clear()
                self._memo[value] = token
        return token


def supabase(
    project_url: str,
    *,
    jwt_secret: str | bytes | None = None,
    roles_claim: RolesClaim = "app_metadata.roles",
    storage_key: str | None = None,
    jwks_url: str | None = None,
    remote: RemoteOptions | None = None,
    sources: Sequence[str | Source] | None = None,
) -> Issuer:
    """Access tokens of one Supabase project's Auth, signed either way during a migration.

    ``project_url`` is the Project URL (``https://<ref>.supabase.co``, or
    the custom domain): ``iss`` must be ``{project_url}/auth/v1`` and ``aud``
    ``"authenticated"``; ``exp`` is required, with no leeway. The project's
    signing keys (ES256 or RS256) come from
    ``{project_url}/auth/v1/.well-known/jwks.json``; with ``jwt_secret``
    (the legacy JWT secret) HS256 tokens are accepted too, checked with the
    secret only, while asymmetric tokens are checked with the published keys
    only. Tokens are read from ``Authorization: Bearer`` and from the
    @supabase/ssr session cookie ``sb-<ref>-auth-token`` (``storage_key``
    names another, as supabase-js's ``auth.storageKey`` does). Roles come
    from ``app_metadata.roles``.
    """
    base = https_url("project_url", project_url, "the Project URL, e.g. https://abcd.supabase.co")
    issuer = f"{base}/auth/v1"
    if storage_key is None:
        # supabase-js: sb-<first label of the host>-auth-token.
        storage_key = f"sb-{(urlsplit(base).hostname or '').split('.')[0]}-auth-token"
    algorithms = ["ES256", "RS256"]
    if jwt_secret is not None:
        if not jwt_secret:
            raise ConfigurationError(
                "jwt_secret: is empty; give the legacy JWT secret (Settings → JWT Keys), or None"
            )
        algorithms.insert(0, "HS256")
    # The issuer speaks of secret=; the preset's caller passed jwt_secret=.
    with RenamedParameters({"secret": "jwt_secret"}):
        return Issuer(
            issuer,
            algorithms=algorithms,
            audience=SUPABASE_AUDIENCE,
            secret=jwt_secret,
            roles_claim=roles_claim,
            required_claims=("exp",),
            name=f"supabase:{base}",
            sources=("bearer", SupabaseSessionCookie(storage_key)) if sources is None else sources,
            metadata={"project_url": base, "storage_key": storage_key},
            **key_location(f"{issuer}/.well-known/jwks.json", jwks_url, remote),
        )
