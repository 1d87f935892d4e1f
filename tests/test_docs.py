"""Every documentation page's code runs, and the README's: no example can rot.

Each page under ``docs/``, and ``README.md``, runs in its own subprocess (see
``docs_runner``), in an empty working directory, with no ``JWTGATE_*``
variable set: its Python blocks, its hidden setup and checks, and its shell
commands (``jwtgate`` lines for real; ``pip install`` lines checked).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_runner import Chunk, chunks, expand_snippets, shell_plan

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUNNER = Path(__file__).resolve().parent / "docs_runner.py"


def _runnable(page: Path) -> bool:
    text = expand_snippets(page.read_text(encoding="utf-8"))
    return any(c.kind in ("run", "shell") for c in chunks(text))


@pytest.mark.parametrize(
    "page", [p for p in PAGES if _runnable(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_page_runs(page, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTGATE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / ".config")  # jwtgate mint's development keys
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(page), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"{page.relative_to(ROOT)} failed:\n{done.stderr[-4000:]}"


def test_the_runner_reads_blocks_files_and_hidden_code():
    page = "\n".join(
        [
            "Text.",
            "```python",
            "x = 1",
            "```",
            "<!-- docs:check",
            "assert x == 1",
            "-->",
            '```text title="_redirects"',
            "/admin/* /login 302",
            "```",
            "```bash",
            "jwtgate --version",
            "```",
        ]
    )
    found = chunks(page)
    assert [(c.kind, c.line, c.title) for c in found] == [
        ("run", 3, None),
        ("run", 6, None),
        ("file", 9, "_redirects"),
        ("shell", 12, None),
    ]
    assert found[2].code == "/admin/* /login 302\n"


def _shell(code: str, language: str = "bash") -> Chunk:
    return Chunk("shell", 10, code, language=language)


def test_shell_lines_are_run_checked_or_shown_for_a_reason():
    plan = shell_plan(
        _shell(
            "# a comment\n"
            "python3 -m venv .venv && . .venv/bin/activate && pip install -e .\n"
            "TOKEN=$(jwtgate mint --netlify)\n"
            "export JWTGATE_SECRET=x\n"
            'jwtgate verify "$TOKEN" \\\n    --preset netlify   # exits 1: refused\n'
            "jwtgate demo --port 9000\n"
            "pip install 'dist/jwtgate-0.1.0-py3-none-any.whl[flask]'\n"
            "curl -i http://127.0.0.1:8000/\n"
        )
    )
    assert [(c.line, c.action, c.exits) for c in plan] == [
        (11, "shown", 0),
        (11, "shown", 0),
        (11, "pip", 0),
        (12, "run", 0),
        (13, "run", 0),
        (14, "run", 1),
        (16, "demo", 0),
        (17, "pip", 0),
        (18, "shown", 0),
    ]


def test_console_blocks_run_the_prompted_lines_and_check_their_output():
    plan = shell_plan(
        _shell(
            "$ jwtgate --version\njwtgate 0.1.0\n\n$ jwtgate mint --algorithm x  # exits 2\n",
            "console",
        )
    )
    assert [(c.text, c.output, c.exits) for c in plan] == [
        ("jwtgate --version", "jwtgate 0.1.0", 0),
        ("jwtgate mint --algorithm x  # exits 2", "", 2),
    ]


def test_a_console_command_must_print_what_the_page_shows(tmp_path):
    from tests.docs_runner import Command, _check_output

    shown = Command(1, "jwtgate --version", "run", output="jwtgate 0.…")
    _check_output(shown, "jwtgate 0.1.0\n", tmp_path)
    with pytest.raises(AssertionError, match="but the page shows"):
        _check_output(shown, "jwtgate 1.0\n", tmp_path)
    with pytest.raises(AssertionError, match="but the page shows"):
        _check_output(shown, "jwtgate 0.1.0\nmore\n", tmp_path)


def test_an_unknown_shell_command_fails_the_page():
    with pytest.raises(ValueError, match="does not know: 'frobnicate'"):
        shell_plan(_shell("frobnicate --now"))


@pytest.mark.parametrize(
    "line",
    ["pip install jwtgate", "pip install 'jwtgate[flask]'", "pip install -U jwtgate==0.1.0"],
)
def test_installing_jwtgate_from_an_index_is_refused(line):
    from tests.docs_runner import check_pip

    (command,) = shell_plan(_shell(line))
    with pytest.raises(AssertionError, match="not published"):
        check_pip(command)


@pytest.mark.parametrize(
    ("line", "fine"),
    [
        ("pip install -e '.[flask,fastapi,test]'", True),
        ("pip install 'dist/jwtgate-0.1.0-py3-none-any.whl[fastapi]'", True),
        ("pip install -e '.[flask,tests]'", False),
        ("pip install 'dist/jwtgate-0.1.0-py3-none-any.whl[fastpi]'", False),
    ],
)
def test_installing_extras_that_do_not_exist_is_refused(line, fine):
    from tests.docs_runner import check_pip

    (command,) = shell_plan(_shell(line))
    if fine:
        check_pip(command)
    else:
        with pytest.raises(AssertionError, match="does not define"):
            check_pip(command)


def test_the_readme_commands_are_the_ones_ci_runs():
    """The README's install and test commands are exactly what .ci/run runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    block = next(c for c in chunks(readme) if c.kind == "shell")
    steps = [command.text for command in shell_plan(block)]
    installs = [line.strip() for line in ci if line.strip().startswith("pip install -e ")]
    for step in steps:
        if step.startswith("pytest"):
            assert step in ci, f"README runs {step!r}; .ci/run does not"
        if step.startswith("pip install"):
            # The demo's plain install is covered by CI's, which adds extras to it.
            assert any(_extras(step) <= _extras(line) for line in installs), step
    assert "pip install -e '.[dev]'" in steps
    assert "pytest --cov" in steps


def _extras(pip_line: str) -> set[str]:
    """The extras a ``pip install -e '.[a,b]'`` line asks for (none for ``-e .``)."""
    target = pip_line.split()[-1].strip("'\"")
    assert target.startswith("."), pip_line
    return set(target[2:-1].split(",")) if "[" in target else set()


def _python_units(page: Path) -> list[tuple[str, str]]:
    """A page's Python as a reader meets it: its blocks in order as one script, and each
    titled ``.py`` file on its own."""
    found = chunks(expand_snippets(page.read_text(encoding="utf-8")))
    script = "\n".join(c.code for c in found if c.kind == "run")
    units = [(str(page.relative_to(ROOT)), script)] if script.strip() else []
    units += [
        (f"{page.relative_to(ROOT)}:{c.title}", c.code)
        for c in found
        if c.kind == "file" and c.title and c.title.endswith(".py")
    ]
    return units


@pytest.mark.parametrize(
    ("name", "code"),
    [unit for page in PAGES for unit in _python_units(page)],
    ids=lambda value: value if value.endswith((".md", ".py")) else "",
)
def test_no_example_imports_a_name_it_never_uses_or_uses_one_it_never_imports(name, code):
    """Unused imports (F401) and undefined names (F821), as ruff finds them."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff comes with the dev extra"
    done = subprocess.run(
        [
            ruff,
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "F401,F821",
            "--output-format",
            "concise",
            "--stdin-filename",
            "example.py",
            "-",
        ],
        input=code,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{name}:\n{done.stdout}"


def test_the_wheel_named_in_the_docs_is_the_one_a_build_makes():
    import re

    import jwtgate

    for page in PAGES:
        for named in re.findall(r"jwtgate-([\w.]+)-py3-none-any\.whl", page.read_text("utf-8")):
            assert named == jwtgate.__version__, f"{page.relative_to(ROOT)} names {named}"
