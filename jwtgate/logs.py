"""The ``jwtgate`` logger, and the only way a token may appear in a log."""

from __future__ import annotations

import hashlib
import logging

__all__ = ["fingerprint", "logger"]

logger = logging.getLogger("jwtgate")
logger.addHandler(logging.NullHandler())


def fingerprint(token: str) -> str:
    """A short SHA-256 fingerprint that identifies a token in logs without revealing it."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:12]
