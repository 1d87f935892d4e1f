"""Real servers (gunicorn, uvicorn) as child processes, for the integration tests.

Each runs in its own session on a port the system picks (read back from its
log), is waited for with bounded deadlines, keeps every line it writes to
stderr (tests read its log), and is stopped by its process group, whose id
is its PID: SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 5.0

_LISTENING = re.compile(r"(?:Listening at: |Uvicorn running on )http://127\.0\.0\.1:(\d+)")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class ServerProcess:
    """A server started by ``command``; ``url`` and ``port`` once it listens."""

    def __init__(self, command: Sequence[str], env: dict[str, str]) -> None:
        full_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("JWTGATE_", "GUNICORN_", "PROMETHEUS_"))
        }
        full_env.update(env)
        full_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), full_env.get("PYTHONPATH")])
        )
        self.process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.port = int(self.wait_for_log(_LISTENING, START_TIMEOUT).group(1))
        except Exception:
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    @property
    def log(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_for_log(self, pattern: re.Pattern[str] | str, timeout: float = 10.0) -> re.Match[str]:
        """The first match of ``pattern`` in the log, waiting at most ``timeout`` for it."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = regex.search("".join(self.lines))
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise AssertionError(
                        f"{regex.pattern!r} not in the server's log within {timeout} s:\n"
                        + "".join(self.lines)[-4000:]
                    )
                self._changed.wait(min(remaining, 0.2))

    def request(
        self,
        path: str = "/",
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Answer:
        """One request on a new connection (so a multi-worker server may pick any worker)."""
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            return Answer(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                body,
                time.monotonic() - started,
            )
        finally:
            connection.close()

    def wait_until_answering(self, path: str = "/health", timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.request(path).status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the server did not answer {path}:\n{self.log[-4000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        self._reader.join(timeout=STOP_TIMEOUT)
        if self.process.stderr is not None:
            self.process.stderr.close()


def gunicorn_command(app: str, *, workers: int = 1, worker_class: str = "gthread") -> list[str]:
    return [
        "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", str(workers),
        "-k", worker_class, "--threads", "4", "--no-control-socket",
        "--graceful-timeout", "2", "--timeout", "30", app,
    ]  # fmt: skip


def uvicorn_command(app: str, *, workers: int = 1) -> list[str]:
    return [
        "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0", "--workers", str(workers),
        "--no-access-log", "--factory", app,
    ]  # fmt: skip


@contextmanager
def running(command: Sequence[str], env: dict[str, str]) -> Iterator[ServerProcess]:
    server = ServerProcess(command, env)
    try:
        yield server
    finally:
        server.stop()
