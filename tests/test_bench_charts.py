"""The performance page's charts are drawn from the benchmark results, and stay so.

``benchmarks/charts.py`` reads ``benchmarks/results.md``; these tests check it
still finds every number it draws there (a reworded results file would
otherwise break the charts silently), that the page shows each chart, and,
with matplotlib (in the ``dev`` and ``bench`` extras), that the committed SVGs
are exactly what the script draws from today's results.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.tools import unavailable

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("charts", ROOT / "benchmarks" / "charts.py")
assert _spec is not None
assert _spec.loader is not None
charts = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("charts", charts)  # dataclasses look their module up there
_spec.loader.exec_module(charts)
RESULTS = charts.RESULTS.read_text(encoding="utf-8")


def test_every_algorithm_of_the_core_table_is_read():
    rows = charts.core_rows(RESULTS)
    assert [row.algorithm for row in rows] == ["HS256", "RS256", "ES256", "EdDSA"]
    assert all(row.hit < row.miss < row.decode for row in rows)


def test_every_http_bar_has_its_number():
    rates = charts.http_rows(RESULTS)
    for _, server, apps in charts.HTTP_ROWS:
        for app in apps:
            assert rates[(server, app)] > 0, (server, app)
    assert rates[("gunicorn gthread ×2", "Flask + jwtgate")] == 5027


def test_every_flask_bar_has_its_number():
    added = charts.wsgi_added(RESULTS)
    for _, case in charts.WSGI_CASES:
        assert added[case] > 0, case
    assert added["flask-jwt-extended"] == pytest.approx(229.85)


def test_the_performance_page_shows_every_chart():
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    for name in charts.CHARTS:
        assert f"(images/{name})" in page
        assert (charts.IMAGES / name).is_file(), name


def test_the_committed_charts_are_drawn_from_todays_results(tmp_path):
    if importlib.util.find_spec("matplotlib") is None:
        unavailable("matplotlib is not installed (pip install -e '.[dev]')")
    for name, draw in charts.CHARTS.items():
        draw(RESULTS, tmp_path / name)
        assert (tmp_path / name).read_bytes() == (charts.IMAGES / name).read_bytes(), (
            f"docs/images/{name} is stale: run python benchmarks/charts.py"
        )


def test_every_miss_bar_has_its_number():
    rows = charts.miss_rows(RESULTS)
    assert [row.algorithm for row in rows] == ["HS256", "RS256", "ES256", "EdDSA"]
    assert all(row.floor < row.miss < row.decode for row in rows)
    assert [row.target for row in rows] == [4.0, 1.6, 1.3, 1.3]


def test_miss_rows_are_read_beside_the_stdlib_columns():
    """bench_miss.py's table with jiter's and the standard library's misses side by side."""
    text = (
        "## Cache miss and refusals against the cryptography\n\n```\n"
        "alg      token     miss   stdlib    floor  jwt.decode  miss/floor  stdlib/floor  target"
        "        spread  miss/stdlib\n"
        "HS256      646     49.2     50.7      7.9        92.0       6.18×         6.39×    4.0×"
        "     -17%/+87%        0.98×\n```\n"
    )
    assert charts.miss_rows(text) == [charts.MissRow("HS256", 49.2, 7.9, 92.0, 4.0)]


def test_every_provider_has_its_bytes():
    rows = charts.preset_bytes(RESULTS)
    assert [name for name, _, _ in rows] == [
        "netlify",
        "privy",
        "auth0",
        "cognito",
        "keycloak",
        "firebase",
        "supabase",
        "clerk",
    ]
    assert all(value > chars for _, value, chars in rows)  # the token's text is in it


def test_every_cold_start_bar_has_its_number():
    cpu = charts.coldstart_rows(RESULTS)
    for _, server, apps in charts.COLDSTART_ROWS:
        for app in apps:
            assert cpu[(server, app)] > 0, (server, app)
