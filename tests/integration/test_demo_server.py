"""`jwtgate demo` as a subprocess: each printed curl answers as printed; Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from jwtgate.testing import DEVELOPMENT_SECRET

STARTUP_SECONDS = 20
EXAMPLES = 8
_EXPECT = re.compile(r"^# (?P<label>.+) -> (?P<status>\d{3})$")
_URL = re.compile(r"serving on (?P<url>http://127\.0\.0\.1:\d+)/")


@dataclass
class Printed:
    label: str
    status: int
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def _parse_curl(line: str) -> tuple[str, str, dict[str, str], bytes | None]:
    """The method, URL, headers and body of a printed ``curl`` command."""
    words = shlex.split(line)
    assert words[:2] == ["curl", "-i"], line
    method, headers, body, url = "GET", {}, None, None
    rest = iter(words[2:])
    for word in rest:
        if word == "-X":
            method = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(": ")
            headers[name] = value
        elif word == "-d":
            body = next(rest).encode()
        else:
            assert url is None, f"unexpected word {word!r} in {line!r}"
            url = word
    assert url is not None, line
    return method, url, headers, body


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _answer(example: Printed) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(  # noqa: S310 - the demo's loopback http:// URL
        example.url, data=example.body, headers=example.headers, method=example.method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@pytest.fixture
def demo():
    """``python -m jwtgate demo --port 0``, its output and examples; killed by PID at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "jwtgate", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    printed: list[str] = []
    examples: list[Printed] = []
    expected: tuple[str, int] | None = None
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while len(examples) < EXAMPLES:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"demo exited early: {process.wait(5)} {process.stderr.read()}"
            printed.append(line)
            if match := _EXPECT.match(line):
                expected = (match["label"], int(match["status"]))
            elif line.startswith("curl ") and expected is not None:
                method, url, headers, body = _parse_curl(line)
                examples.append(Printed(expected[0], expected[1], method, url, headers, body))
                expected = None
        yield process, printed, examples, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()


def test_every_printed_request_answers_the_printed_status_then_sigint_stops_it(demo):
    process, printed, examples, lines = demo
    url = _URL.search(printed[0])
    assert url is not None, printed[0]
    base = url["url"]
    assert int(base.rsplit(":", 1)[1]) > 0  # --port 0 printed the port it picked
    assert base.startswith("http://127.0.0.1:")  # loopback only
    assert "A development tool" in printed[1]
    assert "PUBLIC development key" in printed[1]
    labels = [e.label for e in examples]
    for word in ("anonymous", "user", "admin", "expired", "forged"):
        assert any(word in label for label in labels), (word, labels)
    statuses = {e.status for e in examples}
    assert {200, 401, 403} <= statuses

    for example in examples:
        assert example.url.startswith(base + "/")
        status, headers, body = _answer(example)
        assert status == example.status, (example.label, status, body)
        if example.status == 401 and "Authorization" in example.headers:
            assert 'error="invalid_token"' in headers["WWW-Authenticate"], example.label
        if example.status == 403:
            assert 'error="insufficient_scope"' in headers["WWW-Authenticate"]
        if status >= 400:
            token = example.headers.get("Authorization", "Bearer -")[7:]
            assert token.encode() not in body
        if example.label.startswith("user: who am I"):
            assert json.loads(body)["sub"] == "reader-1"

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    rest = []
    while (line := lines.get(timeout=5)) is not None:
        rest.append(line)
    assert rest[-1] == "jwtgate demo: stopped"
    stderr = process.stderr.read()
    assert "Traceback" not in stderr
    assert DEVELOPMENT_SECRET not in stderr + "\n".join(printed + rest)


def test_a_port_in_use_is_one_line_on_stderr_and_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "jwtgate", "demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.startswith("jwtgate: error: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
