"""A short run of benchmarks/soak.py: both adapters under mixed load while keys rotate and fail.

The soak starts gunicorn and uvicorn on free 127.0.0.1 ports (stopped by their
process groups when it ends, also on failure) and a JWKS server that rotates
its key and goes down for a quarter of the run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_soak():
    spec = importlib.util.spec_from_file_location("jwtgate_soak", BENCHMARKS / "soak.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_short_soak_answers_every_request_with_the_expected_status():
    soak = load_soak()
    report = soak.run_soak(seconds=6, connections=2, seed=7)

    assert report.faults == [], report.summary()
    assert report.lost == 0, report.summary()
    assert report.server_errors == 0, report.summary()
    assert not report.wrong, report.summary()
    assert report.answered == report.sent > 500
    # The run did what it claims: keys rotated, the JWKS server was down a while,
    # and every case reached both servers with its expected status.
    assert report.rotations >= 2
    assert report.outage_seconds >= 1
    servers = {server for server, _, _ in report.statuses}
    assert servers == {"gunicorn (WSGI)", "uvicorn (ASGI)"}
    seen = {(server, case) for server, case, _ in report.statuses}
    assert seen == {(server, case) for server in servers for case in soak.CASES}
    assert {status for _, _, status in report.statuses} == {200, 401}
