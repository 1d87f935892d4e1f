"""The ``jwtgate`` logger, the only way a token may appear in a log, and where its lines go.

Python's advice for libraries is a ``NullHandler``, which leaves an app that
configured no logging silent. That is the usual case under gunicorn and
uvicorn, which configure their own loggers and not the root one: a JWKS
outage or an unreachable Redis would answer 503 with no line in the server's
log. So the ``jwtgate`` logger carries ``ServerLogHandler`` instead, which
writes its records where the server writes its own errors until the app
configures logging, then steps aside. Its level is the ``jwtgate`` logger's
(WARNING, from the root logger, unless set): set it to DEBUG to see why each
request was refused.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from cachetools import TTLCache

__all__ = ["SERVER_LOGGERS", "ServerLogHandler", "Throttle", "fingerprint", "logger"]

logger = logging.getLogger("jwtgate")

#: The servers' own error loggers, in the order they are preferred (uvicorn's
#: workers under gunicorn have both: gunicorn's is the one its operators read).
SERVER_LOGGERS = ("gunicorn.error", "uvicorn.error")


class ServerLogHandler(logging.Handler):
    """Hands ``jwtgate`` records to the server's error log while the app configured none.

    Steps aside (emits nothing, the record propagating as usual) once the
    root logger or the ``jwtgate`` logger has a handler of the app's own.
    Otherwise the record goes to the handlers of gunicorn's or uvicorn's
    error logger, formatted as the server's own lines, or else to Python's
    last-resort handler (standard error), as if no handler were installed.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if logging.root.handlers or any(h is not self for h in logger.handlers):
            return
        for name in SERVER_LOGGERS:
            # The root logger has no handler here, so these are the server's own (uvicorn
            # puts its handler on "uvicorn", which "uvicorn.error" propagates to).
            server = logging.getLogger(name)
            if server.hasHandlers():
                server.callHandlers(record)
                return
        last_resort = logging.lastResort
        if last_resort is not None and record.levelno >= last_resort.level:
            last_resort.handle(record)


if not any(isinstance(h, ServerLogHandler) for h in logger.handlers):
    logger.addHandler(ServerLogHandler())


def fingerprint(token: str) -> str:
    """A short SHA-256 fingerprint that identifies a token in logs without revealing it."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:12]


class Throttle:
    """Lets a recurring warning through at most once per ``interval`` seconds per key.

    A fail-open decision or a refusal during an outage happens on every
    request; its warning must reach the log without flooding it. ``allow``
    answers ``None`` while the key was logged less than ``interval`` ago, else
    how many times it was held back since.
    """

    def __init__(self, interval: float, *, maxsize: int = 256) -> None:
        self._recent: TTLCache[str, bool] = TTLCache(maxsize, ttl=interval, timer=time.monotonic)
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> int | None:
        """``None`` to stay silent now, else the count of times held back since the last line."""
        with self._lock:
            if key in self._recent:
                if key in self._held or len(self._held) < self._recent.maxsize:
                    self._held[key] = self._held.get(key, 0) + 1
                return None
            self._recent[key] = True
            return self._held.pop(key, 0)
