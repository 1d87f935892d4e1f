"""Flask integration: the ``JWTGate`` extension, ``current_user`` and ``client_context()``.

``JWTGate(app, gate)`` (or ``JWTGate()`` then ``init_app(app)``) wraps
``app.wsgi_app`` in ``jwtgate.wsgi.GateMiddleware``, so ``require_auth`` and
``require_roles`` work on the app's views. Without a ``Gate`` it builds one
from the app's ``JWTGATE_*`` configuration (see ``gate_from_config``).

Refusals render as the standard JSON + ``WWW-Authenticate`` response. An
``@app.errorhandler(AuthError)`` of the app's own replaces that rendering for
every refusal: Flask files handlers of HTTP exceptions by status code, so a
handler registered for ``AuthError`` (401) would not otherwise see a 403, a
400 or a 503; the extension forwards those to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, has_request_context, redirect, request, url_for
from werkzeug.local import LocalProxy
from werkzeug.routing import BuildError

from .context import _current
from .errors import AuthError, ConfigurationError
from .gate import Gate
from .logs import logger
from .routes import check_flask_app
from .rules import Rule, RuleTable, rule_table
from .rules_wsgi import RulesApp
from .settings import FLASK_SETTINGS, GATE_SETTINGS, Settings
from .user import AnonymousUser, User
from .wsgi import USER_KEY, GateMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from werkzeug.wrappers import Response

__all__ = [
    "CONFIG_KEYS",
    "JWTGate",
    "JWTGateState",
    "client_context",
    "current_user",
    "gate_from_config",
    "get_state",
    "render_auth_error",
    "safe_next_url",
]

EXTENSION_KEY = "jwtgate"

#: Every configuration key the extension reads, with what it means (see ``jwtgate.settings``).
CONFIG_KEYS: Mapping[str, str] = {**GATE_SETTINGS, **FLASK_SETTINGS}
# The settings that describe a gate: refused beside a Gate passed to the extension.
_GATE_KEYS = tuple(key for key in GATE_SETTINGS if key != "JWTGATE_NETLIFY_IDENTITY_URL")


@dataclass(frozen=True)
class JWTGateState:
    """What ``init_app`` set up for one app: ``app.extensions["jwtgate"]``."""

    extension: JWTGate
    gate: Gate
    middleware: GateMiddleware
    login_url: str | None
    identity_url: str | None


class JWTGate:
    """The Flask extension: authenticates every request of the app through a ``Gate``.

    ``gate`` is used as given; without one, ``init_app`` builds a gate from
    the app's ``JWTGATE_*`` configuration. ``login_url`` (a URL or an endpoint
    name) turns a 401 answered to a browser navigation into a redirect there,
    with the page in ``next``; API calls keep their 401. ``reject_invalid``
    answers 401 for any refused token, even on public views. ``rules``
    (``jwtgate.rules``, or ``JWTGATE_RULES_FILE``: a ``_redirects`` file or a
    ``netlify.toml``, relative to the app's root) gate paths by role as
    Netlify does. Arguments given here win over the configuration.
    """

    def __init__(
        self,
        app: Flask | None = None,
        gate: Gate | None = None,
        *,
        login_url: str | None = None,
        reject_invalid: bool | None = None,
        context_processor: bool = True,
        rules: Iterable[Rule] | RuleTable | None = None,
    ) -> None:
        if gate is not None and not isinstance(gate, Gate):
            raise ConfigurationError("gate: must be a jwtgate.Gate")
        self._gate = gate
        self.rules = None if rules is None else rule_table(rules)
        self._app = app
        self.login_url = login_url
        self.reject_invalid = reject_invalid
        self.context_processor = context_processor
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Wrap ``app.wsgi_app``, register the error rendering, publish ``current_user``."""
        if EXTENSION_KEY in app.extensions:
            raise ConfigurationError("JWTGate: this app is already set up (init_app ran twice)")
        settings = _settings(app.config)
        gate = self._gate
        if gate is None:
            gate = settings.gate()
            if gate is None:
                raise ConfigurationError(
                    "JWTGate: pass a Gate, or configure an issuer "
                    "(e.g. JWTGATE_NETLIFY_JWT_SECRET, or JWTGATE_ALGORITHMS with JWTGATE_SECRET, "
                    "JWTGATE_PUBLIC_KEY, JWTGATE_JWKS_URL or JWTGATE_DISCOVERY)"
                )
        elif configured := settings.configured(_GATE_KEYS):
            raise ConfigurationError(
                "JWTGate: a Gate was passed and issuer settings are configured "
                f"({', '.join(configured)}): use one or the other"
            )
        login_url = self.login_url or settings.text("JWTGATE_LOGIN_URL")
        reject = self.reject_invalid
        if reject is None:
            reject = settings.flag("JWTGATE_REJECT_INVALID") or False
        check_flask_app(app)  # routes registered so far; the rest at the first request
        first = _CheckRoutesFirst(app, app.wsgi_app)
        rules = self.rules if self.rules is not None else _rules_file(app, settings)
        middleware = GateMiddleware(first, gate, reject_invalid=reject, rules=rules)
        # What calls the check, and steps past it once it passes: the rules, when
        # there are any (they must stay in front of the app), else the middleware.
        first.middleware = (
            middleware if middleware.rules is None else cast("RulesApp", middleware.app)
        )
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions[EXTENSION_KEY] = JWTGateState(
            extension=self,
            gate=gate,
            middleware=middleware,
            login_url=login_url,
            identity_url=settings.text("JWTGATE_NETLIFY_IDENTITY_URL") or _identity_url(gate),
        )
        _register_error_handlers(app)
        if self.context_processor:
            app.context_processor(_template_context)

    @property
    def gate(self) -> Gate:
        """The ``Gate`` of the app given at construction, else of the current app."""
        return get_state(self._app).gate


class _CheckRoutesFirst:
    """What the extension's middleware calls until the app's first request.

    Routes are usually added after ``JWTGate(app)``, so the decorator-order
    trap (see ``jwtgate.routes``) is looked for again when the app first
    serves: a route serving an unprotected original raises
    ``ConfigurationError`` (the server logs it and answers 500), on every
    request until the app is fixed. Once the check passes this steps aside,
    so later requests pay nothing for it.
    """

    middleware: GateMiddleware | RulesApp  # what calls this, set by init_app

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.flask_app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        check_flask_app(self.flask_app)
        self.middleware.app = self.wsgi_app
        return self.wsgi_app(environ, start_response)


def get_state(app: Flask | None = None) -> JWTGateState:
    """What ``JWTGate`` set up for ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    try:
        state: JWTGateState = target.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError("jwtgate: JWTGate(app) or init_app(app) has not run") from None
    return state


# --- the current user --------------------------------------------------------------


def _load_user() -> User | AnonymousUser:
    auth = _current.get()
    if auth is not None:
        return auth.user
    # Outside the middleware's call, e.g. while a stream_with_context body is sent.
    if has_request_context():
        user: User | AnonymousUser | None = request.environ.get(USER_KEY)
        if user is not None:
            return user
    raise RuntimeError(
        "jwtgate: no authenticated request here; set up JWTGate(app) and use it in a request"
    )


#: The request's ``User`` (or ``AnonymousUser``): ``current_user.is_authenticated``,
#: ``.subject``, ``.email``, ``.roles``, ``.claims`` …
current_user: User | AnonymousUser = cast("User | AnonymousUser", LocalProxy(_load_user))


def _template_context() -> dict[str, Any]:
    return {"current_user": current_user}


def client_context() -> dict[str, Any]:
    """The request as Netlify Functions see it in ``context.clientContext``.

    ``{"identity": {"url": ...}, "user": <claims>}``; ``"user"`` is absent for
    an anonymous request, as on Netlify. The identity URL comes only from the
    configuration: ``JWTGATE_NETLIFY_IDENTITY_URL``, or the netlify preset's
    ``identity_url``; without one ``"identity"`` is absent. It is never built
    from the request's ``Host``, which the client chooses, since ported
    handlers call that URL with admin credentials. Netlify's short-lived admin
    ``identity.token`` is not reproduced.
    """
    user = _load_user()
    url = get_state().identity_url
    context: dict[str, Any] = {} if url is None else {"identity": {"url": url}}
    if user.is_authenticated:
        context["user"] = _thaw(user.claims)
    return context


def _thaw(value: Any) -> Any:
    # Claims are deeply read-only; handlers ported from JavaScript expect plain objects.
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(item) for item in value]
    return value


def _identity_url(gate: Gate) -> str | None:
    for issuer in gate.issuers:
        url = issuer.metadata.get("identity_url")
        if isinstance(url, str) and url:
            return url
    return None


# --- rendering refusals ------------------------------------------------------------


def render_auth_error(error: AuthError) -> Response:
    """The default response for a refusal: a login redirect when configured, else JSON.

    Call it from an ``@app.errorhandler(AuthError)`` of your own to fall back
    to jwtgate's rendering.
    """
    login_url = get_state().login_url
    if login_url is not None and error.status == 401 and _is_navigation():
        location = _login_location(login_url)
        if location is not None:
            response = redirect(location, 302)
            response.vary.update(("Accept", "Sec-Fetch-Mode"))
            response.headers["Cache-Control"] = "no-store"
            return response
    response = error.get_response()
    if login_url is not None:
        response.vary.update(("Accept", "Sec-Fetch-Mode"))
    return response


def _handle(error: AuthError) -> Any:
    # Flask found this handler by the error's status code; a handler of the app's
    # own for AuthError itself is filed under 401 only, so look for it here.
    handler = _app_handler(error)
    if handler is not None:
        return current_app.ensure_sync(handler)(error)
    return render_auth_error(error)


def _app_handler(error: AuthError) -> Callable[[AuthError], Any] | None:
    """The app's (or the request's blueprints') own handler for ``AuthError``, if any."""
    spec = current_app.error_handler_spec
    for name in (*request.blueprints, None):
        handler = spec.get(name, {}).get(AuthError.code, {}).get(AuthError)
        if handler is not None and handler is not _handle:
            return handler
    return None


def _register_error_handlers(app: Flask) -> None:
    """``_handle`` for AuthError and for each subclass filed under another status code."""
    existing = app.error_handler_spec[None]
    for cls in _auth_error_classes():
        if cls not in existing.get(cls.code, {}):
            app.register_error_handler(cls, _handle)


def _auth_error_classes() -> list[type[AuthError]]:
    found: list[type[AuthError]] = [AuthError]
    pending = list(AuthError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.code != AuthError.code and cls.code is not None:
            found.append(cls)
    return found


def _is_navigation() -> bool:
    """A browser loading a page (not fetch/XHR, not an API client)."""
    if request.method not in ("GET", "HEAD"):
        return False
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode is not None:
        return mode == "navigate"
    if request.headers.get("X-Requested-With"):
        return False
    accept = request.accept_mimetypes
    html = max((q for value, q in accept if value == "text/html"), default=0)
    return html > 0 and html >= accept["application/json"]


def _login_location(login_url: str) -> str | None:
    if "/" not in login_url and ":" not in login_url:
        try:
            login_url = url_for(login_url)
        except BuildError:
            logger.error("jwtgate: JWTGATE_LOGIN_URL names no endpoint: %r", login_url)
            return None
    if urlsplit(login_url).path == request.path:
        return None  # the login page itself refused: a redirect would loop
    here = request.script_root + request.path
    if request.query_string:
        here += "?" + request.query_string.decode("latin-1")
    separator = "&" if "?" in login_url else "?"
    return login_url + separator + urlencode({"next": safe_next_url(here)})


def safe_next_url(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site, else ``default``: guards ``?next=`` redirects.

    Refuses absolute and scheme-relative URLs (``//evil.example``),
    backslashes, whitespace and control characters (which browsers strip or
    reinterpret), so redirecting to the result cannot leave the site.
    """
    if not isinstance(value, str) or not value or len(value) > 2048:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(c.isspace() or not c.isprintable() for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


# --- configuration -----------------------------------------------------------------


def gate_from_config(config: Mapping[str, Any]) -> Gate | None:
    """A ``Gate`` from the app's ``JWTGATE_*`` settings, or None when no issuer is configured.

    The reader is ``jwtgate.settings``, shared with Django, environment
    variables and the command line; a bad setting raises
    ``ConfigurationError`` naming it.
    """
    return _settings(config).gate()


def _settings(config: Mapping[str, Any]) -> Settings:
    return Settings(config, known=CONFIG_KEYS, reader="Flask's JWTGate")


def _rules_file(app: Flask, settings: Settings) -> RuleTable | None:
    """The rules ``JWTGATE_RULES_FILE`` names, relative to the app's folder."""
    name = settings.text("JWTGATE_RULES_FILE")
    if name is None:
        return None
    from .netlify import rules_file

    try:
        return RuleTable(rules_file(os.path.join(app.root_path, name)))
    except ConfigurationError as exc:
        raise ConfigurationError(f"JWTGATE_RULES_FILE: {exc}") from None
