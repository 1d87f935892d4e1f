"""Netlify parity for the Starlette example: its _redirects rules and Identity's signup hook.

Netlify Identity calls ``POST /hooks/identity`` once it is set as the site's
outgoing webhook (Identity → Notifications), signed with the webhook's secret:
``IDENTITY_WEBHOOK_SECRET`` (the public development secret stands in when it
is unset, for local runs only). A signup with an address at
``COMPANY_DOMAIN`` (default example.com) gets the ``member`` role.
"""

from __future__ import annotations

import os
from pathlib import Path

from jwtgate.netlify import HookResponse, IdentityEvent, IdentityHooks
from jwtgate.testing import DEVELOPMENT_SECRET

#: The rules that gate /admin/* and /members/*, in Netlify's _redirects format.
RULES_FILE = Path(__file__).with_name("_redirects")


def identity_hooks() -> IdentityHooks:
    """The hooks behind ``/hooks/identity``."""
    company = os.environ.get("COMPANY_DOMAIN", "example.com").lower()
    hooks = IdentityHooks(os.environ.get("IDENTITY_WEBHOOK_SECRET") or DEVELOPMENT_SECRET)

    @hooks.on("signup")
    async def signup(event: IdentityEvent) -> HookResponse:
        if (event.email or "").lower().endswith("@" + company):
            return event.accept(roles=[*event.roles, "member"])
        return event.accept()

    return hooks
