"""What some tests need beyond Python: a program on PATH, Node.js with pinned npm packages.

Where one is missing, the test skips on a developer's machine, saying why,
and fails in CI (``CI`` set), where everything must be there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

NPM_CI_TIMEOUT = 600.0


def unavailable(reason: str) -> NoReturn:
    """Fail in CI, where every tool must be there; skip, saying why, anywhere else."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the test must run)", pytrace=False)
    pytest.skip(reason)


def program(name: str, install: str) -> str:
    """The path of ``name`` on PATH; ``install`` says how to get it."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed ({install})")
    return found


def node_with(folder: Path, why: str) -> str:
    """``node``, with ``folder``'s npm packages installed by ``npm ci`` if they are not yet.

    ``why`` says what the packages are for. The lockfile pins them.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable(f"needs Node.js and npm: {why}")
    if not (folder / "node_modules" / ".package-lock.json").is_file():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            unavailable(f"npm ci in {folder} failed: {done.stderr.strip()[-500:]}")
    return node
