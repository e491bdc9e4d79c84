"""What the metrics and security-header wrapper (api/core/metrics.py ``Instrumented``) costs a request.

In one process, no server and no sockets (so the machine's load moves the figures as little as
possible): a bare Litestar app with one JSON route is called through ASGI directly, N times, with
and without the wrapper around it, in prometheus-client's single-process mode and in the
multiprocess mode ``zhengwu serve`` runs (``PROMETHEUS_MULTIPROC_DIR``: samples in mmap'd files).
Bare and wrapped take turns in each child, best of the rounds. Prints microseconds per request and
the wrapper's share; figures, never pass/fail.

    .venv/bin/python tests/bench/bench_metrics.py [--requests 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import asyncio, sys, time
from litestar import Litestar, get

requests, rounds = int(sys.argv[1]), int(sys.argv[2])

@get("/api/v1/ping/{code:str}", sync_to_thread=False)
def ping(code: str) -> dict[str, str]:
    return {"code": code}

app = Litestar([ping], openapi_config=None, logging_config=None)
from api.core.metrics import Instrumented
wrapped = Instrumented(app, production=True)

scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
         "path": "/api/v1/ping/abc", "raw_path": b"/api/v1/ping/abc", "root_path": "", "query_string": b"",
         "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}

async def receive():
    return {"type": "http.request", "body": b"", "more_body": False}

async def send(message):
    return None

async def timed(handler):
    started = time.perf_counter()
    for _ in range(requests):
        await handler(dict(scope), receive, send)
    return (time.perf_counter() - started) / requests * 1e6

async def main():
    for handler in (app, wrapped):  # warm
        for _ in range(2000):
            await handler(dict(scope), receive, send)
    best = {"bare": float("inf"), "wrapped": float("inf")}
    for _ in range(rounds):  # taking turns: the machine's load drifts
        best["bare"] = min(best["bare"], await timed(app))
        best["wrapped"] = min(best["wrapped"], await timed(wrapped))
    print(best["bare"], best["wrapped"])

asyncio.run(main())
"""


def measure(requests: int, rounds: int, multiprocess: bool) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as directory:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        done = subprocess.run([sys.executable, "-c", _CHILD, str(requests), str(rounds)],
                              env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    bare, wrapped = done.stdout.split()
    return float(bare), float(wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"best of {args.rounds} rounds × {args.requests} requests, bare and wrapped taking turns")
    for label, multiprocess in (("single-process metrics", False), ("multiprocess (zhengwu serve)", True)):
        bare, wrapped = measure(args.requests, args.rounds, multiprocess=multiprocess)
        extra = wrapped - bare
        print(f"{label:30} bare {bare:6.1f} µs/request, with Instrumented {wrapped:6.1f}: "
              f"+{extra:.1f} µs ({extra / bare:+.1%})")


if __name__ == "__main__":
    main()
