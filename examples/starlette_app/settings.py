"""Which identity provider the example apps trust, from the environment.

- ``PRIVY_APP_ID`` (and optionally ``PRIVY_VERIFICATION_KEY``, the PEM from
  the Privy dashboard): a Privy app's identity tokens;
- else ``JWTGATE_NETLIFY_JWT_SECRET``: a Netlify site's Identity tokens (the
  secret is under Site settings → Identity);
- else the public development secret, so the examples run with no setup.
  Anyone can mint tokens for it: never deploy it.
"""

from __future__ import annotations

import logging
import os

from jwtgate import Gate, Issuer, User
from jwtgate.presets import netlify
from jwtgate.testing import DEVELOPMENT_SECRET

logger = logging.getLogger("examples.starlette_app")


def build_issuer() -> tuple[Issuer, str]:
    """The trusted issuer and a one-line description of it."""
    app_id = os.environ.get("PRIVY_APP_ID")
    if app_id:
        # Imported only when asked for, so the examples need nothing Privy-specific.
        from jwtgate.presets import privy  # type: ignore[attr-defined,unused-ignore]

        key = os.environ.get("PRIVY_VERIFICATION_KEY") or None
        issuer: Issuer = privy(app_id, verification_key=key)
        return issuer, f"Privy app {app_id}"
    secret = os.environ.get("JWTGATE_NETLIFY_JWT_SECRET")
    if secret:
        return netlify(jwt_secret=secret), "a Netlify site (JWTGATE_NETLIFY_JWT_SECRET)"
    return netlify(jwt_secret=DEVELOPMENT_SECRET), "the development secret (never deploy it)"


def build_gate() -> Gate:
    """The gate both example apps use."""
    issuer, description = build_issuer()
    logger.warning("jwtgate example: trusting %s", description)
    return Gate(issuers=[issuer])


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
