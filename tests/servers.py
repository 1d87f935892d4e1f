"""Real servers (gunicorn, uvicorn) as child processes on 127.0.0.1, for the tests.

Each runs in its own session (a master and its workers are one process group)
on a port the system picks, read back from its log; it is waited for with
bounded deadlines, generous because the machine may be loaded; it keeps every
line it writes to stderr (tests read its log); and it is stopped by its process
group, whose id is its PID: SIGTERM, then SIGKILL, also when a test fails.
The server's environment is this one without the variables that would
configure it or jwtgate, plus what the test gives.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 10.0

#: What gunicorn and uvicorn log once they listen, with the port they were given.
_LISTENING = re.compile(r"(?:Listening at: |Uvicorn running on )http://127\.0\.0\.1:(\d+)")
#: Variables of the test's own environment that would configure the server or jwtgate.
_CONFIGURING = ("JWTGATE_", "GUNICORN_", "PROMETHEUS_", "DJANGO_", "PRIVY_", "EXAMPLE_DEVELOPMENT")


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on (for a server that must be given one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gunicorn_command(
    app: str, *, workers: int = 1, threads: int = 4, options: Sequence[str] = ()
) -> list[str]:
    """``python -m gunicorn`` arguments serving ``app`` (``module:callable``) on port 0."""
    return [
        "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", str(workers),
        "--worker-class", "gthread", "--threads", str(threads), "--no-control-socket",
        "--graceful-timeout", "2", "--timeout", "30", *options, app,
    ]  # fmt: skip


def uvicorn_command(
    app: str, *, factory: bool = False, workers: int = 1, options: Sequence[str] = ()
) -> list[str]:
    """``python -m uvicorn`` arguments serving ``app`` on port 0 (``factory``: a function)."""
    return [
        "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0", "--workers", str(workers),
        "--no-access-log", *(["--factory"] if factory else []), *options, app,
    ]  # fmt: skip


def launch(arguments: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """``python *arguments`` in the repository, in its own session, its stderr a pipe."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIGURING)}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group (master and workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
    except ProcessLookupError:
        pass


def exit_of(
    arguments: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = START_TIMEOUT,
) -> tuple[int | None, str]:
    """Run a server that must refuse to start: its exit code and its log.

    If it serves instead, it is stopped after ``timeout`` and the code is ``None``.
    """
    process = launch(arguments, env)
    try:
        _, log = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        _, log = process.communicate(timeout=STOP_TIMEOUT)
        return None, log
    return process.returncode, log


@dataclass
class Answer:
    """What the server answered, and how long it took (``seconds``)."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Server:
    """A server started by ``python *arguments``; ``port`` and ``url`` once it listens."""

    def __init__(self, arguments: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.process = launch(arguments, env)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.port = int(self.wait_for_log(_LISTENING, START_TIMEOUT).group(1))
        except BaseException:
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
        """Everything the server wrote to stderr so far (all of it once stopped)."""
        with self._changed:
            return "".join(self.lines)

    def wait_for_log(self, pattern: re.Pattern[str] | str, timeout: float = 10.0) -> re.Match[str]:
        """The first match of ``pattern`` in the log, waiting at most ``timeout`` for it."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (found := regex.search("".join(self.lines))):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise AssertionError(
                        f"{regex.pattern!r} not in the server's log within {timeout} s:\n"
                        + "".join(self.lines)[-4000:]
                    )
                self._changed.wait(min(remaining, 0.2))
            return found

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        *,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Answer:
        """One request on a new connection (so a multi-worker server may pick any worker)."""
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            content = response.read()
            return Answer(response.status, response.headers, content, time.monotonic() - started)
        finally:
            connection.close()

    def wait_until_answering(
        self, path: str = "/", status: int = 200, timeout: float = START_TIMEOUT
    ) -> None:
        """Until ``path`` answers ``status``: gunicorn's workers boot after the master listens."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.request(path=path).status == status:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the server did not answer {path}:\n{self.log[-4000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        stop(self.process)
        self._reader.join(timeout=STOP_TIMEOUT)
        if self.process.stderr is not None:
            self.process.stderr.close()


@contextmanager
def running(
    arguments: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    ready: str | None = None,
    ready_status: int = 200,
) -> Iterator[Server]:
    """A server for the ``with`` block; with ``ready``, once that path answers ``ready_status``."""
    server = Server(arguments, env)
    try:
        if ready is not None:
            server.wait_until_answering(ready, ready_status)
        yield server
    finally:
        server.stop()


#: examples/flask_app under gunicorn.
FLASK_EXAMPLE = gunicorn_command(
    "app:create_app()", threads=8, options=["--chdir", str(ROOT / "examples" / "flask_app")]
)


def flask_example(**env: str) -> AbstractContextManager[Server]:
    """examples/flask_app under gunicorn once it answers ``/``; ``env`` configures it."""
    return running(FLASK_EXAMPLE, env, ready="/")


def starlette_example(app: str) -> AbstractContextManager[Server]:
    """An app of examples/starlette_app (``module:app``) under uvicorn, in development mode.

    The examples trust the public development key only when asked to, explicitly.
    """
    return running(uvicorn_command(app), {"EXAMPLE_DEVELOPMENT": "1"})
