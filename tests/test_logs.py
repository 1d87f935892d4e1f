"""Where jwtgate's log lines go when the app configured no logging, and the throttle."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap

import pytest

from jwtgate.logs import ServerLogHandler, Throttle, logger


@pytest.fixture
def unconfigured(monkeypatch):
    """The logging state of an app that configured nothing.

    pytest adds its capturing handlers to the root logger when a test's call
    starts, after its fixtures ran: the root gets a handler list that stays empty.
    """
    monkeypatch.setattr(logging.root, "handlers", _NoHandlers())
    for name in ("gunicorn", "gunicorn.error", "uvicorn", "uvicorn.error"):
        monkeypatch.setattr(logging.getLogger(name), "handlers", [])
    stream = io.StringIO()
    last_resort = logging.StreamHandler(stream)
    last_resort.setLevel(logging.WARNING)
    monkeypatch.setattr(logging, "lastResort", last_resort)
    return stream


class _NoHandlers(list):
    """A root handler list that stays empty: pytest's additions are dropped."""

    def append(self, handler) -> None:
        pass


def server_logger(name: str, monkeypatch) -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(f"[{name}] %(levelname)s %(message)s"))
    monkeypatch.setattr(logging.getLogger(name), "handlers", [handler])
    return stream


def test_the_jwtgate_logger_carries_the_server_log_handler_once():
    assert [type(h) for h in logger.handlers].count(ServerLogHandler) == 1


def test_warnings_go_to_gunicorns_error_log(unconfigured, monkeypatch):
    gunicorn = server_logger("gunicorn.error", monkeypatch)
    uvicorn = server_logger("uvicorn.error", monkeypatch)  # uvicorn workers under gunicorn
    logger.warning("jwtgate: keys unavailable")
    assert gunicorn.getvalue() == "[gunicorn.error] WARNING jwtgate: keys unavailable\n"
    assert uvicorn.getvalue() == ""
    assert unconfigured.getvalue() == ""


def test_warnings_go_to_uvicorns_error_log(unconfigured, monkeypatch):
    uvicorn = server_logger("uvicorn", monkeypatch)  # uvicorn.error propagates to it
    logger.error("jwtgate: redis unreachable")
    logger.info("jwtgate: not at the logger's level")
    assert uvicorn.getvalue() == "[uvicorn] ERROR jwtgate: redis unreachable\n"


def test_without_a_server_warnings_go_to_standard_error(unconfigured):
    logger.warning("jwtgate: stale keys")
    logger.debug("jwtgate: not shown")
    assert unconfigured.getvalue() == "jwtgate: stale keys\n"


def test_debug_lines_reach_the_server_log_once_the_jwtgate_logger_is_at_debug(
    unconfigured, monkeypatch
):
    uvicorn = server_logger("uvicorn.error", monkeypatch)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("jwtgate: refused a request")
    finally:
        logger.setLevel(logging.NOTSET)
    assert "DEBUG jwtgate: refused a request" in uvicorn.getvalue()


def test_it_steps_aside_once_the_app_configures_logging(unconfigured, monkeypatch):
    gunicorn = server_logger("gunicorn.error", monkeypatch)
    stream = io.StringIO()
    monkeypatch.setattr(logging.root, "handlers", [logging.StreamHandler(stream)])
    logger.warning("jwtgate: once")
    assert stream.getvalue() == "jwtgate: once\n"  # propagated to the app's handler only
    assert gunicorn.getvalue() == ""


def test_it_steps_aside_for_a_handler_on_the_jwtgate_logger(unconfigured, monkeypatch):
    own = io.StringIO()
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, logging.StreamHandler(own)])
    logger.warning("jwtgate: mine")
    assert own.getvalue() == "jwtgate: mine\n"
    assert unconfigured.getvalue() == ""


def test_a_server_handler_keeps_its_own_level(unconfigured, monkeypatch):
    gunicorn = server_logger("gunicorn.error", monkeypatch)
    logging.getLogger("gunicorn.error").handlers[0].setLevel(logging.ERROR)
    logger.warning("jwtgate: below the handler's level")
    assert gunicorn.getvalue() == ""


def test_a_warning_reaches_standard_error_in_a_fresh_interpreter():
    # What an app that configured nothing gets: Python's own state, no pytest handlers.
    code = textwrap.dedent(
        """
        from jwtgate.logs import logger
        logger.warning("jwtgate: the keys at https://x/jwks are unavailable")
        logger.info("jwtgate: quiet")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr == "jwtgate: the keys at https://x/jwks are unavailable\n"


def test_the_throttle_lets_a_key_through_once_per_interval(monkeypatch):
    import jwtgate.logs

    now = [100.0]
    monkeypatch.setattr(jwtgate.logs.time, "monotonic", lambda: now[0])
    throttle = Throttle(10.0)
    assert throttle.allow("a") == 0
    assert throttle.allow("a") is None
    assert throttle.allow("a") is None
    assert throttle.allow("b") == 0
    now[0] += 10.5
    assert throttle.allow("a") == 2  # two held back since the last line
    assert throttle.allow("a") is None


def test_the_throttle_holds_a_bounded_number_of_keys():
    throttle = Throttle(60.0, maxsize=2)
    for key in "abcdef":
        throttle.allow(key)
        throttle.allow(key)
    assert len(throttle._held) <= 2
