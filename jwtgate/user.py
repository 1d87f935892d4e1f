"""Who made the request: ``User`` for a verified token, ``AnonymousUser`` otherwise.

A ``User`` is immutable and shared between requests through the claims cache,
so its claims are deeply read-only (``FrozenDict`` and tuples): a view that
tried to edit them would otherwise change what the next request sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeAlias

__all__ = ["AnonymousUser", "FrozenDict", "RolesClaim", "User", "read_claim", "roles_from_claims"]

RolesClaim: TypeAlias = str | Sequence[str] | Callable[[Mapping[str, Any]], Iterable[str]]


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses changes; still a ``dict``, so ``json.dumps`` takes it as is."""

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("token claims are read-only")

    __setitem__ = __delitem__ = __ior__ = _readonly
    clear = pop = popitem = setdefault = update = _readonly

    def __hash__(self) -> int:  # type: ignore[override]
        raise TypeError("unhashable type: 'FrozenDict'")

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


EMPTY_CLAIMS = FrozenDict()


def read_claim(claims: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` in the claims, or ``None``.

    ``path`` is first tried as one key, so names that contain dots or colons
    (``https://example.com/roles``, ``cognito:groups``) work; otherwise it is a
    dotted path into nested objects (``app_metadata.roles``).
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _role_names(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return ()


def roles_from_claims(claims: Mapping[str, Any], roles_claim: RolesClaim) -> frozenset[str]:
    """The roles the claims grant, read with the issuer's ``roles_claim`` rule.

    A value may be a list of strings or one space-separated string (OAuth
    ``scope``); entries that are not strings are ignored, never a crash.
    """
    if callable(roles_claim):
        return frozenset(role for role in roles_claim(claims) if isinstance(role, str))
    paths = (roles_claim,) if isinstance(roles_claim, str) else roles_claim
    roles: set[str] = set()
    for path in paths:
        roles.update(_role_names(read_claim(claims, path)))
    return frozenset(roles)


def _has_roles(own: frozenset[str], roles: Iterable[str], any_of: Iterable[str] | None) -> bool:
    if not own.issuperset(roles):
        return False
    if any_of is None:
        return True
    return not own.isdisjoint(any_of)


class User:
    """A verified token's bearer.

    ``subject`` is the ``sub`` claim, ``roles`` a frozenset, ``claims`` the
    whole verified payload (read-only), ``source`` where the token was found
    (``"bearer"``, ``"cookie:nf_jwt"`` …) and ``expires_at`` its ``exp``.
    """

    __slots__ = ("claims", "email", "expires_at", "issuer", "roles", "source", "subject", "token")

    is_authenticated = True
    is_anonymous = False  # as Django's users say it

    def __init__(
        self,
        *,
        subject: str | None,
        claims: Mapping[str, Any],
        roles: frozenset[str] = frozenset(),
        issuer: str | None = None,
        token: str = "",
        source: str = "",
        expires_at: float | None = None,
    ) -> None:
        self.subject = subject
        self.claims = claims
        self.roles = roles
        self.issuer = issuer
        self.token = token
        self.source = source
        self.expires_at = expires_at
        email = claims.get("email")
        self.email: str | None = email if isinstance(email, str) else None

    @property
    def identity(self) -> str:
        """The stable identifier of the user within its issuer (the ``sub`` claim)."""
        return self.subject or ""

    @property
    def display_name(self) -> str:
        """A human-readable name: ``name``, a provider's full name, the email, else the subject."""
        for path in ("name", "user_metadata.full_name", "nickname", "preferred_username"):
            value = read_claim(self.claims, path)
            if isinstance(value, str) and value:
                return value
        return self.email or self.identity

    def has_roles(self, *roles: str, any_of: Iterable[str] | None = None) -> bool:
        """True when the user holds every role in ``roles`` and at least one of ``any_of``."""
        return _has_roles(self.roles, roles, any_of)

    def with_source(self, source: str) -> User:
        """The same user, found in another source (the cache shares users between sources)."""
        return User(
            subject=self.subject,
            claims=self.claims,
            roles=self.roles,
            issuer=self.issuer,
            token=self.token,
            source=source,
            expires_at=self.expires_at,
        )

    def __repr__(self) -> str:
        # Never the token: reprs end up in logs and tracebacks.
        return (
            f"User(subject={self.subject!r}, issuer={self.issuer!r}, roles={sorted(self.roles)!r})"
        )


class AnonymousUser:
    """Nobody: no token, or a refused one. Falsy ``is_authenticated``, no roles."""

    __slots__ = ()

    is_authenticated = False
    is_anonymous = True
    subject = None
    email = None
    issuer = None
    token = None
    source = None
    expires_at = None
    roles: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = EMPTY_CLAIMS
    identity = ""
    display_name = ""

    def has_roles(self, *roles: str, any_of: Iterable[str] | None = None) -> bool:
        """Always False: an anonymous user holds no roles."""
        return False

    def __repr__(self) -> str:
        return "AnonymousUser()"
