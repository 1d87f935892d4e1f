"""The decorators read the request's authentication from the context the adapters set."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from jwtgate import (
    ConfigurationError,
    ExpiredToken,
    Forbidden,
    MissingToken,
    User,
    require_auth,
    require_roles,
)
from jwtgate.context import RequestAuth, current_auth, reset_auth, set_auth
from jwtgate.user import FrozenDict


def user(*roles: str) -> User:
    return User(subject="u", claims=FrozenDict(sub="u"), roles=frozenset(roles))


def call_with(auth: RequestAuth | None, func, *args, **kwargs):
    token = set_auth(auth) if auth is not None else None
    try:
        result = func(*args, **kwargs)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        return result
    finally:
        if token is not None:
            reset_auth(token)


@require_auth
def bare(x: int, *, y: int = 2) -> int:
    return x + y


@require_auth()
def called() -> str:
    return "ok"


@require_roles("admin")
async def admin_only() -> str:
    return "admin"


@require_roles(any_of=["admin", "editor"])
def editors() -> str:
    return "edit"


def test_require_auth_lets_a_user_through_and_keeps_the_signature():
    assert call_with(RequestAuth(user()), bare, 1, y=3) == 4
    assert call_with(RequestAuth(user()), called) == "ok"
    assert inspect.signature(bare) == inspect.signature(bare.__wrapped__)
    assert list(inspect.signature(bare).parameters) == ["x", "y"]
    assert bare.__name__ == "bare"


def test_no_user_is_missing_token_or_the_refused_tokens_own_error():
    with pytest.raises(MissingToken):
        call_with(RequestAuth(), bare, 1)
    expired = ExpiredToken()
    with pytest.raises(ExpiredToken) as info:
        call_with(RequestAuth(error=expired), called)
    assert info.value is expired


def test_roles_all_and_any_of_sync_and_async():
    assert call_with(RequestAuth(user("admin")), admin_only) == "admin"
    with pytest.raises(Forbidden) as info:
        call_with(RequestAuth(user("editor")), admin_only)
    assert info.value.required_roles == ("admin",)
    assert asyncio.iscoroutinefunction(admin_only)
    assert call_with(RequestAuth(user("editor")), editors) == "edit"
    with pytest.raises(Forbidden):
        call_with(RequestAuth(user("viewer")), editors)
    with pytest.raises(MissingToken):
        call_with(RequestAuth(), admin_only)


def test_a_cors_preflight_without_a_user_is_refused_like_any_anonymous_request():
    with pytest.raises(MissingToken):
        call_with(RequestAuth(preflight=True), admin_only)
    with pytest.raises(MissingToken):
        call_with(RequestAuth(preflight=True), bare, 1)


def test_without_middleware_the_decorator_says_so():
    assert current_auth() is None
    with pytest.raises(RuntimeError, match="GateMiddleware"):
        call_with(None, called)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: require_roles(), "at least one role"),
        (lambda: require_roles(any_of=[]), "at least one role"),
        (lambda: require_roles("a", any_of=["b"]), "not both"),
        (lambda: require_roles(["a", "b"]), "not as one list"),
        (lambda: require_roles(lambda: None), "call it with roles"),
        (lambda: require_roles(""), "non-empty strings"),
        (lambda: require_roles(any_of="admin"), "list of role names"),
    ],
)
def test_misuse_fails_at_decoration_time(make, message):
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_decorating_a_non_callable_is_a_type_error():
    with pytest.raises(TypeError):
        require_auth(5)
