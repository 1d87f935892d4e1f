"""A blog with comments, its users checked by jwtgate: the Netlify Identity guide's app in Flask.

Routes: ``/`` (public page), ``GET /comments`` (public), ``POST /comments``
(logged-in users), ``/me`` and ``/api/me`` (who you are), ``/admin`` and
``/api/admin`` (role ``admin``), ``/api/context`` (Netlify Functions'
``clientContext``), ``/login`` and ``/logout``; with flask-sock installed, the
websocket ``/ws/echo`` (logged-in users).

Settings come from the environment, in the ``JWTGATE_*`` names of
``jwtgate.settings`` (docs/settings.md): ``JWTGATE_NETLIFY_JWT_SECRET`` for a
real Netlify site, ``PRIVY_APP_ID`` (and ``PRIVY_VERIFICATION_KEY``) for a
Privy app, or any other ``JWTGATE_*`` setting. Without any, the app refuses
to start. For local development only, ``--development`` (or
``EXAMPLE_DEVELOPMENT=1``) makes it trust jwtgate's public development key,
which anyone can sign with; ``/login`` then hands out development tokens.
See README.md.

    python examples/flask_app/app.py --development      # http://127.0.0.1:5000
    JWTGATE_NETLIFY_JWT_SECRET=… gunicorn --chdir examples/flask_app 'app:create_app()'
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt
from flask import Flask, abort, jsonify, redirect, render_template, request

from jwtgate import ConfigurationError, require_auth, require_roles
from jwtgate.flask import JWTGate, client_context, current_user, safe_next_url
from jwtgate.netlify import HookResponse, IdentityEvent, IdentityHooks
from jwtgate.settings import Settings, settings_of
from jwtgate.testing import DEVELOPMENT_SECRET

try:  # /ws/echo needs flask-sock (pip install flask-sock); the rest of the app does not
    from flask_sock import Sock
except ImportError:  # pragma: no cover
    Sock = None

MAX_COMMENT = 500
MAX_COMMENTS = 100
#: The environment variable that allows development mode where no flag can be passed.
DEVELOPMENT_VARIABLE = "EXAMPLE_DEVELOPMENT"


class NotConfigured(ConfigurationError):
    """No identity provider is configured and development mode was not asked for."""

    def __init__(self) -> None:
        super().__init__(
            "examples/flask_app: no identity provider is configured: set "
            "JWTGATE_NETLIFY_JWT_SECRET (a Netlify site), PRIVY_APP_ID (a Privy app) or the "
            "JWTGATE_* settings of another issuer (docs/settings.md). For local development "
            f"only, run it with --development (or {DEVELOPMENT_VARIABLE}=1) to trust jwtgate's "
            "PUBLIC development key, which anyone can sign tokens with."
        )


def settings_from_environment(
    environ: Mapping[str, str], *, development: bool = False
) -> tuple[dict[str, Any], str]:
    """The app's ``JWTGATE_*`` settings and the mode they select (netlify, privy, custom …).

    With no issuer configured, ``development=True`` selects development mode
    (the public development key); anything else raises ``NotConfigured``.
    """
    settings = settings_of(environ)
    if environ.get("PRIVY_APP_ID"):
        settings["JWTGATE_PRIVY_APP_ID"] = environ["PRIVY_APP_ID"]
        if environ.get("PRIVY_VERIFICATION_KEY"):
            settings["JWTGATE_PRIVY_VERIFICATION_KEY"] = environ["PRIVY_VERIFICATION_KEY"]
    settings.setdefault("JWTGATE_LOGIN_URL", "/login")
    configured = Settings(settings).configured()
    if "JWTGATE_PRIVY_APP_ID" in configured:
        return settings, "privy"
    if "JWTGATE_NETLIFY_JWT_SECRET" in configured:
        return settings, "netlify"
    if configured:
        return settings, "custom"
    if not development:
        raise NotConfigured()
    settings["JWTGATE_NETLIFY_JWT_SECRET"] = DEVELOPMENT_SECRET
    return settings, "development"


def development_requested(environ: Mapping[str, str]) -> bool:
    """True when ``EXAMPLE_DEVELOPMENT`` asks for development mode (``1``, ``true``, ``yes``)."""
    return environ.get(DEVELOPMENT_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


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


def create_app(environ: Mapping[str, str] | None = None, *, development: bool = False) -> Flask:
    """The app, configured from ``environ`` (default: the process environment).

    Raises ``NotConfigured`` when no identity provider is configured, unless
    development mode is asked for: ``development=True`` or ``EXAMPLE_DEVELOPMENT=1``.
    """
    environ = os.environ if environ is None else environ
    development = development or development_requested(environ)
    settings, mode = settings_from_environment(environ, development=development)
    app = Flask(__name__)
    app.config.update(settings)
    app.config["MODE"] = mode
    JWTGate(app)
    if mode == "development":
        app.logger.warning(
            "jwtgate example: DEVELOPMENT MODE, trusting the PUBLIC development key: anyone can "
            "mint tokens, admin ones too. Never deploy it like this; set "
            "JWTGATE_NETLIFY_JWT_SECRET or PRIVY_APP_ID for a real identity provider."
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
        # (no same-origin evidence: 403 csrf_rejected). Scripts send JSON; the page's
        # own form sends a form and is sent back to the page.
        from_form = request.mimetype == "application/x-www-form-urlencoded"
        data = request.form if from_form else request.get_json(silent=True)
        if not (from_form or request.is_json) or not isinstance(data, Mapping):
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
        if from_form:
            return redirect("/", 303)
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

    @app.get("/admin/", defaults={"section": ""}, strict_slashes=False)  # /admin too
    @app.get("/admin/<path:section>")
    @require_roles("admin")
    def admin_page(section: str) -> str:
        return render_template("admin.html", comments=comments, section=section)

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
        roles = (role,) if role in ("admin", "member") else ()
        email = f"{roles[0] if roles else 'reader'}@example.com"
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

    if Sock is not None:
        sock = Sock(app)

        @sock.route("/ws/echo")
        @require_auth
        def echo(ws: Any) -> None:
            """Echoes text for a verified user, as the Starlette example's ``/ws/echo`` does.

            A browser sends the ``nf_jwt`` cookie with the handshake (a page cannot
            set ``Authorization`` on a websocket); jwtgate refuses a cookie
            handshake opened by another site's page.
            """
            while True:
                ws.send(f"{current_user.subject}: {ws.receive()}")

    add_members_area(app, environ)
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

    @app.get("/members/", defaults={"page": "index"}, strict_slashes=False)  # /members too
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


def main(argv: list[str] | None = None) -> int:
    """``python app.py [--development]``: Flask's development server on 127.0.0.1."""
    parser = argparse.ArgumentParser(description="The jwtgate Flask example.")
    parser.add_argument(
        "--development",
        action="store_true",
        help="trust jwtgate's PUBLIC development key when no identity provider is configured",
    )
    args = parser.parse_args(argv)
    try:
        app = create_app(development=args.development)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
