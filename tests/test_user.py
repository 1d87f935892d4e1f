"""Users, roles read from claim paths, and claims that cannot be changed behind the cache."""

from __future__ import annotations

import json

import pytest

from jwtgate import AnonymousUser, User
from jwtgate.user import FrozenDict, read_claim, roles_from_claims


def frozen(value):
    if isinstance(value, dict):
        return FrozenDict({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    return value


@pytest.mark.parametrize(
    ("claims", "rule", "roles"),
    [
        ({"roles": ["a", "b"]}, "roles", {"a", "b"}),
        ({"scope": "read write"}, "scope", {"read", "write"}),
        ({"app_metadata": {"roles": ["admin"]}}, "app_metadata.roles", {"admin"}),
        ({"cognito:groups": ["g1"]}, "cognito:groups", {"g1"}),
        ({"https://example.com/roles": ["x"]}, "https://example.com/roles", {"x"}),
        (
            {"app_metadata": {"roles": ["a"], "authorization": {"roles": ["b"]}}},
            ("app_metadata.roles", "app_metadata.authorization.roles"),
            {"a", "b"},
        ),
        ({"roles": ["a", 1, None, {"x": 1}, ["b"]]}, "roles", {"a"}),
        ({"roles": 42}, "roles", set()),
        ({"roles": {"admin": True}}, "roles", set()),
        ({}, "roles", set()),
        ({"app_metadata": "string"}, "app_metadata.roles", set()),
        ({"r": ["a"]}, lambda claims: [*claims["r"], 5], {"a"}),
    ],
)
def test_roles_from_claims(claims, rule, roles):
    assert roles_from_claims(frozen(claims), rule) == frozenset(roles)


def test_read_claim_prefers_the_whole_name_to_a_dotted_path():
    claims = {"a.b": 1, "a": {"b": 2}}
    assert read_claim(claims, "a.b") == 1
    assert read_claim({"a": {"b": 2}}, "a.b") == 2
    assert read_claim({"a": {"b": 2}}, "a.c") is None


def test_frozen_claims_refuse_every_change_but_serialise_as_json():
    claims = frozen({"a": {"b": [1, 2]}})
    for mutate in (
        lambda: claims.__setitem__("x", 1),
        lambda: claims.__delitem__("a"),
        lambda: claims.update(x=1),
        lambda: claims.pop("a"),
        lambda: claims.popitem(),
        lambda: claims.setdefault("x", 1),
        lambda: claims.clear(),
        lambda: claims["a"].__setitem__("b", 3),
    ):
        with pytest.raises(TypeError, match="read-only"):
            mutate()
    with pytest.raises(TypeError):
        claims |= {"x": 1}
    with pytest.raises(TypeError, match="unhashable"):
        hash(claims)
    assert json.loads(json.dumps(claims)) == {"a": {"b": [1, 2]}}
    assert repr(FrozenDict(a=1)) == "FrozenDict({'a': 1})"


def make_user(**claims):
    return User(subject=claims.get("sub"), claims=frozen(claims), roles=frozenset({"a", "b"}))


def test_user_exposes_identity_email_and_display_name():
    user = make_user(sub="u1", email="u@example.com", name="Ada")
    assert user.is_authenticated is True
    assert user.identity == "u1"
    assert user.email == "u@example.com"
    assert user.display_name == "Ada"


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ({"sub": "u1", "user_metadata": {"full_name": "Grace"}}, "Grace"),
        ({"sub": "u1", "email": "e@x.io"}, "e@x.io"),
        ({"sub": "u1"}, "u1"),
        ({"sub": "u1", "name": 7, "email": 8}, "u1"),
    ],
)
def test_display_name_falls_back(claims, name):
    assert make_user(**claims).display_name == name


def test_has_roles_all_and_any_of():
    user = make_user(sub="u")
    assert user.has_roles("a")
    assert user.has_roles("a", "b")
    assert not user.has_roles("a", "c")
    assert user.has_roles(any_of=["c", "b"])
    assert not user.has_roles(any_of=["c", "d"])
    assert user.has_roles("a", any_of=["b"])
    assert not user.has_roles("c", any_of=["b"])


def test_user_repr_never_shows_the_token():
    user = User(subject="u", claims=FrozenDict(), token="secret.token.value")
    assert "secret" not in repr(user)
    assert repr(user) == "User(subject='u', issuer=None, roles=[])"


def test_with_source_keeps_everything_but_the_source():
    user = User(subject="u", claims=FrozenDict(), token="t", source="bearer", issuer="i")
    moved = user.with_source("cookie:nf_jwt")
    assert moved.source == "cookie:nf_jwt"
    assert (moved.subject, moved.token, moved.issuer, moved.claims) == ("u", "t", "i", user.claims)


def test_anonymous_user_has_nothing():
    anon = AnonymousUser()
    assert anon.is_authenticated is False
    assert anon.roles == frozenset()
    assert not anon.has_roles(any_of=["a"])
    assert (anon.subject, anon.identity, anon.display_name) == (None, "", "")
    assert dict(anon.claims) == {}
    assert repr(anon) == "AnonymousUser()"
