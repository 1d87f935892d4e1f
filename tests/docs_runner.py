"""Run the code of one documentation page, the way a reader would.

Used by ``tests/test_docs.py`` in a subprocess per page (a page may define an
``app`` module, set environment variables or start servers; none of that may
leak into another page or into the test process).

What a page may contain:

- ```` ```python ```` blocks: run in page order, all in one namespace, as if
  the reader pasted them into one script.
- A fenced block with a ``title="name"`` (any language, e.g.
  ```` ```python title="app.py" ```` or ```` ```text title="_redirects" ````):
  written to that file in the page's working directory before anything runs,
  and not run itself; the page's code imports or reads it.
- ``<!-- docs:setup`` … ``-->`` and ``<!-- docs:check`` … ``-->`` comments:
  Python the reader never sees (MkDocs renders no HTML comment), run at their
  place in the page: setup before the blocks that need it (a key server, a
  token), checks after them (the example really answers what the prose says).

- ```` ```bash ```` (``sh``, ``shell``, ``console``) blocks: each command line
  is treated by its first word (after any ``NAME=value`` prefixes), see
  ``shell_plan``: ``jwtgate`` commands, assignments and ``export`` run for
  real in bash, in page order with the Python blocks, in the page's directory
  and environment (a setup block may set ``os.environ["TOKEN"]``); ``jwtgate
  demo`` is started on a free port, waited for and stopped by its PID. A
  trailing comment ``# exits N`` says the exit status expected (default 0).
  ``pip install`` lines are checked, not run: jwtgate is installed from a
  checkout or a wheel, never by name from an index. Other commands are shown
  only, each for a reason named in ``SHOWN``; a command the runner does not
  know fails the page, so that every line of a shell block is either run,
  checked or deliberately shown.
- ``--8<-- "PATH"`` lines (the snippets extension, as ``mkdocs.yml`` sets it up)
  are replaced by that repository file before anything else, as MkDocs does.

Other blocks (output shown as ``text``) are not run here.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FENCE = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
_TITLE = re.compile(r"""title=(?:"([^"]+)"|'([^']+)'|(\S+))""")
_HIDDEN = re.compile(r"^<!--\s*docs:(setup|check)\s*$")
_SNIPPET = re.compile(r"""^--8<--\s+["']([^"']+)["']\s*$""")
_SHELLS = ("bash", "sh", "shell", "console")
_EXITS = re.compile(r"#.*\bexits (\d+)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SUBSTITUTION = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*=\$\(.*\)\s*(#.*)?$")
#: Commands a shell block may show without running them here, and why.
SHOWN = {
    "python3": "creates the virtualenv; .ci/run does the same",
    ".": "activates the virtualenv; .ci/run does the same",
    "source": "activates the virtualenv; .ci/run does the same",
    "pytest": "the test command: .ci/run runs the README's (test_docs checks they agree)",
    "ruff": ".ci/run runs the linters",
    "mypy": ".ci/run runs the type checker",
    "mkdocs": ".ci/run builds the site with --strict",
    "curl": "needs the server the block starts; tests/integration sends the same requests",
    "uvicorn": "a server that runs until stopped; tests/integration runs the examples under it",
    "gunicorn": "a server that runs until stopped; tests/integration runs the examples under it",
    "flask": "a server that runs until stopped; tests/integration/test_new_user_walk.py runs it",
    "python": "runs an example or a benchmark script; tests/integration and benchmarks/ cover them",
    "cd": "moves into an example's folder for the commands shown after it",
    "sudo": "installs a system package",
    "apt-get": "installs a system package",
    "git": "gets the source",
}


@dataclass
class Chunk:
    """One piece of a page: code to run, or a file to write."""

    kind: str  # "run", "file" or "shell"
    line: int  # 1-based line of the first code line
    code: str
    title: str | None = None
    language: str = ""


def expand_snippets(text: str, root: Path = ROOT) -> str:
    """``text`` with each ``--8<-- "PATH"`` line replaced by that file, as MkDocs renders it."""
    out = []
    for line in text.splitlines():
        match = _SNIPPET.match(line.strip())
        out.append((root / match.group(1)).read_text(encoding="utf-8") if match else line)
    return "\n".join(out)


def chunks(text: str) -> list[Chunk]:
    """The runnable pieces of a Markdown page, in order."""
    lines = text.splitlines()
    found: list[Chunk] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        hidden = _HIDDEN.match(line.strip())
        if hidden:
            start = i + 1
            end = start
            while end < len(lines) and lines[end].strip() != "-->":
                end += 1
            if end == len(lines):
                raise ValueError(f"line {i + 1}: <!-- docs:{hidden.group(1)} is never closed")
            found.append(Chunk("run", start + 1, "\n".join(lines[start:end])))
            i = end + 1
            continue
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group("fence")
            indent = len(fence.group("indent"))
            info = fence.group("info").strip()
            start = i + 1
            end = start
            while end < len(lines) and not lines[end].strip().startswith(marker):
                end += 1
            body = "\n".join(
                row[indent:] if row[:indent].isspace() else row for row in lines[start:end]
            )
            language = info.split()[0].lower() if info else ""
            title = _TITLE.search(info)
            if title:
                name = next(group for group in title.groups() if group)
                found.append(Chunk("file", start + 1, body + "\n", name))
            elif language in ("python", "py"):
                found.append(Chunk("run", start + 1, body))
            elif language in _SHELLS:
                found.append(Chunk("shell", start + 1, body, language=language))
            i = end + 1
            continue
        i += 1
    return found


@dataclass
class Command:
    """One command line of a shell block, and what the runner does with it."""

    line: int
    text: str
    action: str  # "run", "demo", "pip" or "shown"
    exits: int = 0
    output: str | None = None  # a console block's output as shown; "…" ends a shown prefix


def _commands(chunk: Chunk) -> list[tuple[int, str, str | None]]:
    """The command lines of a shell block: continuations joined, comments dropped.

    In a ``console`` block, commands follow a ``$ `` prompt and the lines after
    one are its output as shown, returned with it (``None`` elsewhere).
    """
    found: list[tuple[int, str, str | None]] = []
    pending: tuple[int, str] | None = None
    console = chunk.language == "console"
    for offset, raw in enumerate(chunk.code.splitlines()):
        line = raw.rstrip()
        if pending is None:
            if console and not line.startswith("$ "):
                if found and line:
                    number, text, shown = found[-1]
                    found[-1] = (number, text, f"{shown}\n{line}" if shown else line)
                continue
            line = line[2:] if console else line
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            pending = (chunk.line + offset, line)
        else:
            pending = (pending[0], pending[1] + "\n" + line)
        if pending[1].endswith("\\"):
            continue
        found.append((*pending, "" if console else None))
        pending = None
    if pending is not None:
        found.append((*pending, "" if console else None))
    return found


def _first_word(command: str) -> str | None:
    """The command's program, past ``NAME=value`` prefixes; None for a bare assignment."""
    if _SUBSTITUTION.match(command):
        return None
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        words = command.split()
    for word in words:
        if not _ASSIGNMENT.match(word):
            return word
    return None


def shell_plan(chunk: Chunk) -> list[Command]:
    """What the runner does with each command of a shell block (see the module docstring).

    A chain ``a && b && c`` is planned step by step, so that the README's
    ``python3 -m venv … && pip install -e . && jwtgate demo`` runs its demo.
    """
    plan = []
    for line, whole, output in _commands(chunk):
        exits = _EXITS.search(whole)
        steps = whole.split(" && ")
        for index, text in enumerate(steps):
            last = index == len(steps) - 1
            word = _first_word(text)
            if word is None or word in ("jwtgate", "export"):
                action = "demo" if re.match(r"\s*jwtgate\s+demo\b", text) else "run"
            elif word in ("pip", "pip3") or text.lstrip().startswith("python3 -m pip"):
                action = "pip"
            elif word in SHOWN:
                action = "shown"
            else:
                raise ValueError(
                    f"line {line}: a shell command the docs runner does not know: {word!r}. Run "
                    "it (docs_runner.shell_plan) or say why it is only shown (docs_runner.SHOWN)"
                )
            code = int(exits.group(1)) if exits and last else 0
            plan.append(Command(line, text.strip(), action, code, output if last else None))
    return plan


_PIP_INDEX_JWTGATE = re.compile(r"""^['"]?jwtgate(\[|['"]?$|[<>=!~ ])""")


_PIP_LOCAL_EXTRAS = re.compile(r"^(?:\.|\S+\.whl)\[([^\]]*)\]$")


def check_pip(command: Command) -> None:
    """A ``pip install`` line may install jwtgate from a checkout or a wheel, never by name,
    and only with extras that ``pyproject.toml`` defines."""
    words = shlex.split(command.text, comments=True)
    for word in words[words.index("install") + 1 :] if "install" in words else []:
        if _PIP_INDEX_JWTGATE.match(word):
            raise AssertionError(
                f"line {command.line}: {command.text!r} installs jwtgate from a package index, "
                "where it is not published: install from a checkout (pip install -e .) or a wheel"
            )
        local = _PIP_LOCAL_EXTRAS.match(word)
        if local:
            unknown = set(local.group(1).split(",")) - set(_extras_defined())
            if unknown:
                raise AssertionError(
                    f"line {command.line}: {command.text!r} asks for extras that "
                    f"pyproject.toml does not define: {sorted(unknown)}"
                )


def _extras_defined() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project.get("optional-dependencies", {}))


def _shell_env() -> dict[str, str]:
    env = dict(os.environ)
    # The jwtgate script installed beside this Python, whatever PATH says.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_shell(command: Command, page: Path) -> None:
    """Run one command in bash; fail with its output unless it exits as the page says.

    An assignment or ``export`` changes the environment of the lines after it,
    as it would in the reader's shell.
    """
    environment = Path("~docs-shell-env").resolve()
    # set -a: a plain NAME=value is passed on to the next lines, as in one interactive shell.
    script = f'set -a\n{command.text}\nstatus=$?\nenv -0 > "{environment}"\nexit $status\n'
    try:
        done = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            env=_shell_env(),
            check=False,
        )
        if done.returncode != command.exits:
            raise AssertionError(
                f"{page}:{command.line}: {command.text!r} exited {done.returncode}, "
                f"expected {command.exits}\nstdout: {done.stdout[-2000:]}\n"
                f"stderr: {done.stderr[-2000:]}"
            )
        if "Traceback" in done.stderr:
            raise AssertionError(f"{page}:{command.line}: a traceback:\n{done.stderr[-2000:]}")
        if command.output:
            _check_output(command, done.stdout + done.stderr, page)
        if _first_word(command.text) in (None, "export"):
            for entry in environment.read_bytes().decode().split("\0"):
                name, sep, value = entry.partition("=")
                if sep and name not in ("_", "SHLVL", "PWD", "OLDPWD"):
                    os.environ[name] = value
    finally:
        environment.unlink(missing_ok=True)


def _check_output(command: Command, printed: str, page: Path) -> None:
    """The command printed what the page shows; a shown line ending in "…" is a prefix."""
    shown = command.output.splitlines() if command.output else []
    lines = printed.rstrip("\n").splitlines()
    ok = len(shown) == len(lines) and all(
        line.startswith(want[:-1]) if want.endswith("…") else line == want
        for want, line in zip(shown, lines, strict=True)
    )
    if not ok:
        raise AssertionError(
            f"{page}:{command.line}: {command.text!r} printed\n{printed}\nbut the page shows\n"
            + "\n".join(shown)
        )


def run_demo(command: Command, page: Path, startup: float = 60) -> None:
    """Start ``jwtgate demo`` on a free port, wait until it answers, stop it by its PID."""
    words = shlex.split(command.text, comments=True)
    if "--port" in words:
        words[words.index("--port") + 1] = "0"
    else:
        words += ["--port", "0"]
    env = {**_shell_env(), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        words, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + startup
    try:
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"{page}:{command.line}: the demo exited early")
            served = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
            if served:
                break
        # It answers (so it is serving, not still starting) before it is stopped.
        with urllib.request.urlopen(served.group(1) + "/", timeout=10) as answer:  # noqa: S310
            if answer.status != 200:
                raise AssertionError(f"{page}:{command.line}: the demo answered {answer.status}")
        process.send_signal(signal.SIGINT)
        if process.wait(timeout=15) != 0:
            raise AssertionError(f"{page}:{command.line}: the demo did not stop cleanly")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def run_shell_chunk(chunk: Chunk, page: Path) -> None:
    for command in shell_plan(chunk):
        if command.action == "run":
            run_shell(command, page)
        elif command.action == "demo":
            run_demo(command, page)
        elif command.action == "pip":
            check_pip(command)


def run(page: Path, workdir: Path) -> None:
    """Run ``page``'s code in ``workdir``, raising whatever the code raises."""
    text = expand_snippets(page.read_text(encoding="utf-8"))
    pieces = chunks(text)
    os.chdir(workdir)
    sys.path.insert(0, str(workdir))
    for piece in pieces:
        if piece.kind == "file":
            target = workdir / piece.title  # type: ignore[operator]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(piece.code, encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for piece in pieces:
        if piece.kind == "shell":
            run_shell_chunk(piece, page)
            continue
        if piece.kind != "run":
            continue
        # Blank lines in front make tracebacks name the page's own line numbers.
        source = "\n" * (piece.line - 1) + piece.code
        exec(compile(source, str(page), "exec"), namespace)  # noqa: S102


def leftover_children() -> list[str]:
    """The names of this process's child processes still running (read from Linux's /proc)."""
    mine = str(os.getpid())
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended meanwhile
            continue
        # "pid (name) state ppid …", where the name may hold spaces and parentheses.
        name_ends = text.rfind(")")
        state, parent = text[name_ends + 2 :].split()[:2]
        if parent == mine and state != "Z":
            left.append(text[text.index("(") + 1 : name_ends])
    return left


if __name__ == "__main__":
    import atexit
    import traceback

    try:
        run(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
        status = 0
    except BaseException:
        traceback.print_exc()
        status = 1
    # What the page registered to clean up (a server process it started) runs now:
    # os._exit below skips it.
    atexit._run_exitfuncs()
    if status == 0 and (left := leftover_children()):
        print(f"the page left processes running: {', '.join(left)}", file=sys.stderr)
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # A page may leave server threads it started (a key server for its examples): end
    # the process here rather than wait at interpreter exit for them.
    os._exit(status)
