"""Run every benchmark and the soak, and write the results as markdown to benchmarks/results.md.

    python benchmarks/run_all.py [--quick] [--soak-seconds 60] [--output benchmarks/results.md]

Each script runs in its own process, one after the other (they must not compete
for the 2 cores): bench_core.py (cache hit/miss against ``jwt.decode``, memory per
cached token, per provider), bench_miss.py (a miss and refusals against the
cryptography they cannot avoid), bench_instructions.py (the same counted in CPU
instructions, under valgrind, where it is installed), bench_scaling.py, bench_sources.py (the
providers' cookie sources), bench_wsgi.py, bench_asgi.py (and
bench_asgi_pieces.py) and bench_django.py (in process, against the peers),
bench_rules.py (a 100-line path rule table), bench_remote.py (JWKS fetch
counts), bench_revocation.py (a revocation's way to every process, through a
real Redis), bench_http.py (real HTTP with wrk), bench_coldstart.py (every
request a new user, over HTTP) and soak.py. The file starts with the machine,
the versions and the command; the HTTP tables are markdown, the in-process
tables are kept as the scripts print them. Exits 1 if a script fails or the soak finds a fault.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = (
    "jwtgate", "pyjwt", "cryptography", "flask", "werkzeug", "starlette", "fastapi",
    "flask-jwt-extended", "authlib", "gunicorn", "uvicorn", "uvloop", "httptools",
)  # fmt: skip


def machine() -> str:
    """CPU model and count, memory, OS and Python: what the numbers depend on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f", {int(mem) / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        memory = ""
    return (
        f"{os.cpu_count()} × {model}{memory}, {platform.system()} {platform.release()}, "
        f"CPython {platform.python_version()}"
    )


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        found.append((out.stdout or out.stderr).split(" [")[0].strip())
    return ", ".join(found)


def run(script: str, arguments: list[str]) -> tuple[int, str, float]:
    """Run one script; its exit code, its output and how long it took."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(HERE / script), *arguments],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    # Progress lines go to stderr; keep them only when they explain a failure.
    output = done.stdout if done.returncode == 0 else done.stdout + done.stderr
    return done.returncode, output, time.monotonic() - started


#: Scripts that need a program beyond Python; skipped, saying so, where it is missing.
NEEDS = {"bench_instructions.py": "valgrind"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--soak-seconds", type=float, default=None)
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    args = parser.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    soak = args.soak_seconds or (10 if args.quick else 60)
    plan = [
        ("Core: cache hit and miss vs jwt.decode, memory per cached token", "bench_core.py", quick),
        ("Cache miss and refusals against the cryptography", "bench_miss.py", quick),
        ("Instructions per miss and refusal (valgrind)", "bench_instructions.py",
         ["--count", "100"] if args.quick else []),
        ("Scaling: issuers, keys, roles, path rules", "bench_scaling.py", quick),
        ("Providers' token sources: Clerk and Supabase cookies", "bench_sources.py", quick),
        (
            "WSGI in process: Flask bare, jwtgate, flask-jwt-extended, Authlib",
            "bench_wsgi.py",
            ["--reps", "3", "--seconds", "0.03"] if args.quick else ["--reps", "9"],
        ),
        ("ASGI in process: Starlette and FastAPI, jwtgate and the peers", "bench_asgi.py", quick),
        ("ASGI cache hit, piece by piece", "bench_asgi_pieces.py", quick),
        (
            "Django in process: bare, jwtgate.django, a PyJWT middleware",
            "bench_django.py",
            ["--reps", "3", "--seconds", "0.03"] if args.quick else ["--reps", "9"],
        ),
        (
            "Path rules: a 100-line table in both adapters",
            "bench_rules.py",
            ["--reps", "3", "--seconds", "0.03"] if args.quick else ["--reps", "9"],
        ),
        ("Remote keys: fetch counts and requests during a refresh", "bench_remote.py", []),
        ("Revocation: from one process to every other, through Redis", "bench_revocation.py",
         ["--rounds", "30"] if args.quick else []),
        ("Over real HTTP (RS256)", "bench_http.py", quick),
        ("Cold start over HTTP: every request a new user", "bench_coldstart.py", quick),
        ("Soak: mixed traffic while keys rotate and the JWKS server is down", "soak.py",
         ["--seconds", str(soak)]),
    ]  # fmt: skip
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "benchmarks/run_all.py", *given])
    sections = [
        "# jwtgate benchmark results",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Versions: {versions()}",
        f"- Command: `{command}`",
        "- Every number is a median over interleaved repetitions or rounds; ratios are medians",
        "  of same-round ratios. The machine may be shared: compare rows of one table only.",
    ]
    failed = []
    for title, script, arguments in plan:
        program = NEEDS.get(script)
        if program and shutil.which(program) is None:
            print(f"skipping {script}: {program} is not installed", file=sys.stderr, flush=True)
            sections += ["", f"## {title}", "", f"Skipped: {program} is not installed."]
            continue
        print(f"running {script} {shlex.join(arguments)}", file=sys.stderr, flush=True)
        code, output, took = run(script, arguments)
        if code != 0:
            failed.append(script)
        sections += [
            "",
            f"## {title}",
            "",
            f"`{script} {shlex.join(arguments)}` ({took:.0f} s)",
            "",
        ]
        if script in ("bench_http.py", "bench_coldstart.py", "soak.py"):
            sections.append(output.strip())
        else:
            sections += ["```", output.strip(), "```"]
        if code != 0:
            sections.append(f"\n**{script} exited with {code}.**")
    args.output.write_text("\n".join(sections) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
