"""The core: find the token, answer from the cache, else verify it, and say who the user is.

``Gate`` knows no web framework. Adapters hand it a ``RequestView``; tests
and scripts hand it plain ``headers=`` and ``cookies=`` mappings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from .cache import ClaimsCache, HitCheck
from .csrf import CSRFPolicy
from .errors import (
    AuthError,
    ConfigurationError,
    InvalidRequest,
    InvalidSignature,
    InvalidToken,
    KeysUnavailable,
    UntrustedIssuer,
)
from .issuer import NO_KEY, Issuer
from .jws import DEFAULT_MAX_DEPTH, json_marks, parse_body, parse_claims, parse_header
from .keys import KeySource, VerificationKey
from .logs import fingerprint, logger
from .refusals import ISSUER_NOTE, REFUSAL_TTL, REFUSALS_BYTES, REFUSALS_SIZE, Refusals
from .sizes import entry_size
from .sources import (
    BearerSource,
    CookieSource,
    MappingView,
    QuerySource,
    RequestView,
    Source,
    parse_source,
)
from .user import User

if TYPE_CHECKING:
    from .observe import Observer, Reporter
    from .revocation import RevocationCheck, RevocationStore

__all__ = ["Gate"]

DEFAULT_MAX_TOKEN_BYTES = 8192
#: The claims cache's byte budget: 10,000 typical tokens fit well within it (about 5 KiB
#: each as estimated), while tokens made of thousands of tiny JSON objects cannot make
#: the cache hold more than this.
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
#: The longest value a source may read for a token: an Authorization or custom header,
#: the query string, one cookie's value. Servers cap headers too (gunicorn 8 KiB a
#: field by default, h11 64 KiB in all).
DEFAULT_MAX_HEADER_BYTES = 16_384
#: The longest Cookie header (all of them together) a cookie source scans: a site's
#: unrelated cookies may well pass 16 KiB, but no browser sends more than this.
DEFAULT_MAX_COOKIE_HEADER_BYTES = 65_536


class _NeedsRefresh(Exception):
    """Internal: the issuer's key source must fetch before the token can be checked."""

    def __init__(self, keys: KeySource) -> None:
        self.keys = keys


class Gate:
    """Trusts tokens from the configured issuers, found in the configured sources.

    ``sources`` are tried in order (``"bearer"``, ``"cookie:NAME"``,
    ``"header:NAME"``, ``"query:NAME"`` or ``Source`` objects); without it each
    issuer's own default sources are used, in order (``"bearer"`` for an issuer
    that has none). A token's ``iss`` picks its issuer; a token without ``iss``
    goes to the issuer built with ``issuer=None``, if any. Verified users
    are cached by token for at most ``cache_ttl`` seconds and never past the
    token's ``exp``. ``cache_bytes`` (64 MiB) bounds the cache's estimated
    memory as ``cache_size`` bounds its entries (see ``jwtgate.sizes``); each
    adapter's memo keeps within the same budget.

    ``is_revoked`` is asked on every request: a revocation store
    (``jwtgate.revocation.MemoryRevocations`` or ``RedisRevocations``, which
    answer from memory), or a callable ``is_revoked(user) -> bool``, plain or
    ``async``; under ASGI a plain one runs in a worker thread, never on the
    event loop. ``observer`` (a ``jwtgate.observe.Observer``) receives what
    the gate and its adapters do, for metrics and traces.

    ``max_token_bytes`` (8 KiB) caps a token; ``max_header_bytes`` (16 KiB,
    or ``max_token_bytes`` + 1 KiB when that is more) caps what a source reads
    for a token (an ``Authorization`` or custom header, the query string, a
    cookie's value), a longer one being a 400 ``invalid_request`` before it is
    scanned; ``max_cookie_header_bytes`` (64 KiB, and at least
    ``max_header_bytes``) caps the whole ``Cookie`` header a cookie source
    scans, which holds the site's other cookies too; ``max_json_depth`` (32)
    caps the nesting of a token's JSON.

    ``one_token`` (True) refuses a request carrying different tokens in two
    sources (400, RFC 6750 §2). ``one_token=False`` takes the token of the
    first source, in ``sources`` order, that holds one, and reads no further;
    so that a cookie another site could plant never outranks the token the
    app itself sends, ``sources`` must then list the header sources
    (``"bearer"``, ``"header:NAME"``) before cookies and the query string.

    ``csrf`` (on by default) makes an unsafe request whose token came from a
    cookie show same-origin evidence (see ``CSRFPolicy``); ``False`` turns it
    off, a ``CSRFPolicy`` configures it.
    """

    def __init__(
        self,
        *,
        issuers: Sequence[Issuer],
        sources: Sequence[str | Source] | None = None,
        cache_size: int = 10_000,
        cache_ttl: float = 300,
        clock: Callable[[], float] = time.time,
        is_revoked: Callable[[User], bool | Awaitable[bool]] | RevocationStore | None = None,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        csrf: bool | CSRFPolicy = True,
        max_json_depth: int = DEFAULT_MAX_DEPTH,
        max_header_bytes: int | None = None,
        observer: Observer | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        max_cookie_header_bytes: int | None = None,
        one_token: bool = True,
    ) -> None:
        self.issuers = _check_issuers(issuers)
        self._by_iss = {iss: i for i in self.issuers for iss in i.accepted_issuers}
        issuerless = [i for i in self.issuers if i.issuer is None]
        # A sole issuer-less issuer takes every token (its iss is not checked); beside
        # others it takes the tokens that carry no iss at all (Netlify's).
        self._any_issuer = issuerless[0] if len(self.issuers) == 1 and issuerless else None
        self._no_iss_issuer = issuerless[0] if issuerless else None
        # How claims free of backslashes spell each trusted iss (see _names_no_trusted_issuer);
        # None where a token may name no issuer at all.
        self._trusted_spellings = None if issuerless else tuple(map(_quoted, self._by_iss))
        self.sources = _check_sources(sources, self.issuers)
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigurationError("cache_size: must be a whole number ≥ 0 (0 disables it)")
        if isinstance(cache_ttl, bool) or not isinstance(cache_ttl, int | float) or cache_ttl < 0:
            raise ConfigurationError("cache_ttl: must be a number of seconds ≥ 0")
        if isinstance(cache_bytes, bool) or not isinstance(cache_bytes, int) or cache_bytes < 0:
            raise ConfigurationError("cache_bytes: must be a whole number of bytes ≥ 0")
        if not callable(clock):
            raise ConfigurationError("clock: must be a callable returning epoch seconds")
        if isinstance(max_token_bytes, bool) or not isinstance(max_token_bytes, int):
            raise ConfigurationError("max_token_bytes: must be a whole number")
        if max_token_bytes < 256:
            raise ConfigurationError("max_token_bytes: must be at least 256")
        if csrf is True:
            csrf = CSRFPolicy()
        if csrf is not False and not isinstance(csrf, CSRFPolicy):
            raise ConfigurationError("csrf: True, False or a CSRFPolicy")
        self.csrf: CSRFPolicy | None = csrf or None
        if isinstance(max_json_depth, bool) or not isinstance(max_json_depth, int):
            raise ConfigurationError("max_json_depth: must be a whole number")
        if not 2 <= max_json_depth <= 256:
            raise ConfigurationError("max_json_depth: must be between 2 and 256")
        self.max_json_depth = max_json_depth
        if max_header_bytes is None:
            max_header_bytes = max(DEFAULT_MAX_HEADER_BYTES, max_token_bytes + 1024)
        if isinstance(max_header_bytes, bool) or not isinstance(max_header_bytes, int):
            raise ConfigurationError("max_header_bytes: must be a whole number")
        if not max_token_bytes + 64 <= max_header_bytes <= 1_048_576:
            raise ConfigurationError(
                "max_header_bytes: must be between max_token_bytes + 64 and 1 MiB"
            )
        self.max_header_bytes = max_header_bytes
        if max_cookie_header_bytes is None:
            max_cookie_header_bytes = max(DEFAULT_MAX_COOKIE_HEADER_BYTES, max_header_bytes)
        if isinstance(max_cookie_header_bytes, bool) or not isinstance(
            max_cookie_header_bytes, int
        ):
            raise ConfigurationError("max_cookie_header_bytes: must be a whole number")
        if not max_header_bytes <= max_cookie_header_bytes <= 4 * 1_048_576:
            raise ConfigurationError(
                "max_cookie_header_bytes: must be between max_header_bytes and 4 MiB"
            )
        self.max_cookie_header_bytes = max_cookie_header_bytes
        if not isinstance(one_token, bool):
            raise ConfigurationError("one_token: must be True or False")
        if not one_token:
            _check_precedence(self.sources)
        self.one_token = one_token
        self.cache_ttl = cache_ttl
        self.max_token_bytes = max_token_bytes
        self.cache_bytes = cache_bytes
        self._cache = ClaimsCache(cache_size if cache_ttl > 0 else 0, cache_bytes)
        # Refusals are remembered within the same bounds (see jwtgate.refusals).
        self._refusals = Refusals(
            min(self._cache.maxsize, REFUSALS_SIZE),
            min(cache_bytes, REFUSALS_BYTES),
            min(cache_ttl, REFUSAL_TTL),
        )
        # The gate's only issuer, whose header rules and keys apply before the claims are read.
        self._sole_issuer = self.issuers[0] if len(self.issuers) == 1 else None
        self._clock = clock
        #: The observer given, and the gate's link to it (``None`` without one).
        self.observer = observer
        self._reporter: Reporter | None = None
        if observer is not None:
            from .observe import Reporter

            self._reporter = Reporter(observer, self.issuers)
        # The revocation check, and its per-request forms for the adapters' cache-hit
        # paths: _is_revoked (sync), _is_revoked_on_loop (must not block an event loop).
        self._revocation: RevocationCheck | None = None
        self._is_revoked: Callable[[User], bool] | None = None
        self._is_revoked_on_loop: Callable[[User], bool] | None = None
        if is_revoked is not None:
            from .revocation import RevocationCheck

            self._revocation = RevocationCheck(is_revoked, observer)
            self._is_revoked = self._revocation.inline
            self._is_revoked_on_loop = self._revocation.on_loop
        for issuer in self.issuers:
            issuer.keys.subscribe(self.clear_cache)

    # --- public API --------------------------------------------------------------

    def authenticate(
        self,
        view: RequestView | None = None,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> User | None:
        """The ``User`` the request's token proves, or ``None`` when it carries no token.

        Raises an ``AuthError`` when a token is present and refused. May block
        on a network fetch of the issuer's keys; use ``authenticate_async``
        under asyncio.
        """
        if view is None:
            view = MappingView(headers, cookies)
        user = None
        try:
            try:
                user, verified = self._find_user(view, refreshed=False)
            except _NeedsRefresh as need:
                need.keys.refresh()
                user, verified = self._find_user(view, refreshed=True)
            if user is not None and self._revocation is not None:
                self._revocation.check(user)
        except AuthError as error:
            self._refused(error, view, user)
            raise
        if user is not None and self._reporter is not None:
            self._reporter.accepted(user, verified)
        return user

    async def authenticate_async(
        self,
        view: RequestView | None = None,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> User | None:
        """``authenticate`` for asyncio: key fetches and blocking hooks run off the event loop."""
        if view is None:
            view = MappingView(headers, cookies)
        user = None
        try:
            try:
                user, verified = self._find_user(view, refreshed=False)
            except _NeedsRefresh as need:
                await need.keys.refresh_async()
                user, verified = self._find_user(view, refreshed=True)
            if user is not None and self._revocation is not None:
                await self._revocation.check_async(user)
        except AuthError as error:
            self._refused(error, view, user)
            raise
        if user is not None and self._reporter is not None:
            self._reporter.accepted(user, verified)
        return user

    def find_token(self, view: RequestView) -> tuple[str, Source] | None:
        """The token the request carries and the source it came from, or ``None``.

        The first source holding a token wins; a different token in another
        source is a malformed request (RFC 6750 §2: one method per request)
        unless ``one_token=False``, which reads no further.
        """
        found: tuple[str, Source] | None = None
        view = _CappedView(view, self.max_header_bytes, self.max_cookie_header_bytes)
        for source in self.sources:
            token = source.extract(view)
            if token is None:
                continue
            if found is None:
                found = (token, source)
                if not self.one_token:
                    break
            elif token != found[0]:
                raise InvalidRequest("More than one token was sent")
        if found is not None and len(found[0]) > self.max_token_bytes:
            raise InvalidToken("The token is too large")
        return found

    def still_valid(self, user: User, *, on_loop: bool = False) -> bool:
        """True while ``authenticate`` would still answer ``user`` for ``user.token``.

        That is: the cache holds this very ``User`` for its token, unexpired,
        and ``is_revoked`` does not refuse it. Adapters use it to reuse their
        own per-request work (the credentials they built for a token they
        have seen) without ever being more lenient than the gate; on False
        they call ``authenticate`` again. jwtgate's own adapters inline this
        check on their cache-hit path, where a method call is a noticeable
        share of the cost. ``on_loop=True`` (on an event loop) never calls a
        blocking ``is_revoked`` hook: a gate with one then answers False.
        """
        entry = self._cache.lookup(user.token)
        if entry is None or entry[0] is not user or entry[1] <= self._clock():
            return False
        is_revoked = self._is_revoked_on_loop if on_loop else self._is_revoked
        return is_revoked is None or not is_revoked(user)

    def hit_check(self, *, on_loop: bool = False) -> HitCheck:
        """``still_valid`` in pieces, for adapters that inline it on their cache-hit path.

        An internal interface shared by jwtgate's adapters (``HitCheck``
        documents the exact check); a method call costs a noticeable share of
        a cache hit, three bound callables do not. ``on_loop`` as for
        ``still_valid``.
        """
        is_revoked = self._is_revoked_on_loop if on_loop else self._is_revoked
        return HitCheck(self._cache.lookup, self._clock, is_revoked)

    @property
    def cookie_csrf(self) -> CSRFPolicy | None:
        """The CSRF policy when a source may read a cookie, else ``None`` (nothing to check)."""
        return self.csrf if any(isinstance(s, CookieSource) for s in self.sources) else None

    def clear_cache(self) -> None:
        """Forget every verified token (e.g. after revoking users or rotating keys).

        The refusals remembered are forgotten too.
        """
        self._cache.clear()
        self._refusals.clear()

    @property
    def cache_size(self) -> int:
        """How many verified tokens are cached now."""
        return len(self._cache)

    @property
    def cached_bytes(self) -> int:
        """The estimated bytes the cached tokens hold now (at most ``cache_bytes``)."""
        return self._cache.bytes

    # --- internals ---------------------------------------------------------------

    def _find_user(self, view: RequestView, *, refreshed: bool) -> tuple[User | None, bool]:
        """The request's user (before any revocation check), and whether it was just verified."""
        found = self.find_token(view)
        if found is None:
            return None, False
        token, source = found
        if self.csrf is not None and isinstance(source, CookieSource):
            self.csrf.check(view)
        now = self._clock()
        user = self._cache.get(token, now)
        if user is None:
            if type(source).check not in _PLAIN_CHECKS:
                source.check(token)  # a source's own check (jwtgate's are done while parsing)
            refusal = self._refusals.recall(token, now, self._cache.generation, source.spec)
            if refusal is not None:
                raise refusal
            return self._verify(token, source, now, refreshed=refreshed), True
        if user.source != source.spec:
            user = user.with_source(source.spec)
        return user, False

    def _refused(self, error: AuthError, view: RequestView, user: User | None) -> None:
        """Tell the observer, and explain the refusal at DEBUG (never a token or claim value)."""
        issuer = error.__dict__.get(ISSUER_NOTE, "")
        if user is not None and self._reporter is not None:
            issuer = self._reporter.name_of(user.issuer)
        if self._reporter is not None:
            self._reporter.refused(error, issuer)
        if logger.isEnabledFor(logging.DEBUG):
            try:
                found = self.find_token(view)
            except AuthError:
                found = None
            logger.debug(
                "jwtgate: refused %s %s%s%s: %s: %s",
                view.method,
                "a request" if found is None else f"token {fingerprint(found[0])}",
                "" if found is None else f" from {found[1].spec}",
                f" (issuer {issuer})" if issuer else "",
                type(error).__name__,
                error.safe_description,
            )

    def _verify(self, token: str, source: Source, now: float, *, refreshed: bool) -> User:
        # Read before any key is looked at: a clear_cache() from here on (a key withdrawn
        # while this verification runs) makes the cache drop what it verified.
        generation = self._cache.generation
        depth = self.max_json_depth
        issuer = self._sole_issuer
        noted: Issuer | None = None  # the issuer a refusal is reported under
        parsed = False
        claims: Mapping[str, Any] | None = None
        dated: Mapping[str, Any] | None = None  # the claims, once their checks have begun
        kid: str | None = None
        alg = ""
        candidates: Sequence[VerificationKey] | None = None
        try:
            try:
                header, split = parse_header(token, depth)
            except InvalidToken:
                # The parser accepts only what jwtgate's source checks pass, so they run now
                # only to name a refusal: a malformed Authorization header is a 400.
                source.check(token)
                raise
            parsed = True
            if issuer is not None:
                # One issuer: its header rules and keys apply before the claims are read, so
                # a token that none of its keys can verify is refused without reading them.
                noted = issuer
                alg, kid = issuer.check_header(header)
                candidates = _keys_before_claims(issuer, kid, alg)
                if (
                    candidates is not None
                    and not candidates
                    and (refreshed or not issuer.keys.needs_refresh(kid))
                ):
                    raise InvalidSignature(NO_KEY)
                noted = None
            # Decoded only now: a token its header refuses is not (its characters are checked).
            payload, signing_input, signature = parse_body(token, split)
            spellings = self._trusted_spellings
            if spellings is not None and _names_no_trusted_issuer(payload, spellings):
                raise UntrustedIssuer()
            marks = json_marks(payload)  # counted for the depth limit, then the size estimate
            claims = parse_claims(payload, max_depth=depth, marks=marks)
            issuer = noted = self._issuer_for(claims)
            if candidates is None:
                alg, kid = issuer.check_header(header)
                candidates = issuer.keys.keys_for(kid, alg)
            if not candidates and not refreshed and issuer.keys.needs_refresh(kid):
                raise _NeedsRefresh(issuer.keys)
            issuer.check_signature(signing_input, signature, alg, candidates)
            # Only from here on can a refusal depend on the time (see jwtgate.refusals).
            dated = claims
            issuer.check_claims(claims, now)
            user = issuer.make_user(claims, token, source.spec)
        except _NeedsRefresh:
            raise
        except AuthError as exc:
            if noted is not None:
                exc.__dict__[ISSUER_NOTE] = noted.name  # for the refusal's report
            if self._refusals.maxsize > 0:
                keys = None
                if isinstance(exc, InvalidSignature) and candidates is not None and noted:
                    keys = (noted.keys, kid, alg, tuple(candidates))
                # A token that did not parse was judged with its source's check: the same
                # text from another source may be refused otherwise (a 400 or a 401).
                only_for = None if parsed else source.spec
                self._refusals.remember(token, exc, now, generation, noted, dated, keys, only_for)
            raise
        except Exception as exc:
            # Whatever a hostile token makes a dependency raise, the answer is a 401.
            logger.debug("jwtgate: refused token %s: %s", fingerprint(token), type(exc).__name__)
            raise InvalidToken("The token could not be verified") from None
        exp = claims.get("exp")
        deadline = now + self.cache_ttl
        if exp is not None:
            deadline = min(deadline, exp + issuer.leeway)
        if self._cache.maxsize > 0:
            self._cache.put(
                token,
                user,
                deadline,
                entry_size(user, payload if user.claims is claims else None, marks),
                generation,
            )
        return user

    def _issuer_for(self, claims: Mapping[str, Any]) -> Issuer:
        if self._any_issuer is not None:
            return self._any_issuer
        if "iss" not in claims and self._no_iss_issuer is not None:
            return self._no_iss_issuer
        iss = claims.get("iss")
        issuer = self._by_iss.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise UntrustedIssuer()
        return issuer

    def leeway_for(self, user: User) -> float:
        """The clock leeway of the issuer that accepted ``user``'s token (0 if none is found).

        Found as the token's ``iss`` was routed (``issuer_aliases`` included): a
        user's ``issuer`` is its token's ``iss``, ``None`` when it had none.
        """
        issuer = self._any_issuer
        if issuer is None:
            issuer = self._no_iss_issuer if user.issuer is None else self._by_iss.get(user.issuer)
        return issuer.leeway if issuer is not None else 0

    def __repr__(self) -> str:
        return f"Gate(issuers={self.issuers!r}, sources={[s.spec for s in self.sources]!r})"


# The built-in token checks, which the parser's own checks imply (see _verify).
_PLAIN_CHECKS = (Source.check, BearerSource.check)


_BACKSLASH: Final = ord("\\")


def _quoted(name: str) -> bytes:
    """``name`` as a JSON string spells it when it needs no escape: its UTF-8, quoted."""
    return b'"' + name.encode("utf-8", "surrogatepass") + b'"'


def _names_no_trusted_issuer(payload: bytes, spellings: Sequence[bytes]) -> bool:
    """True when the claims text ``payload`` cannot name a trusted issuer in its ``iss``.

    A JSON text without a backslash has no escapes, so each of its strings is its
    characters between quotes: an ``iss`` equal to a trusted name is then that name's
    spelling, found in the text. When none is found the token is refused without
    its claims being parsed, which is most of what refusing it costs. A text that
    is also malformed is then refused as naming no trusted issuer rather than as
    malformed: a refusal either way.
    """
    # An int, and find(): `bytes in bytes` first tries its operand as an int, raising and
    # clearing a TypeError, which costs ten times the search; a loop, as all() of a
    # generator costs twice as much.
    if _BACKSLASH in payload:
        return False
    for spelling in spellings:  # noqa: SIM110
        if payload.find(spelling) >= 0:
            return False
    return True


def _keys_before_claims(
    issuer: Issuer, kid: str | None, alg: str
) -> Sequence[VerificationKey] | None:
    """The sole issuer's keys for a token, before its claims are read.

    ``None`` when its keys are unavailable now: that is then decided after
    the claims are read, as in a gate of several issuers.
    """
    try:
        return issuer.keys.keys_for(kid, alg)
    except KeysUnavailable:
        return None


class _CappedView(RequestView):
    """A view whose sources read no value longer than ``limit`` for a token.

    That is: no header value, query string or cookie value over ``limit``,
    and no ``Cookie`` header (all of them together) over ``cookie_limit``, a
    cookie source having to scan the site's other cookies too. Written here
    rather than left to the server because servers' limits vary (and tests
    and scripts call ``authenticate`` with no server at all).
    """

    __slots__ = ("_cookie_limit", "_limit", "_view")

    def __init__(self, view: RequestView, limit: int, cookie_limit: int) -> None:
        self._view = view
        self._limit = limit
        self._cookie_limit = cookie_limit

    @property
    def method(self) -> str:  # type: ignore[override]
        return self._view.method

    @property
    def path(self) -> str:  # type: ignore[override]
        return self._view.path

    @property
    def scheme(self) -> str:  # type: ignore[override]
        return self._view.scheme

    def header_values(self, name: str) -> list[str]:
        values = self._view.header_values(name)
        if name == "cookie":
            if sum(map(len, values)) > self._cookie_limit:
                raise InvalidRequest("The Cookie header is too large")
            return values
        for value in values:
            if len(value) > self._limit:
                raise InvalidRequest("A request header is too large")
        return values

    def query_string(self) -> str:
        query = self._view.query_string()
        if len(query) > self._limit:
            raise InvalidRequest("The query string is too large")
        return query

    def cookie_values(self, name: str) -> list[str]:
        self.header_values("cookie")  # refuse an oversize Cookie header before it is scanned
        values = self._view.cookie_values(name)
        for value in values:
            if len(value) > self._limit:
                raise InvalidRequest("A cookie is too large")
        return values

    def query_values(self, name: str) -> list[str]:
        self.query_string()
        return self._view.query_values(name)


def _check_issuers(issuers: Sequence[Issuer]) -> tuple[Issuer, ...]:
    if isinstance(issuers, Issuer):
        issuers = [issuers]
    found = tuple(issuers)
    if not found:
        raise ConfigurationError("issuers: give at least one Issuer")
    if not all(isinstance(i, Issuer) for i in found):
        raise ConfigurationError("issuers: every item must be an Issuer")
    if sum(i.issuer is None for i in found) > 1:
        raise ConfigurationError(
            "issuers: only one Issuer may have issuer=None (it takes the tokens without iss)"
        )
    names = [iss for i in found for iss in i.accepted_issuers]
    if len(names) != len(set(names)):
        raise ConfigurationError("issuers: two issuers have the same iss")
    return found


def _check_precedence(sources: Sequence[Source]) -> None:
    """With ``one_token=False``: no source another site can fill may outrank a header.

    A cookie can be planted by a page on a sibling subdomain (or over plain
    http) and a query string by anyone who links to the app; the
    ``Authorization`` header and custom headers only the app's own code can
    set. Taking the first token found must never let the former override the
    latter (the victim would act as the attacker's account).
    """
    plantable = [isinstance(s, CookieSource | QuerySource) for s in sources]
    if plantable != sorted(plantable):  # some header source comes after a cookie or query
        order = [s.spec for s, p in zip(sources, plantable, strict=True) if not p]
        order += [s.spec for s, p in zip(sources, plantable, strict=True) if p]
        raise ConfigurationError(
            "one_token: with one_token=False the first token found wins, so list header "
            f"sources before cookies and the query string, e.g. sources={order!r}: "
            "otherwise a cookie set by another site's page would override the token "
            "the app sends"
        )


def _check_sources(
    sources: Sequence[str | Source] | None, issuers: Sequence[Issuer]
) -> tuple[Source, ...]:
    if isinstance(sources, str | Source):
        sources = [sources]
    if sources is None:
        # Each issuer's own sources, in order; one without any brings "bearer", so that
        # adding a plain Issuer beside a preset never stops Bearer tokens being read.
        specs: list[Source] = []
        for issuer in issuers:
            specs.extend(issuer.sources if issuer.sources is not None else [BearerSource()])
        parsed = list(dict.fromkeys(specs)) or [parse_source("bearer")]
    else:
        parsed = [parse_source(s) for s in sources]
        if not parsed:
            raise ConfigurationError("sources: give at least one source")
        if len(parsed) != len(set(parsed)):
            raise ConfigurationError("sources: a source is listed twice")
    return tuple(parsed)
