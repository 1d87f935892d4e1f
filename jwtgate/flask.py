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

import difflib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, has_request_context, redirect, request, url_for
from werkzeug.local import LocalProxy
from werkzeug.routing import BuildError

from .context import _current
from .csrf import CSRFPolicy
from .errors import AuthError, ConfigurationError
from .gate import Gate
from .issuer import Issuer
from .logs import logger
from .rules import Rule, RuleTable, rule_table
from .user import AnonymousUser, User
from .wsgi import USER_KEY, GateMiddleware

if TYPE_CHECKING:
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

#: Every configuration key the extension reads, with what it means.
CONFIG_KEYS: Mapping[str, str] = {
    # Netlify Identity (GoTrue)
    "JWTGATE_NETLIFY_JWT_SECRET": "the site's Identity JWT secret: trust Netlify Identity tokens",
    "JWTGATE_NETLIFY_IDENTITY_URL": "https://<site>/.netlify/identity, for client_context()",
    # Privy
    "JWTGATE_PRIVY_APP_ID": "the Privy app id: trust that app's Privy tokens",
    "JWTGATE_PRIVY_VERIFICATION_KEY": "the app's verification key (PEM); else fetched from Privy",
    # Any other issuer
    "JWTGATE_ISSUER": "the exact iss expected (unset: not checked)",
    "JWTGATE_ALGORITHMS": "allowed algorithms, e.g. RS256 or HS256,HS384 (required)",
    "JWTGATE_AUDIENCE": "the aud expected: one value or a comma-separated list",
    "JWTGATE_SECRET": "an HMAC secret (HS256/384/512)",
    "JWTGATE_PUBLIC_KEY": "a public key: PEM, or a JWK or JWKS as JSON",
    "JWTGATE_JWKS_URL": "the issuer's JWKS URL",
    "JWTGATE_DISCOVERY": "true (OIDC discovery from JWTGATE_ISSUER) or a discovery URL",
    "JWTGATE_ROLES_CLAIM": "where the roles are: a dotted claim path, or several, comma-separated",
    "JWTGATE_LEEWAY": "clock leeway in seconds (0 to 300)",
    "JWTGATE_REQUIRED_CLAIMS": "claims every token must carry (default: exp)",
    "JWTGATE_TOKEN_TYPE": 'the header typ required, e.g. "at+jwt"',
    # The gate
    "JWTGATE_SOURCES": "where tokens are looked for, e.g. bearer,cookie:nf_jwt",
    "JWTGATE_CACHE_SIZE": "verified tokens remembered (0: none)",
    "JWTGATE_CACHE_TTL": "seconds a verified token is remembered at most",
    "JWTGATE_CSRF": "false: no same-origin check for unsafe requests carrying a cookie token",
    "JWTGATE_CSRF_TRUSTED_ORIGINS": "other origins allowed to send them, comma-separated",
    "JWTGATE_CSRF_HEADER": "a header whose presence is same-origin evidence (X-Requested-With)",
    # The extension
    "JWTGATE_LOGIN_URL": "where a browser that must log in is redirected (a URL or an endpoint)",
    "JWTGATE_REJECT_INVALID": "answer 401 for any refused token, even on public views",
    "JWTGATE_RULES_FILE": "a _redirects file or netlify.toml whose rules gate paths by role",
}

_GENERIC_KEYS = (
    "JWTGATE_ISSUER",
    "JWTGATE_ALGORITHMS",
    "JWTGATE_AUDIENCE",
    "JWTGATE_ROLES_CLAIM",
    "JWTGATE_LEEWAY",
    "JWTGATE_REQUIRED_CLAIMS",
    "JWTGATE_TOKEN_TYPE",
)
_KEY_SOURCES = ("JWTGATE_SECRET", "JWTGATE_PUBLIC_KEY", "JWTGATE_JWKS_URL", "JWTGATE_DISCOVERY")


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
        config = app.config
        _check_keys(config)
        gate = self._gate
        if gate is None:
            gate = gate_from_config(config)
            if gate is None:
                raise ConfigurationError(
                    "JWTGate: pass a Gate, or configure an issuer "
                    "(e.g. JWTGATE_NETLIFY_JWT_SECRET, or JWTGATE_ALGORITHMS with JWTGATE_SECRET, "
                    "JWTGATE_PUBLIC_KEY, JWTGATE_JWKS_URL or JWTGATE_DISCOVERY)"
                )
        elif _issuer_keys(config):
            raise ConfigurationError(
                "JWTGate: a Gate was passed and issuer settings are configured "
                f"({', '.join(_issuer_keys(config))}): use one or the other"
            )
        login_url = self.login_url or _text(config, "JWTGATE_LOGIN_URL")
        reject = self.reject_invalid
        if reject is None:
            reject = _bool(config, "JWTGATE_REJECT_INVALID") or False
        rules = self.rules if self.rules is not None else _rules_file(app, config)
        middleware = GateMiddleware(app.wsgi_app, gate, reject_invalid=reject, rules=rules)
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions[EXTENSION_KEY] = JWTGateState(
            extension=self,
            gate=gate,
            middleware=middleware,
            login_url=login_url,
            identity_url=_text(config, "JWTGATE_NETLIFY_IDENTITY_URL") or _identity_url(gate),
        )
        _register_error_handlers(app)
        if self.context_processor:
            app.context_processor(_template_context)

    @property
    def gate(self) -> Gate:
        """The ``Gate`` of the app given at construction, else of the current app."""
        return get_state(self._app).gate


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
    an anonymous request, as on Netlify. The identity URL is
    ``JWTGATE_NETLIFY_IDENTITY_URL`` (or the netlify preset's
    ``identity_url``), else this site's ``/.netlify/identity``. Netlify's
    short-lived admin ``identity.token`` is not reproduced.
    """
    user = _load_user()
    url = get_state().identity_url or request.host_url + ".netlify/identity"
    context: dict[str, Any] = {"identity": {"url": url}}
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
    """A ``Gate`` from ``JWTGATE_*`` settings, or None when no issuer is configured.

    Netlify (``JWTGATE_NETLIFY_JWT_SECRET``), Privy (``JWTGATE_PRIVY_APP_ID``)
    and a generic issuer (``JWTGATE_ALGORITHMS`` with a key source) may be
    combined where the issuers allow it; values may be strings (from the
    environment) or Python values. A bad setting raises ``ConfigurationError``
    naming it.
    """
    _check_keys(config)
    issuers: list[Issuer] = []
    netlify_secret = _text(config, "JWTGATE_NETLIFY_JWT_SECRET")
    if netlify_secret is not None:
        from .presets import netlify

        issuers.append(
            netlify(
                jwt_secret=netlify_secret,
                identity_url=_text(config, "JWTGATE_NETLIFY_IDENTITY_URL"),
            )
        )
    privy_app = _text(config, "JWTGATE_PRIVY_APP_ID")
    if privy_app is not None:
        issuers.append(_privy(privy_app, _pem(config, "JWTGATE_PRIVY_VERIFICATION_KEY")))
    elif _text(config, "JWTGATE_PRIVY_VERIFICATION_KEY") is not None:
        raise ConfigurationError("JWTGATE_PRIVY_VERIFICATION_KEY: set JWTGATE_PRIVY_APP_ID too")
    generic = _generic_issuer(config)
    if generic is not None:
        issuers.append(generic)
    if not issuers:
        return None
    options: dict[str, Any] = {}
    sources = _list(config, "JWTGATE_SOURCES")
    if sources is not None:
        options["sources"] = sources
    csrf = _csrf(config)
    if csrf is not None:
        options["csrf"] = csrf
    for key, name in (("JWTGATE_CACHE_SIZE", "cache_size"), ("JWTGATE_CACHE_TTL", "cache_ttl")):
        number = _number(config, key)
        if number is not None:
            options[name] = int(number) if key == "JWTGATE_CACHE_SIZE" else number
    return Gate(issuers=issuers, **options)


def _csrf(config: Mapping[str, Any]) -> bool | CSRFPolicy | None:
    """The gate's ``csrf=`` from the settings, or None to keep its default (on)."""
    origins = _list(config, "JWTGATE_CSRF_TRUSTED_ORIGINS")
    header = _text(config, "JWTGATE_CSRF_HEADER")
    if _bool(config, "JWTGATE_CSRF") is False:
        if origins is not None or header is not None:
            raise ConfigurationError(
                "JWTGATE_CSRF: false, yet JWTGATE_CSRF_TRUSTED_ORIGINS or _HEADER is set"
            )
        return False
    if origins is None and header is None:
        return None
    try:
        return CSRFPolicy(trusted_origins=origins or (), header=header)
    except ConfigurationError as exc:
        raise ConfigurationError(f"JWTGATE_CSRF_*: {exc}") from None


def _privy(app_id: str, verification_key: str | None) -> Issuer:
    from . import presets

    privy: Any = getattr(presets, "privy", None)
    if privy is None:
        raise ConfigurationError(
            "JWTGATE_PRIVY_APP_ID: this version of jwtgate has no Privy preset"
        )
    issuer: Issuer = privy(app_id, verification_key=verification_key)
    return issuer


def _generic_issuer(config: Mapping[str, Any]) -> Issuer | None:
    given = [key for key in _KEY_SOURCES if _present(config, key)]
    if not given:
        described = [key for key in _GENERIC_KEYS if _present(config, key)]
        if described:
            raise ConfigurationError(
                f"{described[0]}: the issuer needs a key: set one of {', '.join(_KEY_SOURCES)}"
            )
        return None
    algorithms = _list(config, "JWTGATE_ALGORITHMS")
    if not algorithms:
        raise ConfigurationError('JWTGATE_ALGORITHMS: required, e.g. "RS256"')
    options: dict[str, Any] = {"algorithms": algorithms}
    audience = _list(config, "JWTGATE_AUDIENCE")
    if audience is not None:
        options["audience"] = audience
    secret = _text(config, "JWTGATE_SECRET")
    if secret is not None:
        options["secret"] = secret
    public_key = _public_key(config)
    if public_key is not None:
        options["key"] = public_key
    jwks_url = _text(config, "JWTGATE_JWKS_URL")
    if jwks_url is not None:
        options["jwks_url"] = jwks_url
    if _present(config, "JWTGATE_DISCOVERY"):
        options["discovery"] = _discovery(config)
    roles = _list(config, "JWTGATE_ROLES_CLAIM")
    if roles is not None:
        options["roles_claim"] = roles[0] if len(roles) == 1 else roles
    leeway = _number(config, "JWTGATE_LEEWAY")
    if leeway is not None:
        options["leeway"] = leeway
    required = _list(config, "JWTGATE_REQUIRED_CLAIMS")
    if required is not None:
        options["required_claims"] = required
    token_type = _text(config, "JWTGATE_TOKEN_TYPE")
    if token_type is not None:
        options["token_type"] = token_type
    try:
        return Issuer(_text(config, "JWTGATE_ISSUER"), **options)
    except ConfigurationError as exc:
        raise ConfigurationError(f"JWTGATE_*: {exc}") from None


def _rules_file(app: Flask, config: Mapping[str, Any]) -> RuleTable | None:
    """The rules ``JWTGATE_RULES_FILE`` names: netlify.toml if it ends in .toml, else _redirects."""
    name = _text(config, "JWTGATE_RULES_FILE")
    if name is None:
        return None
    from .netlify import redirect_rules, toml_rules

    path = os.path.join(app.root_path, name)
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"JWTGATE_RULES_FILE: cannot read {path}: {exc}") from None
    try:
        rules = toml_rules(text) if path.endswith(".toml") else redirect_rules(text)
    except ConfigurationError as exc:
        raise ConfigurationError(f"JWTGATE_RULES_FILE ({path}): {exc}") from None
    return RuleTable(rules)


def _check_keys(config: Mapping[str, Any]) -> None:
    """Refuse misspelt JWTGATE_ keys: a typo would otherwise silently drop a setting."""
    for key in config:
        if isinstance(key, str) and key.startswith("JWTGATE_") and key not in CONFIG_KEYS:
            close = difflib.get_close_matches(key, list(CONFIG_KEYS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigurationError(f"{key}: not a jwtgate setting{hint}")


def _issuer_keys(config: Mapping[str, Any]) -> list[str]:
    keys = (
        "JWTGATE_NETLIFY_JWT_SECRET",
        "JWTGATE_PRIVY_APP_ID",
        *_KEY_SOURCES,
        *_GENERIC_KEYS,
        "JWTGATE_SOURCES",
        "JWTGATE_CACHE_SIZE",
        "JWTGATE_CACHE_TTL",
        "JWTGATE_CSRF",
        "JWTGATE_CSRF_TRUSTED_ORIGINS",
        "JWTGATE_CSRF_HEADER",
    )
    return [key for key in keys if _present(config, key)]


def _present(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key)
    if key == "JWTGATE_DISCOVERY" and (
        value is False or (isinstance(value, str) and value.strip().lower() in _FALSE)
    ):
        return False  # discovery turned off is no key source
    return value is not None and value != ""


def _text(config: Mapping[str, Any], key: str) -> str | None:
    if not _present(config, key):
        return None
    value = config[key]
    if not isinstance(value, str):
        raise ConfigurationError(f"{key}: must be a string")
    return value


def _list(config: Mapping[str, Any], key: str) -> list[str] | None:
    if not _present(config, key):
        return None
    value = config[key]
    if isinstance(value, str):
        items = [item.strip() for item in value.replace(",", " ").split()]
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ConfigurationError(f"{key}: a list of strings, or one comma-separated string")
    if not items:
        raise ConfigurationError(f"{key}: give at least one value")
    return items


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(config: Mapping[str, Any], key: str) -> bool | None:
    if not _present(config, key):
        return None
    value = config[key]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigurationError(f"{key}: must be true or false")


def _number(config: Mapping[str, Any], key: str) -> float | None:
    if not _present(config, key):
        return None
    value = config[key]
    if isinstance(value, bool):
        raise ConfigurationError(f"{key}: must be a number")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        for parse in (int, float):
            try:
                return parse(value)
            except ValueError:
                pass
    raise ConfigurationError(f"{key}: must be a number")


def _discovery(config: Mapping[str, Any]) -> bool | str:
    value = config["JWTGATE_DISCOVERY"]
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    flag = _bool(config, "JWTGATE_DISCOVERY")
    if not flag:
        raise ConfigurationError("JWTGATE_DISCOVERY: true, or the discovery document's URL")
    return True


def _pem(config: Mapping[str, Any], key: str) -> str | None:
    text = _text(config, key)
    if text is not None and "\\n" in text and "\n" not in text:
        # A PEM pasted into one environment variable line, newlines written as \n.
        text = text.replace("\\n", "\n")
    return text


def _public_key(config: Mapping[str, Any]) -> Any:
    value = config.get("JWTGATE_PUBLIC_KEY")
    if value is None or value == "" or isinstance(value, dict):
        return value or None
    text = _pem(config, "JWTGATE_PUBLIC_KEY")
    if text is not None and text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            raise ConfigurationError("JWTGATE_PUBLIC_KEY: not valid JWK/JWKS JSON") from None
    return text
