"""A new user's walk through the docs: a protected Flask route, a FastAPI one, a pytest run.

The docs runner (``tests/test_docs.py``) runs every page's Python and its ``jwtgate``
commands, but shows servers and ``curl`` only. This walks what the pages tell a
reader to do with them, literally: the first example of ``docs/flask.md`` and of
``docs/fastapi.md`` saved as ``app.py``; the "Run it" section's server command
started as written (``flask --app app run``, ``uvicorn app:app``; only the port is
one the system picks); its shell lines run in bash as written, each ``curl``
checked against the status and JSON body its comment promises; then the test
modules of ``docs/testing.md`` saved beside the app and run with the ``pytest``
command that page shows. The servers run on 127.0.0.1 and are stopped by PID.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.docs_runner import chunks
from tests.servers import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0
# A curl line's promise: "# 200" or "# 200 {...the JSON body...}".
_PROMISE = re.compile(r"\s+#\s*(\d{3})(?:\s+(\{.*\}))?\s*$")
_HOST = re.compile(r"\blocalhost:(\d+)")

if shutil.which("curl") is None:
    if os.environ.get("CI"):
        raise RuntimeError("curl is needed to walk the docs (.ci/run installs it)")
    pytest.skip("curl is not installed", allow_module_level=True)


def section(page: Path, title: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def first_example(page: Path) -> str:
    return next(c.code for c in chunks(page.read_text(encoding="utf-8")) if c.kind == "run")


def shell_lines(text: str) -> list[str]:
    return [
        line
        for chunk in chunks(text)
        if chunk.kind == "shell"
        for line in chunk.code.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTGATE_")}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)  # the reader's shell: jwtgate as installed, nothing else
    return env


@contextmanager
def server(command: str, folder: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """Start the page's server command as written, on ``port``; stop it by its PID."""
    words = shlex.split(command, comments=True)
    process = subprocess.Popen(
        [*words, "--port", str(port)],
        cwd=folder,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    raise RuntimeError(f"{command!r} did not start:\n{output}") from None
                time.sleep(0.1)
        yield process
    finally:
        stop(process)
        if process.stdout:
            process.stdout.close()


def walk(page: Path, server_word: str, tmp_path: Path) -> list[tuple[str, object, object]]:
    """Serve the page's first example as ``app.py`` and run its "Run it" lines.

    Each ``curl`` line with what its comment promises and what it got: ``(line,
    (status, body), (status, body))``, the body parsed as JSON when one is promised.
    """
    (tmp_path / "app.py").write_text(first_example(page), encoding="utf-8")
    lines = shell_lines(section(page, "Run it"))
    (start,) = [line for line in lines if line.split()[0] == server_word]
    client = [line for line in lines if line.split()[0] not in (server_word, "pip")]
    ports = {p for line in client for p in _HOST.findall(line)}
    assert len(ports) == 1, f"{page.name}: the curl lines name one server, not {ports}"
    port = free_port()
    script = ["set -e"]
    curls: list[tuple[str, int, object]] = []
    for line in client:
        if line.split()[0] != "curl":
            script.append(line)
            continue
        promise = _PROMISE.search(line)
        assert promise is not None, f"{page.name}: {line!r} promises no status"
        body = promise.group(2)
        curls.append((line, int(promise.group(1)), None if body is None else json.loads(body)))
        command = _HOST.sub(f"127.0.0.1:{port}", line[: promise.start()])
        # The body, then the status on a line of its own.
        script += [f"echo '@@{len(curls) - 1}'", f"{command} -s -w '\n@@status %{{http_code}}\n'"]
    with server(start, tmp_path, port):
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=tmp_path,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    answers = re.findall(r"@@(\d+)\n(.*?)\n@@status (\d{3})\n", done.stdout, re.S)
    assert [int(number) for number, _, _ in answers] == list(range(len(curls))), done.stdout
    return [
        (
            line,
            (status, body),
            (int(got_status), None if body is None else json.loads(got_body)),
        )
        for (line, status, body), (_, got_body, got_status) in zip(curls, answers, strict=True)
    ]


@pytest.mark.parametrize(
    ("page", "server_word"),
    [("flask.md", "flask"), ("fastapi.md", "uvicorn")],
    ids=["flask", "fastapi"],
)
def test_the_run_it_section_answers_as_it_says(page, server_word, tmp_path):
    seen = walk(DOCS / page, server_word, tmp_path)

    for line, promised, got in seen:
        assert got == promised, line
    assert {promised[0] for _, promised, _ in seen} >= {200, 401, 403}


def test_the_testing_pages_modules_pass_with_the_command_it_shows(tmp_path):
    page = DOCS / "testing.md"
    for chunk in chunks(page.read_text(encoding="utf-8")):
        if chunk.kind == "file" and chunk.title and chunk.title.startswith("test_"):
            (tmp_path / chunk.title).write_text(chunk.code, encoding="utf-8")
    (command,) = [line for line in shell_lines(page.read_text()) if line.startswith("pytest ")]
    words = shlex.split(command)
    assert all((tmp_path / name).exists() for name in words[1:]), command

    done = subprocess.run(
        [sys.executable, "-m", *words, "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b11 passed\b", done.stdout), done.stdout
