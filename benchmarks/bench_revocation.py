"""How fast a revocation made in one process reaches every other, through a real Redis.

Starts ``redis-server`` on a free 127.0.0.1 port and ``--workers`` processes,
each with its own ``RedisRevocations`` following Redis as a server worker
would. Then, ``--rounds`` times, the main process revokes a fresh token (a
``revoke()`` call: a MULTI/SET/PUBLISH/EXEC round trip) and each worker
notes the moment the change reached its in-memory copy, from which its
very next request is refused. The latency of a worker is that moment minus
the moment ``revoke()`` was called, both read from ``time.monotonic()``,
one clock for every process on a Linux machine.

``--busy`` keeps each worker's CPU busy with a thread of pure-Python work
(as a worker serving requests is), which the subscriber thread must
share the GIL with.

    python benchmarks/bench_revocation.py [--workers 4] [--rounds 200] [--busy]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from _common import free_port, stop  # benchmarks/ is on sys.path when a script here runs

from jwtgate.revocation import RedisRevocations
from jwtgate.testing import TokenFactory

PREFIX = "bench:"


class TimedRevocations(RedisRevocations):
    """Notes when each pushed change reaches this process's in-memory copy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived: dict[str, float] = {}
        self.changed = threading.Event()

    def _apply(self, message: Any) -> None:
        super()._apply(message)
        self.arrived[message["data"]] = time.monotonic()
        self.changed.set()


def burn(stop: threading.Event) -> None:
    """Pure-Python work that holds the GIL as request handling does."""
    total = 0
    while not stop.is_set():
        for n in range(10_000):
            total += n * n


def worker(url: str, busy: bool, pipe: Connection) -> None:
    store = TimedRevocations(url, prefix=PREFIX, timeout=2)
    if not store.wait_until_synced(10):
        pipe.send(("error", "could not sync"))
        return
    stop = threading.Event()
    if busy:
        threading.Thread(target=burn, args=(stop,), daemon=True).start()
    pipe.send(("ready", os.getpid()))
    while True:
        command = pipe.recv()
        if command is None:
            break
        deadline = time.monotonic() + 5
        while command not in store.arrived and time.monotonic() < deadline:
            store.changed.wait(0.5)
            store.changed.clear()
        pipe.send(store.arrived.get(command))
    stop.set()
    store.close()


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("redis-server did not start")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="processes following Redis")
    parser.add_argument("--rounds", type=int, default=200, help="revocations timed")
    parser.add_argument("--busy", action="store_true", help="keep each worker's CPU busy")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="jwtgate-bench-redis-")
    redis, port = start_redis(directory)
    url = f"redis://127.0.0.1:{port}/0"
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    processes = []
    try:
        for _ in range(args.workers):
            ours, theirs = context.Pipe()
            process = context.Process(target=worker, args=(url, args.busy, theirs), daemon=True)
            process.start()
            pipes.append(ours)
            processes.append(process)
        for pipe in pipes:
            status, detail = pipe.recv()
            if status != "ready":
                raise SystemExit(f"a worker failed: {detail}")
        revoker = RedisRevocations(url, prefix=PREFIX, timeout=2)
        tokens = TokenFactory("HS256")
        slowest: list[float] = []
        every: list[float] = []
        calls: list[float] = []
        for round_number in range(args.rounds):
            token = tokens.token(sub=f"u{round_number}", jti=f"j{round_number}")
            started = time.monotonic()
            revoker.revoke(token)
            calls.append(time.monotonic() - started)
            message = _message_of(revoker, token)
            for pipe in pipes:
                pipe.send(message)
            arrived = [pipe.recv() for pipe in pipes]
            if any(a is None for a in arrived):
                raise SystemExit(f"round {round_number}: a worker never saw the revocation")
            latencies = [a - started for a in arrived]
            every += latencies
            slowest.append(max(latencies))
            time.sleep(0.005)
        for pipe in pipes:
            pipe.send(None)
        revoker.close()
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        stop(redis)
        shutil.rmtree(directory, ignore_errors=True)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:7.2f}"

    load = os.getloadavg()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {load[0]:.1f}")
    print(
        f"{args.rounds} revocations, {args.workers} worker processes"
        f"{' each with a CPU-bound thread' if args.busy else ''}; milliseconds\n"
    )
    print(f"{'':40s} {'median':>7s} {'p95':>7s} {'p99':>7s} {'max':>7s}")
    for label, values in (
        ("revoke() call (round trip to Redis)", calls),
        ("revoke() to one worker's memory", every),
        ("revoke() to the last of all workers", slowest),
    ):
        print(
            f"{label:40s} {ms(statistics.median(values))} {ms(percentile(values, 0.95))} "
            f"{ms(percentile(values, 0.99))} {ms(max(values))}"
        )
    within = sum(1 for s in slowest if s <= 0.1) / len(slowest)
    print(f"\nevery worker within 100 ms: {within:.1%} of revocations")
    sys.stdout.flush()


def _message_of(store: RedisRevocations, token: str) -> str:
    """The pub/sub message ``revoke(token)`` published (what the workers key arrivals by)."""
    from jwtgate.revocation import _token_ident, token_key

    key, exp = token_key(token)
    _, _, message = store._entry("token", _token_ident(key), None, store._token_until(exp))
    return message


if __name__ == "__main__":
    main()
