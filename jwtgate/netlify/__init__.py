"""Netlify parity for self-hosted apps: ``_redirects`` role gating and Identity event hooks.

- ``redirect_rules(text)`` / ``toml_rules(text)``: the rules of a
  ``_redirects`` file or a ``netlify.toml``, as ``jwtgate.rules.Rule`` for
  ``GateMiddleware(app, gate, rules=...)``.
- ``IdentityHooks`` / ``WebhookVerifier``: GoTrue (Netlify Identity) calls a
  hook with a signed ``X-Webhook-Signature``; it is verified before the body is
  parsed, and the event reaches a handler from a Flask view, a WSGI or an ASGI
  app.
"""

from __future__ import annotations

from .hooks import (
    SIGNATURE_HEADER,
    HookResponse,
    IdentityEvent,
    IdentityHooks,
    WebhookError,
    WebhookVerifier,
)
from .redirects import RulesError, redirect_rules, rules_file, toml_rules

__all__ = [
    "SIGNATURE_HEADER",
    "HookResponse",
    "IdentityEvent",
    "IdentityHooks",
    "RulesError",
    "WebhookError",
    "WebhookVerifier",
    "redirect_rules",
    "rules_file",
    "toml_rules",
]
