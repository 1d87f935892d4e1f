"""Every documentation page's code runs: no example can rot.

Each page under ``docs/`` runs in its own subprocess (see ``docs_runner``),
in an empty working directory, with no ``JWTGATE_*`` variable set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_runner import chunks

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md"))
RUNNER = Path(__file__).resolve().parent / "docs_runner.py"


def _runnable(page: Path) -> bool:
    return any(c.kind == "run" for c in chunks(page.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "page", [p for p in PAGES if _runnable(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_page_runs(page, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTGATE_")}
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
    ]
    assert found[2].code == "/admin/* /login 302\n"
