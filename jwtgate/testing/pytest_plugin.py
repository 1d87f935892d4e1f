"""The pytest plugin (registered through the ``pytest11`` entry point).

Fixtures: ``token_factory`` (a ``TokenFactory`` with fresh keys for each
test) and ``make_token_factory`` (call it for other algorithms, issuers or
provider shapes). jwtgate itself is imported only when a test asks for one,
so suites that don't use them pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .factory import TokenFactory


@pytest.fixture
def make_token_factory() -> Callable[..., TokenFactory]:
    """Build a ``TokenFactory``: ``make_token_factory("ES256", issuer=..., audience=...)``.

    A provider's name gives its shape: ``make_token_factory("netlify")``,
    ``make_token_factory("privy", app_id=...)``, ``"auth0"``, ``"cognito"``,
    ``"keycloak"``, ``"firebase"``, ``"supabase"``, ``"clerk"`` (the keyword
    arguments of the ``TokenFactory`` class method of that name).
    """
    from .factory import PROVIDERS, TokenFactory

    def make(algorithm: str = "RS256", **kwargs: Any) -> TokenFactory:
        if algorithm in PROVIDERS:
            shaped: TokenFactory = getattr(TokenFactory, algorithm)(**kwargs)
            return shaped
        return TokenFactory(algorithm, **kwargs)

    return make


@pytest.fixture
def token_factory(make_token_factory: Callable[..., TokenFactory]) -> TokenFactory:
    """A ``TokenFactory`` (RS256, issuer ``https://issuer.test/``, audience ``api``), fresh keys."""
    return make_token_factory()
