"""The core's cost per request: cache hit, cache miss against PyJWT, memory per cached token.

The memory part measures, with ``tracemalloc``, the bytes the cache keeps per
token for plain claims and for hostile ones (a Netlify token under 8 KiB
whose ``user_metadata`` holds 1,900 empty objects), beside the bytes the
cache's budget counts for them (``Gate.cached_bytes``), and shows that
``cache_bytes`` bounds the hostile case.

Run: ``python benchmarks/bench_core.py`` (add ``--quick`` for a short run).
Cases run interleaved in one process (repetition 1 of every case, then
repetition 2 …) and each figure is the median of the repetitions, so the
ratios compare cases measured back to back under the same machine noise.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import sys
import time
import timeit
import tracemalloc
import uuid
from collections.abc import Callable

import jwt

from jwtgate import Gate
from jwtgate.sources import CookieSource, HeaderSource, Source
from jwtgate.testing import TokenFactory

ALGORITHMS = ["HS256", "RS256", "ES256", "EdDSA"]
NOW = time.time()


def realistic_claims() -> dict[str, object]:
    """About the 416-byte payload of the research baselines: a Netlify-like user."""
    return {
        "email": "ada.lovelace@example.com",
        "role": "authenticated",
        "session_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "app_metadata": {
            "provider": "email",
            "providers": ["email", "github"],
            "roles": ["admin", "editor", "billing"],
        },
        "user_metadata": {"full_name": "Ada Lovelace", "locale": "en-GB", "plan": "pro"},
    }


def per_call(fn: Callable[[], object], number: int) -> float:
    """Seconds per call of ``fn`` over ``number`` calls."""
    return timeit.timeit(fn, number=number) / number


def calibrate(fn: Callable[[], object], target: float) -> int:
    number = 1
    while True:
        elapsed = timeit.timeit(fn, number=number)
        if elapsed >= target / 4:
            return max(1, int(number * target / elapsed))
        number *= 4


def run_interleaved(
    cases: dict[str, Callable[[], object]], repeats: int, target: float
) -> dict[str, float]:
    numbers = {name: calibrate(fn, target) for name, fn in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            samples[name].append(per_call(fn, numbers[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def bench_algorithm(algorithm: str, repeats: int, target: float) -> dict[str, float]:
    tokens = TokenFactory(algorithm, clock=lambda: NOW)
    token = tokens.token(sub="c0ffee00-1111-2222-3333-444455556666", **realistic_claims())
    headers = {"Authorization": f"Bearer {token}"}
    cached = Gate(issuers=[tokens.issuer_config()])
    uncached = Gate(issuers=[tokens.issuer_config()], cache_size=0)
    assert cached.authenticate(headers=headers) is not None
    assert uncached.authenticate(headers=headers) is not None
    key = tokens.secret if algorithm.startswith("HS") else tokens.public_key
    options = {"require": ["exp"]}

    def pyjwt_decode() -> object:
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience="api",
            issuer=tokens.issuer,
            options=options,  # type: ignore[arg-type]
        )

    pyjwt_decode()
    cases: dict[str, Callable[[], object]] = {
        "hit": lambda: cached.authenticate(headers=headers),
        "miss": lambda: uncached.authenticate(headers=headers),
        "pyjwt": pyjwt_decode,
    }
    result = run_interleaved(cases, repeats, target)
    result["chars"] = len(token)
    return result


def hostile_claims() -> dict[str, object]:
    """A 7.8 KiB Netlify token whose user-editable ``user_metadata`` is 1,900 empty objects."""
    return {"user_metadata": {"tags": [{}] * 1900}}


def bytes_per_cached_token(
    count: int,
    cache_size: int | None = None,
    claims: Callable[[], dict[str, object]] = realistic_claims,
    cache_bytes: int | None = None,
) -> tuple[float, float, int, int, int]:
    """Memory the cache holds per token after ``count`` distinct tokens.

    Returns the bytes measured per cached token, the bytes the byte budget
    counts per token, the token's length, the most tokens held at once and
    the total measured bytes. With ``cache_size`` (or ``cache_bytes``) below
    what ``count`` tokens need this shows the bound.
    """
    tokens = TokenFactory("HS256", clock=lambda: NOW)
    minted = [tokens.token(sub=f"user-{i:07d}", **claims()) for i in range(count)]
    options = {} if cache_bytes is None else {"cache_bytes": cache_bytes}
    gate = Gate(issuers=[tokens.issuer_config()], cache_size=cache_size or count, **options)
    views = [{"Authorization": f"Bearer {t}"} for t in minted]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    largest = 0
    for headers in views:
        gate.authenticate(headers=headers)
        largest = max(largest, gate.cache_size)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    held = gate.cache_size
    return (
        (after - before) / held,
        gate.cached_bytes / held,
        len(minted[0]),
        largest,
        after - before,
    )


#: The providers' token shapes (``TokenFactory.auth0()`` …) and a subject each would issue.
PRESETS = {
    "netlify": lambda n: f"{uuid.UUID(int=n)}",
    "privy": lambda n: f"did:privy:cm{n:023x}",
    "auth0": lambda n: f"auth0|{n:024x}",
    "cognito": lambda n: f"{uuid.UUID(int=n)}",
    "keycloak": lambda n: f"{uuid.UUID(int=n)}",
    "firebase": lambda n: f"{n:028x}",
    "supabase": lambda n: f"{uuid.UUID(int=n)}",
    "clerk": lambda n: f"user_{n:027x}",
}


def carrier(source: Source) -> Callable[[str], dict[str, str]]:
    """How a request carries a token to ``source``: its headers."""
    if isinstance(source, CookieSource):
        return lambda token: {"Cookie": f"{source.name}={token}"}
    if isinstance(source, HeaderSource):
        return lambda token: {source.name: token}
    return lambda token: {"Authorization": f"Bearer {token}"}


def preset_bytes(shape: str, count: int) -> tuple[float, float, int]:
    """Bytes per cached token for ``count`` users of a provider's preset, as its tokens are.

    Each token carries the provider's own claims (``jwtgate.testing.shapes``), an
    email, a name and roles where the provider keeps them. The keys come from a
    local JWKS server on 127.0.0.1 (the Netlify and Privy presets take theirs
    inline). Returns the bytes measured, the bytes the budget counts, the length.
    """
    factory = getattr(TokenFactory, shape)(clock=lambda: NOW)
    subject = PRESETS[shape]
    roles = ["org:admin"] if shape == "clerk" else ["admin", "editor"]
    minted = [
        factory.token(sub=subject(i), email=f"user{i}@example.com", name=f"User {i}", roles=roles)
        for i in range(count)
    ]
    with contextlib.ExitStack() as stack:
        options = {}
        if shape not in ("netlify", "privy"):
            options["jwks_url"] = stack.enter_context(factory.serve_jwks()).url
        # No byte budget: the bytes are measured here, not bounded (Keycloak's tokens, as
        # estimated, would leave 10,000 users a quarter over the default 64 MiB).
        gate = Gate(
            issuers=[factory.issuer_config(**options)],
            cache_size=count,
            cache_bytes=1 << 40,
            clock=lambda: NOW,
        )
        carry = carrier(gate.sources[0])
        assert gate.authenticate(headers=carry(minted[0])) is not None  # the keys fetched
        gate.clear_cache()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for token in minted:
            gate.authenticate(headers=carry(token))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        held = gate.cache_size
        assert held == count, f"{shape}: {held} of {count} tokens cached"
        return (after - before) / held, gate.cached_bytes / held, len(minted[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repetitions")
    parser.add_argument(
        "--memory", action="store_true", help="the memory lines alone (no timing: any machine)"
    )
    args = parser.parse_args()
    repeats, target = (3, 0.05) if args.quick else (7, 0.15)
    count = 10_000 if args.quick else 100_000

    print(f"jwtgate core benchmark · Python {sys.version.split()[0]} · PyJWT {jwt.__version__}")
    if not args.memory:
        print_timings(repeats, target)
    print_memory(count, 2_000 if args.quick else 10_000, 500 if args.quick else 2_000)


def print_timings(repeats: int, target: float) -> None:
    print(f"median of {repeats} interleaved repetitions; µs per authenticate() call\n")
    header = (
        f"{'alg':<7}{'token':>7}{'cache hit':>11}{'cache miss':>12}"
        f"{'jwt.decode':>12}{'miss/decode':>13}"
    )
    print(header)
    print("-" * len(header))
    for algorithm in ALGORITHMS:
        r = bench_algorithm(algorithm, repeats, target)
        print(
            f"{algorithm:<7}{int(r['chars']):>7}{r['hit'] * 1e6:>11.2f}{r['miss'] * 1e6:>12.1f}"
            f"{r['pyjwt'] * 1e6:>12.1f}{r['miss'] / r['pyjwt']:>12.2f}×"
        )


def print_memory(count: int, per_preset: int, hostile: int) -> None:
    """Bytes per cached token, per preset, the bounds: tracemalloc's counts, not times."""
    print()
    for cached in sorted({10_000, count}):
        per_token, counted, chars, largest, _total = bytes_per_cached_token(cached)
        print(
            f"memory: {per_token:,.0f} bytes per cached token with {cached:,} distinct "
            f"{chars}-char HS256 tokens cached (token text included); the byte budget "
            f"counts {counted:,.0f} ({counted / per_token:.2f}×)"
        )
    print()
    for shape in PRESETS:
        per_token, counted, chars = preset_bytes(shape, per_preset)
        print(
            f"preset {shape:<9}: {per_token:,.0f} bytes per cached {chars}-char token "
            f"({per_preset:,} users; token text included); the byte budget counts "
            f"{counted:,.0f} ({counted / per_token:.2f}×)"
        )
    print()
    bound = count // 10
    per_token, _counted, _chars, largest, _total = bytes_per_cached_token(
        count // 5, cache_size=bound
    )
    print(
        f"bound: {count // 5:,} distinct tokens through a gate with cache_size={bound:,}: "
        f"the cache never held more than {largest:,} ({per_token:,.0f} bytes each)"
    )
    per_token, counted, chars, largest, _total = bytes_per_cached_token(
        hostile, claims=hostile_claims, cache_bytes=1 << 40
    )
    print(
        f"hostile: {per_token:,.0f} bytes per cached {chars}-char token of 1,900 empty "
        f"objects (no byte budget); the budget counts {counted:,.0f} ({counted / per_token:.2f}×); "
        f"10,000 of them would hold {per_token * 10_000 / 2**30:.2f} GiB"
    )
    per_token, counted, _chars, largest, total = bytes_per_cached_token(
        hostile, claims=hostile_claims
    )
    print(
        f"hostile, default cache_bytes (64 MiB): {hostile:,} distinct such tokens, the cache "
        f"held at most {largest:,} of them, {total / 2**20:.1f} MiB measured"
    )


if __name__ == "__main__":
    main()
