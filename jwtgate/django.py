"""Django integration: ``GateMiddleware`` for ``MIDDLEWARE``, configured by ``JWTGATE_*`` settings.

Add ``"jwtgate.django.GateMiddleware"`` to ``MIDDLEWARE`` and the same
``JWTGATE_*`` settings Flask reads to ``settings.py`` (see
``jwtgate.settings``). The gate is built once, when Django loads its
middleware; a bad setting raises ``SettingsError`` (an
``ImproperlyConfigured``) naming it.

For each request the middleware sets ``request.jwt_user`` (a ``User`` or
``AnonymousUser``), ``request.jwt_error`` (the refusal of a token that was
presented and refused, else ``None``) and the context ``@require_auth`` and
``@require_roles`` read. ``request.user`` stays ``django.contrib.auth``'s:
the two answer different questions (who the session belongs to, who the
token proves), and Django's admin, ``login()`` and permission checks expect a
``django.contrib.auth`` user there. ``JWTGATE_REQUEST_USER = True`` puts the
jwtgate user in ``request.user`` instead, for projects without Django's
authentication middleware (it is refused beside it).

Django turns an exception raised in a view into its own error page before
any middleware sees it, so ``process_exception`` renders an ``AuthError``
(raised by the decorators) as the standard 401/403/400/503 with the
``WWW-Authenticate`` challenge and the JSON body.

CSRF: a request whose token came in a header (``Authorization: Bearer``, or
a ``header:`` source) needs no Django CSRF token, as with Django REST
framework's token authentication: a cross-site page cannot send such a header
without the site's CORS consent. That waiver stands down when the request is
also authenticated by Django's own session, which Django's CSRF check exists
to protect. A token that came in a cookie gets jwtgate's same-origin check
and Django's own check as usual.

Path rules (``JWTGATE_RULES_FILE``: a ``_redirects`` file or a
``netlify.toml``; or ``JWTGATE_RULES``: a list of ``jwtgate.rules.Rule``)
gate paths by role as Netlify does, once the request is authenticated and
before Django resolves its URL (see ``jwtgate.rules_django``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings as django_settings
from django.core.exceptions import DisallowedHost, ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from .context import ANONYMOUS_AUTH, PREFLIGHT_AUTH, RequestAuth, reset_auth, set_auth
from .csrf import SAFE_METHODS
from .errors import AuthError, ConfigurationError
from .gate import Gate
from .rules import RuleTable, rule_table
from .rules_django import DjangoRules
from .settings import DJANGO_SETTINGS, GATE_SETTINGS, Settings
from .user import AnonymousUser, User
from .wsgi import EnvironView, is_preflight

if TYPE_CHECKING:
    from django.http.response import HttpResponseBase

    from .observe import Reporter

    GetResponse = (
        Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]]
    )

__all__ = [
    "DjangoView",
    "GateMiddleware",
    "SettingsError",
    "error_response",
    "gate_from_django_settings",
]

#: Every setting the middleware reads, with what it means.
KNOWN_SETTINGS: Mapping[str, str] = {**GATE_SETTINGS, **DJANGO_SETTINGS}
# The settings that describe a gate: refused beside JWTGATE_GATE.
_GATE_KEYS = tuple(key for key in GATE_SETTINGS if key != "JWTGATE_NETLIFY_IDENTITY_URL")
# django.contrib.auth's middleware that set request.user themselves.
_AUTH_MIDDLEWARE = frozenset(
    {"AuthenticationMiddleware", "RemoteUserMiddleware", "PersistentRemoteUserMiddleware"}
)


class SettingsError(ConfigurationError, ImproperlyConfigured):
    """A ``JWTGATE_*`` setting Django's middleware cannot use; the message names it."""


class DjangoView(EnvironView):
    """A ``RequestView`` over a Django request, under WSGI and ASGI alike.

    Headers come from ``request.META`` (Django fills it the WSGI way under
    ASGI too); the scheme and host are Django's own (``request.scheme``,
    ``request.get_host()``), so ``SECURE_PROXY_SSL_HEADER``,
    ``USE_X_FORWARDED_HOST`` and ``ALLOWED_HOSTS`` decide the request's own
    origin for the CSRF check as they do for Django's.
    """

    __slots__ = ("request",)

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request.META)
        self.request = request

    @property
    def method(self) -> str:  # type: ignore[override]
        """The request method."""
        return self.request.method or "GET"

    @property
    def path(self) -> str:  # type: ignore[override]
        """The path within the site (``request.path_info``)."""
        return self.request.path_info or "/"

    @property
    def scheme(self) -> str:  # type: ignore[override]
        """``http`` or ``https``, as Django sees it."""
        return self.request.scheme or "http"

    def header_values(self, name: str) -> list[str]:
        if name == "host":
            try:
                return [self.request.get_host()]
            except DisallowedHost:
                return []  # no trusted own origin: only other evidence counts
        return super().header_values(name)


def error_response(error: AuthError) -> HttpResponse:
    """The standard refusal as a Django response: status, ``WWW-Authenticate``, JSON body."""
    response = HttpResponse(error.body(), status=error.status)
    for name, value in error.response_headers():
        response[name] = value
    return response


def gate_from_django_settings() -> tuple[Gate, bool, bool]:
    """The gate, ``reject_invalid`` and ``request_user`` that Django's settings describe.

    Raises ``SettingsError`` naming the setting at fault.
    """
    try:
        settings = Settings(django_settings, known=KNOWN_SETTINGS, reader="jwtgate.django")
        gate = _configured_gate(settings)
        reject_invalid = settings.flag("JWTGATE_REJECT_INVALID") or False
        request_user = settings.flag("JWTGATE_REQUEST_USER") or False
        if request_user:
            _check_request_user()
    except ConfigurationError as error:
        raise SettingsError(str(error)) from None
    return gate, reject_invalid, request_user


def rules_from_django_settings(reporter: Reporter | None = None) -> DjangoRules | None:
    """The path rules of ``JWTGATE_RULES`` or ``JWTGATE_RULES_FILE``, or ``None``.

    ``JWTGATE_RULES`` is a list of ``jwtgate.rules.Rule`` (or a ``RuleTable``);
    ``JWTGATE_RULES_FILE`` a ``_redirects`` file or ``netlify.toml``, absolute
    or relative to ``BASE_DIR``. Raises ``SettingsError`` naming the setting.
    ``reporter`` (a gate's link to its observer) hears the rules' decisions.
    """
    try:
        settings = Settings(django_settings, known=KNOWN_SETTINGS, reader="jwtgate.django")
        given = settings.values.get("JWTGATE_RULES")
        name = settings.text("JWTGATE_RULES_FILE")
        if given is not None and name is not None:
            raise ConfigurationError(
                "JWTGATE_RULES, JWTGATE_RULES_FILE: both are set; use one or the other"
            )
        if given is not None:
            try:
                table = rule_table(given)
            except ConfigurationError as error:
                raise ConfigurationError(f"JWTGATE_RULES: {error}") from None
        elif name is not None:
            table = _rules_file(name)
        else:
            return None
    except ConfigurationError as error:
        raise SettingsError(str(error)) from None
    return DjangoRules(table, reporter)


def _rules_file(name: str) -> RuleTable:
    from .netlify import rules_file

    path = Path(name)
    if not path.is_absolute():
        base = getattr(django_settings, "BASE_DIR", None)
        if base is None:
            raise ConfigurationError(
                "JWTGATE_RULES_FILE: a relative path needs BASE_DIR in settings; "
                "or give an absolute path"
            )
        path = Path(base) / path
    try:
        return RuleTable(rules_file(path))
    except ConfigurationError as error:
        raise ConfigurationError(f"JWTGATE_RULES_FILE: {error}") from None


def _configured_gate(settings: Settings) -> Gate:
    given = settings.values.get("JWTGATE_GATE")
    if given is None:
        gate = settings.gate()
        if gate is None:
            raise ConfigurationError(
                "jwtgate.django.GateMiddleware: configure an issuer in settings "
                "(e.g. JWTGATE_NETLIFY_JWT_SECRET, or JWTGATE_ALGORITHMS with JWTGATE_SECRET, "
                "JWTGATE_PUBLIC_KEY, JWTGATE_JWKS_URL or JWTGATE_DISCOVERY), or set JWTGATE_GATE"
            )
        return gate
    configured = settings.configured(_GATE_KEYS)
    if configured:
        raise ConfigurationError(
            f"JWTGATE_GATE: set, and so are {', '.join(configured)}: use one or the other"
        )
    if isinstance(given, str):
        try:
            given = import_string(given)
        except ImportError as error:
            raise ConfigurationError(f"JWTGATE_GATE: cannot import {given!r}: {error}") from None
        if callable(given) and not isinstance(given, Gate):
            given = given()
    if not isinstance(given, Gate):
        raise ConfigurationError(
            "JWTGATE_GATE: must be a jwtgate.Gate, or the dotted path of one "
            "(or of a function returning one)"
        )
    return given


def _check_request_user() -> None:
    """Refuse ``JWTGATE_REQUEST_USER`` where Django's own middleware sets ``request.user``."""
    for path in django_settings.MIDDLEWARE:
        try:
            cls = import_string(path)
        except ImportError:
            continue  # Django itself reports it when it loads that middleware
        for base in getattr(cls, "__mro__", ()):
            if base.__module__ == "django.contrib.auth.middleware" and (
                base.__name__ in _AUTH_MIDDLEWARE
            ):
                raise ConfigurationError(
                    f"JWTGATE_REQUEST_USER: {path} sets request.user to django.contrib.auth's "
                    "user; read the jwtgate user from request.jwt_user instead, or remove one"
                )


class _HeaderTokenWaiver:
    """``request._dont_enforce_csrf_checks`` for a request whose token came in a header.

    Django's ``CsrfViewMiddleware`` reads the flag's truth when it checks the
    request (after every middleware has seen it, whatever their order), so
    the waiver is decided then: it holds unless ``django.contrib.auth`` has
    authenticated the request by its session, which a cross-site page could
    otherwise ride on.
    """

    __slots__ = ("_request",)

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def __bool__(self) -> bool:
        user = getattr(self._request, "user", None)
        if user is None or isinstance(user, User | AnonymousUser):
            return True
        return not getattr(user, "is_authenticated", True)


def _from_header(spec: str | None) -> bool:
    """True for a token that came in a header, which no cross-site page can send unasked."""
    return spec is not None and (spec == "bearer" or spec.startswith("header:"))


class GateMiddleware:
    """Authenticate each request with the gate the ``JWTGATE_*`` settings describe.

    Serves sync (WSGI) and async (ASGI) Django alike: Django picks the mode
    that matches the rest of the middleware chain.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response: Any = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        self.gate, self.reject_invalid, self.request_user = gate_from_django_settings()
        self.rules = rules_from_django_settings(self.gate._reporter)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        view = DjangoView(request)
        preflight = is_preflight(request.META)
        try:
            user = None if preflight else self.gate.authenticate(view)
            auth: RequestAuth | HttpResponse = self._auth(request, user, preflight)
        except AuthError as error:
            auth = self._refused(request, view, error)
        if isinstance(auth, HttpResponse):
            return auth
        token = set_auth(auth)
        try:
            page = None if self.rules is None else self.rules.before(request, auth)
            if isinstance(page, HttpResponse):
                return page
            response: HttpResponseBase = self.get_response(request)
            return response if page is None else DjangoRules.after(response, page)
        finally:
            reset_auth(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        view = DjangoView(request)
        preflight = is_preflight(request.META)
        try:
            user = None if preflight else await self.gate.authenticate_async(view)
            auth: RequestAuth | HttpResponse = self._auth(request, user, preflight)
        except AuthError as error:
            auth = self._refused(request, view, error)
        if isinstance(auth, HttpResponse):
            return auth
        token = set_auth(auth)
        try:
            page = None if self.rules is None else self.rules.before(request, auth)
            if isinstance(page, HttpResponse):
                return page
            response: HttpResponseBase = await self.get_response(request)
            return response if page is None else DjangoRules.after(response, page)
        finally:
            reset_auth(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Render an ``AuthError`` a view raised (the decorators) as the standard refusal."""
        if isinstance(exception, AuthError):
            return error_response(exception)
        return None

    # --- internals -------------------------------------------------------------------

    def _auth(self, request: HttpRequest, user: User | None, preflight: bool) -> RequestAuth:
        if preflight:
            # Anonymous, its token unread, as in every adapter: the decorators refuse it
            # like any anonymous request; the project's CORS layer answers it.
            auth = PREFLIGHT_AUTH
        else:
            auth = ANONYMOUS_AUTH if user is None else RequestAuth(user)
        self._attach(request, auth, None if user is None else user.source)
        return auth

    def _refused(
        self, request: HttpRequest, view: DjangoView, error: AuthError
    ) -> RequestAuth | HttpResponse:
        if self.reject_invalid:
            return error_response(error)
        auth = RequestAuth(error=error)
        self._attach(request, auth, _source_of(self.gate, view))
        return auth

    def _attach(self, request: HttpRequest, auth: RequestAuth, source: str | None) -> None:
        request.jwt_user = auth.user  # type: ignore[attr-defined]
        request.jwt_error = auth.error  # type: ignore[attr-defined]
        if self.request_user:
            request.user = auth.user  # type: ignore[assignment]
        if (
            _from_header(source)
            and (request.method or "GET").upper() not in SAFE_METHODS
            and not getattr(request, "_dont_enforce_csrf_checks", False)
        ):
            request._dont_enforce_csrf_checks = _HeaderTokenWaiver(request)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"GateMiddleware({self.gate!r}, reject_invalid={self.reject_invalid})"


def _source_of(gate: Gate, view: DjangoView) -> str | None:
    """Where the request's (refused) token came from, or ``None`` when that is unclear."""
    try:
        found = gate.find_token(view)
    except AuthError:
        return None
    return None if found is None else found[1].spec
