"""The ``JWTGATE_*`` settings of each provider preset, as one table.

Each row ties a setting to the argument of a ``jwtgate.presets`` function it
supplies (``JWTGATE_AUTH0_DOMAIN`` → ``auth0(domain=...)``), says how its
value is read and which command-line flag of ``jwtgate verify --preset`` may
stand for it. ``jwtgate.settings`` reads the table (one reader for every
preset), ``jwtgate.cli`` builds ``--preset NAME`` from it, and the settings'
descriptions come from it. Only what a provider's dashboard gives, the
opt-outs and the keys' URL are settings; the rest of a preset's arguments
(``remote=``, ``leeway=`` …) are for a gate built in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["PRESET_SETTINGS", "UNCHECKED_VALUE", "Field", "PresetSettings"]

#: The setting value that stands for ``jwtgate.presets.UNCHECKED`` (any case).
UNCHECKED_VALUE = "unchecked"

#: How a value is read: ``text`` one string; ``key`` a PEM (``\n`` written
#: out allowed) or, in Python settings, a key object; ``list`` strings, as a
#: list or one comma-separated string; ``checks`` a list that ``unchecked``
#: may replace; ``roles`` claim paths (one, or a list).
Kind = Literal["text", "key", "list", "checks", "roles"]


@dataclass(frozen=True, slots=True)
class Field:
    """One setting of a preset: which argument it supplies, and how it is read."""

    setting: str
    argument: str
    meaning: str
    kind: Kind = "text"
    #: Needed once the preset is configured (``checks``: ``unchecked`` counts as a value).
    required: bool = False
    #: ``checks`` only: whether ``unchecked`` is allowed, else it is refused by name.
    skippable: bool = False
    #: Whether setting it alone configures the preset (and so requires the rest).
    configures: bool = True
    #: The flags of ``jwtgate verify --preset`` that supply it.
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PresetSettings:
    """A preset (``jwtgate.presets.<name>``) and its settings."""

    name: str
    title: str
    fields: tuple[Field, ...]
    #: Parameters of the ``Issuer`` the preset builds that its errors may name.
    aliases: Mapping[str, str] | None = None

    def described(self) -> dict[str, str]:
        """Each setting with what it means, as ``jwtgate.settings.GATE_SETTINGS`` lists them."""
        return {
            f.setting: f"{f.meaning}; {UNCHECKED_VALUE}: not checked" if f.skippable else f.meaning
            for f in self.fields
        }

    def parameters(self) -> dict[str, str]:
        """Which setting each parameter named in an error stands for."""
        return {**{f.argument: f.setting for f in self.fields}, **(self.aliases or {})}


def _roles(setting: str, default: str) -> Field:
    return Field(
        setting,
        "roles_claim",
        f"where the roles are: a claim path, or several (default: {default})",
        "roles",
        flags=("--roles-claim",),
    )


def _jwks_url(setting: str, whose: str) -> Field:
    return Field(
        setting,
        "jwks_url",
        f"a JWKS URL instead of {whose} (a mirror, a test server)",
        flags=("--jwks-url",),
    )


_SECRET_FLAGS = ("--secret", "--secret-file")

#: Every preset that settings can configure, in the order a gate lists them.
PRESET_SETTINGS: tuple[PresetSettings, ...] = (
    PresetSettings(
        "netlify",
        "Netlify Identity (GoTrue)",
        (
            Field(
                "JWTGATE_NETLIFY_JWT_SECRET",
                "jwt_secret",
                "the site's Identity JWT secret (Site configuration → Identity)",
                required=True,
                flags=_SECRET_FLAGS,
            ),
            Field(
                "JWTGATE_NETLIFY_IDENTITY_URL",
                "identity_url",
                "https://<site>/.netlify/identity, where GoTrue answers",
                configures=False,
            ),
        ),
    ),
    PresetSettings(
        "privy",
        "Privy",
        (
            Field(
                "JWTGATE_PRIVY_APP_ID",
                "app_id",
                "the Privy app id (Dashboard → App settings)",
                required=True,
                flags=("--audience",),
            ),
            Field(
                "JWTGATE_PRIVY_VERIFICATION_KEY",
                "verification_key",
                "the app's verification key (PEM); unset: the keys are fetched from Privy",
                "key",
                flags=("--key",),
            ),
            Field(
                "JWTGATE_PRIVY_TOKEN",
                "token",
                "which tokens: identity (the default) or access",
            ),
            _roles("JWTGATE_PRIVY_ROLES_CLAIM", "custom_metadata.roles"),
            _jwks_url("JWTGATE_PRIVY_JWKS_URL", "Privy's"),
        ),
        aliases={"key": "JWTGATE_PRIVY_VERIFICATION_KEY"},
    ),
    PresetSettings(
        "auth0",
        "Auth0",
        (
            Field(
                "JWTGATE_AUTH0_DOMAIN",
                "domain",
                "the tenant's domain (or custom domain), e.g. example.us.auth0.com",
                required=True,
                flags=("--issuer",),
            ),
            Field(
                "JWTGATE_AUTH0_AUDIENCE",
                "audience",
                "the API Identifier (Applications → APIs), or several",
                "checks",
                required=True,
                flags=("--audience",),
            ),
            Field(
                "JWTGATE_AUTH0_ROLES_CLAIM",
                "roles_claim",
                "a namespaced claim of roles (an Action's), read besides permissions",
                "roles",
                flags=("--roles-claim",),
            ),
            _jwks_url("JWTGATE_AUTH0_JWKS_URL", "the tenant's"),
        ),
    ),
    PresetSettings(
        "cognito",
        "Amazon Cognito",
        (
            Field(
                "JWTGATE_COGNITO_REGION",
                "region",
                "the user pool's AWS region, e.g. eu-west-1",
                required=True,
            ),
            Field(
                "JWTGATE_COGNITO_USER_POOL_ID",
                "user_pool_id",
                "the user pool id, e.g. eu-west-1_AbCdEf123",
                required=True,
            ),
            Field(
                "JWTGATE_COGNITO_CLIENT_ID",
                "client_id",
                "the app client id (App integration → App clients), or several",
                "checks",
                required=True,
                skippable=True,
            ),
            Field(
                "JWTGATE_COGNITO_TOKEN_USE",
                "token_use",
                "which tokens: access (the default) or id",
            ),
            _roles("JWTGATE_COGNITO_ROLES_CLAIM", "cognito:groups"),
            _jwks_url("JWTGATE_COGNITO_JWKS_URL", "the pool's"),
        ),
    ),
    PresetSettings(
        "keycloak",
        "Keycloak",
        (
            Field(
                "JWTGATE_KEYCLOAK_REALM_URL",
                "realm_url",
                "the realm's URL, e.g. https://sso.example.com/realms/main",
                required=True,
                flags=("--issuer",),
            ),
            Field(
                "JWTGATE_KEYCLOAK_CLIENT_ID",
                "client_id",
                "the Keycloak client the API is (its roles are read)",
                required=True,
            ),
            Field(
                "JWTGATE_KEYCLOAK_AUDIENCE",
                "audience",
                "the aud required, or several (default: the client id)",
                "checks",
                skippable=True,
                flags=("--audience",),
            ),
            _roles("JWTGATE_KEYCLOAK_ROLES_CLAIM", "the realm's and the client's roles"),
            _jwks_url("JWTGATE_KEYCLOAK_JWKS_URL", "the realm's"),
        ),
    ),
    PresetSettings(
        "firebase",
        "Firebase Authentication",
        (
            Field(
                "JWTGATE_FIREBASE_PROJECT_ID",
                "project_id",
                "the Firebase project id",
                required=True,
            ),
            _roles("JWTGATE_FIREBASE_ROLES_CLAIM", "roles"),
            _jwks_url("JWTGATE_FIREBASE_JWKS_URL", "Google's"),
        ),
    ),
    PresetSettings(
        "supabase",
        "Supabase Auth",
        (
            Field(
                "JWTGATE_SUPABASE_URL",
                "project_url",
                "the Project URL, e.g. https://abcd.supabase.co",
                required=True,
            ),
            Field(
                "JWTGATE_SUPABASE_JWT_SECRET",
                "jwt_secret",
                "the legacy JWT secret: HS256 tokens too, beside the signing keys",
                flags=_SECRET_FLAGS,
            ),
            _roles("JWTGATE_SUPABASE_ROLES_CLAIM", "app_metadata.roles"),
            _jwks_url("JWTGATE_SUPABASE_JWKS_URL", "the project's"),
        ),
    ),
    PresetSettings(
        "clerk",
        "Clerk",
        (
            Field(
                "JWTGATE_CLERK_ISSUER_URL",
                "issuer_url",
                "the Frontend API URL, e.g. https://clerk.example.com",
                required=True,
                flags=("--issuer",),
            ),
            Field(
                "JWTGATE_CLERK_AUTHORIZED_PARTIES",
                "authorized_parties",
                "your app's origins, the azp allowed, e.g. https://example.com",
                "checks",
                required=True,
                skippable=True,
            ),
            _jwks_url("JWTGATE_CLERK_JWKS_URL", "the instance's"),
        ),
    ),
    PresetSettings(
        "oidc",
        "Any OpenID provider",
        (
            Field(
                "JWTGATE_OIDC_ISSUER",
                "issuer",
                "the provider's issuer, exactly as tokens carry it (keys by discovery)",
                required=True,
                flags=("--issuer",),
            ),
            Field(
                "JWTGATE_OIDC_AUDIENCE",
                "audience",
                "the API's audience, or several",
                "checks",
                required=True,
                skippable=True,
                flags=("--audience",),
            ),
            Field(
                "JWTGATE_OIDC_ALGORITHMS",
                "algorithms",
                "the algorithms allowed (default RS256,ES256)",
                "list",
                flags=("--algorithm",),
            ),
            _roles("JWTGATE_OIDC_ROLES_CLAIM", "roles"),
            Field(
                "JWTGATE_OIDC_TOKEN_TYPE",
                "token_type",
                'the header typ required, e.g. "at+jwt"',
            ),
            _jwks_url("JWTGATE_OIDC_JWKS_URL", "discovery"),
        ),
        # The discovery URL is the issuer's.
        aliases={"discovery": "JWTGATE_OIDC_ISSUER"},
    ),
)
