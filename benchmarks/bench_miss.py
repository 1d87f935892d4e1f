"""A token's first request, and refusals, against the cryptography they cannot avoid.

Run: ``python benchmarks/bench_miss.py`` (add ``--quick`` for a short run).

A cache miss is ``Gate.authenticate`` on a token the gate has not seen: every
new user's first request, every worker's start. Its floor is what any
verifier must do for that token: for HS256 the base64url decoding of its
three segments and the HMAC-SHA256 (``hmac.digest``, the standard library's
one-shot C function), for the others the signature check by
``cryptography`` alone, with its padding and hash objects made beforehand.
A refusal that needs no signature check (malformed, untrusted issuer,
unknown ``kid``, an algorithm the issuer does not allow) is set against the
base64url decoding of the same token. A refusal sent again is set against a
cache hit.

Times are CPU time of this thread (``time.thread_time``), not wall-clock:
on a shared machine another process's work then does not count, though it
still slows this one through the caches. Cases run interleaved in one
process (round 1 of every case, then round 2 …), every round on tokens not
seen before, and each ratio is the median of the rounds' ratios.

Where jiter (the ``speedups`` extra) is installed, misses and refusals are
measured with it and, interleaved in the same rounds, with the standard
library's strict decoder alone (the "stdlib" columns).
"""

from __future__ import annotations

import argparse
import base64
import hmac
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import jwt
from _common import paired_ratio, spread
from bench_core import realistic_claims
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import jwtgate.jws
import jwtgate.speedups
from jwtgate import AuthError, Gate
from jwtgate.testing import TokenFactory

NOW = time.time()
#: The targets: a miss within this many times its floor.
TARGETS = {"HS256": 4.0, "RS256": 1.6, "ES256": 1.3, "EdDSA": 1.3}
REFUSAL_TARGET = 3.0
STDLIB_STEP = "  the same, the standard library's decoder alone"


@contextmanager
def strict_decoder_only() -> Iterator[None]:
    """The standard library's decoder alone parses JSON, as without the speedups extra."""
    fast = jwtgate.speedups.parse
    jwtgate.speedups.parse = None
    try:
        yield
    finally:
        jwtgate.speedups.parse = fast


def parser_in_use() -> str:
    if jwtgate.speedups.parse is None:
        return "the standard library's json (jiter, the speedups extra, is not installed)"
    import jiter

    return f"jiter {jiter.__version__}, the speedups extra (stdlib: the standard library's alone)"


def cpu_per_call(calls: Sequence[Callable[[], object]]) -> float:
    """CPU seconds per call, each callable called once, in order."""
    started = time.thread_time()
    for call in calls:
        call()
    return (time.thread_time() - started) / len(calls)


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64_floor(token: str) -> Callable[[], object]:
    """The base64url decoding of a token's three segments, as anyone would write it."""

    def floor() -> object:
        header, payload, signature = token.split(".")
        return _b64(header), _b64(payload), _b64(signature)

    return floor


def signature_floor(algorithm: str, token: str, key: Any) -> Callable[[], object]:
    """The cryptography a token's verification cannot avoid."""
    signing_input = token[: token.rindex(".")].encode()
    signature = _b64(token.rsplit(".", 1)[1])
    if algorithm == "HS256":

        def hs256() -> object:
            header, payload, sig = token.split(".")
            _b64(header), _b64(payload)
            expected = hmac.digest(key, token[: token.rindex(".")].encode(), "sha256")
            return hmac.compare_digest(expected, _b64(sig))

        return hs256
    if algorithm == "RS256":
        pad, hash_ = padding.PKCS1v15(), hashes.SHA256()
        return lambda: key.verify(signature, signing_input, pad, hash_)
    if algorithm == "ES256":
        scheme = ec.ECDSA(hashes.SHA256())

        def es256() -> object:
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            return key.verify(encode_dss_signature(r, s), signing_input, scheme)

        return es256
    return lambda: key.verify(signature, signing_input)


def pyjwt_decode(token: str, key: Any, algorithm: str, issuer: str | None) -> Callable[[], object]:
    """PyJWT's ``jwt.decode`` with the same checks, for reference."""
    options: Any = {"require": ["exp"]}
    return lambda: jwt.decode(
        token, key, algorithms=[algorithm], audience="api", issuer=issuer, options=options
    )


def authenticate(gate: Gate, token: str) -> Callable[[], object]:
    headers = {"Authorization": f"Bearer {token}"}
    return lambda: gate.authenticate(headers=headers)


def refuse(gate: Gate, token: str) -> Callable[[], object]:
    headers = {"Authorization": f"Bearer {token}"}

    def call() -> object:
        try:
            gate.authenticate(headers=headers)
        except AuthError as error:
            return error
        raise AssertionError("the token was accepted")

    return call


def minted(tokens: TokenFactory, count: int, tag: str) -> list[str]:
    return [
        tokens.token(sub=f"{tag}-{i:06d}-2222-3333-444455556666", **realistic_claims())
        for i in range(count)
    ]


def bench_misses(rounds: int, count: int) -> None:
    print(
        "cache miss: µs of CPU per authenticate() on a token not seen before "
        f"(median of {rounds} rounds of {count} distinct tokens)\n"
    )
    header = (
        f"{'alg':<7}{'token':>7}{'miss':>9}{'stdlib':>9}{'floor':>9}{'jwt.decode':>12}"
        f"{'miss/floor':>12}{'stdlib/floor':>14}{'target':>8}{'  spread':>14}{'miss/stdlib':>13}"
    )
    print(header)
    print("-" * len(header))
    for algorithm, target in TARGETS.items():
        tokens = TokenFactory(algorithm, clock=lambda: NOW)
        issuer = tokens.issuer_config()
        key = tokens.secret if algorithm == "HS256" else tokens.public_key
        misses, stricts, floors, decodes, ratios = [], [], [], [], []
        for round_ in range(rounds + 1):
            fresh = minted(tokens, count, f"r{round_}")
            gate = Gate(issuers=[issuer], clock=lambda: NOW)
            miss = cpu_per_call([authenticate(gate, t) for t in fresh])
            others = minted(tokens, count, f"s{round_}")
            with strict_decoder_only():
                strict = cpu_per_call([authenticate(gate, t) for t in others])
            floor = cpu_per_call([signature_floor(algorithm, t, key) for t in fresh])
            decode = cpu_per_call([pyjwt_decode(t, key, algorithm, tokens.issuer) for t in fresh])
            if round_ == 0:
                continue  # a warm-up: the first round fills the interpreter's caches
            misses.append(miss)
            stricts.append(strict)
            floors.append(floor)
            decodes.append(decode)
            ratios.append(miss / floor)
        print(
            f"{algorithm:<7}{len(fresh[0]):>7}{statistics.median(misses) * 1e6:>9.1f}"
            f"{statistics.median(stricts) * 1e6:>9.1f}"
            f"{statistics.median(floors) * 1e6:>9.1f}{statistics.median(decodes) * 1e6:>12.1f}"
            f"{statistics.median(ratios):>11.2f}×{paired_ratio(stricts, floors):>13.2f}×"
            f"{target:>7.1f}×{spread(ratios):>14}{paired_ratio(misses, stricts):>12.2f}×"
        )


def bench_full_cache(rounds: int, count: int) -> None:
    """A miss in a busy server's steady state: the cache is full, so every miss evicts."""
    size = 10_000  # the gate's default cache_size
    print(
        f"\na miss with the cache full ({size:,} tokens, each miss evicting the oldest) "
        "against one with the cache nearly empty, HS256\n"
    )
    tokens = TokenFactory("HS256", clock=lambda: NOW)
    issuer = tokens.issuer_config()
    full = Gate(issuers=[issuer], clock=lambda: NOW, cache_size=size)
    # Filled, then churned as long again: the steady state of a server whose users come and go.
    for token in minted(tokens, 3 * size, "fill"):
        full.authenticate(headers={"Authorization": f"Bearer {token}"})
    ratios, at_capacity, empty_misses = [], [], []
    for round_ in range(rounds + 1):
        fresh = minted(tokens, count, f"full{round_}")
        again = minted(tokens, count, f"empty{round_}")
        empty = Gate(issuers=[issuer], clock=lambda: NOW, cache_size=size)
        took_full = cpu_per_call([authenticate(full, t) for t in fresh])
        took_empty = cpu_per_call([authenticate(empty, t) for t in again])
        if round_ == 0:
            continue
        at_capacity.append(took_full)
        empty_misses.append(took_empty)
        ratios.append(took_full / took_empty)
    assert len(full._cache) == size  # the benchmark measured what it says
    print(f"{'cache':<24}{'miss µs':>9}")
    print(f"{'nearly empty':<24}{statistics.median(empty_misses) * 1e6:>9.1f}")
    print(
        f"{'full, evicting':<24}{statistics.median(at_capacity) * 1e6:>9.1f}"
        f"   ({statistics.median(ratios):.2f}× the miss in a nearly empty cache)"
    )


def refusal_cases(tokens: TokenFactory, fresh: list[str]) -> dict[str, list[str]]:
    """Tokens refused without a signature check, made beside the round's fresh tokens.

    The malformed ones cannot be decoded: their floor is that of the tokens they were
    made from, of the same length.
    """
    stranger = TokenFactory(tokens.algorithm, issuer=tokens.issuer, kid="not-a-known-kid")
    other_alg = TokenFactory("HS256", issuer=tokens.issuer, kid=tokens.kid)
    count = len(fresh)

    def made(factory: TokenFactory, **claims: Any) -> list[str]:
        return [factory.token(sub=f"{i:06d}", **claims, **realistic_claims()) for i in range(count)]

    return {
        "malformed: a segment that is not JSON": [
            t[: t.index(".")] + ".bm90IGpzb24" + t[t.index(".", t.index(".") + 1) :] for t in fresh
        ],
        "malformed: not base64url (a 400 for Bearer)": [t[:40] + "!" + t[41:] for t in fresh],
        "untrusted issuer": made(tokens, iss="https://elsewhere.test/"),
        "unknown kid": made(stranger),
        "algorithm not allowed (HS256)": made(other_alg),
    }


def bench_refusals(rounds: int, count: int) -> None:
    print(
        "\nrefusals that need no signature check: µs of CPU per authenticate() on a token "
        "not seen before,\nagainst the base64url decoding of the same token; then the same "
        "tokens again (remembered), against a cache hit\n"
    )
    # Keys published with their kid (a JWKS), so that an unknown kid is known to be one.
    tokens = TokenFactory("ES256", clock=lambda: NOW)
    issuer = tokens.issuer_config(key=tokens.jwks())
    first: dict[str, list[float]] = {}
    again: dict[str, list[float]] = {}
    for round_ in range(rounds + 1):
        fresh = minted(tokens, count, f"r{round_}")
        cases = refusal_cases(tokens, fresh)
        stdlib_cases = refusal_cases(tokens, minted(tokens, count, f"s{round_}"))
        gate = Gate(issuers=[issuer], clock=lambda: NOW)
        for t in fresh:
            gate.authenticate(headers={"Authorization": f"Bearer {t}"})
        hit = cpu_per_call([authenticate(gate, t) for t in fresh])
        for name, refused in cases.items():
            took = cpu_per_call([refuse(gate, t) for t in refused])
            with strict_decoder_only():
                took_stdlib = cpu_per_call([refuse(gate, t) for t in stdlib_cases[name]])
            decodable = fresh if name.startswith("malformed") else refused
            floor = cpu_per_call([b64_floor(t) for t in decodable])
            repeated = cpu_per_call([refuse(gate, t) for t in refused])
            if round_ == 0:
                continue
            first.setdefault(name, []).append(took / floor)
            first.setdefault(name + " stdlib", []).append(took_stdlib / floor)
            again.setdefault(name, []).append(repeated / hit)
            first.setdefault(name + " µs", []).append(took)
            again.setdefault(name + " µs", []).append(repeated)
        if round_:
            again.setdefault("hit µs", []).append(hit)
    header = (
        f"{'refusal':<46}{'first':>8}{'× base64':>10}{'stdlib':>8}"
        f"{'target':>8}{'again':>8}{'× hit':>8}"
    )
    print(header)
    print("-" * len(header))
    for name in refusal_cases(tokens, minted(tokens, 1, "x")):
        print(
            f"{name:<46}{statistics.median(first[name + ' µs']) * 1e6:>8.2f}"
            f"{statistics.median(first[name]):>9.2f}×"
            f"{statistics.median(first[name + ' stdlib']):>7.2f}×{REFUSAL_TARGET:>7.1f}×"
            f"{statistics.median(again[name + ' µs']) * 1e6:>8.2f}"
            f"{statistics.median(again[name]):>7.2f}×"
        )
    print(f"{'(a cache hit)':<46}{'':>34}{statistics.median(again['hit µs']) * 1e6:>8.2f}")


def miss_steps(algorithm: str) -> dict[str, Callable[[], object]]:
    """Each step of a miss (``Gate._verify``) as a call of its own, on one token."""
    from jwtgate.jws import json_marks, parse_claims, parse_parts
    from jwtgate.sizes import entry_size
    from jwtgate.sources import MappingView

    tokens = TokenFactory(algorithm, clock=lambda: NOW)
    token = minted(tokens, 1, "piece")[0]
    gate = Gate(issuers=[tokens.issuer_config()], clock=lambda: NOW, cache_size=0)
    issuer = gate.issuers[0]
    headers = {"Authorization": f"Bearer {token}"}
    header, payload, signing_input, signature = parse_parts(token, 32)
    claims = parse_claims(payload)
    alg, kid = issuer.check_header(header)
    keys = issuer.keys.keys_for(kid, alg)
    user = issuer.make_user(claims, token, "bearer")
    key = tokens.secret if algorithm == "HS256" else tokens.public_key
    return {
        "find the token (a MappingView, the Bearer source)": lambda: gate.find_token(
            MappingView(headers, None)
        ),
        "split and decode the base64url segments (header known)": lambda: parse_parts(token, 32),
        "parse the claims (strict JSON, frozen)": lambda: parse_claims(
            payload, marks=json_marks(payload)
        ),
        STDLIB_STEP: lambda: parse_claims(payload, marks=json_marks(payload)),
        "the header's rules, the issuer's keys for it": lambda: (
            issuer.check_header(header),
            issuer.keys.keys_for(kid, alg),
        ),
        "the signature": lambda: issuer.check_signature(signing_input, signature, alg, keys),
        "the claims' checks": lambda: issuer.check_claims(claims, NOW),
        "the User": lambda: issuer.make_user(claims, token, "bearer"),
        "the size estimate for the cache": lambda: entry_size(user, payload, json_marks(payload)),
        "(the floor: the cryptography alone)": signature_floor(algorithm, token, key),
        "(all of it: authenticate() with the cache off)": lambda: gate.authenticate(
            headers=headers
        ),
    }


def bench_pieces(rounds: int) -> None:
    """Where a miss's time goes: each step alone, on one warm token, per algorithm."""
    print(
        "\na miss, step by step (µs of CPU per step, each alone on one token, warm; "
        f"median of {rounds} rounds)\n"
    )
    columns = list(TARGETS)
    steps: dict[str, dict[str, list[float]]] = {}
    for algorithm in columns:
        for name, call in miss_steps(algorithm).items():
            samples = steps.setdefault(name, {}).setdefault(algorithm, [])
            for _ in range(rounds):
                if name == STDLIB_STEP:
                    with strict_decoder_only():
                        samples.append(cpu_per_call([call] * 200))
                else:
                    samples.append(cpu_per_call([call] * 200))
    print(f"{'step':<58}" + "".join(f"{a:>8}" for a in columns))
    for name, by_alg in steps.items():
        values = "".join(f"{statistics.median(by_alg[a]) * 1e6:>8.2f}" for a in columns)
        print(f"{name:<58}{values}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, smaller rounds")
    args = parser.parse_args(argv)
    rounds, count = (3, 100) if args.quick else (9, 400)
    print(
        f"jwtgate cache-miss benchmark · Python {sys.version.split()[0]} · PyJWT {jwt.__version__}"
    )
    print(f"JSON: {parser_in_use()}")
    bench_misses(rounds, count)
    bench_full_cache(rounds, count)
    bench_pieces(rounds)
    bench_refusals(rounds, count)


if __name__ == "__main__":
    main()
