"""Who made the request: ``User`` for a verified token, ``AnonymousUser`` otherwise.

A ``User`` is immutable and shared between requests through the claims cache:
its attributes cannot be set or deleted and its claims are deeply read-only
(``FrozenDict`` and tuples), since a view that changed them would otherwise
change what the next request with the same token sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeAlias, cast

__all__ = [
    "AnonymousUser",
    "FrozenDict",
    "RolesClaim",
    "User",
    "freeze",
    "freeze_json_array",
    "freeze_json_object",
    "read_claim",
    "roles_from_claims",
    "roles_reader",
    "verified_user",
]

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

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenDict, (dict(self),)

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


def roles_reader(roles_claim: RolesClaim) -> Callable[[Mapping[str, Any]], frozenset[str]]:
    """``roles_from_claims`` for one ``roles_claim``, prepared once (an issuer reads roles often).

    Equal role sets are shared between users (a few thousand kept), as most
    users of an application hold one of a few: a set costs 216 bytes or more.
    """
    if callable(roles_claim) or not isinstance(roles_claim, str):
        return lambda claims: _shared(roles_from_claims(claims, roles_claim))
    path = roles_claim
    parts = tuple(path.split("."))

    def read(claims: Mapping[str, Any]) -> frozenset[str]:
        value = claims.get(path, _ABSENT)
        if value is _ABSENT:
            value = claims
            for part in parts:  # read_claim's dotted path, split once
                if not isinstance(value, Mapping):
                    return _NO_ROLES
                value = value.get(part)
        return _NO_ROLES if value is None else _shared(frozenset(_role_names(value)))

    return read


_ABSENT: Any = object()
_NO_ROLES: frozenset[str] = frozenset()
_ROLE_SETS: dict[frozenset[str], frozenset[str]] = {}
_ROLE_SETS_SIZE = 4096


def _shared(roles: frozenset[str]) -> frozenset[str]:
    """The one ``frozenset`` kept for these roles (``roles`` itself the first time)."""
    kept = _ROLE_SETS.get(roles)
    if kept is not None:
        return kept
    if len(_ROLE_SETS) >= _ROLE_SETS_SIZE:
        _ROLE_SETS.clear()  # rare: more distinct role sets than users usually have
    _ROLE_SETS[roles] = roles
    return roles


def _has_roles(own: frozenset[str], roles: Iterable[str], any_of: Iterable[str] | None) -> bool:
    if not own.issuperset(roles):
        return False
    if any_of is None:
        return True
    if isinstance(any_of, str):
        # A string is an iterable of characters: "admin" would let in a user holding "a".
        raise TypeError('has_roles: any_of must be a list of role names, e.g. any_of=["admin"]')
    return not own.isdisjoint(any_of)


def freeze(value: Any) -> Any:
    """``value`` made deeply read-only: mappings become ``FrozenDict``, lists tuples."""
    if isinstance(value, Mapping):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, set | frozenset):
        return frozenset(value)
    return value


def freeze_json_object(value: dict[str, Any]) -> FrozenDict:
    """A parsed JSON object made read-only in place: nested objects too, arrays as tuples.

    ``freeze`` for what a JSON parser returns (dicts, lists, scalars), at a
    cache miss's speed: it looks at dicts and lists alone and reuses them.
    """
    # Recursive: the parsers nest a couple of hundred levels at most, within Python's stack.
    # type(item), not item.__class__: CPython 3.11 specialises the call, not the attribute.
    for key, item in value.items():
        kind = type(item)
        if kind is dict:
            value[key] = freeze_json_object(item)
        elif kind is list:
            value[key] = freeze_json_array(item)
    return FrozenDict(value)


def freeze_json_array(items: list[Any]) -> tuple[Any, ...]:
    """A parsed JSON array as a tuple, its plain dicts and lists frozen in place."""
    kinds = set(map(type, items))  # in C: most arrays (roles, audiences) hold strings alone
    if dict in kinds or list in kinds:
        # freeze_json_object's loop, by index: one helper for both costs a call per item.
        for index, item in enumerate(items):
            kind = type(item)
            if kind is dict:
                items[index] = freeze_json_object(item)
            elif kind is list:
                items[index] = freeze_json_array(item)
    return tuple(items)


def _role_set(roles: Iterable[str]) -> frozenset[str]:
    """``roles`` (any iterable of strings but a string itself) as a frozenset."""
    if isinstance(roles, str) or not isinstance(roles, Iterable):
        raise TypeError('User: roles must be an iterable of role names, e.g. roles=["admin"]')
    found = frozenset(roles)
    if not all(isinstance(role, str) for role in found):
        raise TypeError("User: every role must be a string")
    return found


class _UserFields:
    """``User``'s storage: a ``User`` is filled in as one of these, then becomes a ``User``.

    Written this way because a ``User`` is built on every cache miss and
    refuses ``__setattr__``: filling plain slots and then switching the class
    costs a fraction of setting each field through ``object.__setattr__``.
    """

    __slots__ = ("claims", "email", "expires_at", "issuer", "roles", "source", "subject", "token")

    subject: str | None
    claims: Mapping[str, Any]
    roles: frozenset[str]
    issuer: str | None
    token: str
    source: str
    expires_at: float | None
    email: str | None


class User(_UserFields):
    """A verified token's bearer; immutable, as one ``User`` serves every request of its token.

    ``subject`` is the ``sub`` claim, ``roles`` a frozenset (built from any
    iterable of strings), ``claims`` the whole verified payload (deeply
    read-only), ``source`` where the token was found (``"bearer"``,
    ``"cookie:nf_jwt"`` …) and ``expires_at`` its ``exp``. Its attributes can
    be neither set nor deleted: the claims cache hands the same object to
    every request carrying the same token, so a view that changed it (say
    ``user.roles |= {"admin"}``) would change what later requests see.
    """

    __slots__ = ()

    is_authenticated = True
    is_anonymous = False  # as Django's users say it

    def __new__(
        cls,
        *,
        subject: str | None,
        claims: Mapping[str, Any],
        roles: Iterable[str] = frozenset(),
        issuer: str | None = None,
        token: str = "",
        source: str = "",
        expires_at: float | None = None,
    ) -> User:
        frozen: FrozenDict = claims if type(claims) is FrozenDict else freeze(claims)
        if type(roles) is not frozenset:
            roles = _role_set(roles)
        return verified_user(subject, frozen, roles, issuer, token, source, expires_at, cls)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("__slots__") != ():
            raise TypeError(
                f"{cls.__name__}: a subclass of User must declare __slots__ = () "
                "(a User is immutable: it has no room for attributes of its own)"
            )

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"User is immutable: {name!r} cannot be set")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"User is immutable: {name!r} cannot be deleted")

    def __copy__(self) -> User:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> User:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickled, the claims are a FrozenDict and the roles a frozenset again.
        return verified_user, (
            self.subject,
            self.claims,
            self.roles,
            self.issuer,
            self.token,
            self.source,
            self.expires_at,
            type(self),
        )

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
        claims = cast(FrozenDict, self.claims)  # every User's claims are frozen when it is made
        return verified_user(
            self.subject,
            claims,
            self.roles,
            self.issuer,
            self.token,
            source,
            self.expires_at,
            type(self),
        )

    def __repr__(self) -> str:
        # Never the token: reprs end up in logs and tracebacks.
        return (
            f"User(subject={self.subject!r}, issuer={self.issuer!r}, roles={sorted(self.roles)!r})"
        )


_new_fields = object.__new__


def verified_user(
    subject: str | None,
    claims: FrozenDict,
    roles: frozenset[str],
    issuer: str | None,
    token: str,
    source: str,
    expires_at: float | None,
    cls: type[User] = User,
) -> User:
    """``User(...)`` from claims and roles already frozen: what the gate's cache miss builds.

    The same object as the keyword constructor makes, without its checks and
    conversions, which cost a third of it; ``cls`` a subclass of ``User``.
    """
    email = claims.get("email")
    fields = _new_fields(_UserFields)
    fields.subject = subject
    fields.claims = claims
    fields.roles = roles
    fields.issuer = issuer
    fields.token = token
    fields.source = source
    fields.expires_at = expires_at
    fields.email = email if isinstance(email, str) else None
    fields.__class__ = cls
    return fields  # type: ignore[return-value]


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
