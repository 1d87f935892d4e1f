"""Draw the documentation's performance charts from ``benchmarks/results.md``.

    pip install -e '.[bench]'          # matplotlib
    python benchmarks/charts.py        # writes docs/images/bench-*.svg

The numbers are read from the results file that ``run_all.py`` writes, never
typed in: rerun the benchmarks, rerun this script, and the charts follow.
The SVGs are deterministic (no date, fixed ids), so an unchanged result
gives an unchanged file.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.md"
IMAGES = ROOT / "docs" / "images"

#: (label in the chart, server, app row in the HTTP table)
HTTP_ROWS = [
    (
        "Flask, gunicorn",
        "gunicorn gthread ×2",
        ("Flask bare", "Flask + jwtgate", "flask-jwt-extended"),
    ),
    (
        "Starlette, uvicorn (uvloop)",
        "uvicorn uvloop/httptools",
        ("Starlette bare", "Starlette + jwtgate", "AuthenticationMiddleware + PyJWT"),
    ),
    (
        "FastAPI, uvicorn (uvloop)",
        "uvicorn uvloop/httptools, FastAPI",
        ("FastAPI bare", "FastAPI + jwtgate current_user", "FastAPI HTTPBearer + PyJWT"),
    ),
]
SERIES = ("no authentication", "jwtgate", "the usual alternative")


@dataclass(frozen=True)
class CoreRow:
    algorithm: str
    hit: float
    miss: float
    decode: float


def _section(text: str, title: str) -> str:
    """The body of the ``## title…`` section of the results file."""
    match = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        raise ValueError(f"results.md has no section starting {title!r}")
    return match.group(1)


def core_rows(text: str) -> list[CoreRow]:
    """Cache hit, cache miss and PyJWT's ``jwt.decode`` in µs, per algorithm."""
    body = _section(text, "Core")
    found = re.findall(r"^(\w+)\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+×$", body, re.M)
    return [CoreRow(a, float(h), float(m), float(d)) for a, h, m, d in found]


def http_rows(text: str) -> dict[tuple[str, str], float]:
    """Requests per second over HTTP, by (server, app)."""
    body = _section(text, "Over real HTTP")
    rates = {}
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) > 3 and re.fullmatch(r"[\d,]+", cells[2]):
            rates[(cells[0], cells[1])] = float(cells[2].replace(",", ""))
    return rates


def wsgi_added(text: str, algorithm: str = "RS256") -> dict[str, float]:
    """µs each WSGI case adds to a bare Flask request, for ``algorithm``."""
    body = _section(text, "WSGI in process")
    added = {}
    for line in body.splitlines():
        match = re.match(r"^(.+?)\s{2,}([\d.]+)\s+\+([\d.]+)\s", line)
        if match and algorithm in match.group(1):
            added[match.group(1).replace(f", {algorithm}", "").strip()] = float(match.group(3))
    return added


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.hashsalt": "jwtgate",  # stable element ids
            "svg.fonttype": "none",  # text stays text: small files, searchable
            "font.family": "sans-serif",
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


COLOURS = ("#9e9e9e", "#3f51b5", "#e57373")


def _save(plt, fig, target: Path) -> None:  # type: ignore[no-untyped-def]
    """Lay the figure out, write it (no date: the SVG depends on the results alone), close it."""
    fig.tight_layout()
    fig.savefig(target, metadata={"Date": None})
    plt.close(fig)


def _grouped_bars(ax, rows, values, label) -> None:  # type: ignore[no-untyped-def]
    """Three bars per row (bare, jwtgate, the alternative), each with ``label(value, row)``."""
    width = 0.26
    for index, (_, server, apps) in enumerate(rows):
        for offset, (app, colour, name) in enumerate(zip(apps, COLOURS, SERIES, strict=True)):
            value = values[(server, app)]
            x = index + (offset - 1) * width
            ax.bar(x, value, width, color=colour, label=name if index == 0 else None)
            ax.annotate(
                label(value, values[(server, apps[0])]),
                (x, value),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_xticks(range(len(rows)), [row[0] for row in rows])


def draw_http(text: str, target: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    _grouped_bars(ax, HTTP_ROWS, http_rows(text), lambda value, bare: f"{value / bare:.2f}×")
    ax.set_ylabel("requests per second (RS256)")
    ax.set_title("Over HTTP on 127.0.0.1: throughput, and its ratio to no authentication")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _save(plt, fig, target)


def draw_core(text: str, target: Path) -> None:
    plt = _pyplot()
    rows = core_rows(text)
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    width = 0.26
    series = (
        ("jwtgate, cache hit", "hit", COLOURS[1]),
        ("jwtgate, cache miss", "miss", "#7986cb"),
        ("PyJWT jwt.decode", "decode", COLOURS[2]),
    )
    for offset, (name, field, colour) in enumerate(series):
        values = [getattr(row, field) for row in rows]
        xs = [i + (offset - 1) * width for i in range(len(rows))]
        ax.bar(xs, values, width, color=colour, label=name)
        for x, value in zip(xs, values, strict=True):
            ax.annotate(
                f"{value:.3g}",
                (x, value),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_yscale("log")
    ax.set_ylim(1, 600)
    ax.set_xticks(range(len(rows)), [row.algorithm for row in rows])
    ax.set_ylabel("µs per authenticate() (log scale)")
    ax.set_title("The core: a repeated token costs ~2 µs; a new one less than jwt.decode")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _save(plt, fig, target)


WSGI_CASES = (
    ("jwtgate, cache hit", "jwtgate hit, @require_auth"),
    ("jwtgate, cache miss", "jwtgate miss (cache off), @require_auth"),
    ("Authlib ResourceProtector", "Authlib ResourceProtector"),
    ("flask-jwt-extended", "flask-jwt-extended"),
)


def draw_wsgi(text: str, target: Path) -> None:
    plt = _pyplot()
    added = wsgi_added(text)
    labels = [label for label, _ in WSGI_CASES]
    values = [added[case] for _, case in WSGI_CASES]
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    colours = [COLOURS[1], "#7986cb", COLOURS[2], COLOURS[2]]
    ax.barh(labels, values, color=colours)
    for y, value in enumerate(values):
        ax.annotate(
            f"+{value:.1f} µs",
            (value, y),
            va="center",
            fontsize=8,
            xytext=(3, 0),
            textcoords="offset points",
        )
    ax.invert_yaxis()
    ax.set_xlabel("µs added to a bare Flask request (RS256, in process)")
    ax.set_title("Flask: what authentication adds to each request")
    _save(plt, fig, target)


@dataclass(frozen=True)
class MissRow:
    algorithm: str
    miss: float
    floor: float
    decode: float
    target: float

    @property
    def ratio(self) -> float:
        return self.miss / self.floor


def miss_rows(text: str) -> list[MissRow]:
    """A cache miss, its cryptographic floor and ``jwt.decode``, in µs, per algorithm.

    Runs with the ``stdlib`` columns (the miss and its ratio with the standard
    library's JSON decoder alone) and runs from before them are both read.
    """
    body = _section(text, "Cache miss and refusals")
    found = re.findall(
        r"^(\w+)\s+\d+\s+([\d.]+)\s+(?:[\d.]+\s+)?([\d.]+)\s+([\d.]+)\s+[\d.]+×\s+"
        r"(?:[\d.]+×\s+)?([\d.]+)×",
        body,
        re.M,
    )
    return [MissRow(a, float(m), float(f), float(d), float(t)) for a, m, f, d, t in found]


def draw_miss(text: str, target: Path) -> None:
    plt = _pyplot()
    rows = miss_rows(text)
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    width = 0.26
    series = (
        ("the cryptography alone", "floor", COLOURS[0]),
        ("jwtgate, cache miss", "miss", COLOURS[1]),
        ("PyJWT jwt.decode", "decode", COLOURS[2]),
    )
    for offset, (name, field, colour) in enumerate(series):
        values = [getattr(row, field) for row in rows]
        xs = [i + (offset - 1) * width for i in range(len(rows))]
        ax.bar(xs, values, width, color=colour, label=name)
        for x, value, row in zip(xs, values, rows, strict=True):
            label = f"{value:.3g}" if field != "miss" else f"{row.ratio:.2f}×"
            ax.annotate(
                label,
                (x, value),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_xticks(range(len(rows)), [f"{row.algorithm}\n(target {row.target:g}×)" for row in rows])
    ax.set_ylabel("µs of CPU per token not seen before")
    ax.set_title("A first request against the cryptography it cannot avoid")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _save(plt, fig, target)


def preset_bytes(text: str) -> list[tuple[str, float, int]]:
    """Bytes per cached token and the token's length, per provider preset."""
    body = _section(text, "Core")
    found = re.findall(r"^preset (\w+)\s*: ([\d,]+) bytes per cached (\d+)-char token", body, re.M)
    return [(name, float(value.replace(",", "")), int(chars)) for name, value, chars in found]


def draw_memory(text: str, target: Path) -> None:
    plt = _pyplot()
    rows = preset_bytes(text)
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    labels = [f"{name} ({chars} chars)" for name, _, chars in rows]
    values = [value for _, value, _ in rows]
    ax.barh(labels, values, color=COLOURS[1])
    for y, value in enumerate(values):
        ax.annotate(
            f"{value:,.0f} B",
            (value, y),
            va="center",
            fontsize=8,
            xytext=(3, 0),
            textcoords="offset points",
        )
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.18)
    ax.set_xlabel("bytes per cached token, the token's text included")
    ax.set_title("Memory per cached user, by provider (their own token shapes)")
    _save(plt, fig, target)


def coldstart_rows(text: str) -> dict[tuple[str, str], float]:
    """Server CPU µs per first request over HTTP, by (server, app)."""
    body = _section(text, "Cold start over HTTP")
    found = {}
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) > 5 and re.fullmatch(r"[\d,]+", cells[2]):
            found[(cells[0], cells[1])] = float(cells[4].replace(",", ""))
    return found


COLDSTART_ROWS = [
    (
        "Flask, gunicorn ×2",
        "gunicorn gthread, 2 workers",
        ("Flask bare", "Flask + jwtgate", "flask-jwt-extended"),
    ),
    (
        "Starlette, uvicorn ×2 (uvloop)",
        "uvicorn uvloop, 2 workers",
        (
            "Starlette bare",
            "Starlette + jwtgate",
            "Starlette + PyJWT (AuthenticationMiddleware)",
        ),
    ),
]


def draw_coldstart(text: str, target: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    _grouped_bars(ax, COLDSTART_ROWS, coldstart_rows(text), lambda value, _: f"{value:.0f}")
    ax.set_ylabel("server CPU µs per request (RS256)")
    ax.set_title("Cold start over HTTP: every request a new user's first")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _save(plt, fig, target)


CHARTS = {
    "bench-http.svg": draw_http,
    "bench-core.svg": draw_core,
    "bench-flask.svg": draw_wsgi,
    "bench-miss.svg": draw_miss,
    "bench-memory.svg": draw_memory,
    "bench-coldstart.svg": draw_coldstart,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=IMAGES)
    args = parser.parse_args()
    text = args.results.read_text(encoding="utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, draw in CHARTS.items():
        draw(text, args.out / name)
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
