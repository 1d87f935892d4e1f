"""A blog with comments, its users checked by jwtgate: the Netlify Identity guide's app in Flask.

Routes: ``/`` (public page), ``GET /comments`` (public), ``POST /comments``
(logged-in users), ``/me`` and ``/api/me`` (who you are), ``/admin`` and
``/api/admin`` (role ``admin``), ``/api/context`` (Netlify Functions'
``clientContext``), ``/login`` and ``/logout``.

With no settings it trusts jwtgate's public development key, so it runs with
no identity provider; ``/login`` then hands out development tokens. Settings
come from the environment: ``JWTGATE_NETLIFY_JWT_SECRET`` for a real Netlify
site, ``PRIVY_APP_ID`` (and ``PRIVY_VERIFICATION_KEY``) for a Privy app, or
any other ``JWTGATE_*`` setting of ``jwtgate.flask``. See README.md.

    python examples/flask_app/app.py            # http://127.0.0.1:5000
    gunicorn --chdir examples/flask_app 'app:create_app()'
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt
from flask import Flask, abort, jsonify, redirect, render_template, request

from jwtgate import require_auth, require_roles
from jwtgate.flask import JWTGate, client_context, current_user, safe_next_url
from jwtgate.netlify import HookResponse, IdentityEvent, IdentityHooks
from jwtgate.testing import DEVELOPMENT_SECRET

#: Settings that name an issuer; without any of them the development key is trusted.
ISSUER_SETTINGS = (
    "JWTGATE_NETLIFY_JWT_SECRET",
    "JWTGATE_PRIVY_APP_ID",
    "JWTGATE_SECRET",
    "JWTGATE_PUBLIC_KEY",
    "JWTGATE_JWKS_URL",
    "JWTGATE_DISCOVERY",
)
MAX_COMMENT = 500
MAX_COMMENTS = 100


def settings_from_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """The app's ``JWTGATE_*`` settings and the mode they select (development, netlify, privy …)."""
    settings: dict[str, Any] = {k: v for k, v in environ.items() if k.startswith("JWTGATE_")}
    if environ.get("PRIVY_APP_ID"):
        settings["JWTGATE_PRIVY_APP_ID"] = environ["PRIVY_APP_ID"]
        if environ.get("PRIVY_VERIFICATION_KEY"):
            settings["JWTGATE_PRIVY_VERIFICATION_KEY"] = environ["PRIVY_VERIFICATION_KEY"]
    settings.setdefault("JWTGATE_LOGIN_URL", "/login")
    if settings.get("JWTGATE_PRIVY_APP_ID"):
        return settings, "privy"
    if settings.get("JWTGATE_NETLIFY_JWT_SECRET"):
        return settings, "netlify"
    if any(settings.get(key) for key in ISSUER_SETTINGS):
        return settings, "custom"
    settings["JWTGATE_NETLIFY_JWT_SECRET"] = DEVELOPMENT_SECRET
    return settings, "development"


def development_token(
    *, sub: str | None = None, email: str = "dev@example.com", roles: tuple[str, ...] = ()
) -> str:
    """A token shaped like Netlify Identity's, signed with the public development key."""
    now = int(time.time())
    claims = {
        "sub": sub or str(uuid.uuid4()),
        "email": email,
        "exp": now + 3600,
        "aud": "",
        "app_metadata": {"provider": "email", "roles": list(roles)},
        "user_metadata": {"full_name": email.split("@")[0].title()},
    }
    return jwt.encode(claims, DEVELOPMENT_SECRET, "HS256", {"kid": "nf-ident"})


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    """The app, configured from ``environ`` (default: the process environment)."""
    settings, mode = settings_from_environment(os.environ if environ is None else environ)
    app = Flask(__name__)
    app.config.update(settings)
    app.config["MODE"] = mode
    JWTGate(app)
    if mode == "development":
        app.logger.warning(
            "jwtgate example: trusting the PUBLIC development key; anyone can mint tokens. "
            "Set JWTGATE_NETLIFY_JWT_SECRET or PRIVY_APP_ID for a real identity provider."
        )

    comments: list[dict[str, Any]] = [
        {"author": "Ada", "text": "Lovely post!", "at": int(time.time())},
    ]
    lock = threading.Lock()

    @app.get("/")
    def index() -> str:
        return render_template("index.html", comments=comments, mode=mode)

    @app.get("/comments")
    def list_comments() -> Any:
        return jsonify(comments)

    @app.post("/comments")
    @require_auth
    def add_comment() -> Any:
        # jwtgate already refuses a cross-site POST authenticated by the nf_jwt cookie
        # (no same-origin evidence: 403 csrf_rejected); this view takes JSON only.
        data = request.get_json(silent=True)
        if not request.is_json or not isinstance(data, dict):
            return {"error": 'send JSON: {"text": "..."}'}, 415
        text = data.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_COMMENT:
            return {"error": f"text: 1 to {MAX_COMMENT} characters"}, 400
        comment = {
            "author": current_user.display_name,
            "sub": current_user.subject,
            "text": text.strip(),
            "at": int(time.time()),
        }
        with lock:
            comments.append(comment)
            del comments[:-MAX_COMMENTS]
        return comment, 201

    @app.get("/me")
    @app.get("/api/me")
    @require_auth
    def me() -> Any:
        user = current_user
        return {
            "sub": user.subject,
            "email": user.email,
            "name": user.display_name,
            "roles": sorted(user.roles),
            "source": user.source,
            "expires_at": user.expires_at,
        }

    @app.get("/admin")
    @require_roles("admin")
    def admin_page() -> str:
        return render_template("admin.html", comments=comments)

    @app.get("/api/admin")
    @require_roles("admin")
    def admin_api() -> Any:
        return {"comments": len(comments), "admin": current_user.subject}

    @app.get("/api/context")
    def netlify_context() -> Any:
        return client_context()

    @app.get("/login")
    def login_page() -> str:
        return render_template(
            "login.html", mode=mode, next=safe_next_url(request.args.get("next"))
        )

    @app.post("/login")
    def development_login() -> Any:
        if mode != "development":
            abort(404)
        role = request.form.get("role", "")
        roles = ("admin",) if role == "admin" else ()
        email = "admin@example.com" if roles else "reader@example.com"
        response = redirect(safe_next_url(request.form.get("next")), 303)
        response.set_cookie(
            "nf_jwt",
            development_token(email=email, roles=roles),
            max_age=3600,
            httponly=True,
            secure=request.is_secure,
            samesite="Lax",
        )
        return response

    @app.post("/logout")
    def logout() -> Any:
        response = redirect("/", 303)
        response.delete_cookie("nf_jwt", httponly=True, samesite="Lax")
        return response

    add_members_area(app, environ if environ is not None else os.environ)
    return app


# --- Netlify parity: a members area gated by _redirects, and Identity's signup hook ---

#: Signups with an address at this domain become members (COMPANY_DOMAIN).
DEFAULT_COMPANY_DOMAIN = "example.com"


def add_members_area(app: Flask, environ: Mapping[str, str]) -> None:
    """``/members`` for the ``member`` role, ``/join``, and ``POST /hooks/identity``.

    The rules of ``_redirects`` gate ``/admin/*`` and ``/members/*`` when the app
    runs with ``JWTGATE_RULES_FILE=_redirects``; the views keep their own
    ``@require_roles`` either way. Netlify Identity calls ``/hooks/identity``
    (Identity → Notifications → Outgoing webhook) with a signature made with
    the webhook's secret, ``IDENTITY_WEBHOOK_SECRET``; in development mode the
    public development key stands in for it.
    """
    company = environ.get("COMPANY_DOMAIN", DEFAULT_COMPANY_DOMAIN)

    @app.get("/members", defaults={"page": "index"})
    @app.get("/members/<path:page>")
    @require_roles(any_of=["member", "admin"])
    def members(page: str) -> str:
        return render_template("members.html", page=page)

    @app.get("/join")
    def join() -> str:
        return render_template("join.html", company_domain=company)

    secret = environ.get("IDENTITY_WEBHOOK_SECRET")
    if secret is None and app.config["MODE"] == "development":
        secret = DEVELOPMENT_SECRET
    if secret is None:
        return
    hooks = IdentityHooks(secret)

    @hooks.on("signup")
    def signup(event: IdentityEvent) -> HookResponse:
        """New users with a company address get the member role."""
        if (event.email or "").lower().endswith("@" + company.lower()):
            return event.accept(roles=[*event.roles, "member"])
        return event.accept()

    app.add_url_rule("/hooks/identity", view_func=hooks.flask_view(), methods=["POST"])


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
