"""CPU instructions per cache miss and per refusal, counted by valgrind: steady on a noisy machine.

Run: ``python benchmarks/bench_instructions.py`` (needs ``valgrind``: ``apt-get
install valgrind``; about three minutes).

Time on a shared machine moves by tens of per cent from one round to the next,
more than a change of a few per cent in what a miss costs. The number of
instructions a CPU runs for the same work does not: this script runs each case
in its own process under callgrind and subtracts a baseline process that does
everything but the measured calls (the same tokens minted, the same gate
warmed). Each row is a median of ``--runs`` runs (one by default: a count moves
by about one per cent from one run to the next). Instructions are not time
(a cache miss of the CPU costs more than an add), so read the ratios beside
``bench_miss.py``'s, not instead of them.

Cases: the strict parse of the claims alone; an HS256 cache miss and its
floor (the base64url decoding and the HMAC-SHA256 of the same tokens); a
refusal of an untrusted issuer, which reads the claims, and its floor (the
base64url decoding); a refusal on the header alone (an algorithm the issuer
does not allow), and its floor. The parse, the miss and the refusal run with jiter (the
``speedups`` extra) where it is installed, and with the standard library's
strict decoder alone.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from bench_core import realistic_claims
from bench_miss import authenticate, b64_floor, minted, refuse, signature_floor

import jwtgate.jws
import jwtgate.speedups
from jwtgate import Gate
from jwtgate.testing import TokenFactory

CASES = {
    "none": "(the baseline: everything but the calls)",
    "parse": "parse the claims (strict, frozen)",
    "miss": "HS256 cache miss",
    "floor": "  its floor: base64url + HMAC-SHA256",
    "untrusted-issuer": "refusal: untrusted issuer",
    "base64": "  its floor: base64url decoding",
    "algorithm": "refusal: algorithm not allowed",
    "base64-algorithm": "  its floor: base64url decoding",
}
NOW = time.time()


def calls(case: str, count: int) -> list[Callable[[], object]]:
    """The calls one process makes for ``case``; every case mints the same tokens."""
    tokens = TokenFactory("HS256", clock=lambda: NOW)
    gate = Gate(issuers=[tokens.issuer_config()], clock=lambda: NOW)
    fresh = minted(tokens, count, "m")
    payloads = [jwtgate.jws.parse_parts(t, 32)[1] for t in fresh]
    marks = [jwtgate.jws.json_marks(p) for p in payloads]
    elsewhere = [
        tokens.token(sub=f"{i:06d}", iss="https://elsewhere.test/", **realistic_claims())
        for i in range(count)
    ]
    # Signed with ES256 for an issuer that allows HS256 alone: refused on its header (not
    # RS256: making an RSA key takes a number of instructions that varies by millions).
    other_alg = TokenFactory("ES256", issuer=tokens.issuer, kid=tokens.kid)
    refused_alg = [other_alg.token(sub=f"{i:06d}", **realistic_claims()) for i in range(count)]
    for token in minted(tokens, 20, "warm"):  # the imports and first-call costs, outside
        gate.authenticate(headers={"Authorization": f"Bearer {token}"})

    made: dict[str, list[Callable[[], object]]] = {
        "none": [],
        "parse": [
            functools.partial(jwtgate.jws.parse_claims, p, marks=m)
            for p, m in zip(payloads, marks, strict=True)
        ],
        "miss": [authenticate(gate, t) for t in fresh],
        "floor": [signature_floor("HS256", t, tokens.secret) for t in fresh],
        "untrusted-issuer": [refuse(gate, t) for t in elsewhere],
        "base64": [b64_floor(t) for t in elsewhere],
        "algorithm": [refuse(gate, t) for t in refused_alg],
        "base64-algorithm": [b64_floor(t) for t in refused_alg],
    }
    return made[case]


def inner(case: str, count: int, parser: str) -> None:
    if parser == "stdlib":
        jwtgate.speedups.parse = None
    for call in calls(case, count):
        call()


def counted(valgrind: str, case: str, count: int, parser: str) -> int:
    """Instructions one process runs for ``case`` under callgrind (hash seed fixed)."""
    done = subprocess.run(
        [
            *(valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null"),
            *(sys.executable, __file__, "--inner", case, "--count", str(count), "--parser", parser),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"bench_instructions: {case} failed under valgrind: {tail[0]}")
    return int(found.group(1))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=400, help="calls per process (400)")
    parser.add_argument("--runs", type=int, default=1, help="processes per case, for a median (1)")
    parser.add_argument("--inner", choices=list(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--parser", choices=["jiter", "stdlib"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.count < 1 or args.runs < 1:
        parser.error("--count and --runs must be at least 1")
    if args.inner:
        inner(args.inner, args.count, args.parser)
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("bench_instructions: valgrind is not installed (apt-get install valgrind)")
    parsers = ["stdlib"] if jwtgate.speedups.parse is None else ["jiter", "stdlib"]
    print(
        f"instructions per call (valgrind callgrind), HS256, realistic claims; {args.count} calls "
        f"a process, median of {args.runs} processes; Python {sys.version.split()[0]}"
    )
    if parsers == ["stdlib"]:
        print("jiter (the speedups extra) is not installed: the standard library's decoder alone")
    parsed = ("parse", "miss", "untrusted-issuer")  # the cases a JSON parser takes part in
    runs: dict[tuple[str, str], list[int]] = {}
    for _ in range(args.runs):
        for case in CASES:
            for parser_name in parsers if case in parsed else parsers[:1]:
                count = counted(valgrind, case, args.count, parser_name)
                runs.setdefault((case, parser_name), []).append(count)
    baseline = statistics.median(runs[("none", parsers[0])])
    per_call = {
        (case, parser_name): (statistics.median(counts) - baseline) / args.count
        for (case, parser_name), counts in runs.items()
    }
    for case in CASES:
        for parser_name in parsers:
            per_call.setdefault((case, parser_name), per_call[(case, parsers[0])])
    floors = {"miss": "floor", "untrusted-issuer": "base64", "algorithm": "base64-algorithm"}
    header = f"{'case':<40}" + "".join(f"{p:>12}{'× floor':>10}" for p in parsers)
    if len(parsers) == 2:
        header += f"{'jiter/stdlib':>14}"
    print("\n" + header + "\n" + "-" * len(header))
    for case, label in list(CASES.items())[1:]:
        row = f"{label:<40}"
        for parser_name in parsers:
            value = per_call[(case, parser_name)]
            ratio = value / per_call[(floors[case], parser_name)] if case in floors else None
            row += f"{value:>12,.0f}" + (f"{ratio:>9.2f}×" if ratio else f"{'':>10}")
        if len(parsers) == 2 and case in parsed:
            row += f"{per_call[(case, 'jiter')] / per_call[(case, 'stdlib')]:>13.2f}×"
        print(row.rstrip())


if __name__ == "__main__":
    main()
