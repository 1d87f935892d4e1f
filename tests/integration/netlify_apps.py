"""The apps the Netlify-parity tests serve: path rules in front, Identity hooks inside.

Importable on its own (gunicorn and uvicorn load it by name): the secret, the
rules file and the instance come from the environment (``NETLIFY_TEST_*``).
Every page answers JSON naming the path and query string the app was called
with, so a test sees what a rule did to the request.
"""

from __future__ import annotations

import os
from typing import Any

from jwtgate import Gate
from jwtgate.netlify import HookResponse, IdentityEvent, IdentityHooks, redirect_rules
from jwtgate.presets import netlify

COMPANY_DOMAIN = "example.com"
HOOK_PATHS = ("/.netlify/functions/identity-signup", "/hooks/identity")


def make_hooks(
    secret: str, instance_id: str | None, calls: list[str] | None = None
) -> IdentityHooks:
    """Signups with a company address become members; validate refuses spam.test."""
    hooks = IdentityHooks(secret, instance_id=instance_id)

    @hooks.on("signup")
    def signup(event: IdentityEvent) -> HookResponse:
        if calls is not None:
            calls.append(event.event)
        if (event.email or "").endswith("@" + COMPANY_DOMAIN):
            return event.accept(roles=["member"])
        return event.accept()

    @hooks.on("validate")
    def validate(event: IdentityEvent) -> HookResponse | None:
        if calls is not None:
            calls.append(event.event)
        if (event.email or "").endswith("@spam.test"):
            return event.refuse("Signups from spam.test are closed")
        return None

    @hooks.on("login")
    def login(event: IdentityEvent) -> None:
        if calls is not None:
            calls.append(event.event)

    return hooks


def _settings() -> tuple[str, str | None, str]:
    return (
        os.environ["NETLIFY_TEST_SECRET"],
        os.environ.get("NETLIFY_TEST_INSTANCE"),
        os.environ["NETLIFY_TEST_RULES"],
    )


def flask_app() -> Any:
    from flask import Flask, request

    from jwtgate.flask import JWTGate

    secret, instance, rules_file = _settings()
    app = Flask(__name__)
    app.config["JWTGATE_RULES_FILE"] = rules_file
    JWTGate(app, Gate(issuers=[netlify(jwt_secret=secret)]))
    view = make_hooks(secret, instance).flask_view()
    for path in HOOK_PATHS:
        app.add_url_rule(path, f"hook{path}", view, methods=["POST"])

    @app.get("/", defaults={"path": ""})
    @app.get("/<path:path>")
    def page(path: str) -> Any:
        return {"path": request.path, "query": request.query_string.decode("latin-1")}

    return app


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from jwtgate.starlette import gate_middleware

    secret, instance, rules_file = _settings()
    with open(rules_file, encoding="utf-8") as file:
        rules = redirect_rules(file.read())

    async def page(request: Request) -> JSONResponse:
        return JSONResponse({"path": request.url.path, "query": request.url.query})

    hooks = make_hooks(secret, instance)
    routes = [Route(path, hooks.asgi, methods=["POST"]) for path in HOOK_PATHS]
    routes.append(Route("/{path:path}", page))
    gate = Gate(issuers=[netlify(jwt_secret=secret)])
    return Starlette(routes=routes, middleware=[gate_middleware(gate, rules=rules)])
