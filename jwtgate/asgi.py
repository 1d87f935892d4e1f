"""The ASGI adapter: ``GateMiddleware`` for Starlette, FastAPI and any ASGI app.

Pure ASGI (no ``BaseHTTPMiddleware``), so it serves ``http`` and
``websocket`` alike, keeps ``ContextVar``s flowing and passes ``lifespan``
through untouched. For each connection it sets, on a copy of the scope,
``scope["user"]`` (``User`` or ``AnonymousUser``), ``scope["auth"]``
(credentials whose ``.scopes`` are ``"authenticated"`` plus the roles, so
Starlette's ``request.user``, ``request.auth`` and ``@requires`` work) and
``scope["jwtgate.error"]``, and makes the decorators' context current.

It imports no web framework: Starlette's ``AuthCredentials`` is used when
Starlette is installed, a minimal look-alike otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator, Iterable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn

from .context import ANONYMOUS_AUTH, PREFLIGHT_AUTH, RequestAuth, _current
from .csrf import CSRFPolicy, applies_to
from .errors import AuthError, ConfigurationError, CrossSiteRequest, ExpiredToken
from .gate import Gate
from .logs import logger
from .memo import MEMO_SIZE, TAIL, UNKEYABLE, CredentialMemo, credential_places
from .recheck import Recheck
from .routes import check_routes
from .rules import Rule, RuleTable, rule_table
from .sources import RequestView
from .user import User

__all__ = [
    "MEMO_SIZE",
    "ASGIApp",
    "Credentials",
    "GateMiddleware",
    "Message",
    "Receive",
    "Scope",
    "ScopeView",
    "Send",
    "close_reason",
    "error_response_headers",
    "is_preflight",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: RFC 6455 §7.4.1: the endpoint refuses a message that violates its policy.
WS_POLICY_VIOLATION: Final = 1008
#: RFC 6455 §5.5: a close frame's payload is at most 125 bytes, 2 of them the code.
_MAX_CLOSE_REASON_BYTES: Final = 123

if TYPE_CHECKING:

    class _CredentialsBase:
        scopes: Sequence[str]

else:
    try:
        from starlette.authentication import AuthCredentials as _CredentialsBase
    except ImportError:  # Starlette is an optional extra

        class _CredentialsBase:
            """Stands in for Starlette's ``AuthCredentials`` in apps without Starlette."""


class Credentials(_CredentialsBase):
    """``scope["auth"]``: ``scopes`` are ``"authenticated"`` and the user's roles, sorted.

    A Starlette ``AuthCredentials`` when Starlette is installed, so its
    ``@requires("admin")`` and ``request.auth.scopes`` work unchanged. The
    scopes are a tuple rather than Starlette's list, and no attribute can be
    set or deleted: one object serves every request of the same token (and
    one every anonymous request), so it must not be editable by a view.
    """

    scopes: tuple[str, ...]

    def __init__(self, scopes: Iterable[str] = ()) -> None:
        object.__setattr__(self, "scopes", tuple(scopes))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"Credentials are immutable: {name!r} cannot be set")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Credentials are immutable: {name!r} cannot be deleted")

    @classmethod
    def for_user(cls, user: User) -> Credentials:
        """The credentials of a verified user."""
        return cls(("authenticated", *sorted(user.roles)))

    def __repr__(self) -> str:
        return f"Credentials({list(self.scopes)!r})"


# What the middleware hands on for a request: the raw credential values it was
# built for (its memo key), what the app sees, and the verified user it stands for.
_Entry = tuple[Any, RequestAuth, "Credentials", User | None]

_NO_CREDENTIALS: Final = Credentials()
_ANONYMOUS: Final[_Entry] = (None, ANONYMOUS_AUTH, _NO_CREDENTIALS, None)
_PREFLIGHT: Final[_Entry] = (None, PREFLIGHT_AUTH, _NO_CREDENTIALS, None)
# The request's auth is made current with the ContextVar's own methods: a call less each.
_set_auth = _current.set
_reset_auth = _current.reset
# A websocket's origin is the http(s) origin of the page that opened it.
_HTTP_SCHEMES: Final[dict[str, str]] = {"ws": "http", "wss": "https"}
# Header names as ASGI gives them (lowercase bytes), per lowercase ``str`` name.
_ENCODED_NAMES: dict[str, bytes] = {}


class ScopeView(RequestView):
    """A ``RequestView`` over an ASGI scope; nothing is decoded unless a source asks."""

    __slots__ = ("_scope", "method", "path", "scheme")

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self.method = scope.get("method", "GET")
        self.path = scope.get("path", "/")
        scheme: str = scope.get("scheme", "http")
        self.scheme = _HTTP_SCHEMES.get(scheme, scheme)

    def header_values(self, name: str) -> list[str]:
        key = _ENCODED_NAMES.get(name)
        if key is None:
            key = _ENCODED_NAMES.setdefault(name, name.encode("latin-1"))
        values = [value for hname, value in self._scope["headers"] if hname == key]
        if len(values) > 1:  # one value, joined as a WSGI server joins it (see RequestView)
            return [b",".join(values).decode("latin-1")]
        return [values[0].decode("latin-1")] if values else []

    def query_string(self) -> str:
        raw: bytes = self._scope.get("query_string", b"")
        return raw.decode("latin-1")


def error_response_headers(error: AuthError, body: bytes) -> list[tuple[bytes, bytes]]:
    """The raw ASGI headers of the standard refusal (RFC 6750 challenge, JSON body)."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1", "replace"))
        for name, value in error.response_headers()
    ]
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    return headers


def close_reason(error: AuthError) -> str:
    """A websocket close reason for ``error``: its code and description, at most 123 bytes."""
    reason = f"{error.error or 'missing_token'}: {error.safe_description}"
    return reason.encode()[:_MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore")


class GateMiddleware:
    """Authenticate every ``http`` and ``websocket`` connection with ``gate``.

    A refused token leaves the user anonymous with ``scope["jwtgate.error"]``
    set, so public routes still answer and ``@require_auth`` answers with
    the token's own error; with ``reject_invalid=True`` the refusal is sent
    at once instead. An ``AuthError`` raised by the app (the decorators, the
    FastAPI dependencies) is rendered as the standard 401/403 response while
    the response has not started, wherever the middleware sits: a 500 the
    app sends is held back until it returns, because Starlette's outermost
    layer answers an unhandled exception with a 500 before raising it on to
    a middleware wrapped around the whole app (or in front of an app that
    mounts another Starlette app). On a websocket it becomes an HTTP denial
    response when the server supports the extension, else a close with 1008
    before the handshake, and a close with 1008 and a reason after it.

    A CORS preflight is anonymous (its token is not read) and never refused
    here: the app's CORS layer answers it. Inside a websocket the decorators
    ask the gate again on every call (expiry, revocation);
    ``close_expired_websockets=True`` also closes an open websocket
    (``websocket_close_code``, 1008 by default) once its token expires.

    When the app starts (lifespan startup, else its first request) the
    middleware refuses to serve an app whose routes registered a function
    that a jwtgate decorator wrapped, the decorator having been written above
    the route decorator (see ``jwtgate.routes``).

    ``rules`` (``jwtgate.rules``) gate paths by role, as Netlify's
    ``_redirects`` do.
    """

    def __init__(
        self,
        app: ASGIApp,
        gate: Gate,
        *,
        reject_invalid: bool = False,
        websocket_close_code: int = WS_POLICY_VIOLATION,
        close_expired_websockets: bool = False,
        rules: Iterable[Rule] | RuleTable | None = None,
    ) -> None:
        if not isinstance(gate, Gate):
            raise ConfigurationError("gate: must be a jwtgate.Gate")
        if not isinstance(reject_invalid, bool):
            raise ConfigurationError("reject_invalid: must be True or False")
        if not isinstance(close_expired_websockets, bool):
            raise ConfigurationError("close_expired_websockets: must be True or False")
        code = websocket_close_code
        if isinstance(code, bool) or not isinstance(code, int):
            raise ConfigurationError("websocket_close_code: must be 1008 or in 4000-4999")
        if code != WS_POLICY_VIOLATION and not 4000 <= code < 5000:
            raise ConfigurationError("websocket_close_code: must be 1008 or in 4000-4999")
        self.app = app
        self.gate = gate
        self.reject_invalid = reject_invalid
        self.websocket_close_code = websocket_close_code
        self.close_expired_websockets = close_expired_websockets
        self._routes_checked = False
        # Path rules run inside, once the connection is authenticated: without them
        # the per-request path is exactly what it is without this feature.
        self.rules = None if rules is None else rule_table(rules)
        if self.rules is not None:
            from .rules_asgi import RulesApp

            self.app = RulesApp(app, self.rules, gate._reporter)
        self._memo: CredentialMemo[_Entry] = CredentialMemo(MEMO_SIZE, gate=gate)
        self._entries = self._memo.entries
        # Gate.still_valid, inlined below (its method call cost 0.15 µs of a cache hit):
        # the gate's cache holds this very user, unexpired, and it is not revoked; the
        # revocation check one that never blocks the event loop.
        self._cached, self._clock, self._is_revoked = gate.hit_check(on_loop=True)
        self._wanted, self._key = _key_plan(gate)
        self._csrf = gate.cookie_csrf
        # With an observer: cache hits counted inline, each request's user handed over.
        self._reporter = gate._reporter
        self._hits = None if self._reporter is None else self._reporter.tally
        self._on_user = None if self._reporter is None else self._reporter.on_user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan" and not self._routes_checked:
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if not self._routes_checked:
            self._check_routes(scope)
        # The fast path, inlined because every request takes it: what the memo
        # remembers for these credential values, while the gate vouches for it.
        entry: _Entry | None = None
        raw: Any = UNKEYABLE
        if kind == "http" and scope["method"] == "OPTIONS" and is_preflight(scope):
            entry = _PREFLIGHT
        else:
            wanted = self._wanted
            if wanted is not None:  # the one header the sources read: its raw value
                raw = None
                for name, value in scope["headers"]:
                    if name == wanted:
                        raw = value if raw is None else UNKEYABLE
            elif self._key is not None:
                raw = self._key(scope)
            if raw is None:
                entry = _ANONYMOUS
            elif raw is not UNKEYABLE:
                try:  # not contextlib.suppress: this runs on every request
                    entry = self._entries[raw[-TAIL:]]
                except KeyError:
                    entry = None
                if entry is not None and (
                    entry[0] != raw
                    or (
                        (user := entry[3]) is not None
                        and (
                            (cached := self._cached(user.token)) is None
                            or cached[0] is not user
                            or cached[1] <= self._clock()
                            or (self._is_revoked is not None and self._is_revoked(user))
                            # An unsafe request with a cookie token needs the gate's CSRF check.
                            or (self._csrf is not None and _unsafe_with_cookie(scope, user))
                        )
                    )
                ):
                    entry = None
                elif entry is not None and self._hits is not None and entry[3] is not None:
                    next(self._hits[entry[3].issuer])
        if entry is None:
            entry = await self._authenticate(scope, raw)
        auth = entry[1]
        if kind == "websocket":
            if self._csrf is not None:
                entry = self._check_websocket_origin(scope, entry, self._csrf)
                auth = entry[1]
                if self._reporter is not None and isinstance(auth.error, CrossSiteRequest):
                    self._reporter.refused(auth.error)  # the handshake's own CSRF refusal
            if entry[3] is not None:  # a user the decorators re-check while the socket lives
                auth = RequestAuth(entry[3], recheck=Recheck(self.gate, ScopeView(scope), entry[3]))
        error = auth.error
        if self._on_user is not None and entry[3] is not None:
            self._on_user(entry[3])
        scope = dict(scope)
        scope["user"] = auth.user
        scope["auth"] = entry[2]
        scope["jwtgate.error"] = error
        if error is not None and self.reject_invalid:
            if kind == "http":
                await _send_http_error(send, error)
            else:
                await self._refuse_handshake(scope, receive, send, error)
            return
        token = _set_auth(auth)
        try:
            if kind == "http":
                # A plain function handing back send's awaitable, not a coroutine:
                # one frame less on each message of every response.
                started = False
                # A 500 is held back until the app is done: a Starlette app wrapped from
                # outside (or mounted) answers an exception with a 500 and then raises it,
                # so its own AuthError comes after a 500 that nothing has sent yet.
                held: list[Message] | None = None

                def tracking_send(message: Message) -> Awaitable[None]:
                    nonlocal started, held
                    if started:
                        if held is None:
                            return send(message)
                        held.append(message)
                        if not message.get("more_body"):
                            return _DONE
                        messages, held = held, None  # a streamed 500 is the app's own
                        return _send_all(send, messages)
                    started = True
                    if message.get("status") == 500:
                        held = [message]
                        return _DONE
                    return send(message)

                try:
                    await self.app(scope, receive, tracking_send)
                except AuthError as exc:
                    if started and held is None:
                        raise
                    if self._reporter is not None:
                        self._reporter.refused_user(exc, auth.user)
                    await _send_http_error(send, exc)  # instead of the 500 held back
                except BaseException:
                    if held is not None:
                        await _send_all(send, held)
                    raise
                else:
                    if held is not None:
                        await _send_all(send, held)
            else:
                await self._websocket(scope, receive, send, entry[3])
        finally:
            _reset_auth(token)

    # --- start-up ------------------------------------------------------------------

    def _check_routes(self, scope: Scope) -> None:
        """Refuse an app whose routes serve a function that a jwtgate decorator wrapped."""
        # The routes behind this middleware; else those of the app that called it.
        check_routes(self.app, scope.get("app"))
        self._routes_checked = True

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass ``lifespan`` through, checking the app's routes at start-up.

        On an unprotected route the server is told that start-up failed, with
        the error as its message (uvicorn logs it and exits), and the error is
        raised out of the app's ``receive``; the app may say no more.
        """
        failed: list[ConfigurationError] = []

        async def checking_receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and not failed:
                try:
                    self._check_routes(scope)
                except ConfigurationError as exc:
                    failed.append(exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    raise
            return message

        async def guarded_send(message: Message) -> None:
            if not failed:  # once start-up failed, the server expects nothing more
                await send(message)

        await self.app(scope, checking_receive, guarded_send)

    # --- authentication ------------------------------------------------------------

    @staticmethod
    def _check_websocket_origin(scope: Scope, entry: _Entry, csrf: CSRFPolicy) -> _Entry:
        """Refuse a cookie-authenticated websocket opened by another site's page.

        A handshake is a GET that browsers send cross-site with the site's
        cookies (cross-site websocket hijacking), so it must show the same
        same-origin evidence as an unsafe request. Checked here on every
        handshake, as the memo's fast path skips the gate's own check.
        """
        user = entry[3]
        if user is None or not applies_to("GET", user.source, upgrade="websocket"):
            return entry
        view = ScopeView(scope)
        # A websocket scope has no method, and may lack the Upgrade header (ASGI does not
        # require it): a method that is not safe makes the policy look at the evidence.
        view.method = "WEBSOCKET"
        try:
            csrf.check(view)
        except AuthError as exc:
            return None, RequestAuth(error=exc), _NO_CREDENTIALS, None
        return entry

    async def _authenticate(self, scope: Scope, raw: Any) -> _Entry:
        """Ask the gate (the slow path), and remember a success for the fast one.

        ``raw`` is the request's memo key, ``UNKEYABLE`` when it has none.
        """
        try:
            user = await self.gate.authenticate_async(ScopeView(scope))
        except AuthError as exc:
            return None, RequestAuth(error=exc), _NO_CREDENTIALS, None
        if user is None:
            entry: _Entry = (raw, ANONYMOUS_AUTH, _NO_CREDENTIALS, None)
        else:
            entry = raw, RequestAuth(user=user), Credentials.for_user(user), user
        if raw is not UNKEYABLE:
            self._memo.put(entry)
        return entry

    # --- websocket -----------------------------------------------------------------

    async def _refuse_handshake(
        self, scope: Scope, receive: Receive, send: Send, error: AuthError
    ) -> None:
        """Refuse a websocket before the app sees it (``reject_invalid``)."""
        message = await receive()
        if message["type"] == "websocket.connect":
            await self._deny(scope, send, error)

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, user: User | None
    ) -> None:
        state = "handshake"
        deadline = self._expiry(user) if self.close_expired_websockets else None
        expired = False

        async def close_expired() -> None:
            nonlocal state, expired
            state = "closed"
            expired = True
            reason = close_reason(ExpiredToken())
            await send(
                {"type": "websocket.close", "code": self.websocket_close_code, "reason": reason}
            )

        async def tracking_send(message: Message) -> None:
            nonlocal state
            if deadline is not None and state == "open" and self._clock() >= deadline:
                await close_expired()
            kind = message["type"]
            if expired:
                if kind == "websocket.close":
                    return  # closed already, for the expiry
                # What ASGI servers raise for a send on a closed connection (an OSError).
                raise ConnectionResetError("jwtgate: the websocket was closed: its token expired")
            if kind == "websocket.accept":
                state = "open"
            elif kind == "websocket.close" or kind == "websocket.http.response.start":
                state = "closed"
            await send(message)

        async def expiring_receive() -> Message:
            if expired:
                return {"type": "websocket.disconnect", "code": self.websocket_close_code}
            if deadline is None or state != "open":
                return await receive()
            remaining = deadline - self._clock()
            if remaining > 0:
                try:
                    async with asyncio.timeout(remaining):
                        return await receive()
                except TimeoutError:
                    pass
            if state == "open":
                await close_expired()
            return {"type": "websocket.disconnect", "code": self.websocket_close_code}

        try:
            await self.app(
                scope, expiring_receive if deadline is not None else receive, tracking_send
            )
        except AuthError as exc:
            if state == "handshake":
                await self._deny(scope, send, exc)
            elif state == "open":
                await send(
                    {
                        "type": "websocket.close",
                        "code": self.websocket_close_code,
                        "reason": close_reason(exc),
                    }
                )
            else:
                logger.debug("jwtgate: %r raised after the websocket was closed", exc)

    def _expiry(self, user: User | None) -> float | None:
        """When ``user``'s token stops being accepted (``exp`` plus its issuer's leeway)."""
        if user is None or user.expires_at is None:
            return None
        return float(user.expires_at) + self.gate.leeway_for(user)

    async def _deny(self, scope: Scope, send: Send, error: AuthError) -> None:
        """Refuse a websocket handshake: an HTTP response if the server allows, else 1008."""
        if "websocket.http.response" in (scope.get("extensions") or {}):
            body = error.body()
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": error.status,
                    "headers": error_response_headers(error, body),
                }
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send(
                {
                    "type": "websocket.close",
                    "code": self.websocket_close_code,
                    "reason": close_reason(error),
                }
            )


class _Done:
    """An awaitable that is already done: what ``send`` gives back for a message held back."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


_DONE: Final = _Done()


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)


async def _send_http_error(send: Send, error: AuthError) -> None:
    body = error.body()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": error_response_headers(error, body),
        }
    )
    await send({"type": "http.response.body", "body": body})


def _unsafe_with_cookie(scope: Scope, user: User) -> bool:
    """True for an unsafe HTTP request whose token came from a cookie (CSRF applies)."""
    return scope["type"] == "http" and applies_to(scope["method"], user.source)


def is_preflight(scope: Scope) -> bool:
    """A CORS preflight: ``OPTIONS`` with ``Access-Control-Request-Method`` (no credentials)."""
    return scope.get("method") == "OPTIONS" and any(
        name == b"access-control-request-method" for name, _ in scope["headers"]
    )


def _key_plan(gate: Gate) -> tuple[bytes | None, Callable[[Scope], Any] | None]:
    """Where a request's memo key is: the one header the sources read, or a reader of several.

    Neither (``(None, None)``) when the gate has a custom source, which may read
    anything. A key is ``None`` when none of the places the sources read is
    present, which means "no token" without asking the gate, and ``UNKEYABLE``
    when a header the sources read was sent twice.
    """
    places = credential_places(gate.sources)
    if places is None:
        return None, None
    names, query = places
    wanted = [name.encode("latin-1") for name in names]
    if len(wanted) == 1 and not query:
        return wanted[0], None
    return None, _multi_key(wanted, query)


def _multi_key(wanted: Sequence[bytes], query: bool) -> Callable[[Scope], Any]:
    """The memo key when several headers (and maybe the query string) are read."""
    slots = {name: index for index, name in enumerate(wanted)}
    size = len(wanted)

    def key(scope: Scope) -> Any:
        values: list[bytes | None] = [None] * size
        for name, value in scope["headers"]:
            index = slots.get(name)
            if index is not None:
                if values[index] is not None:
                    return UNKEYABLE
                values[index] = value
        if query:
            raw = scope.get("query_string", b"")
            if raw:
                values.append(raw)
        if not any(values):
            return None
        return tuple(values)

    return key
