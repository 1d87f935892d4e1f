"""The WSGI adapter: authenticate every request, tell the app who it is, render refusals.

``GateMiddleware`` wraps any WSGI app (Flask's ``app.wsgi_app``, Django's
``get_wsgi_application()``, a bare callable). For each request it asks the
``Gate`` who the token proves, then sets ``environ["jwtgate.user"]``,
``environ["jwtgate.error"]`` and the context the decorators read. It stops a
request by itself only with ``reject_invalid=True``; otherwise a refused token
leaves the request anonymous and the view decides.

The per-request path is kept to a few dictionary lookups: ``EnvironView``
reads header values straight from the environ (``HTTP_AUTHORIZATION``) and
cookies are scanned only when the gate has a cookie source.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from contextvars import Token
from types import GeneratorType
from typing import TYPE_CHECKING, Any, cast

from .context import ANONYMOUS_AUTH, PREFLIGHT_AUTH, RequestAuth, _auth_memo, _current, auth_for
from .csrf import SAFE_METHODS
from .errors import AuthError, ConfigurationError
from .gate import Gate
from .sources import (
    BearerSource,
    CookieSource,
    HeaderSource,
    QuerySource,
    RequestView,
    Source,
    cookie_values,
)
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
    the issuer's keys are unavailable). CORS preflights are never refused. An
    ``AuthError`` the app raises before its response starts is rendered as the
    standard response (status, ``WWW-Authenticate``, JSON body).
    """

    __slots__ = ("_bearer", "_plan", "app", "gate", "reject_invalid")

    def __init__(self, app: WSGIApplication, gate: Gate, *, reject_invalid: bool = False) -> None:
        if not callable(app):
            raise ConfigurationError("app: must be a WSGI application (a callable)")
        if not isinstance(gate, Gate):
            raise ConfigurationError("gate: must be a jwtgate.Gate")
        if not isinstance(reject_invalid, bool):
            raise ConfigurationError("reject_invalid: must be True or False")
        self.app = app
        self.gate = gate
        self.reject_invalid = reject_invalid
        self._plan = _plan(gate.sources)
        # The commonest gate reads the Authorization header only: give it a shorter path.
        only = gate.sources[0] if len(gate.sources) == 1 else None
        self._bearer = only if type(only) is BearerSource else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Inlined for speed: this is the cache-hit path, budgeted at about a microsecond.
        user: User | None = None
        try:
            bearer = self._bearer
            if bearer is None:
                user = self._authenticate(environ)
            else:
                header = environ.get("HTTP_AUTHORIZATION")
                if header is not None and (
                    header[:7] != "Bearer "
                    or (user := self.gate.cached_user(header[7:], bearer)) is None
                ):
                    user = self.gate.authenticate(EnvironView(environ))
        except AuthError as error:
            preflight = is_preflight(environ)
            if self.reject_invalid and not preflight:
                return error(environ, start_response)
            auth = RequestAuth(error=error, preflight=preflight)
        else:
            if environ.get("REQUEST_METHOD") == "OPTIONS" and is_preflight(environ):
                auth = PREFLIGHT_AUTH if user is None else RequestAuth(user, None, True)
            elif user is None:
                auth = ANONYMOUS_AUTH
            else:
                memo = _auth_memo.get(user)  # auth_for(user), inlined
                auth = memo if memo is not None and memo.user is user else auth_for(user)
        environ[USER_KEY] = auth.user
        environ[ERROR_KEY] = auth.error
        token = _current.set(auth)
        try:
            result = self.app(environ, start_response)
        except AuthError as error:
            _current.reset(token)
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

    def _authenticate(self, environ: WSGIEnvironment) -> User | None:
        """``gate.authenticate``, answered from the cache without re-parsing when it can be."""
        if self._plan is not None:
            found = _find_fast(self._plan, environ, self.gate.max_header_bytes)
            if found is None:
                return None
            if found is not _UNDECIDED:
                token, source = found
                csrf = self.gate.csrf
                if (
                    csrf is not None
                    and isinstance(source, CookieSource)
                    and environ.get("REQUEST_METHOD", "GET").upper() not in SAFE_METHODS
                ):
                    csrf.check(EnvironView(environ))  # as Gate.authenticate does, hit or miss
                user = self.gate.cached_user(token, source)
                if user is not None:
                    return user
        return self.gate.authenticate(EnvironView(environ))

    def __repr__(self) -> str:
        return f"GateMiddleware({self.app!r}, {self.gate!r}, reject_invalid={self.reject_invalid})"


# --- the fast path ------------------------------------------------------------------
#
# ``Gate.find_token`` checks the syntax of a Bearer value with a regular expression
# that costs about a microsecond on a real token, more than everything else a cache
# hit does. A token in the gate's cache passed that check (and every other) when it
# was first found, so here a Bearer token is taken with plain string operations and
# its syntax left unchecked: a hit proves it. The other sources are cheap and are
# read as ``find_token`` reads them, once a substring test says they may hold a
# token. Anything unusual (another scheme, two different tokens, a malformed value)
# goes to ``Gate.authenticate``, which gives the exact answer.

_BEARER, _COOKIE, _HEADER, _QUERY = range(4)
_UNDECIDED: Any = object()

_Step = tuple[int, Source, str]


def _plan(sources: Iterable[Source]) -> tuple[_Step, ...] | None:
    """How to look for each source's token in an environ; None for a custom source."""
    steps: list[_Step] = []
    for source in sources:
        kind = type(source)
        if kind is BearerSource:
            steps.append((_BEARER, source, "HTTP_AUTHORIZATION"))
        elif kind is CookieSource:
            steps.append((_COOKIE, source, cast(CookieSource, source).name + "="))
        elif kind is HeaderSource:
            steps.append((_HEADER, source, _environ_key(cast(HeaderSource, source).header)))
        elif kind is QuerySource:
            steps.append((_QUERY, source, "QUERY_STRING"))
        else:
            return None
    return tuple(steps)


def _find_fast(plan: tuple[_Step, ...], environ: WSGIEnvironment, limit: int) -> Any:
    """``(token, source)``, None when the request holds no token, or ``_UNDECIDED``.

    A value longer than ``limit`` (the gate's ``max_header_bytes``) is left to
    ``Gate.authenticate``, which refuses it.
    """
    found: tuple[str, Source] | None = None
    view: EnvironView | None = None
    for kind, source, key in plan:
        if kind == _BEARER:
            value = environ.get(key)
            if value is None:
                continue
            if value[:7] != "Bearer ":
                return _UNDECIDED
            token: str = value[7:]
        elif kind == _COOKIE:
            # CookieSource.extract inlined: the commonest browser request (nf_jwt).
            cookies = environ.get("HTTP_COOKIE")
            if cookies is None or key not in cookies:
                continue
            if len(cookies) > limit:
                return _UNDECIDED
            values = cookie_values((cookies,), key[:-1])
            if not values:
                continue
            token = values[0]
            if len(values) > 1 and any(value != token for value in values):
                return _UNDECIDED
        else:
            if not (key in environ if kind == _HEADER else environ.get(key)):
                continue
            if len(environ[key]) > limit:
                return _UNDECIDED
            view = view or EnvironView(environ)
            try:
                extracted = source.extract(view)
            except AuthError:
                return _UNDECIDED
            if extracted is None:
                continue
            token = extracted
        if found is None:
            found = (token, source)
        elif found[0] != token:
            return _UNDECIDED
    return found


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
