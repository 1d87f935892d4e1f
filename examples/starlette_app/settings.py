"""Which identity provider the example apps trust, from the environment.

The ``JWTGATE_*`` variables of ``jwtgate.settings`` (docs/settings.md), plus
two shorthands:

- ``PRIVY_APP_ID`` (and optionally ``PRIVY_VERIFICATION_KEY``, the PEM from
  the Privy dashboard): a Privy app's identity tokens
  (``JWTGATE_PRIVY_APP_ID``, ``JWTGATE_PRIVY_VERIFICATION_KEY``);
- ``JWTGATE_NETLIFY_JWT_SECRET``: a Netlify site's Identity tokens (the
  secret is under Site settings → Identity).

Without any of them the apps refuse to start, unless ``EXAMPLE_DEVELOPMENT=1``
asks for development mode: then they trust the public development secret,
which anyone can mint tokens with. Never deploy that.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from jwtgate import ConfigurationError, Gate, User
from jwtgate.settings import Settings, settings_of
from jwtgate.testing import DEVELOPMENT_SECRET

logger = logging.getLogger("examples.starlette_app")

#: The environment variable that asks for development mode.
DEVELOPMENT_VARIABLE = "EXAMPLE_DEVELOPMENT"


def example_settings(environ: Mapping[str, str]) -> tuple[dict[str, object], str]:
    """The ``JWTGATE_*`` settings the examples use, and a one-line description of them.

    Raises ``ConfigurationError`` when no identity provider is configured and
    development mode was not asked for.
    """
    settings: dict[str, object] = settings_of(environ)
    if environ.get("PRIVY_APP_ID"):
        settings["JWTGATE_PRIVY_APP_ID"] = environ["PRIVY_APP_ID"]
        if environ.get("PRIVY_VERIFICATION_KEY"):
            settings["JWTGATE_PRIVY_VERIFICATION_KEY"] = environ["PRIVY_VERIFICATION_KEY"]
    configured = Settings(settings).configured()
    if configured:
        return settings, f"the issuers of {', '.join(configured)}"
    if environ.get(DEVELOPMENT_VARIABLE, "").strip().lower() not in ("1", "true", "yes", "on"):
        raise ConfigurationError(
            "examples/starlette_app: no identity provider is configured: set "
            "JWTGATE_NETLIFY_JWT_SECRET (a Netlify site), PRIVY_APP_ID (a Privy app) or the "
            "JWTGATE_* settings of another issuer. For local development only, "
            f"{DEVELOPMENT_VARIABLE}=1 trusts jwtgate's PUBLIC development key, which anyone "
            "can sign tokens with."
        )
    settings["JWTGATE_NETLIFY_JWT_SECRET"] = DEVELOPMENT_SECRET
    return settings, "the PUBLIC development secret (development mode: never deploy it)"


def build_gate(environ: Mapping[str, str] | None = None) -> Gate:
    """The gate both example apps use, from ``environ`` (default: the process environment)."""
    settings, description = example_settings(os.environ if environ is None else environ)
    gate = Settings(settings).gate()
    assert gate is not None  # noqa: S101 - example_settings found an issuer
    logger.warning("jwtgate example: trusting %s", description)
    return gate


def user_json(user: User) -> dict[str, object]:
    """What /api/me answers: who the token says the user is."""
    return {
        "sub": user.subject,
        "email": user.email,
        "name": user.display_name,
        "roles": sorted(user.roles),
        "source": user.source,
        "expires_at": user.expires_at,
    }
