"""Remote keys under load: fetch counts and per-request costs. Prints numbers, asserts nothing.

    .venv/bin/python benchmarks/bench_remote.py

Everything runs against the real local JWKS server (127.0.0.1, a port the
system picks) with a 50 ms answer delay standing in for a provider's latency.
The key source's clock is fake where a cooldown or a cache lifetime must pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import threading
import time
from collections.abc import Callable

from jwtgate import Gate, InvalidSignature, InvalidToken
from jwtgate.remote import RemoteKeys, RemoteOptions
from jwtgate.testing import TokenFactory
from jwtgate.testing.jwks_server import JWKS_PATH, JWKSServer

LATENCY = 0.05
CONCURRENT = 50
STORM = 1000
ROUNDS = 2000


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def gate_for(tokens: TokenFactory, server: JWKSServer, clock: Clock | None = None) -> Gate:
    options = RemoteOptions(clock=clock) if clock else RemoteOptions()
    # cache_size=0: every request verifies, so the numbers are the verification path.
    return Gate(
        issuers=[tokens.issuer_config(jwks_url=server.url, remote=options)],
        cache_size=0,
    )


def per_call_us(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds // 5):
            fn()
        samples.append((time.perf_counter() - start) / (rounds // 5))
    return statistics.median(samples) * 1e6


def first_requests_threads(tokens: TokenFactory) -> None:
    with tokens.serve_jwks() as server:
        server.delay = LATENCY
        gate = gate_for(tokens, server)
        headers = [tokens.headers(sub=f"u{n}") for n in range(CONCURRENT)]
        barrier = threading.Barrier(CONCURRENT)
        ok = []

        def worker(n: int) -> None:
            barrier.wait()
            ok.append(gate.authenticate(headers=headers[n]) is not None)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONCURRENT)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        print(
            f"{CONCURRENT} concurrent first requests, threads: {server.count(JWKS_PATH)} fetch, "
            f"{sum(ok)}/{CONCURRENT} verified, {elapsed * 1000:.0f} ms in all"
        )


def first_requests_asyncio(tokens: TokenFactory) -> None:
    with tokens.serve_jwks() as server:
        server.delay = LATENCY
        gate = gate_for(tokens, server)
        headers = [tokens.headers(sub=f"u{n}") for n in range(CONCURRENT)]

        async def main() -> tuple[int, int, float]:
            ticks = 0
            stop = asyncio.Event()

            async def ticker() -> None:
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1
                    await asyncio.sleep(0.001)

            task = asyncio.create_task(ticker())
            start = time.perf_counter()
            users = await asyncio.gather(*(gate.authenticate_async(headers=h) for h in headers))
            elapsed = time.perf_counter() - start
            stop.set()
            await task
            return sum(u is not None for u in users), ticks, elapsed

        verified, ticks, elapsed = asyncio.run(main())
        print(
            f"{CONCURRENT} concurrent first requests, asyncio: {server.count(JWKS_PATH)} fetch, "
            f"{verified}/{CONCURRENT} verified, {elapsed * 1000:.0f} ms in all, "
            f"event loop ticked {ticks} times meanwhile (1 ms ticker)"
        )


def unknown_kid_storm(tokens: TokenFactory) -> None:
    clock = Clock()
    with tokens.serve_jwks() as server:
        gate = gate_for(tokens, server, clock)
        gate.authenticate(headers=tokens.headers())
        clock.now += 30  # the cooldown has passed: the storm may cause one refetch
        storm = [tokens.token(headers={"kid": secrets.token_hex(8)}) for _ in range(STORM)]
        before = server.count(JWKS_PATH)
        refused = 0
        start = time.perf_counter()
        for token in storm:
            try:
                gate.authenticate(headers={"Authorization": f"Bearer {token}"})
            except InvalidSignature:
                refused += 1
        elapsed = time.perf_counter() - start
        fetched = server.count(JWKS_PATH) - before
        # The same rejection once no refetch can happen (still in the cooldown).
        kid_miss = storm[1:]
        index = iter(range(10**9))

        def reject_unknown_kid() -> None:
            token = kid_miss[next(index) % len(kid_miss)]
            with contextlib.suppress(InvalidSignature):
                gate.authenticate(headers={"Authorization": f"Bearer {token}"})

        bad_signature = tokens.wrong_signature()
        foreign = tokens.wrong_issuer()

        def reject_foreign_issuer() -> None:
            with contextlib.suppress(InvalidToken):
                gate.authenticate(headers={"Authorization": f"Bearer {foreign}"})

        def reject_bad_signature() -> None:
            with contextlib.suppress(InvalidSignature):
                gate.authenticate(headers={"Authorization": f"Bearer {bad_signature}"})

        good = {"Authorization": f"Bearer {tokens.token()}"}
        verify_us = per_call_us(lambda: gate.authenticate(headers=good))
        print(
            f"{STORM} requests with random unknown kids: {fetched} fetch, {refused} refused "
            f"(401), {elapsed * 1000:.0f} ms in all, {elapsed / STORM * 1e6:.1f} µs a request"
        )
        print(
            "  unknown-kid rejection (no fetch, no signature check): "
            f"{per_call_us(reject_unknown_kid):.1f} µs; untrusted iss (the signature-free "
            f"rejection floor): {per_call_us(reject_foreign_issuer):.1f} µs;\n"
            f"  known kid, bad signature: {per_call_us(reject_bad_signature):.1f} µs; "
            f"valid token, full verify: {verify_us:.1f} µs"
        )


def request_during_refresh(tokens: TokenFactory) -> None:
    clock = Clock()
    with tokens.serve_jwks() as server:
        gate = gate_for(tokens, server, clock)
        good = {"Authorization": f"Bearer {tokens.token()}"}
        gate.authenticate(headers=good)
        idle = per_call_us(lambda: gate.authenticate(headers=good))
        cached_gate = Gate(issuers=gate.issuers)
        cached_gate.authenticate(headers=good)
        cached_idle = per_call_us(lambda: cached_gate.authenticate(headers=good), 20_000)
        server.delay = 5.0  # a slow provider: the refetch stays in flight throughout
        clock.now += 600
        keys = gate.issuers[0].keys
        assert isinstance(keys, RemoteKeys)
        start = time.perf_counter()
        gate.authenticate(headers=good)  # serves the stale set, starts the background refetch
        trigger = (time.perf_counter() - start) * 1e6
        in_flight = per_call_us(lambda: gate.authenticate(headers=good))
        cached_in_flight = per_call_us(lambda: cached_gate.authenticate(headers=good), 20_000)
        still = keys.fetching
        print(
            f"request during a refetch (provider taking 5 s): the request that starts it "
            f"{trigger:.0f} µs; verify {in_flight:.1f} µs (idle: {idle:.1f} µs); "
            f"cache hit {cached_in_flight:.2f} µs (idle: {cached_idle:.2f} µs); "
            f"refetch still in flight: {still}"
        )


def main() -> None:
    tokens = TokenFactory("ES256")
    print(f"remote keys, ES256, local JWKS server answering after {LATENCY * 1000:.0f} ms")
    first_requests_threads(tokens)
    first_requests_asyncio(tokens)
    unknown_kid_storm(tokens)
    request_during_refresh(tokens)


if __name__ == "__main__":
    main()
