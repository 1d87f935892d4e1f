"""Cold start over real HTTP: N distinct users' first requests, every one a cache miss.

Run: ``python benchmarks/bench_coldstart.py [--quick] [--users 3000] [--rounds 3]``.
Needs the ``bench`` extra.

What a server pays when it starts, or when a crowd of new users arrives: each
request carries a token the server has never seen (RS256, signed for the
round, so no worker has it cached), and is verified in full. Two servers of
two workers each:

  gunicorn -k gthread -w 2 --threads 4  Flask bare | jwtgate | flask-jwt-extended
  uvicorn --workers 2, uvloop/httptools Starlette bare | jwtgate |
                                        AuthenticationMiddleware + PyJWT

The load: 8 connections from an asyncio client on raw sockets, each request
with the next token of the round's list, until every token was sent once
(gunicorn: a new connection per request, as in ``bench_http.py``); wrk cannot
stop after a given number of requests. Every response must be 2xx. The
server's CPU time (every thread of its processes, from ``/proc``, to the
nanosecond) over the run, per request, is the steady measure; req/s is noisy
on a shared machine. Rounds
are interleaved across the apps of a server, and the table gives medians and
same-round ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import get, group_cpu_seconds, median, paired_ratio, serve
from bench_http import environment

from jwtgate.testing import TokenFactory

PLAN = {
    "gunicorn": (
        "gunicorn gthread, 2 workers",
        [("bare", "Flask bare"), ("jwtgate", "Flask + jwtgate"), ("fje", "flask-jwt-extended")],
    ),
    "uvicorn-uvloop-2": (
        "uvicorn uvloop, 2 workers",
        [
            ("bare", "Starlette bare"),
            ("jwtgate", "Starlette + jwtgate"),
            ("authmw", "Starlette + PyJWT (AuthenticationMiddleware)"),
        ],
    ),
}


def group_cpu_ns(pgid: int) -> int:
    """CPU nanoseconds used so far by every thread of a process group's live processes.

    From each thread's ``/proc/PID/task/TID/schedstat``: a round of first requests
    costs a few hundred milliseconds of CPU, which the 10 ms ticks of
    ``/proc/PID/stat`` would count to within 10 % only. ``-1`` where it does
    not exist (then ``group_cpu_seconds`` is used).
    """
    total = 0
    found = False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[2]) != pgid:
                continue
            for task in (stat.parent / "task").glob("*/schedstat"):
                total += int(task.read_text().split()[0])
                found = True
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total if found else -1


def cpu_seconds(pgid: int) -> float:
    ns = group_cpu_ns(pgid)
    return ns / 1e9 if ns >= 0 else group_cpu_seconds(pgid)


@dataclass
class Row:
    kind: str
    mode: str
    label: str
    rps: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    bad: int = 0


async def _client(port: int, tokens: list[str], close: bool, bad: list[int]) -> None:
    """One connection's requests: the next token from the shared list until none is left."""
    reader = writer = None
    while tokens:
        token = tokens.pop()
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            + ("Connection: close\r\n" if close else "")
            + "\r\n"
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")  # type: ignore[union-attr]
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        await reader.readexactly(int(length.group(1)) if length else 0)  # type: ignore[union-attr]
        if not 200 <= status < 300:
            bad[0] += 1
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def run_round(port: int, tokens: list[str], close: bool) -> tuple[float, int]:
    """Send every token once over 8 connections; req/s and the answers that were not 2xx.

    The client is asyncio on raw sockets (wrk cannot stop after a given number of
    requests): it costs CPU of its own, so req/s is only compared within a server.
    """
    bad = [0]
    pending = list(reversed(tokens))
    started = time.perf_counter()

    async def run() -> None:
        await asyncio.gather(*(_client(port, pending, close, bad) for _ in range(8)))

    asyncio.run(run())
    return len(tokens) / (time.perf_counter() - started), bad[0]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 300 users")
    parser.add_argument("--users", type=int, default=3000, help="distinct users per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    users, rounds = (300, 2) if args.quick else (args.users, args.rounds)
    factory = TokenFactory("RS256")
    rows: list[Row] = []
    for kind, (label, apps) in PLAN.items():
        close = kind == "gunicorn"
        with ExitStack() as stack:
            servers = []
            for mode, app_label in apps:
                server = stack.enter_context(serve(kind, environment(factory, mode), app_label))
                check = factory.token(sub="check")
                assert get(server.port, headers={"Authorization": f"Bearer {check}"}) == 200
                servers.append((Row(label, mode, app_label), server))
            for round_ in range(rounds + 1):
                for row, server in servers:
                    tokens = [
                        factory.token(sub=f"{kind}-{row.mode}-{round_}-{n}", roles=["reader"])
                        for n in range(users)
                    ]
                    before = cpu_seconds(server.process.pid)
                    rps, bad = run_round(server.port, tokens, close)
                    cpu = cpu_seconds(server.process.pid) - before
                    if round_ == 0:
                        continue  # warm-up: imports, first connections, worker start
                    row.rps.append(rps)
                    row.cpu_us.append(cpu / users * 1e6)
                    row.bad += bad
            rows += [row for row, _ in servers]
        print(f"done: {label}", file=sys.stderr)
    lines = [
        f"Cold start over HTTP: {users:,} distinct users' first requests per round, RS256, "
        f"8 connections; {rounds} interleaved rounds; medians.",
        "",
        "| server | app | req/s | × bare | CPU µs/req | × bare by CPU | jwtgate × this | bad |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in dict.fromkeys(r.kind for r in rows):
        group = [r for r in rows if r.kind == kind]
        base, gate = group[0], next(r for r in group if r.mode == "jwtgate")
        for row in group:
            versus = ""
            if row.mode not in ("bare", "jwtgate"):
                versus = f"{paired_ratio(row.cpu_us, gate.cpu_us):.2f}"
            lines.append(
                f"| {kind} | {row.label} | {median(row.rps):,.0f} "
                f"| {paired_ratio(row.rps, base.rps):.2f} | {median(row.cpu_us):.1f} "
                f"| {paired_ratio(base.cpu_us, row.cpu_us):.2f} | {versus} | {row.bad} |"
            )
    lines += [
        "",
        '"jwtgate × this": how many times more server CPU a first request costs with the peer '
        "than with jwtgate.",
    ]
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main()
