"""jwtgate.django in-process, with Django's own test clients (sync: WSGI handler; async: ASGI).

The project is tests/django_project (Django's session, CSRF and auth
middleware plus jwtgate's), the one tests/integration/test_django_server.py
serves with gunicorn and uvicorn. Settings are changed per test with
``override_settings`` and a new client, as the middleware reads them once,
when Django loads it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings

from jwtgate import ConfigurationError, Gate, User
from jwtgate.django import DjangoView, GateMiddleware, SettingsError, error_response
from jwtgate.errors import ExpiredToken, KeysUnavailable
from jwtgate.testing import TokenFactory
from tests.django_project import TEST_SECRET as SECRET
from tests.django_project import configure
from tests.tokens import bearer

configure()

from tests.django_project import urls as project_urls  # noqa: E402 - needs Django set up

GATE = "jwtgate.django.GateMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
GATE_LAST = [SESSION, "django.middleware.common.CommonMiddleware", CSRF, AUTH, GATE]
GATE_FIRST = [GATE, SESSION, "django.middleware.common.CommonMiddleware", CSRF, AUTH]
JSON = "application/json"


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=SECRET)


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture(autouse=True)
def no_comments() -> Iterator[None]:
    project_urls.COMMENTS.clear()
    yield
    project_urls.COMMENTS.clear()


def refusal(response: Any) -> tuple[int, str, dict[str, str]]:
    assert response["Content-Type"] == JSON
    assert response["Cache-Control"] == "no-store"
    return response.status_code, response["WWW-Authenticate"], json.loads(response.content)


@contextmanager
def jwtgate_settings(**values: Any) -> Iterator[None]:
    """Django settings with ``values``; ``None`` removes a setting of the project."""
    removed = [name for name, value in values.items() if value is None]
    kept = {name: value for name, value in values.items() if value is not None}
    with override_settings(**kept):
        saved = {name: getattr(settings, name) for name in removed if hasattr(settings, name)}
        for name in saved:
            delattr(settings, name)
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(settings, name, value)


# --- who the request is --------------------------------------------------------------------


def test_an_anonymous_request_reaches_public_views_with_django_s_user_intact(client):
    body = client.get("/").json()
    assert body["authenticated"] is False
    assert body["error"] is None
    assert body["django_user"] == "django.contrib.auth.models.AnonymousUser"


def test_a_bearer_token_is_request_jwt_user_and_request_user_stays_django_s(client, tokens):
    body = client.get("/me", headers=bearer(tokens.token(sub="u1", roles=["editor"]))).json()
    assert body["authenticated"] is True
    assert (body["sub"], body["roles"], body["source"]) == ("u1", ["editor"], "bearer")
    assert body["django_user"] == "django.contrib.auth.models.AnonymousUser"
    assert body["django_authenticated"] is False


def test_the_nf_jwt_cookie_is_read(client, tokens):
    client.cookies["nf_jwt"] = tokens.token(sub="c1")
    body = client.get("/me").json()
    assert (body["sub"], body["source"]) == ("c1", "cookie:nf_jwt")


def test_a_refused_token_leaves_public_views_anonymous_with_the_error(client, tokens):
    body = client.get("/", headers=bearer(tokens.expired())).json()
    assert body["authenticated"] is False
    assert body["error"] == "invalid_token"


def test_request_jwt_user_speaks_django_s_user_idioms(client, tokens):
    factory = RequestFactory()
    middleware = GateMiddleware(lambda request: HttpResponse())
    request = factory.get("/", headers=bearer(tokens.token(sub="i1")))
    middleware(request)
    assert request.jwt_user.is_authenticated
    assert not request.jwt_user.is_anonymous
    anonymous = factory.get("/")
    middleware(anonymous)
    assert anonymous.jwt_user.is_anonymous
    assert not anonymous.jwt_user.is_authenticated
    assert anonymous.jwt_error is None


# --- refusals: the standard 401/403 everywhere, never Django's 500 -----------------------------


def test_no_token_is_401_with_a_plain_challenge(client):
    assert refusal(client.get("/me")) == (
        401,
        "Bearer",
        {"error": "missing_token", "error_description": "Authentication is required"},
    )


@pytest.mark.parametrize("bad", ["expired", "wrong_signature", "tampered", "alg_none"])
def test_bad_tokens_are_401_invalid_token_and_never_echoed(client, tokens, bad):
    token = getattr(tokens, bad)(sub="mallory", roles=["admin"])
    response = client.get("/admin", headers=bearer(token))
    status, challenge, body = refusal(response)
    assert status == 401
    assert challenge.startswith('Bearer error="invalid_token"')
    assert body["error"] == "invalid_token"
    assert token not in response.content.decode()
    if bad == "expired":
        assert body["error_description"] == "The token has expired"


def test_a_missing_role_is_403_insufficient_scope(client, tokens):
    assert refusal(client.get("/admin", headers=bearer(tokens.token(roles=["editor"])))) == (
        403,
        'Bearer error="insufficient_scope", error_description="Insufficient roles", scope="admin"',
        {"error": "insufficient_scope", "error_description": "Insufficient roles"},
    )
    admin = client.get("/admin", headers=bearer(tokens.token(sub="boss", roles=["admin"])))
    assert admin.json() == {"admin": "boss"}


def test_a_view_raising_forbidden_answers_403_with_its_scope(client, tokens):
    assert refusal(client.get("/owner-only", headers=bearer(tokens.token()))) == (
        403,
        'Bearer error="insufficient_scope", '
        'error_description="Only the owner may see this", scope="owner"',
        {"error": "insufficient_scope", "error_description": "Only the owner may see this"},
    )


def test_a_malformed_authorization_header_is_400(client):
    status, _, body = refusal(client.get("/me", headers={"Authorization": "Bearer a b"}))
    assert (status, body["error"]) == (400, "invalid_request")


def test_a_class_based_view_is_guarded_through_method_decorator(client, tokens):
    assert client.get("/class-admin").status_code == 401
    assert client.get("/class-admin", headers=bearer(tokens.token())).status_code == 403
    admin = client.get("/class-admin", headers=bearer(tokens.token(sub="a", roles=["admin"])))
    assert admin.json() == {"admin": "a", "view": "class"}


def test_other_exceptions_are_left_to_django():
    middleware = GateMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    assert middleware.process_exception(request, ValueError("x")) is None
    assert middleware.process_exception(request, ExpiredToken()).status_code == 401


def test_error_response_carries_retry_after_for_503():
    response = error_response(KeysUnavailable(retry_after=7))
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert json.loads(response.content)["error"] == "temporarily_unavailable"


# --- async Django ----------------------------------------------------------------------------


def test_an_async_view_under_the_sync_handler(client, tokens):
    body = client.get("/async-me", headers=bearer(tokens.token(sub="a1"))).json()
    assert (body["sub"], body["async"]) == ("a1", True)
    assert client.get("/async-admin", headers=bearer(tokens.token())).status_code == 403


def test_async_django_authenticates_without_blocking_the_loop(tokens):
    async def scenario() -> list[Any]:
        client = AsyncClient()
        return [
            await client.get("/async-me", headers=bearer(tokens.token(sub="a2"))),
            await client.get("/me", headers=bearer(tokens.token(sub="a3"))),  # a sync view
            await client.get("/async-admin", headers=bearer(tokens.token(sub="a4"))),
            await client.get("/async-admin", headers=bearer(tokens.expired())),
            await client.get("/owner-only", headers=bearer(tokens.token())),
        ]

    def no_sync_path(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the async middleware called Gate.authenticate")

    with mock.patch.object(Gate, "authenticate", no_sync_path):
        mine, sync_view, role, expired, owner = asyncio.run(scenario())
    assert (mine.status_code, mine.json()["sub"]) == (200, "a2")
    assert (sync_view.status_code, sync_view.json()["sub"]) == (200, "a3")
    assert refusal(role)[0] == 403
    assert refusal(expired)[2]["error_description"] == "The token has expired"
    assert refusal(owner)[1].endswith('scope="owner"')


def test_the_middleware_takes_django_s_mode():
    async def get_response(request: Any) -> HttpResponse:
        return HttpResponse()

    assert GateMiddleware.sync_capable
    assert GateMiddleware.async_capable
    assert GateMiddleware(get_response).is_async is True
    assert GateMiddleware(lambda request: HttpResponse()).is_async is False
    from asgiref.sync import iscoroutinefunction

    assert iscoroutinefunction(GateMiddleware(get_response))
    assert not iscoroutinefunction(GateMiddleware(lambda request: HttpResponse()))


# --- CSRF: Django's and jwtgate's, in both orders of MIDDLEWARE -------------------------------


@pytest.fixture(params=["gate-last", "gate-first"])
def csrf_client(request) -> Iterator[Client]:
    order = GATE_LAST if request.param == "gate-last" else GATE_FIRST
    with override_settings(MIDDLEWARE=order):
        yield Client(enforce_csrf_checks=True)


def post(client: Client, path: str, **headers: str) -> Any:
    return client.post(path, data=json.dumps({"text": "hi"}), content_type=JSON, headers=headers)


def test_a_bearer_request_needs_no_django_csrf_token(csrf_client, tokens):
    response = post(csrf_client, "/comments", **bearer(tokens.token(sub="api")))
    assert response.status_code == 201
    assert project_urls.COMMENTS == [{"sub": "api", "text": "hi"}]


def test_a_refused_bearer_token_gets_its_own_401_not_django_s_csrf_page(csrf_client, tokens):
    status, _, body = refusal(post(csrf_client, "/comments", **bearer(tokens.expired())))
    assert (status, body["error_description"]) == (401, "The token has expired")
    assert project_urls.COMMENTS == []


def test_a_cookie_token_still_needs_django_s_csrf_token(csrf_client, tokens):
    csrf_client.cookies["nf_jwt"] = tokens.token(sub="browser")
    same_origin = {"Origin": "http://testserver"}
    refused = post(csrf_client, "/comments", **same_origin)
    assert refused.status_code == 403
    assert b"CSRF" in refused.content  # Django's own refusal
    assert project_urls.COMMENTS == []
    csrf_client.get("/")  # a page that sets the csrftoken cookie
    page = csrf_client.get("/count")
    from django.middleware.csrf import get_token

    assert page.status_code == 200
    request = RequestFactory().get("/")
    token = get_token(request)
    csrf_client.cookies["csrftoken"] = request.META["CSRF_COOKIE"]
    accepted = post(csrf_client, "/comments", **same_origin, **{"X-CSRFToken": token})
    assert accepted.status_code == 201
    assert project_urls.COMMENTS == [{"sub": "browser", "text": "hi"}]


@pytest.mark.parametrize(
    "evidence", [{}, {"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]
)
def test_a_cross_site_cookie_post_is_refused_even_where_django_s_check_is_exempt(
    csrf_client, tokens, evidence
):
    csrf_client.cookies["nf_jwt"] = tokens.token(sub="victim")
    status, _, body = refusal(post(csrf_client, "/exempt-comments", **evidence))
    assert (status, body["error"]) == (403, "csrf_rejected")
    assert project_urls.COMMENTS == []
    same_site = post(csrf_client, "/exempt-comments", Origin="http://testserver")
    assert same_site.status_code == 201


@pytest.fixture(scope="module")
def database() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@pytest.fixture
def staff(database) -> Any:
    from django.contrib.auth.models import User as DjangoUser

    user, _ = DjangoUser.objects.get_or_create(username="staff")
    return user


def test_a_session_user_keeps_django_s_csrf_check_beside_a_bearer_token(csrf_client, tokens, staff):
    # A page allowed by CORS could add its own token to a request riding on a Django
    # session: the waiver stands down wherever django.contrib.auth vouches for the request.
    csrf_client.force_login(staff)
    assert csrf_client.get("/").json()["django_authenticated"] is True
    refused = post(csrf_client, "/session-post", **bearer(tokens.token(sub="someone")))
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    csrf_client.logout()
    accepted = post(csrf_client, "/session-post", **bearer(tokens.token(sub="someone")))
    assert accepted.status_code == 200
    assert accepted.json()["sub"] == "someone"


def test_django_s_test_client_default_stays_as_it_is(client, tokens):
    client.cookies["nf_jwt"] = tokens.token(sub="t")
    # Client() does not enforce Django's CSRF; jwtgate's own check still applies.
    assert post(client, "/comments", Origin="http://testserver").status_code == 201
    assert refusal(post(client, "/comments", Origin="https://evil.example"))[0] == 403


def test_a_query_token_is_no_reason_to_waive_django_s_csrf(tokens):
    with jwtgate_settings(MIDDLEWARE=GATE_LAST, JWTGATE_SOURCES="query:token"):
        client = Client(enforce_csrf_checks=True)
        response = client.post(f"/comments?token={tokens.token()}", data="{}", content_type=JSON)
    assert response.status_code == 403
    assert b"CSRF" in response.content


# --- settings, read once at start-up -----------------------------------------------------------


def start() -> GateMiddleware:
    return GateMiddleware(lambda request: HttpResponse())


def test_the_gate_is_built_once_when_django_loads_the_middleware(tokens):
    with mock.patch("jwtgate.django.Settings.gate", autospec=True) as build:
        build.return_value = Gate(issuers=[tokens.issuer_config()])
        client = Client()
        for _ in range(3):
            assert client.get("/me", headers=bearer(tokens.token())).status_code == 200
    assert build.call_count == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"JWTGATE_NETLIFY_JWT_SECRET": ""},
            "JWTGATE_NETLIFY_JWT_SECRET: set but empty; give it a value, or remove it",
        ),
        (
            {"JWTGATE_NETLIFY_JWT_SECRET": None},
            "jwtgate.django.GateMiddleware: configure an issuer in settings",
        ),
        ({"JWTGATE_NETLIFY_SECRET": SECRET}, "did you mean JWTGATE_NETLIFY_JWT_SECRET?"),
        ({"JWTGATE_LOGIN_URL": "/login"}, "JWTGATE_LOGIN_URL: jwtgate.django does not read"),
        ({"JWTGATE_REJECT_INVALID": "perhaps"}, "JWTGATE_REJECT_INVALID: must be true or false"),
        ({"JWTGATE_NETLIFY_JWT_SECRET": "short"}, "JWTGATE_NETLIFY_JWT_SECRET: HS256 needs"),
        ({"JWTGATE_SOURCES": "smoke"}, "JWTGATE_SOURCES: unknown source"),
        (
            {"JWTGATE_ALGORITHMS": "RS256", "JWTGATE_JWKS_URL": "https://id.example/jwks"},
            "JWTGATE_ISSUER: required beside JWTGATE_NETLIFY_JWT_SECRET",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(changes, message):
    with jwtgate_settings(**changes), pytest.raises(SettingsError) as found:
        Client().get("/")
    assert str(found.value).startswith(message) or message in str(found.value)
    assert isinstance(found.value, ImproperlyConfigured)
    assert isinstance(found.value, ConfigurationError)
    assert SECRET not in str(found.value)


def test_reject_invalid_answers_refused_tokens_on_public_views(tokens):
    with jwtgate_settings(JWTGATE_REJECT_INVALID="true"):
        client = Client()
        assert refusal(client.get("/", headers=bearer(tokens.expired())))[0] == 401
        assert client.get("/").status_code == 200
        preflight = client.options(
            "/",
            headers={**bearer(tokens.expired()), "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200  # a CORS preflight is never refused here


def test_reject_invalid_in_async_django(tokens):
    with jwtgate_settings(JWTGATE_REJECT_INVALID=True):
        response = asyncio.run(AsyncClient().get("/", headers=bearer(tokens.expired())))
    assert refusal(response)[0] == 401


def test_jwtgate_gate_takes_a_gate_its_path_or_a_factory(tokens):
    gate = Gate(issuers=[TokenFactory.netlify(secret="z" * 40).issuer_config()])
    other = TokenFactory.netlify(secret="z" * 40)
    module = type(os)("jwtgate_test_gates")
    module.gate = gate  # type: ignore[attr-defined]
    module.make_gate = lambda: gate  # type: ignore[attr-defined]
    module.not_a_gate = "nope"  # type: ignore[attr-defined]
    with mock.patch.dict("sys.modules", {"jwtgate_test_gates": module}):
        for value in (gate, "jwtgate_test_gates.gate", "jwtgate_test_gates.make_gate"):
            with jwtgate_settings(JWTGATE_GATE=value, JWTGATE_NETLIFY_JWT_SECRET=None):
                assert start().gate is gate
                assert Client().get("/me", headers=bearer(other.token())).status_code == 200
        for value, message in [
            ("jwtgate_test_gates.not_a_gate", "JWTGATE_GATE: must be a jwtgate.Gate"),
            ("jwtgate_test_gates.missing", "JWTGATE_GATE: cannot import"),
            (42, "JWTGATE_GATE: must be a jwtgate.Gate"),
        ]:
            with (
                jwtgate_settings(JWTGATE_GATE=value, JWTGATE_NETLIFY_JWT_SECRET=None),
                pytest.raises(SettingsError, match=message),
            ):
                start()
    with (
        jwtgate_settings(JWTGATE_GATE=gate),
        pytest.raises(SettingsError, match="JWTGATE_GATE: set, and so are JWTGATE_NETLIFY_JWT"),
    ):
        start()


# --- request.user, opt-in --------------------------------------------------------------------


def test_request_user_is_refused_beside_django_s_auth_middleware():
    with (
        jwtgate_settings(JWTGATE_REQUEST_USER=True),
        pytest.raises(SettingsError, match=f"JWTGATE_REQUEST_USER: {AUTH} sets request.user"),
    ):
        start()


def test_request_user_opt_in_puts_the_jwtgate_user_in_request_user(tokens):
    from django.contrib.auth.decorators import login_required

    seen: list[Any] = []

    @login_required
    def view(request: Any) -> HttpResponse:
        seen.append(request.user)
        return HttpResponse("ok")

    with jwtgate_settings(JWTGATE_REQUEST_USER="yes", MIDDLEWARE=[GATE], LOGIN_URL="/sign-in"):
        middleware = start()
        request = RequestFactory().get("/", headers=bearer(tokens.token(sub="ru")))
        middleware(request)
        assert view(request).status_code == 200
        anonymous = RequestFactory().get("/")
        middleware(anonymous)
        redirect = view(anonymous)
    assert isinstance(seen[0], User)
    assert seen[0].subject == "ru"
    assert redirect.status_code == 302
    assert redirect["Location"].startswith("/sign-in")


# --- the request view ----------------------------------------------------------------------


def test_the_view_uses_django_s_scheme_and_allowed_host():
    factory = RequestFactory()
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        request = factory.get("/a/é", headers={"X-Forwarded-Proto": "https", "Host": "testserver"})
        view = DjangoView(request)
        assert (view.scheme, view.method, view.path) == ("https", "GET", "/a/é")
        assert view.header_values("host") == ["testserver"]
    stranger = factory.get("/", headers={"Host": "attacker.example"})
    assert DjangoView(stranger).header_values("host") == []
    proxied = factory.get("/", headers={"Host": "internal:8000", "X-Forwarded-Host": "localhost"})
    assert DjangoView(proxied).header_values("host") == []  # internal:8000 is not allowed
    with override_settings(USE_X_FORWARDED_HOST=True):
        assert DjangoView(proxied).header_values("host") == ["localhost"]


def test_a_post_from_a_host_django_does_not_allow_has_no_own_origin(tokens):
    middleware = start()
    request = RequestFactory().post(
        "/",
        headers={"Host": "attacker.example", "Origin": "http://attacker.example"},
    )
    request.COOKIES["nf_jwt"] = tokens.token()
    request.META["HTTP_COOKIE"] = f"nf_jwt={tokens.token()}"
    middleware(request)
    assert request.jwt_error is not None
    assert request.jwt_error.error == "csrf_rejected"


def test_a_middleware_django_cannot_import_is_left_for_django_to_report():
    with jwtgate_settings(JWTGATE_REQUEST_USER=True, MIDDLEWARE=[GATE, "no.such.Middleware"]):
        assert start().request_user is True


def test_without_django_auth_a_bearer_post_needs_no_csrf_token(tokens):
    with jwtgate_settings(MIDDLEWARE=[CSRF, GATE], JWTGATE_REQUEST_USER=True):
        client = Client(enforce_csrf_checks=True)
        answer = post(client, "/comments", **bearer(tokens.token(sub="api")))
        refused = client.post("/session-post", data="{}", content_type=JSON)
    assert answer.status_code == 201
    assert refused.status_code == 403  # no token: Django's check stands


def test_two_tokens_waive_nothing(csrf_client, tokens):
    csrf_client.cookies["nf_jwt"] = tokens.token(sub="cookie")
    answer = post(csrf_client, "/comments", **bearer(tokens.token(sub="header")))
    assert answer.status_code == 403
    assert b"CSRF" in answer.content
    assert project_urls.COMMENTS == []


def test_a_preflight_is_anonymous_even_carrying_a_good_token(tokens):
    # As under every adapter: browsers send preflights without credentials, so a
    # token on one is not read, and the decorators refuse it like any anonymous request.
    middleware = start()
    request = RequestFactory().options(
        "/", headers={**bearer(tokens.token(sub="p")), "Access-Control-Request-Method": "POST"}
    )
    middleware(request)
    assert request.jwt_user.is_authenticated is False
    assert request.jwt_error is None


def test_the_middleware_describes_itself_without_secrets():
    text = repr(start())
    assert text.startswith("GateMiddleware(Gate(")
    assert "reject_invalid=False" in text
    assert SECRET not in text
