"""The WSGI adapter: authenticate every request, tell the app who it is, render refusals.

``GateMiddleware`` wraps any WSGI app (Flask's ``app.wsgi_app``, Django's
``get_wsgi_application()``, a bare callable). For each request it asks the
``Gate`` who the token proves, then sets ``environ["jwtgate.user"]``,
``environ["jwtgate.error"]`` and the context the decorators read. It stops a
request by itself only with ``reject_invalid=True``; otherwise a refused token
leaves the request anonymous and the view decides.

The per-request path is kept to a few dictionary lookups: a repeated request
is answered from a memo keyed by its raw credential values (see
``jwtgate.memo``) while the gate vouches for the user; anything else goes to
``Gate.authenticate`` through an ``EnvironView``, which reads header values
straight from the environ (``HTTP_AUTHORIZATION``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from contextvars import Token
from types import GeneratorType
from typing import TYPE_CHECKING, Any, cast

from .context import ANONYMOUS_AUTH, PREFLIGHT_AUTH, RequestAuth, _current
from .csrf import applies_to, is_websocket_upgrade
from .errors import AuthError, ConfigurationError
from .gate import Gate
from .memo import MEMO_SIZE, TAIL, UNKEYABLE, CredentialMemo, credential_places
from .recheck import Recheck
from .rules import Rule, RuleTable, rule_table
from .sources import RequestView
from .user import User

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ERROR_KEY", "USER_KEY", "EnvironView", "GateMiddleware", "is_preflight"]

#: The environ keys the middleware sets (PEP 3333: lowercase, dotted, our own prefix).
USER_KEY = "jwtgate.user"
ERROR_KEY = "jwtgate.error"

# Lowercase header name -> environ key. CONTENT_TYPE and CONTENT_LENGTH carry no
# HTTP_ prefix (PEP 3333); every other header does, upper-cased with "-" as "_".
_ENVIRON_KEYS: dict[str, str] = {
    "authorization": "HTTP_AUTHORIZATION",
    "cookie": "HTTP_COOKIE",
    "host": "HTTP_HOST",
    "origin": "HTTP_ORIGIN",
    "sec-fetch-site": "HTTP_SEC_FETCH_SITE",
    "content-type": "CONTENT_TYPE",
    "content-length": "CONTENT_LENGTH",
}


def _environ_key(name: str) -> str:
    key = _ENVIRON_KEYS.get(name)
    if key is None:
        key = "HTTP_" + name.upper().replace("-", "_")
        if len(_ENVIRON_KEYS) < 512:  # names come from configured sources: a handful
            _ENVIRON_KEYS[name] = key
    return key


def _wsgi_text(value: str) -> str:
    # PEP 3333 hands URL parts over as latin-1-decoded bytes; browsers send UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


class EnvironView(RequestView):
    """A ``RequestView`` over a WSGI environ; reads only what a source asks for.

    A WSGI server has already joined repeated headers into one value, so each
    header has at most one value here; two ``Authorization`` headers arrive
    as one comma-joined value, which the bearer source refuses as malformed.
    """

    __slots__ = ("environ",)

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ

    @property
    def method(self) -> str:  # type: ignore[override]
        """The request method (``REQUEST_METHOD``)."""
        method: str = self.environ.get("REQUEST_METHOD", "GET")
        return method

    @property
    def path(self) -> str:  # type: ignore[override]
        """The path within the app (``PATH_INFO``), decoded as UTF-8."""
        return _wsgi_text(self.environ.get("PATH_INFO", "")) or "/"

    @property
    def scheme(self) -> str:  # type: ignore[override]
        """``http`` or ``https`` (``wsgi.url_scheme``; behind a proxy, see werkzeug's ProxyFix)."""
        scheme: str = self.environ.get("wsgi.url_scheme", "http")
        return scheme

    def header_values(self, name: str) -> list[str]:
        value = self.environ.get(_ENVIRON_KEYS.get(name) or _environ_key(name))
        return [] if value is None else [value]

    def query_string(self) -> str:
        return _wsgi_text(self.environ.get("QUERY_STRING", ""))


def is_preflight(environ: WSGIEnvironment) -> bool:
    """True for a CORS preflight: ``OPTIONS`` with ``Access-Control-Request-Method``."""
    return (
        environ.get("REQUEST_METHOD") == "OPTIONS"
        and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
    )


class GateMiddleware:
    """Authenticates each request through ``gate`` before calling ``app``.

    Sets ``environ["jwtgate.user"]`` (a ``User`` or ``AnonymousUser``),
    ``environ["jwtgate.error"]`` (the ``AuthError`` of a presented-but-refused
    token, else ``None``) and the context ``require_auth`` and
    ``require_roles`` read, which is reset once the response is closed.

    A refused token makes the request anonymous; with ``reject_invalid=True``
    it is answered here instead (401, or 400 for a malformed request, 503 when
    the issuer's keys are unavailable). A CORS preflight is anonymous (its
    token is not read) and never refused here; the app's CORS layer answers
    it, and the decorators refuse it like any anonymous request. A websocket
    handshake (``Upgrade: websocket``) with a cookie token gets the same
    same-origin check as an unsafe method. An ``AuthError`` the app raises
    before its response starts is rendered as the standard response (status,
    ``WWW-Authenticate``, JSON body). ``rules`` (``jwtgate.rules``) gate paths
    by role, as Netlify's ``_redirects`` do.
    """

    __slots__ = (
        "_cached",
        "_clock",
        "_csrf",
        "_entries",
        "_hits",
        "_is_revoked",
        "_key",
        "_memo",
        "_on_user",
        "_reporter",
        "_single",
        "app",
        "gate",
        "reject_invalid",
        "rules",
    )

    def __init__(
        self,
        app: WSGIApplication,
        gate: Gate,
        *,
        reject_invalid: bool = False,
        rules: Iterable[Rule] | RuleTable | None = None,
    ) -> None:
        if not callable(app):
            raise ConfigurationError("app: must be a WSGI application (a callable)")
        if not isinstance(gate, Gate):
            raise ConfigurationError("gate: must be a jwtgate.Gate")
        if not isinstance(reject_invalid, bool):
            raise ConfigurationError("reject_invalid: must be True or False")
        self.app = app
        self.gate = gate
        self.reject_invalid = reject_invalid
        # Path rules run inside, once the request is authenticated: without them
        # the per-request path is exactly what it is without this feature.
        self.rules = None if rules is None else rule_table(rules)
        if self.rules is not None:
            from .rules_wsgi import RulesApp

            self.app = RulesApp(app, self.rules, gate._reporter)
        self._memo: CredentialMemo[_Entry] = CredentialMemo(MEMO_SIZE, gate=gate)
        self._entries = self._memo.entries
        self._single, self._key = _key_plan(gate)
        # Gate.still_valid, inlined below (its method call cost 0.15 µs of a cache hit):
        # the gate's cache holds this very user, unexpired, and it is not revoked.
        self._cached, self._clock, self._is_revoked = gate.hit_check()
        self._csrf = gate.cookie_csrf
        # With an observer: cache hits counted inline, each request's user handed over.
        self._reporter = gate._reporter
        self._hits = None if self._reporter is None else self._reporter.tally
        self._on_user = None if self._reporter is None else self._reporter.on_user

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # The cache-hit path, inlined because every request takes it: what the memo
        # remembers for these credential values, while the gate vouches for it.
        auth: RequestAuth | None = None
        method = environ.get("REQUEST_METHOD")
        if self._single is not None:
            raw: Any = environ.get(self._single)
        else:
            raw = UNKEYABLE if self._key is None else self._key(environ)
        if method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            # A CORS preflight carries no credentials: anonymous, its token unread.
            auth = PREFLIGHT_AUTH
        elif raw is None:
            auth = ANONYMOUS_AUTH
        elif raw is not UNKEYABLE:
            try:
                entry = self._entries[raw[-TAIL:]]
            except KeyError:
                entry = None
            if entry is not None and entry[0] == raw:
                user = entry[2]
                if user is None or (
                    (cached := self._cached(user.token)) is not None
                    and cached[0] is user
                    and cached[1] > self._clock()
                    and (self._is_revoked is None or not self._is_revoked(user))
                    # An unsafe request with a cookie token needs the gate's CSRF check.
                    and (self._csrf is None or not applies_to(method or "GET", user.source))
                    # A websocket handshake: the CSRF check too, and a user to re-check.
                    and "HTTP_UPGRADE" not in environ
                ):
                    auth = entry[1]
                    if self._hits is not None and user is not None:
                        next(self._hits[user.issuer])
        if auth is None:
            try:
                auth = self._authenticate(environ, raw)
            except AuthError as error:
                if self.reject_invalid:
                    return error(environ, start_response)
                auth = RequestAuth(error=error)
        if self._on_user is not None and isinstance(auth.user, User):
            self._on_user(auth.user)
        environ[USER_KEY] = auth.user
        environ[ERROR_KEY] = auth.error
        token = _current.set(auth)
        try:
            result = self.app(environ, start_response)
        except AuthError as error:
            _current.reset(token)
            if self._reporter is not None:
                self._reporter.refused_user(error, auth.user)
            return error(environ, _restart(start_response, error))
        except BaseException:
            _current.reset(token)
            raise
        if type(result) is GeneratorType:
            # A plain WSGI app's generator runs while the server iterates it: keep
            # the request's auth current until the server closes it.
            return _ResetOnClose(result, token)
        _current.reset(token)
        return result

    def _authenticate(self, environ: WSGIEnvironment, raw: Any) -> RequestAuth:
        """Ask the gate (the slow path), and remember a success for the fast one.

        ``raw`` is the request's memo key, ``UNKEYABLE`` when it has none. A
        websocket handshake's user is given a ``Recheck``: the decorators ask
        the gate again on each call while the connection lives.
        """
        view = EnvironView(environ)
        user = self.gate.authenticate(view)
        if user is not None and is_websocket_upgrade(environ.get("HTTP_UPGRADE")):
            return RequestAuth(user, recheck=Recheck(self.gate, view, user))
        auth = ANONYMOUS_AUTH if user is None else RequestAuth(user)
        if raw is not None and raw is not UNKEYABLE:
            self._memo.put((raw, auth, user))
        return auth

    def __repr__(self) -> str:
        return f"GateMiddleware({self.app!r}, {self.gate!r}, reject_invalid={self.reject_invalid})"


# --- the memo key ------------------------------------------------------------------

# What the middleware remembers for a request: the raw credential values it was
# built for, the auth the app sees and the verified user it stands for.
_Entry = tuple[Any, RequestAuth, User | None]


def _key_plan(
    gate: Gate,
) -> tuple[str | None, Callable[[WSGIEnvironment], Any] | None]:
    """Where a request's memo key is: one environ key, or a function reading several.

    Neither (``(None, None)``) when the gate has a custom source, which may read
    anything. A WSGI server joins a repeated header into one value, which the
    gate refuses as it must, so the raw values stand for the request as a whole.
    """
    places = credential_places(gate.sources)
    if places is None:
        return None, None
    names, query = places
    keys = [_environ_key(name) for name in names]
    if query:
        keys.append("QUERY_STRING")
    if len(keys) == 1 and not query:
        return keys[0], None

    def key(environ: WSGIEnvironment) -> Any:
        values = tuple([environ.get(k) or None for k in keys])
        return values if any(values) else None

    return None, key


def _reset(token: Token[RequestAuth | None]) -> None:
    # Not contextlib.suppress: this runs on every request, and try/except is free.
    try:  # noqa: SIM105
        _current.reset(token)
    except ValueError:
        # close() called from another context than the request's (some servers
        # do): that context never saw our value, so there is nothing to undo.
        pass


def _restart(start_response: StartResponse, error: AuthError) -> StartResponse:
    """``start_response`` for rendering ``error`` after the app may already have called it.

    PEP 3333 lets an error handler call ``start_response`` again only with
    ``exc_info``, which a server re-raises when the headers are already sent;
    but some callers (werkzeug's test client) re-raise on any ``exc_info``.
    So try a first call plainly and pass ``exc_info`` only if that is refused.
    """

    def start(
        status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        try:
            return start_response(status, headers)
        except Exception:
            exc_info = cast("OptExcInfo", (type(error), error, error.__traceback__))
            return start_response(status, headers, exc_info)

    return start


class _ResetOnClose:
    """A generator response, unchanged, resetting the request's auth when closed.

    Iteration goes straight to the generator: wrapping costs one object per
    request, not one call per chunk.
    """

    __slots__ = ("_generator", "_token")

    def __init__(
        self, generator: Generator[bytes, None, None], token: Token[RequestAuth | None]
    ) -> None:
        self._generator = generator
        self._token = token

    def __iter__(self) -> Iterator[bytes]:
        return self._generator

    def close(self) -> None:
        try:
            self._generator.close()
        finally:
            _reset(self._token)
