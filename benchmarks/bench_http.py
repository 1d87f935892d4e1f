"""jwtgate against bare apps and its peers over real HTTP on 127.0.0.1.

Run: ``python benchmarks/bench_http.py [--quick] [--rounds 10] [--seconds 4]``.
Needs the ``bench`` extra (``pip install -e '.[dev,bench]'``) and, preferably,
``wrk`` (``apt-get install wrk``); without wrk a Python load generator in
another process is used, which is itself the bottleneck (its numbers are
labelled and only its ratios mean anything).

Servers, each started on a free port in its own process group and stopped by it:

  gunicorn -k gthread -w 2 --threads 4  Flask bare | jwtgate | flask-jwt-extended
  uvicorn --loop asyncio --http h11     Starlette bare | jwtgate | AuthenticationMiddleware+PyJWT
  uvicorn --loop uvloop --http httptools the same three
  the same uvicorn, FastAPI              bare | (ref) a do-nothing dependency |
                                         jwtgate current_user | HTTPBearer + PyJWT

gunicorn gets a new connection per request (``Connection: close``): its gthread
workers keep the keep-alive connections they accept, so 8 long-lived connections
split unevenly between the 2 workers by chance. Every app gets the same
``Authorization: Bearer <RS256 token>`` header (the bare apps ignore it), so a ratio isolates the
cost of authentication. The load is
``wrk -t1 -c8 --latency``; each server is warmed up, then every round runs each
app of a server kind back to back (interleaved), and the table gives medians
of req/s, p50 and p99 and the median of same-round ratios to bare. It also
reads the server's CPU time (all its processes, from ``/proc``) around each run:
CPU µs per request, and the throughput ratio to bare that it implies, is far
steadier than req/s when other work shares the machine. A one-process server
runs pinned to one CPU and wrk to another. Every response must be 2xx: an app
that refused the token would look fast.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Server,
    get,
    group_cpu_seconds,
    median,
    paired_ratio,
    pin_load,
    serve,
    spread,
)

from jwtgate.testing import TokenFactory

# server kind -> (label, [(app mode, label)]) ; the first app is the base of the ratios
PLAN: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "gunicorn": (
        "gunicorn gthread ×2",
        [("bare", "Flask bare"), ("jwtgate", "Flask + jwtgate"), ("fje", "flask-jwt-extended")],
    ),
    "uvicorn": (
        "uvicorn h11/asyncio",
        [
            ("bare", "Starlette bare"),
            ("jwtgate", "Starlette + jwtgate"),
            ("authmw", "AuthenticationMiddleware + PyJWT"),
        ],
    ),
    "uvicorn-uvloop": (
        "uvicorn uvloop/httptools",
        [
            ("bare", "Starlette bare"),
            ("passthrough", "(ref) Starlette + a do-nothing middleware"),
            ("authmw-none", "(ref) AuthenticationMiddleware, no token work, @requires"),
            ("gateonly", "Starlette + jwtgate, middleware only"),
            ("jwtgate", "Starlette + jwtgate"),
            ("authmw", "AuthenticationMiddleware + PyJWT"),
        ],
    ),
    "fastapi-uvloop": (
        "uvicorn uvloop/httptools, FastAPI",
        [
            ("bare", "FastAPI bare"),
            ("trivial", "(ref) FastAPI + a do-nothing dependency"),
            ("jwtgate", "FastAPI + jwtgate current_user"),
            ("pyjwt", "FastAPI HTTPBearer + PyJWT"),
        ],
    ),
}


#: The apps that refuse no request (bases and references): no forged-token check, no peer ratio.
NO_REFUSAL = ("bare", "trivial", "passthrough", "gateonly", "authmw-none")


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx responses and socket errors
    requests: int = 0
    cpu_us: float = 0.0  # the server's CPU time per request, all its processes


@dataclass
class Row:
    kind: str
    mode: str
    label: str
    results: list[Result] = field(default_factory=list)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(
    url: str, header: str, seconds: float, connections: int, close: bool, pinned: bool
) -> Result:
    """One wrk run (on the CPU the server does not use when ``pinned``); its summary parsed."""
    extra = ["-H", "Connection: close"] if close else []
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
         "-H", header, *extra, url],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
        preexec_fn=pin_load if pinned else None,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))$", out, re.M))
    p50, p99 = (re.match(r"([\d.]+)(\w+)", pct[k]) for k in ("50", "99"))
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    bad += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Result(rps, _ms(*p50.groups()), _ms(*p99.groups()), bad, requests)  # type: ignore[union-attr]


def run_python(
    url: str, header: str, seconds: float, connections: int, close: bool, pinned: bool
) -> Result:
    """The fallback load generator, in another process (this file with --load)."""
    out = subprocess.run(
        [sys.executable, __file__, "--load", url, "--header", header,
         "--seconds", str(seconds), "--connections", str(connections),
         *(["--close"] if close else [])],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
        preexec_fn=pin_load if pinned else None,
    ).stdout  # fmt: skip
    return Result(**json.loads(out))


def python_load(url: str, header: str, seconds: float, connections: int, close: bool) -> None:
    """GETs from ``connections`` threads for ``seconds``; print a Result as JSON.

    Connections are kept alive unless ``close``: then each request opens its own.
    """
    import http.client

    port = int(url.split(":")[2].split("/")[0])
    name, _, value = header.partition(": ")
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("GET", "/", headers={name: value})
                response = connection.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except OSError:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            if close:
                connection.close()
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    bad[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    n = len(latencies)
    print(json.dumps({
        "rps": n / seconds, "p50_ms": latencies[n // 2] * 1e3,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1e3, "bad": bad[0], "requests": n,
    }))  # fmt: skip


def environment(tokens: TokenFactory, mode: str) -> dict[str, str]:
    return {
        "BENCH_APP": mode,
        "BENCH_ALG": tokens.algorithm,
        "BENCH_KEY": tokens.public_pem(),
        "BENCH_ISSUER": tokens.issuer or "",
        "BENCH_AUDIENCE": tokens.audience or "",
    }


def measure(args: argparse.Namespace) -> tuple[list[Row], str]:
    """Start the servers, check them, run the interleaved rounds; the rows and the loader."""
    loader = "wrk" if shutil.which("wrk") and not args.python_load else "python"
    load = run_wrk if loader == "wrk" else run_python
    tokens = TokenFactory("RS256")
    token = tokens.token(sub="bench-user", roles=["reader"], email="ada@example.com")
    header = f"Authorization: Bearer {token}"
    rows: list[Row] = []
    for kind in args.servers:
        label, apps = PLAN[kind]
        # gunicorn's gthread workers each keep the keep-alive connections they accepted, so
        # 8 long-lived connections split 8/0 or 5/3 between the 2 workers by chance, which
        # swung one run ±50 %. A new connection per request spreads them evenly.
        close = kind == "gunicorn"
        # A one-process server gets a CPU of its own, the load generator the other.
        pinned = kind != "gunicorn"
        with ExitStack() as stack:
            servers: list[tuple[Row, Server]] = []
            for mode, app_label in apps:
                server = stack.enter_context(
                    serve(kind, environment(tokens, mode), app_label, pinned=pinned)
                )
                # Refuse to time an app that does not do what its row says.
                assert get(server.port, headers={"Authorization": f"Bearer {token}"}) == 200
                if mode not in NO_REFUSAL:
                    forged = {"Authorization": f"Bearer {tokens.wrong_signature(sub='x')}"}
                    assert get(server.port, headers=forged) in (400, 401, 422), (kind, mode)
                servers.append((Row(label, mode, app_label), server))
            for _, server in servers:  # warm up every worker
                load(server.url, header, args.warmup, args.connections, close, pinned)
            for _ in range(args.rounds):
                for row, server in servers:
                    cpu_before = group_cpu_seconds(server.process.pid)
                    result = load(server.url, header, args.seconds, args.connections, close, pinned)
                    cpu = group_cpu_seconds(server.process.pid) - cpu_before
                    result.cpu_us = cpu / max(1, result.requests) * 1e6
                    row.results.append(result)
            rows += [row for row, _ in servers]
        print(f"done: {label}", file=sys.stderr)
    return rows, loader


def table(rows: list[Row], loader: str, args: argparse.Namespace) -> str:
    """The markdown table: medians, same-round ratios to bare and to the peer."""
    lines = [
        f"Over HTTP, RS256, load: {loader} -t1 -c{args.connections} (gunicorn: a new "
        "connection per request, uvicorn: keep-alive), "
        f"{args.rounds} interleaved rounds of {args.seconds:g} s; medians.",
        "",
        "| server | app | req/s | spread | p50 ms | p99 ms | × bare | jwtgate × peer "
        "| CPU µs/req | × bare by CPU | bad |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in dict.fromkeys(r.kind for r in rows):
        group = [r for r in rows if r.kind == kind]
        base = [x.rps for x in group[0].results]
        base_cpu = [x.cpu_us for x in group[0].results]
        gate = next((r for r in group if r.mode == "jwtgate"), None)
        for row in group:
            rps = [x.rps for x in row.results]
            cpu = [x.cpu_us for x in row.results]
            # The throughput the server's CPU time per request allows, relative to bare:
            # much less noisy than req/s on a shared machine.
            cpu_ratio = f"{paired_ratio(base_cpu, cpu):.2f}" if all(cpu) else ""
            versus = ""
            if gate is not None and row.mode not in (*NO_REFUSAL, "jwtgate"):
                versus = f"{paired_ratio([x.rps for x in gate.results], rps):.2f}"
            lines.append(
                f"| {kind} | {row.label} | {median(rps):,.0f} | {spread(rps)} "
                f"| {median([x.p50_ms for x in row.results]):.2f} "
                f"| {median([x.p99_ms for x in row.results]):.2f} "
                f"| {paired_ratio(rps, base):.2f} | {versus} "
                f"| {median(cpu):.1f} | {cpu_ratio} "
                f"| {sum(x.bad for x in row.results)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=4.0, help="per app and round")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--servers", nargs="+", default=list(PLAN), choices=list(PLAN))
    parser.add_argument("--python-load", action="store_true", help="ignore wrk")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--header", help=argparse.SUPPRESS)
    parser.add_argument("--close", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        python_load(args.load, args.header, args.seconds, args.connections, args.close)
        return ""
    if args.quick:
        args.rounds, args.seconds, args.warmup = 2, 2.0, 1.0
    rows, loader = measure(args)
    text = table(rows, loader, args)
    print(text)
    return text


if __name__ == "__main__":
    main()
