"""Recheck: how the decorators ask the gate again about a long-lived connection's user."""

from __future__ import annotations

import asyncio

import pytest

from jwtgate import ExpiredToken, Gate, MissingToken, RevokedToken
from jwtgate.context import RequestAuth, reset_auth, set_auth
from jwtgate.decorators import check_access
from jwtgate.recheck import Recheck
from jwtgate.sources import MappingView


@pytest.fixture
def revoked() -> set[str]:
    return set()


@pytest.fixture
def live_gate(rs256, clock, revoked) -> Gate:
    return Gate(
        issuers=[rs256.issuer_config()], clock=clock, is_revoked=lambda u: u.subject in revoked
    )


def handshake(token: str) -> MappingView:
    return MappingView({"Authorization": f"Bearer {token}"})


def test_while_the_gate_vouches_the_same_user_comes_back_without_verifying(live_gate, rs256):
    view = handshake(rs256.token(sub="ada"))
    user = live_gate.authenticate(view)
    recheck = Recheck(live_gate, view, user)
    assert recheck.user() is user
    assert asyncio.run(recheck.user_async()) is user
    assert repr(recheck) == f"Recheck({user!r})"
    assert rs256.token(sub="ada") not in repr(recheck)


def test_expiry_and_revocation_raise_the_gates_own_errors(live_gate, rs256, clock, revoked):
    view = handshake(rs256.token(sub="ada", expires_in=60))
    recheck = Recheck(live_gate, view, live_gate.authenticate(view))
    revoked.add("ada")
    with pytest.raises(RevokedToken):
        recheck.user()
    revoked.clear()
    clock.advance(61)
    with pytest.raises(ExpiredToken):
        asyncio.run(recheck.user_async())


def test_a_user_no_longer_cached_is_verified_again_and_remembered(live_gate, rs256):
    view = handshake(rs256.token(sub="ada"))
    first = live_gate.authenticate(view)
    recheck = Recheck(live_gate, view, first)
    live_gate.clear_cache()  # a key rotation, say
    again = recheck.user()
    assert again is not first
    assert again.subject == "ada"
    assert recheck.user() is again  # the new one is what the gate now vouches for


def test_a_handshake_without_its_token_is_missing_token(live_gate, rs256):
    user = live_gate.authenticate(handshake(rs256.token()))
    live_gate.clear_cache()
    with pytest.raises(MissingToken):
        Recheck(live_gate, MappingView({}), user).user()


def test_check_access_asks_the_recheck_of_the_current_request(live_gate, rs256, revoked):
    view = handshake(rs256.token(sub="ada", roles=["admin"]))
    user = live_gate.authenticate(view)
    token = set_auth(RequestAuth(user, recheck=Recheck(live_gate, view, user)))
    try:
        check_access(("admin",))
        revoked.add("ada")
        with pytest.raises(RevokedToken):
            check_access(("admin",))
    finally:
        reset_auth(token)
