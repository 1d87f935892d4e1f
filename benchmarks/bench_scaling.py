"""How a cache miss and a cache hit scale with what a gate holds and what a token carries.

Run: ``python benchmarks/bench_scaling.py [--quick]``. Prints a table, asserts nothing.

Each dimension is varied alone, everything else as in ``bench_miss.py``
(HS256, the realistic claims of ``bench_core.realistic_claims``):

- issuers in the gate (1, 5, 20): the token's is the last one configured;
- keys in the issuer's JWKS (1, 10, 100; ES256, each with its ``kid``): the
  token's key is the last one;
- roles in the token (1, 100);
- path rules (0, 100; the 100-line ``_redirects`` table of ``bench_rules.py``),
  through the WSGI adapter, for a path none of them matches.

A miss is ``Gate.authenticate`` on a token not seen before (the adapter's
first request of it, for path rules), a hit the same token again. CPU time
of this thread per call, the median of interleaved rounds; "× first" is the
median of same-round ratios to the dimension's first value.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench_core import realistic_claims
from bench_miss import cpu_per_call
from bench_rules import rule_table_text

from jwtgate import Gate, Issuer
from jwtgate.netlify import redirect_rules
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware

NOW = time.time()


class Case:
    """One value of one dimension: how to make fresh tokens and how to present one."""

    def __init__(
        self,
        mint: Callable[[int, str], str],
        call: Callable[[str], Callable[[], object]],
        fresh_target: Callable[[], Callable[[str], Callable[[], object]]],
    ) -> None:
        self.mint = mint
        self.call = call
        self.fresh_target = fresh_target


def through_gate(
    make_gate: Callable[[], Gate],
) -> Callable[[], Callable[[str], Callable[[], object]]]:
    def target() -> Callable[[str], Callable[[], object]]:
        gate = make_gate()

        def present(token: str) -> Callable[[], object]:
            headers = {"Authorization": f"Bearer {token}"}

            def call() -> object:
                user = gate.authenticate(headers=headers)
                assert user is not None
                return user

            return call

        return present

    return target


def wsgi_plain(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _start_response(status: str, headers: Any, exc_info: Any = None) -> None:
    assert status.startswith("200"), status


def through_wsgi(
    make_gate: Callable[[], Gate], rules: Any
) -> Callable[[], Callable[[str], Callable[[], object]]]:
    def target() -> Callable[[str], Callable[[], object]]:
        middleware = GateMiddleware(wsgi_plain, make_gate(), rules=rules)

        def present(token: str) -> Callable[[], object]:
            value = f"Bearer {token}"

            def call() -> object:
                environ = {
                    "REQUEST_METHOD": "GET",
                    "PATH_INFO": "/nowhere/in/the/table",
                    "QUERY_STRING": "",
                    "SERVER_NAME": "testserver",
                    "SERVER_PORT": "80",
                    "wsgi.url_scheme": "http",
                    "HTTP_HOST": "testserver",
                    "HTTP_AUTHORIZATION": value,
                }
                return b"".join(middleware(environ, _start_response))

            return call

        return present

    return target


def dimensions() -> dict[str, dict[str, Case]]:
    found: dict[str, dict[str, Case]] = {}

    def hs_mint(factory: TokenFactory, **extra: Any) -> Callable[[int, str], str]:
        def mint(n: int, tag: str) -> str:
            claims = {**realistic_claims(), **extra}
            return factory.token(sub=f"{tag}-{n:06d}", **claims)

        return mint

    issuers = {}
    for count in (1, 5, 20):
        factories = [
            TokenFactory("HS256", issuer=f"https://issuer-{i}.test/", clock=lambda: NOW)
            for i in range(count)
        ]
        configs = [f.issuer_config(name=f"issuer-{i}") for i, f in enumerate(factories)]
        issuers[f"{count} issuers"] = Case(
            hs_mint(factories[-1]),
            lambda token: token,  # type: ignore[arg-type,return-value]
            through_gate(lambda configs=configs: Gate(issuers=configs, clock=lambda: NOW)),
        )
    found["issuers in the gate"] = issuers

    keys = {}
    for count in (1, 10, 100):
        signers = [TokenFactory("ES256", kid=f"key-{i}", clock=lambda: NOW) for i in range(count)]
        jwks = {"keys": [s.public_jwk() for s in signers]}
        issuer = Issuer(signers[-1].issuer, algorithms=["ES256"], audience="api", key=jwks)
        keys[f"{count} keys"] = Case(
            hs_mint(signers[-1]),
            lambda token: token,  # type: ignore[arg-type,return-value]
            through_gate(lambda issuer=issuer: Gate(issuers=[issuer], clock=lambda: NOW)),
        )
    found["keys in the JWKS (ES256)"] = keys

    roles = {}
    factory = TokenFactory("HS256", clock=lambda: NOW)
    for count in (1, 100):
        names = [f"role-{i:03d}" for i in range(count)]
        roles[f"{count} roles"] = Case(
            hs_mint(factory, roles=names),
            lambda token: token,  # type: ignore[arg-type,return-value]
            through_gate(lambda: Gate(issuers=[factory.issuer_config()], clock=lambda: NOW)),
        )
    found["roles in the token"] = roles

    rules = {}
    table = redirect_rules(rule_table_text())
    for label, given in (("no path rules", None), ("100 path rules", table)):
        rules[label] = Case(
            hs_mint(factory),
            lambda token: token,  # type: ignore[arg-type,return-value]
            through_wsgi(lambda: Gate(issuers=[factory.issuer_config()], clock=lambda: NOW), given),
        )
    found["path rules (WSGI adapter)"] = rules
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, smaller rounds")
    args = parser.parse_args()
    rounds, count = (3, 60) if args.quick else (9, 200)
    print(
        "µs of CPU per call: a miss (a token not seen before) and a hit (the same token again); "
        f"median of {rounds} rounds of {count} tokens\n"
    )
    header = f"{'dimension':<28}{'value':<16}{'miss':>8}{'× first':>9}{'hit':>8}{'× first':>9}"
    print(header)
    print("-" * len(header))
    for dimension, cases in dimensions().items():
        misses: dict[str, list[float]] = {name: [] for name in cases}
        hits: dict[str, list[float]] = {name: [] for name in cases}
        for round_ in range(rounds + 1):
            for name, case in cases.items():
                present = case.fresh_target()
                tokens = [case.mint(n, f"r{round_}") for n in range(count)]
                miss = cpu_per_call([present(t) for t in tokens])
                again = present(tokens[0])
                hit = cpu_per_call([again] * (count * 4))
                if round_:  # the first round warms up
                    misses[name].append(miss)
                    hits[name].append(hit)
        first = next(iter(cases))
        for name in cases:
            miss_ratio = statistics.median(
                a / b for a, b in zip(misses[name], misses[first], strict=True)
            )
            hit_ratio = statistics.median(
                a / b for a, b in zip(hits[name], hits[first], strict=True)
            )
            print(
                f"{dimension if name == first else '':<28}{name:<16}"
                f"{statistics.median(misses[name]) * 1e6:>8.1f}{miss_ratio:>8.2f}×"
                f"{statistics.median(hits[name]) * 1e6:>8.2f}{hit_ratio:>8.2f}×"
            )


if __name__ == "__main__":
    main()
