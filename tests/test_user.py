"""Users, roles read from claim paths, and claims that cannot be changed behind the cache."""

from __future__ import annotations

import json
import pickle

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


# --- immutable in fact: one User serves every request with its token ---------------------


def test_a_user_refuses_every_change_to_its_attributes():
    user = User(subject="u", claims={"sub": "u"}, roles={"editor"}, token="t", source="bearer")
    with pytest.raises(AttributeError, match="immutable"):
        user.roles |= {"admin"}  # the view that made later requests pass /admin
    for name in ("subject", "claims", "roles", "issuer", "token", "source", "expires_at", "email"):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(user, name, None)
        with pytest.raises(AttributeError, match="immutable"):
            delattr(user, name)
    with pytest.raises(AttributeError):
        user.is_admin = True  # type: ignore[attr-defined]
    assert user.roles == frozenset({"editor"})
    assert not user.has_roles("admin")


def test_a_subclass_of_user_builds_its_own_kind_frozen_and_immutable_alike():
    class StaffUser(User):
        __slots__ = ()

    user = StaffUser(subject="u", claims={"email": "u@example.com", "teams": ["a"]}, roles=["x"])
    assert type(user) is StaffUser
    assert user.email == "u@example.com"
    assert user.roles == frozenset({"x"})
    assert user.claims["teams"] == ("a",)
    moved = user.with_source("cookie:nf_jwt")
    assert type(moved) is StaffUser
    assert moved.source == "cookie:nf_jwt"
    assert moved.claims is user.claims
    assert moved.email == user.email
    for made in (user, moved):
        with pytest.raises(AttributeError, match="immutable"):
            made.subject = "admin"


def test_a_subclass_of_user_without_empty_slots_is_refused_where_it_is_declared():
    with pytest.raises(TypeError, match=r"must declare __slots__ = \(\)"):

        class WithDict(User):
            pass

    with pytest.raises(TypeError, match=r"must declare __slots__ = \(\)"):

        class WithSlot(User):
            __slots__ = ("team",)


def test_a_pickled_subclass_of_user_comes_back_as_its_kind():
    user = _Staff(subject="u", claims={"teams": ["a"]}, roles=["x"], token="t")
    back = pickle.loads(pickle.dumps(user))  # noqa: S301 - our own bytes
    assert type(back) is _Staff
    assert back.claims == user.claims
    assert type(back.claims) is FrozenDict
    assert back.roles == frozenset({"x"})


class _Staff(User):
    __slots__ = ()


def test_roles_accept_any_iterable_of_strings_and_are_stored_as_a_frozenset():
    for given in (
        ["admin", "editor"],
        ("admin", "editor"),
        {"admin", "editor"},
        iter(["admin", "editor"]),
    ):
        user = User(subject="u", claims={}, roles=given)
        assert type(user.roles) is frozenset
        assert user.roles == {"admin", "editor"}
        assert user.has_roles("admin")
        assert user.has_roles(any_of=(r for r in ["nobody", "editor"]))


@pytest.mark.parametrize("roles", ["admin", 42, ["admin", 1]])
def test_roles_that_are_not_an_iterable_of_strings_are_refused(roles):
    with pytest.raises(TypeError, match="role"):
        User(subject="u", claims={}, roles=roles)


def test_any_of_as_one_string_is_refused_rather_than_read_letter_by_letter():
    user = User(subject="u", claims={}, roles=["a"])
    with pytest.raises(TypeError, match="any_of"):
        user.has_roles(any_of="admin")


def test_claims_given_as_plain_objects_are_made_deeply_read_only():
    claims = {"sub": "u", "app_metadata": {"roles": ["admin"]}, "tags": {"x"}}
    user = User(subject="u", claims=claims)
    claims["app_metadata"]["roles"].append("owner")  # the caller's own object may change ...
    assert user.claims["app_metadata"]["roles"] == ("admin",)  # ... the user's copy does not
    with pytest.raises(TypeError, match="read-only"):
        user.claims["app_metadata"]["roles"] = ["owner"]
    assert user.claims["tags"] == frozenset({"x"})
    assert isinstance(user.claims, FrozenDict)


def test_frozen_claims_are_taken_as_they_are():
    claims = frozen({"sub": "u", "email": "u@example.com"})
    user = User(subject="u", claims=claims)
    assert user.claims is claims
    assert user.email == "u@example.com"


def test_with_source_copies_pickle_and_deepcopy_keep_the_user_immutable():
    import copy

    user = User(subject="u", claims={"sub": "u", "n": [1]}, roles=["a"], token="t", expires_at=5)
    moved = user.with_source("cookie:nf_jwt")
    with pytest.raises(AttributeError):
        moved.source = "bearer"
    assert copy.copy(user) is user
    assert copy.deepcopy(user) is user
    again = pickle.loads(pickle.dumps(user))  # noqa: S301 - our own bytes
    assert (again.subject, again.roles, again.token, again.expires_at) == ("u", {"a"}, "t", 5)
    assert again.claims == {"sub": "u", "n": (1,)}
    with pytest.raises(AttributeError):
        again.roles = frozenset({"admin"})


def test_the_shared_anonymous_user_cannot_be_changed():
    anon = AnonymousUser()
    with pytest.raises(AttributeError):
        anon.roles = frozenset({"admin"})  # type: ignore[misc]
    with pytest.raises(TypeError):
        anon.claims["sub"] = "x"  # type: ignore[index]


def test_equal_role_sets_are_shared_and_the_memo_stays_bounded(monkeypatch):
    import jwtgate.user as user_module
    from jwtgate.user import roles_reader

    sets: dict = {}
    monkeypatch.setattr(user_module, "_ROLE_SETS", sets)
    monkeypatch.setattr(user_module, "_ROLE_SETS_SIZE", 2)
    read = roles_reader("app_metadata.roles")
    first = read({"app_metadata": {"roles": ("admin", "editor")}})
    second = read({"app_metadata": {"roles": ("editor", "admin")}})
    assert first == {"admin", "editor"}
    assert second is first
    for n in range(5):
        read({"app_metadata": {"roles": (f"r{n}",)}})
    assert len(sets) <= 2
    assert read({"app_metadata": "not an object"}) == frozenset()
    assert read({}) == frozenset()
