"""Prove the built package is what a user would install: contents, then a real run.

Usage: python .ci/check_package.py DIST_DIR

1. The wheel holds the package, ``py.typed``, the licence and both entry points
   (the ``jwtgate`` script and the pytest plugin), and no tests.
2. The sdist holds what building, testing and the docs site need.
3. The wheel goes into a fresh virtualenv of its own (no checkout on the path):
   ``jwtgate --version``, then ``jwtgate demo --port 0`` serves, answers a smoke
   request with and without a token, and stops on SIGINT. Every wait is bounded
   and the server is stopped by its PID, even on failure.
"""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

STARTUP_SECONDS = 60
SDIST_NEEDS = (
    "LICENSE",
    "README.md",
    "SECURITY.md",
    "pyproject.toml",
    "mkdocs.yml",
    "docs/index.md",
    "jwtgate/py.typed",
    "tests/conftest.py",
    "tests/test_docs.py",
    "examples/core_demo.py",
)


def fail(message: str) -> None:
    print(f"check_package: {message}", file=sys.stderr)
    sys.exit(1)


def one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        fail(f"expected one {pattern} in {folder}, found {[p.name for p in found]}")
    return found[0]


def check_wheel(wheel: Path) -> str:
    names = set(zipfile.ZipFile(wheel).namelist())
    version = wheel.name.split("-")[1]
    info = f"jwtgate-{version}.dist-info"
    for needed in ("jwtgate/__init__.py", "jwtgate/py.typed", f"{info}/licenses/LICENSE"):
        if needed not in names:
            fail(f"{wheel.name} lacks {needed}")
    if any(name.startswith("tests/") for name in names):
        fail(f"{wheel.name} ships the tests")
    entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    for line in ("jwtgate = jwtgate.cli:main", "jwtgate = jwtgate.testing.pytest_plugin"):
        if line not in entry_points:
            fail(f"{wheel.name}: entry point {line!r} missing")
    print(f"check_package: {wheel.name}: {len(names)} files, py.typed, LICENSE, entry points")
    return version


def check_sdist(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        root = sdist.name.removesuffix(".tar.gz")
        names = {name.removeprefix(root + "/") for name in archive.getnames()}
    missing = [name for name in SDIST_NEEDS if name not in names]
    if missing:
        fail(f"{sdist.name} lacks {missing}")
    print(f"check_package: {sdist.name}: {len(names)} files, with {', '.join(SDIST_NEEDS)}")


def fetch(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def smoke(wheel: Path, version: str, work: Path) -> None:
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        timeout=600,
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "HOME": str(work)}

    def printed(*argv: str) -> str:
        """What ``argv`` prints, run in the virtualenv with no checkout on the path."""
        return subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, check=True, timeout=60
        ).stdout

    where = printed(str(bin_dir / "python"), "-c", "import jwtgate; print(jwtgate.__file__)")
    where = where.strip()
    if not where.startswith(str(venv)):
        fail(f"jwtgate was imported from {where}, not from the wheel's virtualenv")
    said = printed(str(bin_dir / "jwtgate"), "--version")
    if said != f"jwtgate {version}\n":
        fail(f"jwtgate --version said {said!r}")

    demo = subprocess.Popen(
        [str(bin_dir / "jwtgate"), "demo", "--port", "0"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=read_lines, args=(demo.stdout, lines), daemon=True).start()
        base = token = None
        deadline = time.monotonic() + STARTUP_SECONDS
        label = ""
        while token is None:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                fail(f"the demo exited early ({demo.wait(10)}): {demo.stderr.read()}")
            if match := re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line):
                base = match[1]
            elif line.startswith("# "):
                label = line
            elif label.startswith("# user: who am I") and line.startswith("curl "):
                token = re.search(r"Authorization: Bearer ([\w.-]+)", line)[1]  # type: ignore[index]
        if base is None:
            fail("the demo printed no URL before its examples")
            return
        status, _, _ = fetch(base + "/")
        if status != 200:
            fail(f"GET / answered {status}")
        status, headers, _ = fetch(base + "/me")
        if status != 401 or not headers.get("WWW-Authenticate", "").startswith("Bearer"):
            fail(f"GET /me without a token answered {status} {headers}")
        status, _, body = fetch(base + "/me", token)
        if status != 200 or json.loads(body)["sub"] != "reader-1":
            fail(f"GET /me with the printed token answered {status} {body!r}")
        status, _, _ = fetch(base + "/admin", token)
        if status != 403:
            fail(f"GET /admin as a reader answered {status}")
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=15)
        if code != 0:
            fail(f"the demo exited with {code} on SIGINT")
        print(f"check_package: the wheel's jwtgate {version} served the demo on {base}")
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)


def main() -> None:
    dist = Path(sys.argv[1]).resolve()
    wheel = one(dist, "jwtgate-*.whl")
    version = check_wheel(wheel)
    check_sdist(one(dist, "jwtgate-*.tar.gz"))
    with tempfile.TemporaryDirectory(prefix="jwtgate-wheel-") as work:
        smoke(wheel, version, Path(work))


if __name__ == "__main__":
    main()
