"""Netlify parity for self-hosted apps: ``_redirects`` role gating and Identity event hooks.

- ``redirect_rules(text)`` / ``toml_rules(text)``: the rules of a
  ``_redirects`` file or a ``netlify.toml``, as ``jwtgate.rules.Rule`` for
  ``GateMiddleware(app, gate, rules=...)``.
- Identity events: GoTrue (Netlify Identity) calls a hook with a signed
  ``X-Webhook-Signature``; ``IdentityHooks`` verifies it before the body is
  parsed and turns a handler into a Flask view, a WSGI or an ASGI app.
"""

from __future__ import annotations

from .redirects import RulesError, redirect_rules, toml_rules

__all__ = ["RulesError", "redirect_rules", "toml_rules"]
