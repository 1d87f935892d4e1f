"""Shared fixtures: a frozen clock and token factories with their gates."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from jwtgate import Gate
from jwtgate.testing import TokenFactory

pytest_plugins = ["jwtgate.testing.pytest_plugin"]

# Hypothesis profiles. "ci" (the default) is derandomised: the same examples on
# every run, so a red build is reproducible and a green one means the same thing
# twice. "long" explores for real, by hand: HYPOTHESIS_PROFILE=long pytest tests/security
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--browser-artifacts",
        metavar="DIR",
        default=None,
        help="where the browser tests write screenshots when they fail (default: tmp_path)",
    )


NOW = 1_800_000_000.0


class FrozenClock:
    """A clock tests move by hand, so nothing ever sleeps."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def server(tokens):
    """A real JWKS server on 127.0.0.1 for the test module's ``tokens`` factory."""
    with tokens.serve_jwks() as running:
        yield running


@pytest.fixture(scope="session")
def _factories() -> dict[str, TokenFactory]:
    # Key generation is the slow part: one factory per algorithm per session.
    return {}


@pytest.fixture
def make_factory(_factories, clock):
    """A TokenFactory for an algorithm (cached keys), bound to the test's frozen clock."""

    def make(algorithm: str = "RS256") -> TokenFactory:
        if algorithm not in _factories:
            _factories[algorithm] = TokenFactory(algorithm)
        factory = _factories[algorithm]
        factory.clock = clock
        return factory

    return make


@pytest.fixture
def rs256(make_factory) -> TokenFactory:
    return make_factory("RS256")


@pytest.fixture
def gate(rs256, clock) -> Gate:
    return Gate(issuers=[rs256.issuer_config()], clock=clock)


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    """No ``JWTGATE_*`` variable of the test's own environment; a configuration folder of its own.

    The ``jwtgate`` command and the settings read both.
    """
    for name in list(os.environ):
        if name.startswith("JWTGATE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return monkeypatch
