"""What each piece of the ASGI middleware's cache hit costs, against a hand-written dict cache.

Run: ``python benchmarks/bench_asgi_pieces.py [--quick]``. Prints a table, asserts nothing.

The middleware's cache hit is rebuilt here piece by piece, each row adding one
piece to the row above it, around the smallest ASGI app, beside jwtgate's own
middleware and a hand-written pure ASGI middleware that caches users by their
raw ``Authorization`` value (``bench_asgi.DictCacheMiddleware``). Timing as in
``bench_asgi.py``: fresh header bytes per request, interleaved repetitions,
medians of same-repetition differences.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from bench_asgi import PLAIN, DictCacheMiddleware, PassThrough, make_scope, plain_app, run_n

from jwtgate import Gate
from jwtgate.asgi import GateMiddleware
from jwtgate.context import _current
from jwtgate.memo import TAIL
from jwtgate.testing import TokenFactory

App = Any


class Pieces:
    """jwtgate's hit path with only the first ``upto`` pieces (see ``PIECES``)."""

    def __init__(self, app: App, gate: Gate, memo: dict[bytes, Any], upto: int) -> None:
        self.app = app
        self.upto = upto
        self.memo = memo
        self.lookup, self.clock, self.is_revoked = gate.hit_check(on_loop=True)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        upto = self.upto
        raw: Any = None
        entry: Any = None
        if scope["type"] == "http" and scope["method"] != "OPTIONS":
            for name, value in scope["headers"]:
                if name == b"authorization":
                    raw = value if raw is None else False
        if upto >= 2:
            entry = self.memo.get(raw[-TAIL:])
            if entry is None or entry[0] != raw:
                raise AssertionError("not remembered")
        if upto >= 3:
            user = entry[3]
            cached = self.lookup(user.token)
            if (
                cached is None
                or cached[0] is not user
                or cached[1] <= self.clock()
                or (self.is_revoked is not None and self.is_revoked(user))
            ):
                raise AssertionError("not valid")
        if upto >= 4:
            scope = dict(scope)
            scope["user"] = entry[1].user
            scope["auth"] = entry[2]
            scope["jwtgate.error"] = None
        token = _current.set(entry[1]) if upto >= 5 else None
        try:
            if upto >= 6:
                started = False

                def tracking_send(message: Any) -> Any:
                    nonlocal started
                    started = True
                    return send(message)

                await self.app(scope, receive, tracking_send)
            else:
                await self.app(scope, receive, send)
        finally:
            if token is not None:
                _current.reset(token)


PIECES = [
    "+ find the Authorization header (a scan of the headers)",
    "+ the memo: the value's last 32 bytes looked up, the value compared",
    "+ the gate still vouches: cache entry, deadline, revocation",
    "+ a copy of the scope with user, auth and jwtgate.error",
    "+ the request's auth made current for the decorators (ContextVar)",
    "+ send watched, so that an AuthError from the app still becomes a 401",
]


async def measure(repeats: int, target: float) -> None:
    tokens = TokenFactory("RS256")
    token = tokens.token(sub="user-1", roles=["admin", "editor"])
    gate = Gate(issuers=[tokens.issuer_config()])
    real = GateMiddleware(plain_app, gate)
    scope = make_scope(token)
    await run_n(real, scope, 50)  # the user is verified and remembered
    memo = real._memo.entries
    apps: dict[str, App] = {
        PLAIN: plain_app,
        "+ a do-nothing middleware": PassThrough(plain_app),
        **{piece: Pieces(plain_app, gate, memo, n) for n, piece in enumerate(PIECES, 1)},
        "jwtgate's GateMiddleware": real,
        "(ref) a hand-written dict-cache middleware": DictCacheMiddleware(
            plain_app, {b"Bearer " + token.encode(): (object(), time.time() + 3600)}
        ),
    }
    counts = {}
    for name, app in apps.items():
        await run_n(app, scope, 200)
        counts[name] = max(200, int(target / (await run_n(app, scope, 1000) / 1e6)))
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(repeats):
        for name, app in apps.items():
            times[name].append(await run_n(app, scope, counts[name]))
    names = list(apps)
    print(f"{'piece (each row adds to the one above)':<72}{'µs/req':>8}{'Δ µs':>8}{'total':>8}")
    for index, name in enumerate(names):
        med = statistics.median(times[name])
        previous = names[index - 1] if 0 < index <= len(PIECES) + 1 else PLAIN
        step = statistics.median(a - b for a, b in zip(times[name], times[previous], strict=True))
        total = statistics.median(a - b for a, b in zip(times[name], times[PLAIN], strict=True))
        shown = f"{step:+8.2f}" if name != PLAIN and index <= len(PIECES) + 1 else f"{'':>8}"
        print(f"{name:<72}{med:8.2f}{shown}{total:+8.2f}")
    added = [a - p for a, p in zip(times["jwtgate's GateMiddleware"], times[PLAIN], strict=True)]
    reference = [
        a - p
        for a, p in zip(
            times["(ref) a hand-written dict-cache middleware"], times[PLAIN], strict=True
        )
    ]
    ratio = statistics.median(a / r for a, r in zip(added, reference, strict=True))
    print(f"\njwtgate's hit adds {ratio:.2f}× what the hand-written dict-cache middleware adds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 short repetitions")
    args = parser.parse_args()
    repeats, target = (3, 0.05) if args.quick else (15, 0.1)
    asyncio.run(measure(repeats, target))


if __name__ == "__main__":
    main()
