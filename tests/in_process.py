"""The ``jwtgate`` command run in-process through ``main()``, as most CLI tests run it."""

from __future__ import annotations

import io

from jwtgate.cli import main


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """``jwtgate *args`` with ``stdin``: its exit code, what it printed and its errors."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()
