"""``JWTGATE_*`` settings → ``Gate``: one reader for Flask's config, Django's settings,
environment variables and the ``jwtgate`` command.

Each name means one thing wherever it is read: ``JWTGATE_SECRET`` is always
the HMAC secret of the issuer that ``JWTGATE_ALGORITHMS`` describes, never the
Netlify site's (that is ``JWTGATE_NETLIFY_JWT_SECRET``). Values may be Python
values (lists, numbers, booleans, a JWK as a dict) or text as an environment
variable holds it (``"RS256,ES256"``, ``"30"``, ``"true"``).

Each provider preset has settings of its own, ``JWTGATE_<PROVIDER>_*``, one
per argument a dashboard gives (``JWTGATE_AUTH0_DOMAIN`` is ``auth0(domain)``;
the table is ``jwtgate.preset_settings``). Where a preset accepts
``jwtgate.presets.UNCHECKED`` to skip a check, the setting's value
``unchecked`` says so; an unset setting never does.

``None`` counts as unset; an empty string does not: ``JWTGATE_SECRET=`` (a
variable exported from an unset one) is refused as empty rather than read as
"no setting", which could silently drop a check. A name that starts with
``JWTGATE_`` but is no setting is refused with the closest real one, so a
typo never silently drops a setting. Every error names the setting it is
about (or the command-line flag it came from, see ``labels``) and is raised
when the settings are read, at start-up.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .csrf import CSRFPolicy
from .errors import ConfigurationError, RenamedParameters
from .gate import Gate
from .issuer import Issuer
from .preset_settings import PRESET_SETTINGS, UNCHECKED_VALUE, Field, PresetSettings

__all__ = [
    "DJANGO_SETTINGS",
    "FLASK_SETTINGS",
    "GATE_SETTINGS",
    "SETTINGS",
    "Settings",
    "gate_from_settings",
    "settings_of",
]

PREFIX = "JWTGATE_"

#: The settings that make a ``Gate``, read by every framework, the environment and the CLI.
GATE_SETTINGS: Mapping[str, str] = {
    # The presets: Netlify, Privy, Auth0, Cognito, Keycloak, Firebase, Supabase, Clerk, OIDC
    **{name: text for preset in PRESET_SETTINGS for name, text in preset.described().items()},
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
    "JWTGATE_REDIS_URL": "revocations shared through this Redis (RedisRevocations); "
    "jwtgate revoke writes there too",
}

_REJECT_INVALID = "answer 401 for any refused token, even on public views"

_RULES_FILE = "a _redirects file or netlify.toml whose rules gate paths by role"

#: What Flask's ``JWTGate`` reads besides the gate's settings.
FLASK_SETTINGS: Mapping[str, str] = {
    "JWTGATE_LOGIN_URL": "where a browser that must log in is redirected (a URL or an endpoint)",
    "JWTGATE_REJECT_INVALID": _REJECT_INVALID,
    "JWTGATE_RULES_FILE": _RULES_FILE + " (relative to the app's folder)",
}

#: What ``jwtgate.django.GateMiddleware`` reads besides the gate's settings.
DJANGO_SETTINGS: Mapping[str, str] = {
    "JWTGATE_GATE": "a Gate, or the dotted path of one (or of a function returning one)",
    "JWTGATE_REJECT_INVALID": _REJECT_INVALID,
    "JWTGATE_REQUEST_USER": "true: request.user is the jwtgate user (only without "
    "django.contrib.auth's AuthenticationMiddleware)",
    "JWTGATE_RULES_FILE": _RULES_FILE + " (absolute, or relative to BASE_DIR)",
    "JWTGATE_RULES": "path rules in code: a list of jwtgate.rules.Rule",
}

#: Every setting any part of jwtgate reads, with what it means.
SETTINGS: Mapping[str, str] = {**GATE_SETTINGS, **FLASK_SETTINGS, **DJANGO_SETTINGS}

_GENERIC = (
    "JWTGATE_ISSUER",
    "JWTGATE_ALGORITHMS",
    "JWTGATE_AUDIENCE",
    "JWTGATE_ROLES_CLAIM",
    "JWTGATE_LEEWAY",
    "JWTGATE_REQUIRED_CLAIMS",
    "JWTGATE_TOKEN_TYPE",
)
_KEY_SOURCES = ("JWTGATE_SECRET", "JWTGATE_PUBLIC_KEY", "JWTGATE_JWKS_URL", "JWTGATE_DISCOVERY")
_ISSUER_SETTINGS = (
    *(field.setting for preset in PRESET_SETTINGS for field in preset.fields if field.configures),
    *_KEY_SOURCES,
    *_GENERIC,
)
# Which setting an Issuer (or Gate) parameter named in an error stands for.
_ISSUER_PARAMETERS = {
    "issuer": "JWTGATE_ISSUER",
    "algorithms": "JWTGATE_ALGORITHMS",
    "audience": "JWTGATE_AUDIENCE",
    "secret": "JWTGATE_SECRET",
    "key": "JWTGATE_PUBLIC_KEY",
    "jwks_url": "JWTGATE_JWKS_URL",
    "discovery": "JWTGATE_DISCOVERY",
    "roles_claim": "JWTGATE_ROLES_CLAIM",
    "leeway": "JWTGATE_LEEWAY",
    "required_claims": "JWTGATE_REQUIRED_CLAIMS",
    "token_type": "JWTGATE_TOKEN_TYPE",
}
_GATE_PARAMETERS = {
    "sources": "JWTGATE_SOURCES",
    "cache_size": "JWTGATE_CACHE_SIZE",
    "cache_ttl": "JWTGATE_CACHE_TTL",
    "csrf": "JWTGATE_CSRF",
}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def settings_of(source: Mapping[str, Any] | object) -> dict[str, Any]:
    """The ``JWTGATE_*`` entries of a mapping (``app.config``, ``os.environ``) or an object.

    An object is read by attribute, as Django's ``django.conf.settings`` is.
    """
    if isinstance(source, Mapping):
        return {k: v for k, v in source.items() if isinstance(k, str) and k.startswith(PREFIX)}
    return {name: getattr(source, name) for name in dir(source) if name.startswith(PREFIX)}


def gate_from_settings(
    source: Mapping[str, Any] | object,
    *,
    known: Iterable[str] = SETTINGS,
    labels: Mapping[str, str] | None = None,
) -> Gate | None:
    """A ``Gate`` from ``JWTGATE_*`` settings, or ``None`` when they configure no issuer.

    ``source`` is a mapping (Flask's ``app.config``, ``os.environ``) or a
    settings object (Django's). ``known`` lists the names the caller reads
    (any other ``JWTGATE_`` name is refused); ``labels`` renames settings in
    error messages, e.g. ``{"JWTGATE_SECRET": "--secret"}``.
    """
    return Settings(source, known=known, labels=labels).gate()


class Settings:
    """The ``JWTGATE_*`` settings of one source, checked by name and read by type.

    Every preset configured (``JWTGATE_NETLIFY_JWT_SECRET``,
    ``JWTGATE_AUTH0_DOMAIN`` …) and a generic issuer (``JWTGATE_ALGORITHMS``
    with one key source) go in one gate, where the issuers allow it (no two
    with the same ``iss``).
    """

    def __init__(
        self,
        source: Mapping[str, Any] | object,
        *,
        known: Iterable[str] = SETTINGS,
        labels: Mapping[str, str] | None = None,
        reader: str = "jwtgate",
    ) -> None:
        self.values = settings_of(source)
        self.known = frozenset(known)
        self.labels = dict(labels or {})
        self._check_names(reader)

    # --- reading one setting ---------------------------------------------------------

    def name(self, key: str) -> str:
        """How errors call ``key``: its label (a CLI flag) or the setting's own name."""
        return self.labels.get(key, key)

    def text(self, key: str) -> str | None:
        """A text setting, or ``None`` when unset."""
        value = self._raw(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigurationError(f"{self.name(key)}: must be a string")
        return value

    def strings(self, key: str) -> list[str] | None:
        """A list: Python strings, or one string separated by commas or spaces."""
        value = self._raw(key)
        if value is None:
            return None
        if isinstance(value, str):
            items = value.replace(",", " ").split()
        elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            items = list(value)
        else:
            raise ConfigurationError(
                f"{self.name(key)}: a list of strings, or one comma-separated string"
            )
        if not items:
            raise ConfigurationError(f"{self.name(key)}: give at least one value")
        return items

    def flag(self, key: str) -> bool | None:
        """A boolean: ``True``/``False``, or ``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off``."""  # noqa: E501
        value = self._raw(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigurationError(f"{self.name(key)}: must be true or false")

    def number(self, key: str) -> float | None:
        """A number, or text holding one (``"30"``, ``"1e3"``)."""
        value = self._raw(key)
        if value is None:
            return None
        if isinstance(value, bool):
            raise ConfigurationError(f"{self.name(key)}: must be a number")
        number: float | None = value if isinstance(value, int | float) else None
        if isinstance(value, str):
            for parse in (int, float):
                try:
                    number = parse(value)
                    break
                except ValueError:
                    pass
        if number is None:
            raise ConfigurationError(f"{self.name(key)}: must be a number")
        if not math.isfinite(number):
            raise ConfigurationError(f"{self.name(key)}: must be a finite number")
        return number

    def _whole_number(self, key: str) -> int | None:
        value = self.number(key)
        if value is None:
            return None
        if value != int(value):
            raise ConfigurationError(f"{self.name(key)}: a whole number")
        return int(value)

    def configured(self, keys: Iterable[str] = _ISSUER_SETTINGS) -> list[str]:
        """Which of ``keys`` have a value."""
        return [key for key in keys if self._present(key)]

    # --- the gate -----------------------------------------------------------------------

    def gate(self, **overrides: Any) -> Gate | None:
        """The ``Gate`` these settings describe, or ``None`` when they name no issuer.

        ``overrides`` are ``Gate`` arguments that replace what the settings say
        (the CLI verifies one Bearer token with no cache: ``sources``, ``cache_size``).
        """
        issuers = self.issuers()
        if not issuers:
            return None
        options = _given(
            sources=self.strings("JWTGATE_SOURCES"),
            csrf=self._csrf(),
            cache_size=self._whole_number("JWTGATE_CACHE_SIZE"),
            cache_ttl=self.number("JWTGATE_CACHE_TTL"),
        )
        redis_url = self.text("JWTGATE_REDIS_URL")
        if redis_url is not None and "is_revoked" not in overrides:
            from .revocation import RedisRevocations

            with self._renaming({"url": "JWTGATE_REDIS_URL"}):
                options["is_revoked"] = RedisRevocations(redis_url)
        options.update(overrides)
        parameters = {**_GATE_PARAMETERS, "issuers": ", ".join(self._issuer_names())}
        with self._renaming(parameters):
            return Gate(issuers=issuers, **options)

    def issuers(self) -> list[Issuer]:
        """The issuers the settings describe: the presets configured, then the generic one."""
        issuers: list[Issuer] = []
        for preset in PRESET_SETTINGS:
            issuer = self._preset(preset)
            if issuer is not None:
                issuers.append(issuer)
        beside_netlify = any(issuer.name == "netlify" for issuer in issuers)
        generic = self._generic(beside_netlify=beside_netlify)
        if generic is not None:
            issuers.append(generic)
        return issuers

    # --- internals -----------------------------------------------------------------------

    def _check_names(self, reader: str) -> None:
        for key in self.values:
            if key in self.known:
                self._raw(key)  # an empty value is refused even where nothing reads it yet
                continue
            if key in SETTINGS:
                raise ConfigurationError(f"{key}: {reader} does not read this setting")
            close = difflib.get_close_matches(key, list(self.known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigurationError(f"{key}: not a jwtgate setting{hint}")

    def _raw(self, key: str) -> Any:
        value = self.values.get(key)
        if isinstance(value, str) and not value.strip():
            raise ConfigurationError(
                f"{self.name(key)}: set but empty; give it a value, or remove it"
            )
        return value

    def _present(self, key: str) -> bool:
        value = self._raw(key)
        if key == "JWTGATE_DISCOVERY" and (
            value is False or (isinstance(value, str) and value.strip().lower() in _FALSE)
        ):
            return False  # discovery turned off is no key source
        return value is not None

    def _issuer_names(self) -> list[str]:
        return [self.name(key) for key in self.configured()]

    def _renaming(self, parameters: Mapping[str, str]) -> RenamedParameters:
        return RenamedParameters({param: self.name(key) for param, key in parameters.items()})

    def _preset(self, preset: PresetSettings) -> Issuer | None:
        """The preset's issuer when any of its settings configures it, else ``None``."""
        given = [f for f in preset.fields if f.configures and self._present(f.setting)]
        if not given:
            return None
        arguments: dict[str, Any] = {}
        for field in preset.fields:
            value = self._field(field)
            if value is not None:
                arguments[field.argument] = value
            elif field.required:
                others = ", ".join(self.name(f.setting) for f in given)
                opt_out = f"; or {UNCHECKED_VALUE} to accept any" if field.skippable else ""
                raise ConfigurationError(
                    f"{self.name(field.setting)}: required with {others} ({field.meaning}){opt_out}"
                )
        from . import presets

        build = getattr(presets, preset.name)
        with self._renaming(preset.parameters()):
            issuer: Issuer = build(**arguments)
        return issuer

    def _field(self, field: Field) -> Any:
        """One preset setting's value, read as its kind says; ``None`` when unset."""
        key = field.setting
        if field.kind == "text":
            return self.text(key)
        if field.kind == "key":
            value = self._raw(key)
            # A PEM as text; in Python settings also bytes or a key object, which the preset checks.
            return self._pem(key) if isinstance(value, str) else value
        if field.kind == "checks":
            return self._checks(field)
        values = self.strings(key)
        return _one_or_all(values) if field.kind == "roles" else values

    def _checks(self, field: Field) -> Any:
        """Values a check accepts, or ``UNCHECKED`` (``unchecked``) where the preset allows it."""
        from .presets import UNCHECKED

        key = field.setting
        values = [UNCHECKED_VALUE] if self._raw(key) is UNCHECKED else self.strings(key)
        if values is None or all(v.strip().lower() != UNCHECKED_VALUE for v in values):
            return values
        if len(values) > 1:
            raise ConfigurationError(
                f"{self.name(key)}: {UNCHECKED_VALUE} stands alone (it turns the check off); "
                "give it alone, or only the values to accept"
            )
        if not field.skippable:
            raise ConfigurationError(
                f"{self.name(key)}: cannot be {UNCHECKED_VALUE}; give {field.meaning}"
            )
        return UNCHECKED

    def _generic(self, *, beside_netlify: bool) -> Issuer | None:
        given = self.configured(_KEY_SOURCES)
        if not given:
            described = self.configured(_GENERIC)
            if described:
                choices = ", ".join(self.name(key) for key in _KEY_SOURCES)
                raise ConfigurationError(
                    f"{self.name(described[0])}: the issuer needs a key: set one of {choices}"
                )
            return None
        if len(given) > 1:
            raise ConfigurationError(
                f"{', '.join(self.name(key) for key in given)}: give exactly one key source"
            )
        algorithms = self.strings("JWTGATE_ALGORITHMS")
        if not algorithms:
            raise ConfigurationError(
                f"{self.name('JWTGATE_ALGORITHMS')}: required with "
                f'{self.name(given[0])}, e.g. "RS256"'
            )
        issuer = self.text("JWTGATE_ISSUER")
        if issuer is None and beside_netlify:
            # Both would be issuer-less: a token without iss could not be told apart.
            raise ConfigurationError(
                f"{self.name('JWTGATE_ISSUER')}: required beside "
                f"{self.name('JWTGATE_NETLIFY_JWT_SECRET')}: Netlify's tokens carry no iss, "
                f"so the issuer of {self.name(given[0])} is told apart by its own"
            )
        options = _given(
            algorithms=algorithms,
            audience=self.strings("JWTGATE_AUDIENCE"),
            secret=self.text("JWTGATE_SECRET"),
            key=self._public_key(),
            jwks_url=self.text("JWTGATE_JWKS_URL"),
            discovery=self._discovery() if given[0] == "JWTGATE_DISCOVERY" else None,
            roles_claim=_one_or_all(self.strings("JWTGATE_ROLES_CLAIM")),
            leeway=self.number("JWTGATE_LEEWAY"),
            required_claims=self.strings("JWTGATE_REQUIRED_CLAIMS"),
            token_type=self.text("JWTGATE_TOKEN_TYPE"),
        )
        with self._renaming(_ISSUER_PARAMETERS):
            return Issuer(issuer, **options)

    def _csrf(self) -> bool | CSRFPolicy | None:
        """The gate's ``csrf=``, or ``None`` to keep its default (on)."""
        origins = self.strings("JWTGATE_CSRF_TRUSTED_ORIGINS")
        header = self.text("JWTGATE_CSRF_HEADER")
        if self.flag("JWTGATE_CSRF") is False:
            if origins is not None or header is not None:
                raise ConfigurationError(
                    f"{self.name('JWTGATE_CSRF')}: false, yet "
                    f"{self.name('JWTGATE_CSRF_TRUSTED_ORIGINS')} or "
                    f"{self.name('JWTGATE_CSRF_HEADER')} is set"
                )
            return False
        if origins is None and header is None:
            return None
        parameters = {"csrf": "JWTGATE_CSRF_TRUSTED_ORIGINS" if origins else "JWTGATE_CSRF_HEADER"}
        with self._renaming(parameters):
            return CSRFPolicy(trusted_origins=origins or (), header=header)

    def _discovery(self) -> bool | str:
        value = self.values["JWTGATE_DISCOVERY"]
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
        self.flag("JWTGATE_DISCOVERY")  # true (false is no key source): refuses anything else
        return True

    def _pem(self, key: str) -> str | None:
        text = self.text(key)
        if text is not None and "\\n" in text and "\n" not in text:
            # A PEM pasted into one environment variable line, newlines written as \n.
            text = text.replace("\\n", "\n")
        return text

    def _public_key(self) -> Any:
        value = self._raw("JWTGATE_PUBLIC_KEY")
        if not isinstance(value, str):
            return value  # unset, a JWK or JWKS dict, a key object: the Issuer checks it
        text = self._pem("JWTGATE_PUBLIC_KEY")
        if text is not None and text.lstrip().startswith("{"):
            try:
                return json.loads(text)
            except ValueError:
                raise ConfigurationError(
                    f"{self.name('JWTGATE_PUBLIC_KEY')}: not valid JWK/JWKS JSON"
                ) from None
        return text


def _given(**arguments: Any) -> dict[str, Any]:
    """The keyword arguments that are not ``None``: an unset setting keeps the default."""
    return {name: value for name, value in arguments.items() if value is not None}


def _one_or_all(values: list[str] | None) -> str | list[str] | None:
    """A roles claim: one path as a string, several as a list."""
    return values[0] if values is not None and len(values) == 1 else values
