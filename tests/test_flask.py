"""jwtgate.flask: the extension, JWTGATE_* settings, current_user, error rendering, login."""

from __future__ import annotations

import json

import pytest
from flask import Blueprint, Flask, render_template_string, stream_with_context

from jwtgate import (
    AuthError,
    ConfigurationError,
    CrossSiteRequest,
    Forbidden,
    Gate,
    InvalidRequest,
    Issuer,
    KeysUnavailable,
    MissingToken,
    presets,
    require_auth,
    require_roles,
)
from jwtgate.flask import (
    CONFIG_KEYS,
    JWTGate,
    client_context,
    current_user,
    gate_from_config,
    get_state,
    render_auth_error,
    safe_next_url,
)
from jwtgate.keys import KeySource
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware
from tests.tokens import bearer

# --- an app with the usual views --------------------------------------------------------


def make_app(**config) -> Flask:
    app = Flask("test_app")
    app.config.update(config)

    @app.get("/")
    def index():
        return {"authenticated": current_user.is_authenticated, "user": current_user.subject}

    @app.get("/me")
    @require_auth
    def me():
        return {"sub": current_user.subject, "roles": sorted(current_user.roles)}

    @app.get("/admin")
    @require_roles("admin")
    def admin():
        return {"admin": current_user.subject}

    @app.get("/async-admin")
    @require_roles("admin")
    async def async_admin():
        return {"admin": current_user.subject}

    @app.get("/context")
    def context():
        return client_context()

    @app.get("/login")
    @require_auth
    def login():
        return "the login page should not need a login"

    return app


@pytest.fixture
def netlify(clock):
    return TokenFactory.netlify(clock=clock)


@pytest.fixture
def netlify_gate(netlify, clock):
    return Gate(issuers=[netlify.issuer_config()], clock=clock)


@pytest.fixture
def app(netlify_gate):
    app = make_app()
    JWTGate(app, netlify_gate)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


# --- setting up -------------------------------------------------------------------------


def test_jwtgate_wraps_wsgi_app_and_registers_itself(netlify_gate):
    app = make_app()
    extension = JWTGate(app, netlify_gate)
    state = app.extensions["jwtgate"]
    assert state.extension is extension
    assert state.gate is netlify_gate
    assert isinstance(app.wsgi_app, GateMiddleware)
    assert app.wsgi_app is state.middleware
    assert extension.gate is netlify_gate


def test_init_app_pattern_serves_several_apps(netlify, clock):
    extension = JWTGate(gate=Gate(issuers=[netlify.issuer_config()], clock=clock))
    first, second = make_app(), make_app()
    extension.init_app(first)
    extension.init_app(second)
    for app in (first, second):
        response = app.test_client().get("/me", headers=bearer(netlify.token(sub="u1")))
        assert response.json["sub"] == "u1"
        with app.app_context():
            assert extension.gate is get_state(app).gate


def test_init_app_twice_on_one_app_is_refused(app, netlify_gate):
    with pytest.raises(ConfigurationError, match="already"):
        JWTGate(app, netlify_gate)


def test_an_app_without_gate_or_settings_is_refused():
    with pytest.raises(ConfigurationError, match="JWTGATE_NETLIFY_JWT_SECRET"):
        JWTGate(make_app())


def test_a_gate_and_issuer_settings_together_are_refused(netlify_gate):
    app = make_app(JWTGATE_SECRET="x" * 32)
    with pytest.raises(ConfigurationError, match="JWTGATE_SECRET"):
        JWTGate(app, netlify_gate)


def test_a_non_gate_is_refused():
    with pytest.raises(ConfigurationError, match="gate"):
        JWTGate(gate="not a gate")  # type: ignore[arg-type]


def test_get_state_without_the_extension_is_a_clear_error():
    app = Flask("bare")
    with app.app_context(), pytest.raises(RuntimeError, match="init_app"):
        get_state()


# --- views ------------------------------------------------------------------------------


def test_public_view_sees_an_anonymous_current_user(client):
    assert client.get("/").json == {"authenticated": False, "user": None}


def test_bearer_and_cookie_tokens_both_work(client, netlify):
    response = client.get("/me", headers=bearer(netlify.token(sub="u1", roles=["a"])))
    assert response.json == {"sub": "u1", "roles": ["a"]}
    client.set_cookie("nf_jwt", netlify.token(sub="u2"))
    assert client.get("/me").json["sub"] == "u2"


def test_missing_token_is_401_json_with_a_plain_challenge(client):
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == {
        "error": "missing_token",
        "error_description": "Authentication is required",
    }


def test_expired_token_is_401_invalid_token_saying_so(client, netlify):
    token = netlify.expired(sub="u1")
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert "expired" in response.json["error_description"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert token not in response.get_data(as_text=True)


def test_a_refused_token_on_a_public_view_is_anonymous(client, netlify):
    response = client.get("/", headers=bearer(netlify.wrong_signature()))
    assert response.status_code == 200
    assert response.json == {"authenticated": False, "user": None}


def test_roles_decide_403_or_200(client, netlify):
    assert client.get("/admin", headers=bearer(netlify.token(roles=["editor"]))).status_code == 403
    response = client.get("/admin", headers=bearer(netlify.token(sub="boss", roles=["admin"])))
    assert response.status_code == 200
    assert response.json == {"admin": "boss"}


def test_async_views_are_protected_too(client, netlify):
    assert client.get("/async-admin").status_code == 401
    assert client.get("/async-admin", headers=bearer(netlify.token())).status_code == 403
    response = client.get("/async-admin", headers=bearer(netlify.token(sub="b", roles=["admin"])))
    assert response.json == {"admin": "b"}


def test_a_forged_preflight_never_runs_a_route_that_lists_options(netlify_gate):
    app = Flask("cors")
    JWTGate(app, netlify_gate)
    runs = []

    @app.route("/api", methods=["GET", "OPTIONS"], provide_automatic_options=False)
    @require_auth
    def api():
        runs.append(1)
        return "answered"

    response = app.test_client().options("/api", headers={"Access-Control-Request-Method": "GET"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json["error"] == "missing_token"
    assert app.test_client().options("/api").status_code == 401
    assert runs == []


def test_reject_invalid_refuses_bad_tokens_on_public_views(netlify, netlify_gate):
    app = make_app()
    JWTGate(app, netlify_gate, reject_invalid=True)
    client = app.test_client()
    assert client.get("/").status_code == 200
    response = client.get("/", headers=bearer(netlify.tampered()))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


# --- current_user -----------------------------------------------------------------------


def test_current_user_outside_a_request_is_a_clear_error(app):
    with app.app_context(), pytest.raises(RuntimeError, match="no authenticated request"):
        _ = current_user.is_authenticated


def test_current_user_in_a_streamed_body(netlify, netlify_gate):
    app = Flask("stream")
    JWTGate(app, netlify_gate)

    @app.get("/stream")
    def stream():
        @stream_with_context
        def body():
            yield "hello "
            yield current_user.subject or "nobody"

        return app.response_class(body())

    response = app.test_client().get("/stream", headers=bearer(netlify.token(sub="streamer")))
    assert response.get_data(as_text=True) == "hello streamer"


def test_templates_see_current_user(netlify, netlify_gate):
    app = Flask("templates")
    JWTGate(app, netlify_gate)

    @app.get("/")
    def page():
        return render_template_string("{{ current_user.subject or 'guest' }}")

    client = app.test_client()
    assert client.get("/").get_data(as_text=True) == "guest"
    assert client.get("/", headers=bearer(netlify.token(sub="ann"))).get_data(as_text=True) == (
        "ann"
    )


def test_the_template_context_processor_can_be_turned_off(netlify_gate):
    app = Flask("templates")
    JWTGate(app, netlify_gate, context_processor=False)

    @app.get("/")
    def page():
        return render_template_string("[{{ current_user }}]")

    assert app.test_client().get("/").get_data(as_text=True) == "[]"


# --- client_context ---------------------------------------------------------------------


def test_client_context_has_the_netlify_functions_shape(client, netlify):
    token = netlify.token(sub="u1", roles=["admin"], email="u1@example.com")
    context = client.get("/context", headers=bearer(token)).json
    user = context["user"]
    assert user["sub"] == "u1"
    assert user["email"] == "u1@example.com"
    assert user["app_metadata"]["roles"] == ["admin"]


def test_client_context_has_no_user_when_anonymous(client):
    assert "user" not in client.get("/context").json


def test_client_context_never_builds_the_identity_url_from_the_host(client, netlify):
    # Ported handlers call identity.url with admin credentials: a client-chosen Host
    # would send them to the attacker. Without a configured URL there is no identity.
    token = netlify.token(sub="u1")
    headers = {**bearer(token), "Host": "attacker.example"}
    context = client.get("/context", headers=headers).json
    assert "identity" not in context
    assert "attacker.example" not in json.dumps(context)
    assert context["user"]["sub"] == "u1"
    assert client.get("/context", headers={"Host": "attacker.example"}).json == {}


def test_client_context_claims_are_plain_mutable_copies(app, netlify):
    token = netlify.token(sub="u1", roles=["a"])
    seen = {}

    @app.get("/mutate")
    def mutate():
        context = client_context()
        context["user"]["app_metadata"]["roles"].append("b")  # ported code may do this
        seen["again"] = client_context()["user"]["app_metadata"]["roles"]
        return "ok"

    assert app.test_client().get("/mutate", headers=bearer(token)).status_code == 200
    assert seen["again"] == ["a"]


def test_client_context_identity_url_from_settings_or_preset(netlify):
    app = make_app(
        JWTGATE_NETLIFY_JWT_SECRET="s" * 32,
        JWTGATE_NETLIFY_IDENTITY_URL="https://site.example/.netlify/identity",
    )
    JWTGate(app)
    answer = app.test_client().get("/context", headers={"Host": "attacker.example"})
    assert answer.json["identity"] == {"url": "https://site.example/.netlify/identity"}
    gate = Gate(
        issuers=[
            presets.netlify(jwt_secret="s" * 32, identity_url="https://preset.example/.netlify/id")
        ]
    )
    app = make_app()
    JWTGate(app, gate)
    assert app.test_client().get("/context").json["identity"]["url"] == (
        "https://preset.example/.netlify/id"
    )


# --- overriding the rendering -----------------------------------------------------------


def raising_app(gate: Gate) -> Flask:
    app = Flask("raising")

    @app.get("/<kind>")
    def raise_it(kind):
        raise {
            "missing": require_auth(lambda: None),
            "forbidden": Forbidden,
            "invalid": InvalidRequest,
            "keys": KeysUnavailable,
            "csrf": CrossSiteRequest,
        }[kind]()

    return app


@pytest.mark.parametrize("register_first", [False, True])
def test_an_app_handler_for_auth_error_sees_every_refusal(netlify_gate, register_first):
    app = raising_app(netlify_gate)

    def handler(error):
        return {"mine": error.error, "status": error.status}, error.status

    if register_first:
        app.register_error_handler(AuthError, handler)
    JWTGate(app, netlify_gate)
    if not register_first:
        app.register_error_handler(AuthError, handler)
    client = app.test_client()
    for kind, status, code in [
        ("missing", 401, None),
        ("forbidden", 403, "insufficient_scope"),
        ("invalid", 400, "invalid_request"),
        ("keys", 503, "temporarily_unavailable"),
        ("csrf", 403, "csrf_rejected"),
    ]:
        response = client.get(f"/{kind}")
        assert response.status_code == status
        assert response.json == {"mine": code, "status": status}


def test_a_handler_for_one_refusal_wins_over_the_auth_error_handler(netlify_gate):
    app = raising_app(netlify_gate)
    JWTGate(app, netlify_gate)
    app.register_error_handler(AuthError, lambda e: ("auth", e.status))
    app.register_error_handler(Forbidden, lambda e: ("forbidden page", 403))
    client = app.test_client()
    assert client.get("/forbidden").get_data(as_text=True) == "forbidden page"
    assert client.get("/invalid").get_data(as_text=True) == "auth"


def test_a_blueprint_handler_for_auth_error_sees_its_refusals(netlify_gate):
    app = Flask("bp")
    bp = Blueprint("api", __name__)

    @bp.get("/forbidden")
    def forbidden():
        raise Forbidden()

    bp.register_error_handler(AuthError, lambda e: ({"bp": e.status}, e.status))
    app.register_blueprint(bp, url_prefix="/api")

    @app.get("/forbidden")
    def outside():
        raise Forbidden()

    JWTGate(app, netlify_gate)
    client = app.test_client()
    assert client.get("/api/forbidden").json == {"bp": 403}
    assert client.get("/forbidden").json["error"] == "insufficient_scope"


def test_a_custom_handler_can_fall_back_to_render_auth_error(netlify_gate):
    app = raising_app(netlify_gate)
    JWTGate(app, netlify_gate)

    @app.errorhandler(AuthError)
    def handler(error):
        response = render_auth_error(error)
        response.headers["X-Handled"] = "yes"
        return response

    response = app.test_client().get("/forbidden")
    assert response.status_code == 403
    assert response.headers["X-Handled"] == "yes"
    assert response.json["error"] == "insufficient_scope"


def test_without_app_handlers_refusals_render_as_json(netlify_gate):
    app = raising_app(netlify_gate)
    JWTGate(app, netlify_gate)
    response = app.test_client().get("/keys")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json["error"] == "temporarily_unavailable"


# --- login redirect ---------------------------------------------------------------------

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def login_app(netlify_gate):
    app = make_app()
    JWTGate(app, netlify_gate, login_url="/login")
    return app


def test_a_browser_navigation_that_needs_login_is_redirected_with_next(login_app):
    response = login_app.test_client().get("/me?tab=2", headers=BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fme%3Ftab%3D2"
    assert "Accept" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store"


def test_sec_fetch_mode_navigate_is_a_navigation(login_app):
    response = login_app.test_client().get("/me", headers={"Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Accept": "*/*"},
        {"Accept": "application/json"},
        {"Accept": "application/json, text/html;q=0.5"},
        {**BROWSER, "Sec-Fetch-Mode": "cors"},
        {**BROWSER, "X-Requested-With": "XMLHttpRequest"},
    ],
)
def test_api_calls_keep_their_401(login_app, headers):
    response = login_app.test_client().get("/me", headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "missing_token"
    assert "Accept" in response.headers["Vary"]


def test_only_get_and_head_are_redirected(netlify_gate):
    app = make_app()
    app.add_url_rule("/post", "post", require_auth(lambda: "x"), methods=["POST"])
    JWTGate(app, netlify_gate, login_url="/login")
    client = app.test_client()
    assert client.head("/me", headers=BROWSER).status_code == 302
    assert client.post("/post", headers=BROWSER).status_code == 401


def test_an_expired_session_is_redirected_but_missing_roles_are_not(login_app, netlify):
    client = login_app.test_client()
    expired = {**BROWSER, **bearer(netlify.expired())}
    assert client.get("/me", headers=expired).status_code == 302
    assert client.get("/admin", headers={**BROWSER, **bearer(netlify.token())}).status_code == 403


def test_the_login_page_itself_does_not_redirect_to_itself(login_app):
    assert login_app.test_client().get("/login", headers=BROWSER).status_code == 401


def test_login_url_may_be_an_endpoint_with_a_query(netlify_gate):
    app = make_app(JWTGATE_LOGIN_URL="signin")

    @app.get("/sign-in")
    def signin():
        return "sign in"

    JWTGate(app, netlify_gate)
    assert app.test_client().get("/me", headers=BROWSER).headers["Location"] == (
        "/sign-in?next=%2Fme"
    )
    app = make_app()
    JWTGate(app, netlify_gate, login_url="https://id.example/login?app=blog")
    assert app.test_client().get("/me", headers=BROWSER).headers["Location"] == (
        "https://id.example/login?app=blog&next=%2Fme"
    )


def test_a_login_endpoint_that_does_not_exist_falls_back_to_401(netlify_gate, caplog):
    app = make_app()
    JWTGate(app, netlify_gate, login_url="no_such_endpoint")
    with caplog.at_level("ERROR", logger="jwtgate"):
        response = app.test_client().get("/me", headers=BROWSER)
    assert response.status_code == 401
    assert "no_such_endpoint" in caplog.text


def test_next_never_points_off_site(login_app):
    with login_app.test_request_context(
        environ_overrides={"PATH_INFO": "//evil.example/x"}, headers=BROWSER
    ):
        response = render_auth_error(MissingToken())
    assert response.status_code == 302
    # werkzeug gives request.path one leading slash: the page is /evil.example/x on this site.
    assert response.headers["Location"] == "/login?next=%2Fevil.example%2Fx"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "javascript:alert(1)",
        "evil.example",
        "/" + "a" * 3000,
    ],
)
def test_safe_next_url_refuses_what_could_leave_the_site(value):
    assert safe_next_url(value) == "/"
    assert safe_next_url(value, default="/home") == "/home"


@pytest.mark.parametrize("value", ["/", "/me", "/a/b?x=1&y=%2F%2F", "/café"])
def test_safe_next_url_keeps_paths_on_this_site(value):
    assert safe_next_url(value) == value


# --- JWTGATE_* settings -----------------------------------------------------------------


def test_netlify_settings():
    secret = "n" * 40  # a text secret, as an environment variable holds it
    app = make_app(JWTGATE_NETLIFY_JWT_SECRET=secret)
    JWTGate(app)
    netlify = TokenFactory.netlify(secret=secret)
    client = app.test_client()
    client.set_cookie("nf_jwt", netlify.token(sub="cookie-user"))
    assert client.get("/me").json["sub"] == "cookie-user"
    assert app.extensions["jwtgate"].gate.issuers[0].name == "netlify"


def test_generic_hmac_settings_from_strings(clock):
    secret = "g" * 64
    tokens = TokenFactory(
        "HS256", issuer="https://id.example/", audience="api", clock=clock, key=secret
    )
    gate = gate_from_config(
        {
            "JWTGATE_ISSUER": "https://id.example/",
            "JWTGATE_ALGORITHMS": "HS256, HS384",
            "JWTGATE_AUDIENCE": "api,other",
            "JWTGATE_SECRET": secret,
            "JWTGATE_ROLES_CLAIM": "roles",
            "JWTGATE_LEEWAY": "30",
            "JWTGATE_REQUIRED_CLAIMS": "exp sub",
            "JWTGATE_SOURCES": "bearer,cookie:session",
            "JWTGATE_CACHE_SIZE": "100",
            "JWTGATE_CACHE_TTL": "60.5",
        }
    )
    assert gate is not None
    issuer = gate.issuers[0]
    assert issuer.issuer == "https://id.example/"
    assert issuer.algorithms == frozenset({"HS256", "HS384"})
    assert issuer.audience == frozenset({"api", "other"})
    assert issuer.leeway == 30
    assert issuer.required_claims == ("exp", "sub")
    assert [s.spec for s in gate.sources] == ["bearer", "cookie:session"]
    assert gate.cache_ttl == 60.5
    gate._clock = clock
    user = gate.authenticate(headers={"Cookie": f"session={tokens.token(roles=['x'])}"})
    assert user is not None
    assert user.roles == frozenset({"x"})


def test_generic_public_key_settings(rs256, clock):
    pem = rs256.public_pem()
    for key in (pem, pem.replace("\n", "\\n"), json.dumps(rs256.public_jwk()), rs256.jwks()):
        gate = gate_from_config(
            {
                "JWTGATE_ISSUER": rs256.issuer,
                "JWTGATE_ALGORITHMS": ["RS256"],
                "JWTGATE_AUDIENCE": rs256.audience,
                "JWTGATE_PUBLIC_KEY": key,
                "JWTGATE_ROLES_CLAIM": "roles, app_metadata.roles",
                "JWTGATE_TOKEN_TYPE": "JWT",
            }
        )
        assert gate is not None
        gate._clock = clock
        user = gate.authenticate(headers=rs256.headers(sub="k", roles=["r"]))
        assert user is not None
        assert user.subject == "k"
        assert user.roles == frozenset({"r"})


def test_csrf_settings(netlify):
    base = {"JWTGATE_NETLIFY_JWT_SECRET": "n" * 40}
    assert gate_from_config(base).csrf is not None  # on by default
    assert gate_from_config({**base, "JWTGATE_CSRF": "false"}).csrf is None
    gate = gate_from_config(
        {
            **base,
            "JWTGATE_CSRF_TRUSTED_ORIGINS": "https://app.example.com, https://admin.example.com",
            "JWTGATE_CSRF_HEADER": "X-Requested-With",
        }
    )
    assert gate.csrf.trusted_origins == {"https://app.example.com", "https://admin.example.com"}
    assert gate.csrf.header == "x-requested-with"
    with pytest.raises(ConfigurationError, match="JWTGATE_CSRF"):
        gate_from_config({**base, "JWTGATE_CSRF": "no", "JWTGATE_CSRF_HEADER": "X-A"})
    with pytest.raises(ConfigurationError, match="JWTGATE_CSRF_"):
        gate_from_config({**base, "JWTGATE_CSRF_TRUSTED_ORIGINS": "app.example.com"})


def test_settings_that_are_none_count_as_unset():
    assert gate_from_config({"JWTGATE_NETLIFY_JWT_SECRET": None, "JWTGATE_SECRET": None}) is None
    assert gate_from_config({"JWTGATE_DISCOVERY": "false"}) is None
    assert gate_from_config({"JWTGATE_DISCOVERY": False}) is None


@pytest.mark.parametrize(("value", "expected"), [("100", 100), ("1e3", 1000), (250, 250)])
def test_numbers_may_be_written_as_text(value, expected):
    gate = gate_from_config(
        {
            "JWTGATE_SECRET": "s" * 64,
            "JWTGATE_ALGORITHMS": "HS256",
            "JWTGATE_CACHE_SIZE": value,
        }
    )
    assert gate is not None
    assert gate._cache.maxsize == expected


def test_reject_invalid_and_login_url_settings(netlify_gate, netlify):
    app = make_app(JWTGATE_REJECT_INVALID="true", JWTGATE_LOGIN_URL="/login")
    JWTGate(app, netlify_gate)
    client = app.test_client()
    assert client.get("/", headers=bearer(netlify.expired())).status_code == 401
    assert client.get("/me", headers=BROWSER).status_code == 302
    app = make_app(JWTGATE_REJECT_INVALID="true")
    JWTGate(app, netlify_gate, reject_invalid=False, login_url=None)
    assert app.test_client().get("/", headers=bearer(netlify.expired())).status_code == 200


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"JWTGATE_ALGORITHM": "RS256"}, "did you mean JWTGATE_ALGORITHMS"),
        ({"JWTGATE_NOPE": "1"}, "not a jwtgate setting"),
        ({"JWTGATE_ISSUER": "https://x/"}, "needs a key"),
        ({"JWTGATE_SECRET": "s" * 40}, "JWTGATE_ALGORITHMS: required"),
        ({"JWTGATE_SECRET": "s" * 40, "JWTGATE_ALGORITHMS": 256}, "list of strings"),
        ({"JWTGATE_SECRET": "s" * 40, "JWTGATE_ALGORITHMS": " , "}, "at least one"),
        ({"JWTGATE_SECRET": "s" * 40, "JWTGATE_ALGORITHMS": "none"}, "not supported"),
        ({"JWTGATE_SECRET": b"bytes", "JWTGATE_ALGORITHMS": "HS256"}, "must be a string"),
        (
            {"JWTGATE_SECRET": "s" * 40, "JWTGATE_ALGORITHMS": "HS256", "JWTGATE_LEEWAY": "soon"},
            "JWTGATE_LEEWAY: must be a number",
        ),
        (
            {"JWTGATE_SECRET": "s" * 40, "JWTGATE_ALGORITHMS": "HS256", "JWTGATE_LEEWAY": True},
            "JWTGATE_LEEWAY: must be a number",
        ),
        (
            {"JWTGATE_PUBLIC_KEY": "{not json", "JWTGATE_ALGORITHMS": "RS256"},
            "JWK/JWKS JSON",
        ),
        (
            {"JWTGATE_ISSUER": "https://x/", "JWTGATE_ALGORITHMS": "RS256", "JWTGATE_DISCOVERY": 0},
            "JWTGATE_DISCOVERY",
        ),
        (
            {"JWTGATE_ALGORITHMS": "RS256", "JWTGATE_DISCOVERY": "maybe"},
            "JWTGATE_DISCOVERY: must be true or false",
        ),
        (
            {"JWTGATE_PRIVY_VERIFICATION_KEY": "pem"},
            "JWTGATE_PRIVY_APP_ID: required with JWTGATE_PRIVY_VERIFICATION_KEY",
        ),
        (
            {"JWTGATE_SECRET": "s" * 40, "JWTGATE_ALGORITHMS": "HS256", "JWTGATE_CACHE_TTL": []},
            "JWTGATE_CACHE_TTL: must be a number",
        ),
        ({"JWTGATE_NETLIFY_JWT_SECRET": "short"}, "secret"),
    ],
)
def test_bad_settings_name_themselves(config, message):
    with pytest.raises(ConfigurationError, match=message):
        gate_from_config(config)


def test_an_empty_netlify_secret_is_named_as_empty():
    with pytest.raises(ConfigurationError) as found:
        JWTGate(make_app(JWTGATE_NETLIFY_JWT_SECRET=""))
    assert str(found.value) == (
        "JWTGATE_NETLIFY_JWT_SECRET: set but empty; give it a value, or remove it"
    )


def test_a_netlify_secret_beside_a_public_key_asks_for_jwtgate_issuer(rs256):
    with pytest.raises(ConfigurationError, match=r"^JWTGATE_ISSUER: required beside"):
        gate_from_config(
            {
                "JWTGATE_NETLIFY_JWT_SECRET": "n" * 40,
                "JWTGATE_ALGORITHMS": "RS256",
                "JWTGATE_PUBLIC_KEY": rs256.public_pem(),
            }
        )


def test_a_django_setting_is_refused_by_name_in_flask():
    with pytest.raises(ConfigurationError, match="JWTGATE_GATE: Flask's JWTGate does not read"):
        JWTGate(make_app(JWTGATE_GATE="myproject.gate"))


def test_a_bad_boolean_setting_is_refused(netlify_gate):
    with pytest.raises(ConfigurationError, match="JWTGATE_REJECT_INVALID"):
        JWTGate(make_app(JWTGATE_REJECT_INVALID="perhaps"), netlify_gate)


def test_discovery_and_jwks_url_settings_reach_the_issuer(monkeypatch):
    seen = []

    def fake_remote(issuer, *, jwks_url, discovery, options=None):
        seen.append((issuer.issuer, jwks_url, discovery))
        return KeySource()

    monkeypatch.setattr("jwtgate.remote.remote_key_source", fake_remote)
    gate_from_config(
        {"JWTGATE_ISSUER": "https://x/", "JWTGATE_ALGORITHMS": "RS256", "JWTGATE_DISCOVERY": "1"}
    )
    gate_from_config(
        {
            "JWTGATE_ISSUER": "https://x/",
            "JWTGATE_ALGORITHMS": "RS256",
            "JWTGATE_DISCOVERY": "https://x/.well-known/openid-configuration",
        }
    )
    gate_from_config({"JWTGATE_ALGORITHMS": "ES256", "JWTGATE_JWKS_URL": "https://x/jwks"})
    assert seen == [
        ("https://x/", None, True),
        ("https://x/", None, "https://x/.well-known/openid-configuration"),
        (None, "https://x/jwks", False),
    ]


def test_privy_settings_use_the_privy_preset(monkeypatch, clock):
    tokens = TokenFactory("ES256", issuer="privy.io", audience="app-1", clock=clock)
    calls = []

    def privy(app_id, verification_key=None):
        calls.append((app_id, verification_key))
        return Issuer(
            "privy.io",
            algorithms=["ES256"],
            audience=app_id,
            key=verification_key,
            sources=["cookie:privy-id-token", "header:privy-id-token"],
        )

    monkeypatch.setattr(presets, "privy", privy, raising=False)
    pem = tokens.public_pem()
    gate = gate_from_config(
        {
            "JWTGATE_PRIVY_APP_ID": "app-1",
            "JWTGATE_PRIVY_VERIFICATION_KEY": pem.replace("\n", "\\n"),
        }
    )
    assert calls == [("app-1", pem)]
    assert gate is not None
    gate._clock = clock
    user = gate.authenticate(headers={"privy-id-token": tokens.token(sub="did:privy:1")})
    assert user is not None
    assert user.subject == "did:privy:1"


def test_every_setting_is_documented():
    assert all(key.startswith("JWTGATE_") and text for key, text in CONFIG_KEYS.items())


# --- the example's settings --------------------------------------------------------------


def load_example():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "flask_app" / "app.py"
    spec = importlib.util.spec_from_file_location("flask_example_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("environ", "mode"),
    [
        ({"EXAMPLE_DEVELOPMENT": "1"}, "development"),
        ({"HOME": "/root", "JWTGATE_NETLIFY_JWT_SECRET": "x" * 40}, "netlify"),
        ({"PRIVY_APP_ID": "app", "PRIVY_VERIFICATION_KEY": "pem"}, "privy"),
        ({"JWTGATE_ALGORITHMS": "RS256", "JWTGATE_JWKS_URL": "https://id/jwks"}, "custom"),
    ],
)
def test_the_example_picks_its_mode_from_the_environment(environ, mode):
    example = load_example()
    settings, found = example.settings_from_environment(
        environ, development=example.development_requested(environ)
    )
    assert found == mode
    assert settings["JWTGATE_LOGIN_URL"] == "/login"
    assert "HOME" not in settings
    if mode == "development":
        from jwtgate.testing import DEVELOPMENT_SECRET

        assert settings["JWTGATE_NETLIFY_JWT_SECRET"] == DEVELOPMENT_SECRET
    if mode == "privy":
        assert settings["JWTGATE_PRIVY_APP_ID"] == "app"
        assert settings["JWTGATE_PRIVY_VERIFICATION_KEY"] == "pem"


@pytest.mark.parametrize(
    "environ",
    [{}, {"EXAMPLE_DEVELOPMENT": "0"}, {"EXAMPLE_DEVELOPMENT": ""}, {"HOME": "/root"}],
)
def test_the_example_refuses_to_start_unconfigured_without_the_development_flag(environ):
    example = load_example()
    with pytest.raises(ConfigurationError, match="no identity provider is configured") as found:
        example.create_app(environ)
    assert "--development" in str(found.value)
    assert "PUBLIC development key" in str(found.value)


def test_the_example_names_an_empty_secret_instead_of_falling_back():
    example = load_example()
    with pytest.raises(ConfigurationError, match="JWTGATE_NETLIFY_JWT_SECRET: set but empty"):
        example.create_app({"JWTGATE_NETLIFY_JWT_SECRET": ""}, development=True)


def test_the_example_development_token_is_accepted_in_development_mode():
    example = load_example()
    app = example.create_app({}, development=True)
    token = example.development_token(email="a@example.com", roles=("admin",))
    response = app.test_client().get("/api/admin", headers=bearer(token))
    assert response.status_code == 200
    assert app.test_client().get("/api/admin", headers=bearer(token + "x")).status_code == 401
    login = app.test_client().post("/login", data={"role": "admin"})
    assert login.status_code == 303


def test_a_configured_example_hands_out_no_development_logins():
    example = load_example()
    app = example.create_app({"JWTGATE_NETLIFY_JWT_SECRET": "x" * 40}, development=True)
    assert app.test_client().post("/login", data={"role": "admin"}).status_code == 404
    token = example.development_token(roles=("admin",))
    assert app.test_client().get("/api/admin", headers=bearer(token)).status_code == 401


def test_the_example_script_refuses_in_one_line_without_configuration(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "flask_app" / "app.py"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JWTGATE_", "PRIVY_")) and k != "EXAMPLE_DEVELOPMENT"
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: examples/flask_app: no identity provider")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


# --- the extension forgotten ------------------------------------------------------------------


def test_a_decorated_view_without_the_extension_names_jwtgate_app_as_the_fix():
    app = Flask("forgot")
    app.config["PROPAGATE_EXCEPTIONS"] = True

    @app.get("/me")
    @require_auth
    def me():
        return "never"

    with pytest.raises(RuntimeError, match=r"JWTGate\(app\).*init_app\(app\)"):
        app.test_client().get("/me")


def test_a_method_view_lists_the_decorator_in_its_decorators(netlify, netlify_gate):
    from flask.views import MethodView

    class Items(MethodView):
        decorators = [require_roles("admin")]  # noqa: RUF012 - Flask's own spelling

        def get(self):
            return {"by": current_user.subject}

    app = Flask("views")
    JWTGate(app, netlify_gate)
    app.add_url_rule("/items", view_func=Items.as_view("items"))
    client = app.test_client()
    assert client.get("/items").status_code == 401
    response = client.get("/items", headers=bearer(netlify.token(sub="ada", roles=["admin"])))
    assert response.json == {"by": "ada"}
