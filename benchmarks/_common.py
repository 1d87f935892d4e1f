"""Helpers the HTTP benchmark, the soak and their test share: servers and statistics.

Servers run in their own session (process group) on a free 127.0.0.1 port,
are waited for with a bounded deadline and are stopped by their process group
(SIGTERM, then SIGKILL), also when the caller fails.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
START_TIMEOUT = 30.0

# How each server kind is started; {port} is filled in. The app comes from http_apps.py.
SERVERS: dict[str, list[str]] = {
    "gunicorn": [
        "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "-k", "gthread", "--workers", "2",
        "--threads", "4", "--no-control-socket", "--graceful-timeout", "2",
        "--chdir", str(BENCHMARKS), "http_apps:flask_app()",
    ],
    "gunicorn-1": [  # one worker: the soak wants one key cache per server
        "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "-k", "gthread", "--workers", "1",
        "--threads", "8", "--no-control-socket", "--graceful-timeout", "2",
        "--chdir", str(BENCHMARKS), "http_apps:flask_app()",
    ],
    "uvicorn": [
        "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--loop", "asyncio",
        "--http", "h11", "--no-access-log", "--log-level", "warning",
        "--app-dir", str(BENCHMARKS), "--factory", "http_apps:starlette_app",
    ],
    "uvicorn-uvloop": [
        "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--loop", "uvloop",
        "--http", "httptools", "--no-access-log", "--log-level", "warning",
        "--app-dir", str(BENCHMARKS), "--factory", "http_apps:starlette_app",
    ],
    "uvicorn-uvloop-2": [  # two worker processes: the cold-start benchmark
        "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--loop", "uvloop",
        "--http", "httptools", "--no-access-log", "--log-level", "warning", "--workers", "2",
        "--app-dir", str(BENCHMARKS), "--factory", "http_apps:starlette_app",
    ],
    "fastapi-uvloop": [
        "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--loop", "uvloop",
        "--http", "httptools", "--no-access-log", "--log-level", "warning",
        "--app-dir", str(BENCHMARKS), "--factory", "http_apps:fastapi_app",
    ],
}  # fmt: skip


def free_port() -> int:
    """A port nobody listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A started server: where it listens and its process (group leader)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def get(port: int, path: str = "/", headers: Mapping[str, str] | None = None) -> int:
    """The status of one GET, on a fresh connection, with a bounded wait."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process's group: SIGTERM, then SIGKILL after a bounded wait."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group.

    Read from ``/proc`` (Linux); 0.0 where it does not exist. A server's workers
    live as long as the server, so differences between two readings are its work.
    """
    total_ticks = 0
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces: split after its closing ")".
            fields = entry.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == pgid:  # fields here start at field 3, "state"
            total_ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return total_ticks / os.sysconf("SC_CLK_TCK")


def _cpus() -> tuple[int, int] | None:
    """(server CPU, load generator CPU) when there are two CPUs to keep them apart."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (available[-1], available[0]) if len(available) >= 2 else None


#: A one-process server runs on one CPU and the load generator on another, so the
#: scheduler does not move them onto each other (which swung runs by ±20 %).
CPUS = _cpus()


def pin_load() -> None:
    """``preexec_fn`` for the load generator: keep it on its own CPU."""
    if CPUS is not None:
        os.sched_setaffinity(0, {CPUS[1]})


@contextmanager
def serve(
    kind: str, env: Mapping[str, str], name: str = "", *, pinned: bool = False
) -> Iterator[Server]:
    """Run ``SERVERS[kind]`` with ``BENCH_*`` settings ``env`` until the block ends.

    ``pinned`` keeps a one-process server on one CPU, away from the load generator.
    """
    port = free_port()
    command = [sys.executable, *(a.format(port=port) for a in SERVERS[kind])]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    environment.update(env)
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if pinned and CPUS is not None:
        os.sched_setaffinity(process.pid, {CPUS[0]})  # before it starts any thread
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{kind} exited with {process.returncode}: {command}")
            try:
                get(port, "/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} did not answer within {START_TIMEOUT} s") from None
                time.sleep(0.1)
        yield Server(name or kind, port, process)
    finally:
        stop(process)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired_ratio(values: Sequence[float], base: Sequence[float]) -> float:
    """The median of per-round ratios: each pair was measured back to back."""
    return statistics.median(v / b for v, b in zip(values, base, strict=True))


def spread(values: Sequence[float]) -> str:
    """Min and max relative to the median, as a noise indicator."""
    mid = statistics.median(values)
    return f"{min(values) / mid - 1:+.0%}/{max(values) / mid - 1:+.0%}"
