"""A real Chromium (Debian's, driven by Playwright) against the example apps under real servers.

One browser for the whole package, a fresh context (cookie jar) per test. The
browser is the system's ``chromium``; nothing downloads one. Where it or
Playwright is missing the tests skip, except in CI (``CI`` set), where they fail.

Every test's key steps are screenshotted in memory; when a test fails they
are written to ``--browser-artifacts DIR`` (else the test's ``tmp_path``), with
a screenshot of every page still open.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import flask_example, starlette_example
from tests.tools import unavailable

from . import access_log
from .kit import AccessLog, Browser, Site

#: Chromium's flags on this machine: headless, no sandbox (root, containers), and no
#: background connections (the network is closed: Chromium's own would be refused).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_FAILED = pytest.StashKey[bool]()
OBSERVED: list[tuple[str, str]] = []


def _unavailable(reason: str) -> None:
    unavailable(f"the browser tests cannot run: {reason}")


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("no chromium on PATH (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        failure = None
        try:
            # Playwright gives it a fresh, empty profile (--user-data-dir), removed on close.
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS, timeout=30_000
            )
        except Error as exc:  # the message ends with the browser's own log
            failure = f"{executable} did not start: {str(exc)[-1500:]}"
        if failure is not None:
            _unavailable(failure)
        OBSERVED.append(("browser", f"Chromium {browser.version} ({executable})"))
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture
def browser(chromium: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Browser]:
    session = Browser(chromium.new_context())
    try:
        yield session
    finally:
        if request.node.stash.get(_FAILED, False):
            root = request.config.getoption("browser_artifacts")
            folder = Path(root) / _folder_name(request.node.nodeid) if root else tmp_path
            written = session.save(folder)
            print(f"browser: {len(written)} screenshots in {folder}")
        session.context.close()


def _folder_name(nodeid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in nodeid)[-120:]


@pytest.fixture
def observe(request: pytest.FixtureRequest, record_property: Any) -> Any:
    """Record what the browser did, in the JUnit report and the session's closing summary."""

    def record(what: str) -> None:
        record_property("browser", what)
        OBSERVED.append((request.node.name, what))

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if OBSERVED:
        terminalreporter.section("what the browser did")
        for name, what in OBSERVED:
            terminalreporter.write_line(f"{name}: {what}")


# --- the servers ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def site() -> Iterator[Site]:
    running = Site()
    try:
        yield running
    finally:
        running.close()


@dataclass
class App:
    url: str
    log: AccessLog | None = None


@contextmanager
def _flask_example(tmp_path_factory: pytest.TempPathFactory, **env: str) -> Iterator[App]:
    """examples/flask_app under gunicorn, in development mode, logging what it answers."""
    log = tmp_path_factory.mktemp("gunicorn") / "access.log"
    args = (
        f"--access-logfile {log} --access-logformat '{access_log.FORMAT}' "
        f"--logger-class {access_log.__name__}.TokenCookieLogger"
    )
    with flask_example(EXAMPLE_DEVELOPMENT="1", GUNICORN_CMD_ARGS=args, **env) as server:
        yield App(server.url, AccessLog(log))


@pytest.fixture(scope="package")
def flask_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """examples/flask_app under gunicorn, its views' decorators deciding alone."""
    with _flask_example(tmp_path_factory) as app:
        yield app


@pytest.fixture(scope="package")
def flask_rules_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """examples/flask_app under gunicorn with its ``_redirects`` rules applied in front."""
    with _flask_example(tmp_path_factory, JWTGATE_RULES_FILE="_redirects") as app:
        yield app


@pytest.fixture(scope="package")
def starlette_app() -> Iterator[App]:
    """examples/starlette_app under uvicorn."""
    with starlette_example("examples.starlette_app.app:app") as server:
        yield App(server.url)
