"""require_auth / require_roles: who passes, what each refusal is, sync and async, misuse."""

from __future__ import annotations

import asyncio
import contextvars
import inspect

import pytest

from jwtgate import (
    AnonymousUser,
    ConfigurationError,
    ExpiredToken,
    Forbidden,
    InvalidRequest,
    MissingToken,
    User,
    require_auth,
    require_roles,
)
from jwtgate.context import (
    ANONYMOUS_AUTH,
    PREFLIGHT_AUTH,
    RequestAuth,
    current_auth,
    reset_auth,
    set_auth,
)
from jwtgate.decorators import check_access


def make_user(*roles: str, sub: str = "user-1") -> User:
    return User(subject=sub, claims={"sub": sub}, roles=frozenset(roles), source="bearer")


@pytest.fixture
def as_auth():
    """Make a RequestAuth current for the test, as a middleware would."""
    tokens = []

    def use(auth: RequestAuth) -> None:
        tokens.append(set_auth(auth))

    yield use
    for token in reversed(tokens):
        reset_auth(token)


def run_in_fresh_context(func, *args):
    """Run outside whatever the test made current."""
    return contextvars.Context().run(func, *args)


# --- who passes ----------------------------------------------------------------------


def test_require_auth_bare_lets_a_user_through_and_returns_the_view_result(as_auth):
    @require_auth
    def view(x):
        return ("called", x)

    as_auth(RequestAuth(make_user()))
    assert view(3) == ("called", 3)


def test_require_auth_called_form_behaves_like_the_bare_form(as_auth):
    calls = []

    @require_auth()
    def view():
        calls.append(1)
        return "ok"

    as_auth(ANONYMOUS_AUTH)
    with pytest.raises(MissingToken):
        view()
    as_auth(RequestAuth(make_user()))
    assert view() == "ok"
    assert calls == [1]


def test_require_roles_needs_every_listed_role(as_auth):
    @require_roles("admin", "billing")
    def view():
        return "ok"

    as_auth(RequestAuth(make_user("admin", "billing", "other")))
    assert view() == "ok"
    as_auth(RequestAuth(make_user("admin")))
    with pytest.raises(Forbidden) as info:
        view()
    assert info.value.required_roles == ("admin", "billing")


def test_require_roles_any_of_needs_one_of_them(as_auth):
    @require_roles(any_of=["admin", "editor"])
    def view():
        return "ok"

    as_auth(RequestAuth(make_user("editor")))
    assert view() == "ok"
    as_auth(RequestAuth(make_user("viewer")))
    with pytest.raises(Forbidden) as info:
        view()
    assert info.value.required_roles == ("admin", "editor")
    assert 'scope="admin editor"' in info.value.challenge()


# --- what each refusal is --------------------------------------------------------------


def test_no_token_is_401_with_a_plain_challenge(as_auth):
    @require_auth
    def view():
        raise AssertionError("the view must not run")

    as_auth(ANONYMOUS_AUTH)
    with pytest.raises(MissingToken) as info:
        view()
    assert info.value.status == 401
    assert info.value.challenge() == "Bearer"  # RFC 6750 §3.1: no error= without a token


def test_a_refused_token_answers_with_its_own_error(as_auth):
    expired = ExpiredToken()

    @require_auth
    def view():
        raise AssertionError("the view must not run")

    as_auth(RequestAuth(error=expired))
    with pytest.raises(ExpiredToken) as info:
        view()
    assert info.value is expired
    assert info.value.status == 401
    assert 'error="invalid_token"' in info.value.challenge()
    assert "expired" in info.value.description


def test_a_malformed_request_stays_400_on_a_protected_view(as_auth):
    @require_roles("admin")
    def view():
        raise AssertionError("the view must not run")

    as_auth(RequestAuth(error=InvalidRequest("More than one token was sent")))
    with pytest.raises(InvalidRequest) as info:
        view()
    assert info.value.status == 400


def test_anonymous_on_a_role_view_is_401_not_403(as_auth):
    @require_roles("admin")
    def view():
        raise AssertionError("the view must not run")

    as_auth(ANONYMOUS_AUTH)
    with pytest.raises(MissingToken) as info:
        view()
    assert info.value.status == 401


def test_lacking_roles_is_403_insufficient_scope(as_auth):
    @require_roles("admin")
    def view():
        raise AssertionError("the view must not run")

    as_auth(RequestAuth(make_user("editor")))
    with pytest.raises(Forbidden) as info:
        view()
    assert info.value.status == 403
    assert info.value.error == "insufficient_scope"
    assert 'scope="admin"' in info.value.challenge()


def test_the_view_body_does_not_run_when_refused(as_auth):
    ran = []

    @require_roles("admin")
    def view():
        ran.append(True)

    as_auth(RequestAuth(make_user()))
    with pytest.raises(Forbidden):
        view()
    assert ran == []


def test_a_generator_view_is_checked_when_called_not_when_iterated(as_auth):
    @require_auth
    def stream():
        yield "secret"

    as_auth(ANONYMOUS_AUTH)
    with pytest.raises(MissingToken):
        stream()


# --- CORS preflight --------------------------------------------------------------------


def test_the_preflight_flag_alone_passes_no_decorator(as_auth):
    runs = []

    @require_auth
    def open_view():
        runs.append("auth")

    @require_roles("admin")
    def admin_view():
        runs.append("admin")

    @require_roles("admin")
    async def async_admin_view():
        runs.append("async")

    as_auth(PREFLIGHT_AUTH)
    with pytest.raises(MissingToken):
        open_view()
    with pytest.raises(MissingToken):
        admin_view()
    with pytest.raises(MissingToken):
        asyncio.run(async_admin_view())
    as_auth(RequestAuth(error=ExpiredToken(), preflight=True))
    with pytest.raises(ExpiredToken):
        open_view()
    assert runs == []


def test_the_preflight_flag_changes_nothing_for_a_verified_user(as_auth):
    @require_roles("admin")
    def admin_view():
        return "admin"

    as_auth(RequestAuth(make_user("admin"), preflight=True))
    assert admin_view() == "admin"
    as_auth(RequestAuth(make_user("editor"), preflight=True))
    with pytest.raises(Forbidden):
        admin_view()


# --- sync and async --------------------------------------------------------------------


def test_async_views_stay_coroutine_functions_and_are_checked(as_auth):
    @require_roles("admin")
    async def view(x):
        await asyncio.sleep(0)
        return x * 2

    assert inspect.iscoroutinefunction(view)
    as_auth(RequestAuth(make_user("admin")))
    assert asyncio.run(view(21)) == 42
    as_auth(RequestAuth(make_user()))
    with pytest.raises(Forbidden):
        asyncio.run(view(21))


def test_async_view_is_checked_in_the_context_it_runs_in(as_auth):
    @require_auth
    async def view():
        return "ok"

    as_auth(ANONYMOUS_AUTH)
    coroutine = view()  # created as anonymous, run as a user: the run decides
    as_auth(RequestAuth(make_user()))
    assert asyncio.run(coroutine) == "ok"


def test_wrapping_keeps_name_doc_signature_and_wrapped(as_auth):
    def view(item_id: int, *, verbose: bool = False) -> str:
        """Show an item."""
        return str(item_id)

    for decorator in (
        require_auth,
        require_auth(),
        require_roles("a"),
        require_roles(any_of=["a"]),
    ):
        wrapped = decorator(view)
        assert wrapped.__name__ == "view"
        assert wrapped.__doc__ == "Show an item."
        assert wrapped.__wrapped__ is view
        assert inspect.signature(wrapped) == inspect.signature(view)


def test_decorators_stack_and_work_on_methods(as_auth):
    class Resource:
        @require_auth
        @require_roles("admin")
        def get(self, x):
            return (self, x)

    resource = Resource()
    as_auth(RequestAuth(make_user("admin")))
    assert resource.get(1) == (resource, 1)
    as_auth(RequestAuth(make_user()))
    with pytest.raises(Forbidden):
        resource.get(1)


# --- outside a middleware, and misuse --------------------------------------------------


def test_outside_any_middleware_is_an_error_not_an_open_door():
    @require_auth
    def view():
        raise AssertionError("the view must not run")

    with pytest.raises(RuntimeError, match="GateMiddleware"):
        run_in_fresh_context(view)
    with pytest.raises(RuntimeError):
        run_in_fresh_context(check_access)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: require_roles(), "at least one role"),
        (lambda: require_roles(any_of=[]), "at least one role"),
        (lambda: require_roles("admin", any_of=["editor"]), "not both"),
        (lambda: require_roles(["admin", "editor"]), "not as one list"),
        (lambda: require_roles(("admin",)), "not as one list"),
        (lambda: require_roles(any_of="admin"), "list of role names"),
        (lambda: require_roles(""), "non-empty strings"),
        (lambda: require_roles("admin", 3), "non-empty strings"),
        (lambda: require_roles(any_of=["admin", None]), "non-empty strings"),
    ],
)
def test_misuse_is_refused_at_decoration_time(make, message):
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_bare_require_roles_on_a_function_is_refused():
    with pytest.raises(ConfigurationError, match="call it with roles"):

        @require_roles
        def view():
            pass


def test_decorating_something_that_is_not_callable_is_a_type_error():
    with pytest.raises(TypeError):
        require_auth("not a function")
    with pytest.raises(TypeError):
        require_roles("admin")(42)


# --- the context module ----------------------------------------------------------------


def test_set_and_reset_restore_what_was_current():
    def body():
        assert current_auth() is None
        outer = set_auth(ANONYMOUS_AUTH)
        inner = set_auth(PREFLIGHT_AUTH)
        assert current_auth() is PREFLIGHT_AUTH
        reset_auth(inner)
        assert current_auth() is ANONYMOUS_AUTH
        reset_auth(outer)
        assert current_auth() is None

    run_in_fresh_context(body)


def test_request_auth_defaults_and_immutability():
    auth = RequestAuth()
    assert isinstance(auth.user, AnonymousUser)
    assert auth.error is None
    assert auth.preflight is False
    assert PREFLIGHT_AUTH.preflight is True
    with pytest.raises(AttributeError):
        auth.user = make_user()  # type: ignore[misc]
