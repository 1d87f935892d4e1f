"""The adapters' cache hit, this checkout against another revision, in one process.

    python benchmarks/bench_hit_compare.py --baseline /path/to/other/checkout [--reps 41]

``--baseline`` is a directory holding another revision's ``jwtgate`` package
(``git worktree add``, or ``git archive main | tar -x -C DIR``); it is loaded
beside this one as ``jwtgate_baseline``, so both run in one process, in
interleaved repetitions, under the same noise. Timed: each version's WSGI
and ASGI middleware around the smallest app on a cache hit (HS256, the
request loops of ``bench_wsgi.py`` and ``bench_asgi.py``), and this version
with each observer and revocation store of ``_observers.py``. Each delta is
the median of per-repetition deltas against the baseline's hit; the min
column is each case's fastest repetition, the least disturbed on a shared
machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import statistics
import sys
from pathlib import Path
from types import ModuleType

from _observers import observed_gates
from bench_asgi import make_scope, run_n
from bench_asgi import plain_app as asgi_plain_app
from bench_wsgi import PLAIN_BARE, Case
from bench_wsgi import plain_app as wsgi_plain_app

import jwtgate
from jwtgate.asgi import GateMiddleware as ASGIMiddleware
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware as WSGIMiddleware


def load_baseline(root: Path) -> ModuleType:
    """``root/jwtgate`` imported as the package ``jwtgate_baseline`` (its imports are relative)."""
    init = root / "jwtgate" / "__init__.py"
    if not init.exists():
        raise SystemExit(f"--baseline: {root} holds no jwtgate package")
    spec = importlib.util.spec_from_file_location(
        "jwtgate_baseline", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["jwtgate_baseline"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout")
    parser.add_argument("--reps", type=int, default=41, help="interleaved repetitions")
    parser.add_argument("--seconds", type=float, default=0.04, help="per case and repetition")
    args = parser.parse_args()

    base = load_baseline(args.baseline.resolve())
    tokens = TokenFactory("HS256")
    token = tokens.token(sub="user-1", roles=["admin"], email="a@example.com")
    issuer = {"algorithms": ["HS256"], "audience": tokens.audience, "secret": tokens.secret}
    base_gate = base.Gate(issuers=[base.Issuer(tokens.issuer, **issuer)])
    gate = jwtgate.Gate(issuers=[jwtgate.Issuer(tokens.issuer, **issuer)])
    base_wsgi = importlib.import_module("jwtgate_baseline.wsgi").GateMiddleware
    base_asgi = importlib.import_module("jwtgate_baseline.asgi").GateMiddleware

    wsgi = {
        "baseline hit": Case("b", base_wsgi(wsgi_plain_app, base_gate), token, None),
        "this hit": Case("t", WSGIMiddleware(wsgi_plain_app, gate), token, None),
        **{
            f"this hit {label}": Case(label, WSGIMiddleware(wsgi_plain_app, observed), token, None)
            for label, observed in observed_gates(tokens).items()
        },
        PLAIN_BARE: Case(PLAIN_BARE, wsgi_plain_app, token, None),
    }
    asgi = {
        "baseline hit": base_asgi(asgi_plain_app, base_gate),
        "this hit": ASGIMiddleware(asgi_plain_app, gate),
        **{
            f"this hit {label}": ASGIMiddleware(asgi_plain_app, observed)
            for label, observed in observed_gates(tokens).items()
        },
        "(alone) a plain ASGI app": asgi_plain_app,
    }
    scope = make_scope(token)

    for case in wsgi.values():
        case.check()
        case.run(500)
    wsgi_counts = {name: max(200, int(args.seconds / c.run(1000))) for name, c in wsgi.items()}

    async def asgi_counts() -> dict[str, int]:
        counts = {}
        for name, app in asgi.items():
            await run_n(app, scope, 500)
            counts[name] = max(200, int(args.seconds / (await run_n(app, scope, 1000) / 1e6)))
        return counts

    counts_asgi = asyncio.run(asgi_counts())
    wsgi_times: dict[str, list[float]] = {name: [] for name in wsgi}
    asgi_times: dict[str, list[float]] = {name: [] for name in asgi}

    async def asgi_round() -> None:
        for name, app in asgi.items():
            asgi_times[name].append(await run_n(app, scope, counts_asgi[name]))

    for _ in range(args.reps):
        for name, case in wsgi.items():
            wsgi_times[name].append(case.run(wsgi_counts[name]) * 1e6)
        asyncio.run(asgi_round())

    load = os.getloadavg()[0]
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {load:.1f}; "
        f"baseline {args.baseline}; {args.reps} interleaved repetitions; µs per request"
    )
    for title, times in (("WSGI (alone)", wsgi_times), ("ASGI (alone)", asgi_times)):
        reference = times["baseline hit"]
        print(f"\n{title:44s} {'median':>8s} {'min':>8s} {'Δ median':>9s} {'Δ min':>8s}")
        for name, samples in times.items():
            delta = statistics.median(a - b for a, b in zip(samples, reference, strict=True))
            print(
                f"{name:44s} {statistics.median(samples):8.3f} {min(samples):8.3f} "
                f"{delta:+9.3f} {min(samples) - min(reference):+8.3f}"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
