"""The netlify preset's configuration errors speak of its own argument, jwt_secret."""

from __future__ import annotations

import os

import pytest

from jwtgate import ConfigurationError
from jwtgate.presets import netlify


def test_an_unset_secret_names_the_presets_argument() -> None:
    with pytest.raises(ConfigurationError) as info:
        netlify(jwt_secret=os.environ.get("JWTGATE_SURELY_UNSET"))
    message = str(info.value)
    assert message.startswith("jwt_secret: required")
    assert "Identity JWT secret" in message
    assert "environment variable" in message
    assert "key source" not in message  # not the Issuer's vocabulary


@pytest.mark.parametrize("secret", ["", "   ", b""])
def test_an_empty_secret_is_refused(secret) -> None:
    with pytest.raises(ConfigurationError, match="jwt_secret: is empty"):
        netlify(jwt_secret=secret)


def test_a_short_or_misplaced_secret_names_jwt_secret() -> None:
    with pytest.raises(ConfigurationError, match=r"^jwt_secret: HS256 needs a secret of at least"):
        netlify(jwt_secret="too-short")
    with pytest.raises(ConfigurationError, match=r"^jwt_secret: this is .*, not an HMAC secret"):
        netlify(jwt_secret="-----BEGIN PUBLIC KEY-----\n" + "A" * 64)
    with pytest.raises(ConfigurationError, match=r"^jwt_secret: must be a string"):
        netlify(jwt_secret=1234)  # type: ignore[arg-type]
