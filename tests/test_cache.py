"""The claims cache: generations (a clear wins over a verification in flight) and byte budgets.

No sleeps: the key withdrawn mid-verification is withdrawn by the key source
itself, from inside the gate's own call to it.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jwtgate import ConfigurationError, Gate, InvalidSignature, Issuer, User
from jwtgate.cache import ClaimsCache
from jwtgate.jws import parse
from jwtgate.keys import KeySource, StaticKeys, VerificationKey
from jwtgate.memo import CredentialMemo
from jwtgate.sizes import ENTRY_OVERHEAD, claims_bound, entry_size, object_size
from jwtgate.testing import TokenFactory

from .conftest import FrozenClock

ROOT = Path(__file__).resolve().parents[1]


# --- a key withdrawn while a token is being verified ---------------------------------------------


class WithdrawnMidVerification(KeySource):
    """A key source whose key is withdrawn (and the gate told) as it hands the key out.

    The handed-out key is the one the verification in flight uses: the
    verification started before the rotation and succeeds, as it may; what
    it verified must not be remembered.
    """

    def __init__(self, keys: Sequence[VerificationKey]) -> None:
        self._static = StaticKeys(keys)
        self._withdrawn = False
        self._callbacks: list[Callable[[], None]] = []

    def keys_for(self, kid: str | None, algorithm: str) -> Sequence[VerificationKey]:
        if self._withdrawn:
            return ()
        keys = self._static.keys_for(kid, algorithm)
        self._withdrawn = True
        for callback in self._callbacks:
            callback()  # the gate's clear_cache(), as RemoteKeys calls it on a rotation
        return keys

    def subscribe(self, on_keys_removed: Callable[[], None]) -> None:
        self._callbacks.append(on_keys_removed)


def test_a_token_verified_while_its_key_was_withdrawn_is_not_cached(clock: FrozenClock) -> None:
    tokens = TokenFactory("ES256", clock=clock)
    honest = tokens.issuer_config()
    assert isinstance(honest.keys, StaticKeys)
    source = WithdrawnMidVerification(honest.keys.keys)
    gate = Gate(
        issuers=[Issuer(tokens.issuer, algorithms=["ES256"], audience="api", key=source)],
        clock=clock,
    )
    headers = tokens.headers(sub="u1")
    assert gate.authenticate(headers=headers) is not None  # began before the withdrawal
    assert gate.cache_size == 0
    assert gate.cached_bytes == 0
    with pytest.raises(InvalidSignature):  # the key is gone: no cache hit hides it
        gate.authenticate(headers=headers)


def test_a_put_from_an_older_generation_is_dropped() -> None:
    cache = ClaimsCache(10, 1 << 20)
    user = User(subject="u", claims={}, token="t")
    generation = cache.generation
    cache.clear()
    assert cache.put("t", user, 100.0, 500, generation) is False
    assert len(cache) == 0
    assert cache.put("t", user, 100.0, 500, cache.generation) is True
    assert cache.get("t", 50.0) is user


def test_a_clear_between_two_verifications_lets_the_second_be_cached(gate, rs256) -> None:
    gate.clear_cache()
    assert gate.authenticate(headers=rs256.headers()) is not None
    assert gate.cache_size == 1


# --- the byte budget -----------------------------------------------------------------------------


def _tiny_objects_claims(count: int) -> dict[str, Any]:
    """GoTrue lets a user write user_metadata: many tiny objects, a token under 8 KiB."""
    return {"user_metadata": {"x": [{}] * count}}


def test_the_byte_budget_bounds_the_cache_before_the_count_does(clock: FrozenClock) -> None:
    tokens = TokenFactory.netlify(clock=clock)
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, cache_bytes=2 * 1024 * 1024)
    minted = [tokens.token(sub=f"u{i}", **_tiny_objects_claims(1900)) for i in range(40)]
    assert all(len(token) < 8192 for token in minted)
    for token in minted:
        assert gate.authenticate(headers={"Authorization": f"Bearer {token}"}) is not None
        assert gate.cached_bytes <= gate.cache_bytes
    assert 0 < gate.cache_size < 40
    # the newest are the ones kept
    assert gate._cache.get(minted[-1], clock()) is not None


def test_the_default_budget_keeps_10_000_typical_tokens_within_64_mib(clock: FrozenClock) -> None:
    tokens = TokenFactory.netlify(clock=clock)
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock)
    claims = {
        "email": "ada@example.com",
        "app_metadata": {"provider": "email", "roles": ["admin", "editor"]},
        "user_metadata": {"full_name": "Ada Lovelace"},
    }
    token = tokens.token(sub="u1", **claims)
    gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    per_entry = gate.cached_bytes
    assert gate.cache_bytes == 64 * 1024 * 1024
    assert per_entry * 10_000 < gate.cache_bytes


def test_an_entry_larger_than_the_whole_budget_is_not_cached(clock: FrozenClock) -> None:
    tokens = TokenFactory.netlify(clock=clock)
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, cache_bytes=4096)
    token = tokens.token(**_tiny_objects_claims(100))
    assert gate.authenticate(headers={"Authorization": f"Bearer {token}"}) is not None
    assert gate.cache_size == 0


@pytest.mark.parametrize("value", [-1, 1.5, "64MB", True, None])
def test_cache_bytes_is_validated(value: Any, rs256: TokenFactory) -> None:
    with pytest.raises(ConfigurationError, match="cache_bytes: must be a whole number"):
        Gate(issuers=[rs256.issuer_config()], cache_bytes=value)


def test_cache_bytes_zero_caches_nothing(rs256: TokenFactory, clock: FrozenClock) -> None:
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, cache_bytes=0)
    assert gate.authenticate(headers=rs256.headers()) is not None
    assert gate.cache_size == 0


def test_replacing_and_expiring_entries_keep_the_byte_count_exact() -> None:
    cache = ClaimsCache(10, 10_000)
    user = User(subject="u", claims={}, token="t")
    assert cache.put("a", user, 100.0, 1024, 0)
    assert cache.put("a", user, 100.0, 3072, 0)  # the same token again: replaced
    assert cache.bytes == 3072
    assert cache.put("b", user, 10.0, 2048, 0)
    assert cache.get("b", 20.0) is None  # expired: removed
    assert cache.bytes == 3072
    assert cache.put("c", user, 100.0, 7936, 0)  # evicts "a" to fit
    assert (len(cache), cache.bytes) == (1, 7936)
    cache.clear()
    assert cache.bytes == 0


def test_entries_share_their_numbers_never_counting_less_nor_living_longer() -> None:
    cache = ClaimsCache(10, 1_000_000)
    users = [User(subject=f"u{n}", claims={}, token=f"t{n}") for n in range(2)]
    for n, user in enumerate(users):
        assert cache.put(user.token, user, 1_800_000_100.7 + n / 10, 5_000 + n, 0)
    first, second = (cache.lookup(user.token) for user in users)
    assert first is not None
    assert second is not None
    assert first[1] == 1_800_000_100  # down to the second
    assert first[1] is second[1]
    assert first[2] == 5_056  # up to 64 bytes
    assert first[2] is second[2]
    assert cache.bytes == 2 * 5_056


def test_the_memo_keeps_within_the_gates_budget_and_only_users_the_gate_holds(
    clock: FrozenClock,
) -> None:
    tokens = TokenFactory.netlify(clock=clock)
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, cache_bytes=2 * 1024 * 1024)
    memo: CredentialMemo[tuple[str, User]] = CredentialMemo(4096, gate=gate)
    assert memo.max_bytes == gate.cache_bytes
    for i in range(40):
        raw = "Bearer " + tokens.token(sub=f"u{i}", **_tiny_objects_claims(1900))
        user = gate.authenticate(headers={"Authorization": raw})
        assert user is not None
        assert memo.put((raw, user))
        assert memo.bytes <= memo.max_bytes
    assert 0 < len(memo) < 40
    gate.clear_cache()
    raw = "Bearer " + tokens.token(sub="late")
    late = gate.authenticate(headers={"Authorization": raw})
    assert late is not None
    gate.clear_cache()
    assert memo.put((raw, late)) is False  # the gate no longer holds it: never usable


def test_an_anonymous_memo_entry_costs_its_raw_value() -> None:
    memo: CredentialMemo[tuple[str, None]] = CredentialMemo(8)
    raw = "theme=dark; " * 100
    assert memo.put((raw, None))
    assert memo.bytes >= sys.getsizeof(raw)


# --- the size estimate ---------------------------------------------------------------------------

# Characters whose cost differs: ASCII, Latin-1, the BMP, beyond it, and JSON's own syntax.
TEXT = st.text(st.sampled_from('a Z0{}[]":,\\\né中😀\x00'), max_size=8)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=12) | st.dictionaries(TEXT, children, max_size=12),
    max_leaves=25,
)


@given(st.dictionaries(TEXT, JSON_VALUES, max_size=4))
def test_the_claims_bound_never_understates_the_parsed_claims(claims: dict[str, Any]) -> None:
    for ensure_ascii in (True, False):
        payload = json.dumps(claims, ensure_ascii=ensure_ascii).encode()
        parsed = parse(f"e30.{_b64(payload)}.c2ln")  # header {}: only the payload matters here
        assert claims_bound(payload) >= object_size(parsed.claims)


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "claims",
    [
        {"user_metadata": {"x": [{}] * 1900}},
        {"user_metadata": {f"k{j}": {} for j in range(500)}},
        {"user_metadata": {"x": [[]] * 1900}},
        {"user_metadata": {"x": [""] * 1300}},
        {"user_metadata": {"x": [1.5] * 1300}},
        {"user_metadata": {"x": [10**30 + i for i in range(200)]}},
        {"user_metadata": {"name": "😀" + "a" * 3000}},
        {"user_metadata": {"name": "中文" * 1000}},
        {"user_metadata": [{"a": {"b": {"c": 1}}}] * 200},
        {"user_metadata": [{f"k{i}": 1 for i in range(11)}] * 60},
        {"user_metadata": {"bio": "\n" * 3000}},
    ],
    ids=lambda claims: json.dumps(claims)[:30],
)
def test_the_claims_bound_holds_for_hostile_shapes(claims: dict[str, Any]) -> None:
    payload = json.dumps(claims).encode()
    parsed = parse(f"e30.{_b64(payload)}.c2ln")
    actual = object_size(parsed.claims)
    assert actual <= claims_bound(payload) <= 16 * actual


def test_an_entry_counts_user_token_roles_and_overhead() -> None:
    user = User(subject="u", claims={}, roles=frozenset({"admin"}), token="t" * 1000)
    assert entry_size(user, b"{}") > ENTRY_OVERHEAD + 1000 + claims_bound(b"{}")
    # claims rebuilt by a hook are walked instead
    hooked = User(subject="u", claims={"x": "y" * 5000}, token="t")
    assert entry_size(hooked, None) > 5000


def test_claims_rebuilt_by_a_hook_are_measured_from_the_objects(clock: FrozenClock) -> None:
    tokens = TokenFactory("HS256", clock=clock)
    big = {"padding": "p" * 100_000}
    issuer = tokens.issuer_config(claims_hook=lambda claims: {**claims, **big})
    gate = Gate(issuers=[issuer], clock=clock)
    gate.authenticate(headers=tokens.headers())
    assert gate.cached_bytes > 100_000


# --- the adapters use the gate's interface, not its private fields -------------------------------


#: The gate's fields behind the cache-hit check, which Gate.hit_check() hands out.
HIT_CHECK_FIELDS = {"_cache", "_clock", "_is_revoked", "_is_revoked_on_loop"}


@pytest.mark.parametrize("module", ["wsgi", "asgi", "memo"])
def test_adapters_reach_no_private_field_behind_the_cache_hit_check(module: str) -> None:
    tree = ast.parse((ROOT / "jwtgate" / f"{module}.py").read_text())
    reached = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in HIT_CHECK_FIELDS
        and isinstance(node.value, ast.Attribute | ast.Name)
        and ast.unparse(node.value).endswith("gate")
    ]
    assert reached == []


def test_the_shared_numbers_stay_few(monkeypatch: pytest.MonkeyPatch) -> None:
    import jwtgate.cache as cache_module

    numbers: dict[int, int] = {}
    monkeypatch.setattr(cache_module, "_NUMBERS", numbers)
    monkeypatch.setattr(cache_module, "_kept", numbers.get)
    monkeypatch.setattr(cache_module, "_NUMBERS_SIZE", 3)
    cache = ClaimsCache(100, 1_000_000)
    user = User(subject="u", claims={}, token="t")
    for n in range(10):
        cache.put(f"t{n}", user, 1_000.0 + n, 64 * (n + 1), 0)
    assert len(numbers) <= 3
