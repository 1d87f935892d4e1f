"""Path rules applied by the WSGI and ASGI middleware and by the Flask extension.

Netlify's decisions are compared through both adapters on a whole corpus in
tests/integration/test_netlify_engine.py; these tests pin what the adapters
do with a decision: the path and query the app sees, mounts, a page served
with the rule's status, HEAD, CORS preflights, websockets, the Flask settings.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from jwtgate import ConfigurationError, Gate, require_roles
from jwtgate.asgi import GateMiddleware as ASGIGate
from jwtgate.presets import netlify
from jwtgate.rules import Rule, RuleTable
from jwtgate.rules_asgi import RulesApp as ASGIRules
from jwtgate.rules_wsgi import RULE_KEY, RulesApp
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware

RULES = [
    Rule("/admin/*", "/admin/:splat", 200, force=True, roles=["admin"]),
    Rule("/admin/*", "/login", 302),
    Rule("/members/*", "/members/:splat", 200, force=True, roles=["member", "admin"]),
    Rule("/members/*", "/join", 401, force=True),
    Rule("/docs/*", "/documentation/:splat", 200),
    Rule("/secret/*", roles=["admin"]),
    Rule("/ops/*", roles=["ops"]),
    Rule("/ops/*", "/no-entry", 403),
]


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify()


@pytest.fixture(scope="module")
def gate(tokens) -> Gate:
    return Gate(issuers=[netlify(jwt_secret=tokens.secret)])


def echo(environ, start_response):
    """A WSGI app answering what it was asked, with the status its path asks for."""
    request = Request(environ)
    status = 500 if request.path == "/broken" else 200
    body = {
        "path": request.path,
        "query": request.query_string.decode(),
        "script": request.script_root,
        "raw": environ.get("RAW_URI"),
        "request_uri": environ.get("REQUEST_URI"),
        "rule": environ[RULE_KEY].rule.path if RULE_KEY in environ else None,
    }
    response = Response(json.dumps(body), status, content_type="application/json")
    response.headers["Cache-Control"] = "public, max-age=60"
    return response(environ, start_response)


def client(gate, app=echo, rules=RULES, **options) -> Client:
    return Client(GateMiddleware(app, gate, rules=rules, **options))


def signed_in(test_client, tokens, *roles):
    """The test client, carrying a user's nf_jwt cookie (its jar replaces any Cookie header)."""
    test_client.set_cookie("nf_jwt", tokens.token(sub="u1", roles=list(roles)))
    return test_client


# --- WSGI ----------------------------------------------------------------------------


def test_without_rules_the_middleware_calls_the_app_itself(gate):
    middleware = GateMiddleware(echo, gate)
    assert middleware.app is echo
    assert middleware.rules is None
    with_rules = GateMiddleware(echo, gate, rules=RULES)
    assert isinstance(with_rules.app, RulesApp)
    assert with_rules.app.app is echo
    assert len(with_rules.rules) == len(RULES)
    assert "RulesApp(" in repr(with_rules)


def test_a_table_is_taken_as_is(gate):
    table = RuleTable(RULES, exists=lambda path: False)
    assert GateMiddleware(echo, gate, rules=table).rules is table
    with pytest.raises(ConfigurationError, match=r"a list of jwtgate\.rules\.Rule"):
        GateMiddleware(echo, gate, rules=RULES[0])


def test_a_rewrite_changes_the_path_and_raw_uri_the_app_sees(gate):
    response = client(gate).get(
        "/docs/intro%20here?q=1", environ_base={"RAW_URI": "/docs/x", "REQUEST_URI": "/docs/x"}
    )
    assert response.json == {
        "path": "/documentation/intro here",
        "query": "q=1",
        "script": "",
        "raw": "/documentation/intro%20here?q=1",
        "request_uri": "/documentation/intro%20here?q=1",
        "rule": "/docs/*",
    }


def test_a_rewrite_of_a_mounted_app_keeps_the_mount(gate):
    response = client(gate).get(
        "/docs/a", environ_overrides={"SCRIPT_NAME": "/site", "RAW_URI": "/site/docs/a"}
    )
    assert (response.json["script"], response.json["path"], response.json["raw"]) == (
        "/site",
        "/documentation/a",
        "/site/documentation/a",
    )


def test_non_ascii_paths_reach_the_app_decoded(gate):
    response = client(gate).get("/docs/caf%C3%A9")
    assert response.json["path"] == "/documentation/café"


def test_a_redirect_of_a_mounted_app_points_into_the_mount(gate):
    response = client(gate).get("/admin/x?tab=2", environ_overrides={"SCRIPT_NAME": "/site"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/site/login?tab=2"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_browser_gets_the_rules_page_with_the_rules_status(gate):
    response = client(gate).get("/members/area", headers={"Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 401
    assert response.json["path"] == "/join"
    # The page depends on who asks: no shared cache may keep it.
    assert response.headers["Cache-Control"] == "no-store"


def test_a_page_that_fails_keeps_its_own_status(gate):
    rules = [Rule("/members/*", roles=["member"]), Rule("/members/*", "/broken", 401)]
    response = client(gate, rules=rules).get("/members/x", headers={"Accept": "text/html"})
    assert response.status_code == 500


def test_an_api_client_gets_the_standard_refusal(gate, tokens):
    response = signed_in(client(gate), tokens, "guest").get("/members/area")
    assert response.status_code == 401
    assert 'scope="member admin"' in response.headers["WWW-Authenticate"]
    forbidden = client(gate).get("/ops/x")
    assert forbidden.status_code == 403
    assert forbidden.json["error"] == "insufficient_scope"


def test_head_gets_the_answer_without_a_body(gate):
    response = client(gate).head("/secret/x")
    assert response.status_code == 404
    assert response.data == b""


def test_a_cors_preflight_goes_through_untouched(gate):
    response = client(gate).options(
        "/admin/x", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 200
    assert response.json["path"] == "/admin/x"
    assert response.json["rule"] is None


def test_the_decorators_see_the_user_after_a_rewrite(gate, tokens):
    @require_roles("admin")
    def admin_only(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    rules = [Rule("/a/*", "/admin/:splat", 200)]
    assert client(gate, app=admin_only, rules=rules).get("/a/x").status_code == 401
    app = signed_in(client(gate, app=admin_only, rules=rules), tokens, "admin")
    assert app.get("/a/x").data == b"/admin/x"


def test_with_reject_invalid_a_bad_token_is_answered_before_any_rule(gate):
    test_client = client(gate, reject_invalid=True)
    test_client.set_cookie("nf_jwt", "bad")
    response = test_client.get("/docs/x")
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


# --- ASGI ----------------------------------------------------------------------------


async def asgi_echo(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": scope["path"]})
        await send({"type": "websocket.close", "code": 1000})
        return
    status = 500 if scope["path"].endswith("/broken") else 200
    body = json.dumps(
        {
            "path": scope["path"],
            "raw_path": scope.get("raw_path", b"").decode(),
            "query": scope["query_string"].decode(),
            "root_path": scope.get("root_path", ""),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"cache-control", b"public")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def asgi(gate, scope_extra, *, headers=(), rules=RULES, receive_messages=None):
    middleware = ASGIGate(asgi_echo, gate, rules=rules)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"site.test"), *headers],
        **scope_extra,
    }
    messages = list(receive_messages or [{"type": "http.request", "body": b""}])
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent


def test_asgi_without_rules_calls_the_app_itself(gate):
    assert ASGIGate(asgi_echo, gate).app is asgi_echo
    assert isinstance(ASGIGate(asgi_echo, gate, rules=RULES).app, ASGIRules)
    assert "RulesApp(" in repr(ASGIGate(asgi_echo, gate, rules=RULES).app)


def test_asgi_rewrites_path_raw_path_and_query_within_the_mount(gate):
    sent = asgi(
        gate,
        {
            "path": "/site/docs/é",
            "raw_path": b"/site/docs/%C3%A9",
            "query_string": b"x=1",
            "root_path": "/site",
        },
    )
    assert json.loads(sent[1]["body"]) == {
        "path": "/site/documentation/é",
        "raw_path": "/site/documentation/%C3%A9",
        "query": "x=1",
        "root_path": "/site",
    }


def test_asgi_matches_a_path_without_its_root_when_the_server_strips_it(gate):
    sent = asgi(gate, {"path": "/docs/a", "root_path": "/site"})
    assert json.loads(sent[1]["body"])["path"] == "/documentation/a"


def test_asgi_redirects_into_the_mount(gate):
    sent = asgi(gate, {"path": "/site/admin/x", "root_path": "/site", "query_string": b"t=1"})
    assert sent[0]["status"] == 302
    assert dict(sent[0]["headers"])[b"location"] == b"/site/login?t=1"


def test_asgi_serves_the_rules_page_to_a_browser(gate):
    sent = asgi(gate, {"path": "/members/x"}, headers=[(b"accept", b"text/html")])
    assert sent[0]["status"] == 401
    assert dict(sent[0]["headers"])[b"cache-control"] == b"no-store"
    assert json.loads(sent[1]["body"])["path"] == "/join"
    failing = [Rule("/m/*", roles=["member"]), Rule("/m/*", "/broken", 401)]
    sent = asgi(gate, {"path": "/m/x"}, headers=[(b"accept", b"text/html")], rules=failing)
    assert sent[0]["status"] == 500


def test_asgi_head_and_preflight(gate):
    head = asgi(gate, {"path": "/secret/x", "method": "HEAD"})
    assert (head[0]["status"], head[1]["body"]) == (404, b"")
    preflight = asgi(
        gate,
        {"path": "/admin/x", "method": "OPTIONS"},
        headers=[(b"origin", b"https://a.example"), (b"access-control-request-method", b"POST")],
    )
    assert preflight[0]["status"] == 200
    assert json.loads(preflight[1]["body"])["path"] == "/admin/x"


WS = {"type": "websocket", "scheme": "ws", "path": "/admin/live", "raw_path": b"/admin/live"}


def test_a_websocket_a_rule_answers_is_denied_with_that_answer(gate):
    sent = asgi(
        gate,
        {**WS, "extensions": {"websocket.http.response": {}}},
        receive_messages=[{"type": "websocket.connect"}],
    )
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 302
    assert dict(sent[0]["headers"])[b"location"] == b"/login"


def test_a_websocket_is_closed_without_the_denial_extension(gate):
    sent = asgi(gate, WS, receive_messages=[{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert asgi(gate, WS, receive_messages=[{"type": "websocket.disconnect"}]) == []


def test_a_websocket_a_rule_rewrites_reaches_the_app_at_the_new_path(gate):
    rules = [Rule("/live/*", "/ws/:splat", 200)]
    sent = asgi(
        gate,
        {**WS, "path": "/live/x", "raw_path": b"/live/x"},
        rules=rules,
        receive_messages=[{"type": "websocket.connect"}],
    )
    assert sent[1] == {"type": "websocket.send", "text": "/ws/x"}


def test_lifespan_goes_through(gate):
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    async def call():
        await ASGIGate(app, gate, rules=RULES)({"type": "lifespan"}, None, None)

    asyncio.run(call())
    assert seen == ["lifespan"]


# --- Flask ---------------------------------------------------------------------------


def flask_app(tmp_path, gate, **config):
    from flask import Flask, request

    app = Flask(__name__, root_path=str(tmp_path))
    app.config.update(config)

    @app.get("/<path:path>")
    def page(path):
        return {"path": request.path}

    return app


def test_flask_takes_rules(tmp_path, gate, tokens):
    from jwtgate.flask import JWTGate, get_state

    app = flask_app(tmp_path, gate)
    JWTGate(app, gate, rules=RULES)
    assert app.test_client().get("/admin/x").headers["Location"] == "/login"
    admin = signed_in(app.test_client(), tokens, "admin")
    assert admin.get("/admin/x").json == {"path": "/admin/x"}
    assert get_state(app).middleware.rules is not None


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("_redirects", "/admin/*  200!  Role=admin\n/admin/*  /login  302\n"),
        (
            "netlify.toml",
            '[[redirects]]\nfrom = "/admin/*"\nstatus = 200\nforce = true\n'
            'conditions = {Role = ["admin"]}\n\n'
            '[[redirects]]\nfrom = "/admin/*"\nto = "/login"\nstatus = 302\n',
        ),
    ],
)
def test_flask_reads_rules_from_jwtgate_rules_file(tmp_path, gate, tokens, name, text):
    from jwtgate.flask import JWTGate

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / name).write_text(text, encoding="utf-8")
    app = flask_app(tmp_path, gate, JWTGATE_RULES_FILE=f"config/{name}")
    JWTGate(app, gate)
    assert app.test_client().get("/admin/x").headers["Location"] == "/login"
    assert signed_in(app.test_client(), tokens, "admin").get("/admin/x").status_code == 200


def test_flask_rules_given_win_over_the_file(tmp_path, gate):
    from jwtgate.flask import JWTGate

    app = flask_app(tmp_path, gate, JWTGATE_RULES_FILE="missing/_redirects")
    JWTGate(app, gate, rules=[Rule("/x", "/y", 302)])
    assert app.test_client().get("/x").headers["Location"] == "/y"


def test_flask_names_the_setting_when_the_file_is_missing(tmp_path, gate):
    from jwtgate.flask import JWTGate

    app = flask_app(tmp_path, gate, JWTGATE_RULES_FILE="nowhere/_redirects")
    with pytest.raises(ConfigurationError, match=r"JWTGATE_RULES_FILE: cannot read .*nowhere"):
        JWTGate(app, gate)


def test_flask_names_the_setting_and_the_line_of_a_bad_rule(tmp_path, gate):
    from jwtgate.flask import JWTGate

    (tmp_path / "_redirects").write_text("/ok  /fine\n/api/*  https://x.example/:splat  200\n")
    app = flask_app(tmp_path, gate, JWTGATE_RULES_FILE="_redirects")
    with pytest.raises(
        ConfigurationError, match=r"JWTGATE_RULES_FILE: .*/_redirects: _redirects line 2: proxy"
    ):
        JWTGate(app, gate)


def test_flask_a_rules_file_setting_must_be_text(tmp_path, gate):
    from jwtgate.flask import JWTGate

    app = flask_app(tmp_path, gate, JWTGATE_RULES_FILE=["_redirects"])
    with pytest.raises(ConfigurationError, match="JWTGATE_RULES_FILE: must be a string"):
        JWTGate(app, gate)


def test_flask_a_misspelt_rules_setting_is_caught(tmp_path, gate):
    from jwtgate.flask import JWTGate

    app = flask_app(tmp_path, gate, JWTGATE_RULE_FILE="_redirects")
    with pytest.raises(ConfigurationError, match="did you mean JWTGATE_RULES_FILE"):
        JWTGate(app, gate)


def test_flask_rules_stay_in_front_after_the_first_request_checks_routes(tmp_path, gate):
    # The extension's first-request route check steps aside once it passes; the rules,
    # in front of it, must stay: every request is decided, not only the first.
    from jwtgate.flask import JWTGate

    app = flask_app(tmp_path, gate)
    JWTGate(app, gate, rules=RULES)
    client = app.test_client()
    assert client.get("/public").status_code == 200  # reaches the app: the check passes
    for _ in range(3):
        assert client.get("/admin/x").headers["Location"] == "/login"
