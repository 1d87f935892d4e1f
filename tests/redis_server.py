"""A real Redis server for the tests: ``redis-server`` on a free port of 127.0.0.1.

Started as a child process with persistence in a temporary directory (so a
restart keeps what was written, as a production Redis must), waited for with
a bounded deadline, stopped, paused (SIGSTOP: a Redis that answers nothing)
and restarted on the same port by its PID. Without the binary the tests that
need it skip on a developer's machine and fail in CI (``CI`` set).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.servers import free_port
from tests.tools import program

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; ``url`` once it answers."""

    def __init__(self, *, password: str | None = None) -> None:
        self.binary = program("redis-server", "apt-get install redis-server")
        self.password = password
        self.directory = Path(tempfile.mkdtemp(prefix="jwtgate-redis-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        for _ in range(3):  # a port found free may be taken before redis binds it
            self.port = free_port()
            if self._start():
                return
        raise RuntimeError(f"redis-server did not start:\n{self.log()}")

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _start(self) -> bool:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--logfile", "redis.log",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.answers():
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def answers(self, timeout: float = 0.5) -> bool:
        """True when the server answers a PING (or asks for the password)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
        except OSError:
            return False
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL), by its PID."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGCONT)  # a paused server can't exit
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> None:
        """Start again on the same port, with the data it had written."""
        self.stop()
        if not self._start():
            raise RuntimeError(f"redis-server did not restart:\n{self.log()}")

    def pause(self) -> None:
        """Freeze the server: connections stay open and nothing answers (a hung Redis)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def running_redis(**options: str | None) -> Iterator[RedisServer]:
    """A fixture body: a server for the duration, closed by PID afterwards."""
    server = RedisServer(**options)
    try:
        yield server
    finally:
        server.close()


def wait_for(condition, timeout: float = 5.0, interval: float = 0.005) -> float:
    """Poll ``condition`` until true; the seconds it took. Fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not true within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started
