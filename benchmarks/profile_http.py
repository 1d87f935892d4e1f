"""Profile one server of bench_http.py under wrk load with pyinstrument.

    pip install pyinstrument
    python benchmarks/profile_http.py [--kind uvicorn-uvloop] [--app jwtgate] [--seconds 8]

Starts the server under ``python -m pyinstrument`` on a free 127.0.0.1 port,
loads it with ``wrk -t1 -c8`` (the same RS256 header as bench_http.py), stops it
with SIGINT so pyinstrument writes its report, and prints the report (text,
call tree of the server process). Use it to see where a missed target goes.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SERVERS, free_port, get, stop
from bench_http import environment, run_wrk

from jwtgate.testing import TokenFactory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="uvicorn-uvloop", choices=list(SERVERS))
    parser.add_argument("--app", default="jwtgate")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()

    tokens = TokenFactory("RS256")
    token = tokens.token(sub="bench-user", roles=["reader"], email="ada@example.com")
    port = free_port()
    report = Path(tempfile.mkdtemp()) / "profile.txt"
    command = [
        sys.executable, "-m", "pyinstrument", "-r", "text", "--show-all", "-o", str(report),
        *(a.format(port=port) for a in SERVERS[args.kind]),
    ]  # fmt: skip
    env = {**os.environ, **environment(tokens, args.app)}
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(port)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        header = f"Authorization: Bearer {token}"
        result = run_wrk(f"http://127.0.0.1:{port}/", header, args.seconds, 8, False, False)
        print(f"{args.kind} {args.app}: {result}", file=sys.stderr)
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    finally:
        stop(process)
    print(report.read_text() if report.exists() else "no report written")


if __name__ == "__main__":
    main()
