"""Watching what the code under test calls, without changing what it does."""

from __future__ import annotations

from typing import Any

import pytest


def first_arguments(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """The first argument of every call to ``module.name`` from now on; the real one still runs."""
    calls: list[Any] = []
    real = getattr(module, name)

    def recording(first: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(first)
        return real(first, *args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls
