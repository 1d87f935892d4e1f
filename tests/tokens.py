"""Hand-made tokens for tests that need bytes no well-behaved encoder would produce."""

from __future__ import annotations

import base64
import json
from typing import Any

from jwt.algorithms import get_default_algorithms

from jwtgate.testing import TokenFactory


def b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(factory: TokenFactory, header: Any, payload: Any, *, alg: str | None = None) -> str:
    """Sign exactly these header and payload texts (dicts are JSON-encoded)."""
    header_text = header if isinstance(header, str | bytes) else json.dumps(header)
    payload_text = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    signing_input = f"{b64(header_text)}.{b64(payload_text)}"
    algorithm = get_default_algorithms()[alg or factory.algorithm]
    signature = algorithm.sign(signing_input.encode(), factory.signing_key)
    return f"{signing_input}.{b64(signature)}"


def header_for(factory: TokenFactory, **extra: Any) -> dict[str, Any]:
    return {"alg": factory.algorithm, "typ": "JWT", "kid": factory.kid, **extra}


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header that carries ``token``."""
    return {"Authorization": f"Bearer {token}"}
