"""An atheris (libFuzzer) harness for the gate: any request headers, never anything but AuthError.

Not run in CI (atheris needs a clang-built CPython wheel); run by hand:

    pip install atheris
    python fuzz/fuzz_gate.py -max_total_time=300 fuzz/corpus/

Each input is split into a few header values and, half of the time, a token
signed with the issuer's real key over fuzzed header and claims bytes, so the
checks behind the signature are reached too. A crash is any exception other
than ``AuthError``, or a refused-looking token that yields a user.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from jwt.algorithms import get_default_algorithms

    from jwtgate import AuthError, Gate
    from jwtgate.testing import TokenFactory

NOW = 1_800_000_000.0
FACTORY = TokenFactory("ES256", clock=lambda: NOW, kid="k1")
GATE = Gate(
    issuers=[FACTORY.issuer_config()],
    sources=["bearer", "cookie:s", "header:X-Token"],
    clock=lambda: NOW,
    cache_size=0,
)
ES256 = get_default_algorithms()["ES256"]
NAMES = ["Authorization", "Cookie", "X-Token", "Origin"]


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    headers = [
        (NAMES[fdp.ConsumeIntInRange(0, len(NAMES) - 1)], fdp.ConsumeUnicodeNoSurrogates(64))
        for _ in range(fdp.ConsumeIntInRange(0, 3))
    ]
    if fdp.ConsumeBool():
        header = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200))
        claims = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 400))
        signing_input = f"{_b64(header)}.{_b64(claims)}"
        signature = ES256.sign(signing_input.encode(), FACTORY.signing_key)
        headers.append(("Authorization", f"Bearer {signing_input}.{_b64(signature)}"))
    with contextlib.suppress(AuthError):
        GATE.authenticate(headers=headers)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
