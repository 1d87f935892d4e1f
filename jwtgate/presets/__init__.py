"""Issuers for known identity providers, each with the checks of the provider's own verifier.

One module per provider; every preset returns an ``Issuer`` carrying the
provider's keys, algorithms, audience rules, roles, default token sources and
clock leeway, as the provider's official SDK applies them (see the docs'
provider pages for where jwtgate is deliberately stricter).
"""

from __future__ import annotations

from ._common import UNCHECKED, Unchecked, decode_json_claims
from .auth0 import auth0
from .clerk import ClerkSessionCookie, clerk
from .cognito import cognito
from .firebase import FIREBASE_CERTIFICATES_URL, FIREBASE_JWKS_URL, firebase
from .keycloak import keycloak
from .netlify import NETLIFY_ROLES_CLAIMS, netlify
from .oidc import oidc
from .privy import PRIVY_ISSUER, PRIVY_JSON_CLAIMS, PRIVY_JWKS_URL, privy
from .supabase import SupabaseSessionCookie, supabase

__all__ = [
    "FIREBASE_CERTIFICATES_URL",
    "FIREBASE_JWKS_URL",
    "NETLIFY_ROLES_CLAIMS",
    "PRIVY_ISSUER",
    "PRIVY_JSON_CLAIMS",
    "PRIVY_JWKS_URL",
    "UNCHECKED",
    "ClerkSessionCookie",
    "SupabaseSessionCookie",
    "Unchecked",
    "auth0",
    "clerk",
    "cognito",
    "decode_json_claims",
    "firebase",
    "keycloak",
    "netlify",
    "oidc",
    "privy",
    "supabase",
]
