"""Start gunicorn or uvicorn on 127.0.0.1 (port 0) for an app under ``tests/integration``.

Each server is a subprocess in its own session, waited for with bounded
timeouts (generous: the machine may be loaded) and stopped by its process
group's id, also when a test fails.
"""

from __future__ import annotations

import http.client
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass
class Server:
    port: int
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def request(
        self, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWTGATE_", "GUNICORN_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class _Lines:
    """The server's stderr, read line by line in a thread (so waits stay bounded)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.queue.put(line)
        self.queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], deadline: float) -> re.Match[str] | None:
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.queue.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                return None
            self.seen.append(line)
            found = pattern.search(line)
            if found:
                return found
        return None

    def drain(self) -> None:
        while True:
            try:
                line = self.queue.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.seen.append(line)


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM the server's process group (master and workers), SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def gunicorn(
    app: str, ready_path: str = "/", ready_status: int = 200, **env: str
) -> Iterator[Server]:
    """gunicorn (one worker, 8 threads) serving ``app`` (``module:callable()``).

    It is ready when ``ready_path`` answers ``ready_status``.
    """
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--threads",
        "8",
        "--no-control-socket",
        "--graceful-timeout",
        "2",
        "--chdir",
        str(ROOT),
        app,
    ]
    process = subprocess.Popen(
        command,
        env=_environment(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = _Lines(process)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        found = lines.wait_for(re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)"), deadline)
        if found is None:
            raise RuntimeError("gunicorn did not start:\n" + "".join(lines.seen))
        server = Server(int(found.group(1)), process, lines.seen)
        while True:  # the worker boots after the master listens
            try:
                if server.request(path=ready_path)[0] == ready_status:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn's worker did not answer:\n" + "".join(lines.seen))
            time.sleep(0.05)
        yield server
    finally:
        stop(process)
        lines.thread.join(timeout=STOP_TIMEOUT)
        lines.drain()
        assert process.stderr is not None
        process.stderr.close()


def uvicorn_until_exit(factory: str, **env: str) -> tuple[int | None, str]:
    """Run uvicorn on ``factory`` (lifespan on by default); its exit code and log.

    For apps that must refuse to start: uvicorn exits by itself then. If it
    starts instead, it is stopped and ``None`` is returned as the code.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        cwd=ROOT,
        env=_environment(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = _Lines(process)
    code: int | None = None
    try:
        deadline = time.monotonic() + START_TIMEOUT
        started = lines.wait_for(re.compile(r"Uvicorn running on|startup failed"), deadline)
        if started is None or "running" not in started.group(0):
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
            code = process.returncode
    finally:
        stop(process)
        lines.thread.join(timeout=STOP_TIMEOUT)
        lines.drain()
        assert process.stderr is not None
        process.stderr.close()
    return code, "".join(lines.seen)


@contextmanager
def uvicorn(
    factory: str, ready_path: str = "/", ready_status: int = 200, **env: str
) -> Iterator[Server]:
    """uvicorn serving ``factory`` (``module:function`` returning the app).

    It is ready when ``ready_path`` answers ``ready_status``.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=_environment(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = _Lines(process)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        found = lines.wait_for(
            re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)"), deadline
        )
        if found is None:
            raise RuntimeError("uvicorn did not start:\n" + "".join(lines.seen))
        server = Server(int(found.group(1)), process, lines.seen)
        while server.request(path=ready_path)[0] != ready_status:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("uvicorn did not answer:\n" + "".join(lines.seen))
            time.sleep(0.05)
        yield server
    finally:
        stop(process)
        lines.thread.join(timeout=STOP_TIMEOUT)
        lines.drain()
        assert process.stderr is not None
        process.stderr.close()
