"""Catalog read benchmark: the item guide and search of a 5,933-item catalog against a bare
Litestar JSON endpoint, loaded by the same client (wrk) in one run.

    python tests/bench/bench_catalog.py [--seconds 5] [--rounds 3] [--connections 64] [--threads 2]
                                        [--database URL] [--baseline DIR]

The app runs as in production: the real ``zhengwu serve`` with its logging configuration, access
log on, written to a file; the bare endpoint runs under uvicorn with the same defaults and no
access log (it is the ceiling). On a shared, busy machine the load drifts within a run, so the
three loads take turns, ``--rounds`` times ``--seconds`` each, and each round gives its own
ratios. Prints req/s and p50/p99 per endpoint (all rounds together), every round's ratio and
their median (targets: guide ≥ 0.6 × bare, search ≥ 0.4 × bare), each server's CPU time per
request (from /proc, which other load on the machine hardly moves), the number of access lines
the app wrote against the requests it answered, plus the uncached in-process cost of a search.
Figures, not assertions: it never fails on speed. Needs `wrk` (Debian package); on SQLite by
default, PostgreSQL with --database.

``--baseline DIR`` serves a second app from another source tree (say ``git worktree add
/tmp/before HEAD~1``) on the same database, in the same turns, so a change is measured against
what it changes in one run (``before guide``, ``before search``): on a shared machine, runs
minutes apart are not comparable.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from servers import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LUA = Path(__file__).with_name("random_paths.lua")
EACH = Path(__file__).with_name("each_path.lua")
ITEMS = 5933


def uvicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    args = [str(BIN / "python"), "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(args, cwd=ROOT, env=env)


def serve(port: int, env: dict[str, str], log: Path, tree: Path = ROOT) -> subprocess.Popen:
    """The app exactly as `zhengwu serve` runs it in production (its log configuration, access log on),
    from the source tree ``tree`` (this one unless --baseline)."""
    env = {**env, "PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])}
    with log.open("ab") as out:
        return subprocess.Popen([str(BIN / "zhengwu"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)


def native_parts(pid: int) -> str:
    """Which of uvicorn's compiled event loop and HTTP parser a server runs on (both servers must
    run on the same for a fair ratio; uvicorn picks them when installed)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "+".join(name for name in ("uvloop", "httptools") if f"/{name}/" in maps) or "asyncio+h11"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (the log writer's included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, paths: list[str], seconds: int, connections: int, threads: int = 2, script: Path = LUA
        ) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(paths))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url, "--",
         fh.name],
        capture_output=True, text=True, check=True,
    ).stdout
    os.unlink(fh.name)

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%"), "errors": float(non2xx.group(1)) if non2xx else 0.0,
            "requests": total}


def merged(rounds: list[dict[str, float]]) -> dict[str, float]:
    """All rounds of one load together: requests per second over all of them, the median round's
    latencies, CPU per request over all requests."""
    requests = sum(r["requests"] for r in rounds)
    return {
        "rps": requests / sum(r["requests"] / r["rps"] for r in rounds),
        "p50": statistics.median(r["p50"] for r in rounds), "p99": statistics.median(r["p99"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds), "requests": requests,
        "cpu_us": sum(r["cpu_us"] * r["requests"] for r in rounds) / max(requests, 1),
    }


def search_queries(names: list[str], keywords: list[str], count: int = 240) -> list[str]:
    """Realistic queries: 2–4 characters of a name, its full pinyin, its initials, keywords."""
    from api.catalog.search import pinyin_forms

    rng = random.Random(7)
    queries: set[str] = set()
    cjk = [n for n in names if re.match(r"[\u4e00-\u9fff]{2}", n)]
    while len(queries) < count:
        kind = len(queries) % 4
        name = re.sub(r"[^\u4e00-\u9fff]", "", rng.choice(cjk))
        if len(name) < 2:
            continue
        start = rng.randrange(0, max(1, len(name) - 2))
        chunk = name[start : start + rng.choice((2, 3, 4))]
        full, initials = pinyin_forms(chunk)
        if kind == 0:
            queries.add(chunk)
        elif kind == 1:
            queries.add(full)
        elif kind == 2:
            queries.add(initials if len(initials) >= 2 else full)
        else:
            queries.add(rng.choice(keywords))
    return sorted(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per load per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--database", default="", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--baseline", type=Path, help="another source tree served beside, in the same turns")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    from api.catalog.synthetic import synthetic_document

    var = Path(tempfile.mkdtemp(prefix="zhengwu-bench-"))
    env = {**os.environ, "ZHENGWU_VAR_DIR": str(var), "ZHENGWU_PWA_DIST": str(var / "no-pwa")}
    if args.database:
        env["ZHENGWU_DATABASE_URL"] = args.database
    zw = str(BIN / "zhengwu")
    subprocess.run([zw, "migrate"], env=env, check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run([zw, "seed", "--synthetic", str(ITEMS)], env=env, check=True, capture_output=True)
    print(f"seeded {ITEMS} items in {time.perf_counter() - t0:.1f}s ({'PostgreSQL' if args.database else 'SQLite'})")

    doc = synthetic_document(ITEMS)
    codes = [i.code for i in doc.items]
    queries = search_queries([i.name for i in doc.items], sorted({k for i in doc.items for k in i.keywords}))

    app_port, bare_port, before_port = free_port(), free_port(), free_port()
    app_log, before_log = var / "app.log", var / "before.log"
    warm: list[dict[str, float]] = []
    rounds: dict[str, list[dict[str, float]]] = {}
    results: dict[str, dict[str, float]] = {}
    procs = [serve(app_port, env, app_log), uvicorn("tests.bench.bare_app:app", bare_port, env)]
    if args.baseline:
        procs.append(serve(before_port, env, before_log, args.baseline.resolve()))
    try:
        t0 = time.perf_counter()
        wait_ready(f"http://127.0.0.1:{app_port}/api/v1/health", procs[0])
        print(f"app ready in {time.perf_counter() - t0:.1f}s (search index built at startup)")
        wait_ready(f"http://127.0.0.1:{bare_port}/bare", procs[1])
        guides = [f"/api/v1/items/{c}" for c in codes]
        searches = [f"/api/v1/items?q={urllib.parse.quote(q)}&region=all" for q in queries]
        c, t = args.connections, args.threads
        loads = {"bare": (f"http://127.0.0.1:{bare_port}", ["/bare"], procs[1].pid)}
        apps = [("", app_port, procs[0])] + ([("before ", before_port, procs[2])] if args.baseline else [])
        for label, port, proc in apps:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/api/v1/health", proc)
            # Warm-up: every guide and query once, in order (the steady state of a running city; random
            # picks would leave guides uncached on a slow machine, and every miss is a database read).
            warm += [wrk(base, guides, 120, 16, 1, EACH), wrk(base, searches, 60, 16, 1, EACH)]
            loads |= {f"{label}guide": (base, guides, proc.pid), f"{label}search": (base, searches, proc.pid)}
        parts = {name: native_parts(pid) for name, (_, _, pid) in loads.items()}
        for _ in range(args.rounds):
            for name, (url, paths, pid) in loads.items():
                cpu = cpu_seconds(pid)
                r = wrk(url, paths, args.seconds, c, t)
                r["cpu_us"] = (cpu_seconds(pid) - cpu) / max(r["requests"], 1) * 1e6
                rounds.setdefault(name, []).append(r)
        results = {name: merged(rs) for name, rs in rounds.items()}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        # wrk counts requests answered; a request cut off at the end of a run may still be logged.
        answered = sum(r["requests"] for name, rs in [("", warm), *rounds.items()] if name != "bare" for r in rs)
        logged = errors = 0
        for log in (app_log, before_log):
            if log.exists():
                text = log.read_text(errors="replace")
                logged += sum(1 for line in text.splitlines() if "/api/v1/items" in line)
                errors += text.count("Logging error")
        shutil.rmtree(var, ignore_errors=True)

    print(f"\n{len(queries)} distinct queries, e.g. {', '.join(queries[:: len(queries) // 8][:8])}")
    print(f"wrk: {args.threads} threads, {args.connections} connections; {args.rounds} rounds of {args.seconds}s per "
          "load, taking turns; one uvicorn worker per server; the app's access log on (zhengwu serve), the bare "
          "endpoint's off; " + ", ".join(f"{name} on {how}" for name, how in parts.items()))
    print(f"app access lines for /api/v1/items: {logged} for {answered:.0f} answered requests; "
          f"'Logging error' blocks: {errors}\n")
    print(f"{'endpoint':<13} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'CPU µs/req':>11} "
          f"{'× bare (median; each round)':<30} target")
    targets = {"guide": "≥ 0.6", "search": "≥ 0.4"}
    for name, r in results.items():
        ratios = [x["rps"] / b["rps"] for x, b in zip(rounds[name], rounds["bare"], strict=True)]
        each = " ".join(f"{x:.2f}" for x in ratios)
        print(f"{name:<13} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>8.0f} {r['cpu_us']:>11.0f} "
              f"{statistics.median(ratios):>5.2f} ({each}){'':<{max(0, 22 - len(each))}} {targets.get(name, '')}")
    print("CPU per request × bare: " + ", ".join(
        f"{name} {r['cpu_us'] / results['bare']['cpu_us']:.2f}" for name, r in results.items() if name != "bare"))

    # The cost of a search that misses the response cache, measured in process.
    from api.catalog.search import Entry, Filters, SearchIndex

    departments = {d.code: d for d in doc.departments}
    t0 = time.perf_counter()
    index = SearchIndex(
        Entry(code=i.code, basic_code=i.basic_code, name=i.name, short_name=i.short_name, keywords=i.keywords,
              department_code=i.department, department_name=departments[i.department].name,
              department_short_name=departments[i.department].short_name,
              region_code=departments[i.department].region_code, kind=i.kind, audiences=i.audiences,
              popularity=i.popularity)
        for i in doc.items
    )
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for q in queries:
            index.search(q, Filters(), 20)
    per_query = (time.perf_counter() - t0) / (rounds * len(queries)) * 1e6
    print(f"\nuncached search in process: {per_query:.0f} µs per query (index of {ITEMS} items built in {built:.2f}s)")


if __name__ == "__main__":
    main()
