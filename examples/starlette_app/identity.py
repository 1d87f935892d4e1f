"""Netlify parity for the Starlette example: its _redirects rules and Identity's signup hook.

Netlify Identity calls ``POST /hooks/identity`` once it is set as the site's
outgoing webhook (Identity → Notifications), signed with the webhook's secret:
``IDENTITY_WEBHOOK_SECRET``. In development mode (``EXAMPLE_DEVELOPMENT=1``)
the public development secret stands in when it is unset; otherwise, without
a secret, there is no hook. A signup with an address at ``COMPANY_DOMAIN``
(default example.com) gets the ``member`` role.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from jwtgate.netlify import HookResponse, IdentityEvent, IdentityHooks
from jwtgate.testing import DEVELOPMENT_SECRET

from .settings import DEVELOPMENT_VARIABLE

#: The rules that gate /admin/* and /members/*, in Netlify's _redirects format.
RULES_FILE = Path(__file__).with_name("_redirects")


def identity_hooks(environ: Mapping[str, str] | None = None) -> IdentityHooks | None:
    """The hooks behind ``/hooks/identity``, or ``None`` when no secret is configured."""
    environ = os.environ if environ is None else environ
    secret = environ.get("IDENTITY_WEBHOOK_SECRET")
    if not secret:
        if environ.get(DEVELOPMENT_VARIABLE, "").strip().lower() not in ("1", "true", "yes", "on"):
            return None
        secret = DEVELOPMENT_SECRET
    company = environ.get("COMPANY_DOMAIN", "example.com").lower()
    hooks = IdentityHooks(secret)

    @hooks.on("signup")
    async def signup(event: IdentityEvent) -> HookResponse:
        if (event.email or "").lower().endswith("@" + company):
            return event.accept(roles=[*event.roles, "member"])
        return event.accept()

    return hooks
