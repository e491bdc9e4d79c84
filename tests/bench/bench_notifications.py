"""Notification delivery benchmark: outbox → Web Push, with 1 and 4 dispatcher processes on PostgreSQL.

    python tests/bench/bench_notifications.py [--postgres postgres://postgres@127.0.0.1:5432/test]
        [--dispatchers 1,4] [--rows 6000] [--latency-rows 200] [--batch 100] [--citizens 200]

A fresh PostgreSQL database (``CREATE DATABASE``), migrated; ``--citizens`` citizens with one
browser subscription each on the local RFC 8030 push service of the tests (``tests/push_service.py``,
in this process: it checks every VAPID JWT and decrypts every aes128gcm body, as a browser vendor's
service would) and quiet hours off. Per dispatcher count D, D real dispatcher processes
(``python -m api.notifications.dispatcher``) are started and left idle, then:

* **throughput**: ``--rows`` event rows are committed in one transaction (its NOTIFY wakes every
  dispatcher); notifications per second = rows / (last push received − commit), and per process;
* **latency**: ``--latency-rows`` rows committed one at a time, 20 ms apart (the dispatchers idle
  between them): commit → the push service holding the decrypted message, p50/p99/max.

Targets (issue #13): ≥ 300 notifications per second per process; p99 < 1 s with LISTEN/NOTIFY.
Figures, not assertions: it never fails on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from api.core.db import migrate, orm_session  # noqa: E402
from api.identity.models import Citizen  # noqa: E402
from api.notifications.models import Outbox  # noqa: E402
from api.notifications.push import generate_keys  # noqa: E402
from api.notifications.services import CHANNEL, enqueue, set_preference, subscribe  # noqa: E402
from tests.push_service import PushService  # noqa: E402

PRIVATE, PUBLIC = generate_keys()


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


class Dispatchers:
    def __init__(self, url: str, origin: str, logs: Path, batch: int) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "ZHENGWU_DATABASE_URL": url, "ZHENGWU_SECRET_KEY": "b" * 48,
                    "ZHENGWU_VAR_DIR": str(logs), "ZHENGWU_VAPID_PRIVATE_KEY": PRIVATE,
                    "ZHENGWU_VAPID_SUBJECT": "mailto:ops@zhengwu.example.cn", "ZHENGWU_PUSH_ALLOW_ORIGINS": origin,
                    "ZHENGWU_NOTIFY_POLL_INTERVAL": "1"}
        self.env.pop("ZHENGWU_ENV", None)
        self.logs, self.batch = logs, batch
        self.procs: list[tuple[asyncio.subprocess.Process, Path]] = []

    async def start(self, n: int) -> None:
        for i in range(n):
            log = self.logs / f"dispatcher-{len(self.procs)}-{i}.log"
            with log.open("w") as out:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "api.notifications.dispatcher", "--batch", str(self.batch), cwd=ROOT,
                    env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT)
            self.procs.append((proc, log))
        for proc, log in self.procs:  # idle and listening before anything is committed
            while "dispatcher started" not in log.read_text():
                if proc.returncode is not None:
                    raise SystemExit(f"a dispatcher exited:\n{log.read_text()[-2000:]}")
                await asyncio.sleep(0.05)  # waiting for a process to start, not synchronising

    def cpu(self) -> float:
        """CPU seconds (user + system) the dispatcher processes have used so far (/proc/PID/stat)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for proc, _ in self.procs:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
        return total / ticks

    async def stop(self) -> list[int]:
        for proc, _ in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        counts = []
        for proc, log in self.procs:
            await proc.wait()
            lines = [x for x in log.read_text().splitlines() if "stopped after" in x]
            counts.append(int(lines[-1].split("after ")[1].split()[0]) if lines else -1)
        self.procs = []
        return counts


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(args: argparse.Namespace) -> None:
    name = f"zw_bench_notify_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _with_database(args.postgres, name)
    service = await PushService().start()
    results = []
    try:
        await asyncio.to_thread(migrate, url)
        async with orm_session(url):
            owners = []
            for i in range(args.citizens):
                citizen = await Citizen.create(phone=f"139{i:08d}")
                owner = f"citizen:{citizen.id}"
                await set_preference(owner, push_on=True, sms_on=False, muted=[], quiet_hours=False,
                                     quiet_start="22:00", quiet_end="07:00", language="zh-CN")
                device = service.device(PUBLIC)
                await subscribe(owner, device.endpoint, device.keys, (service.origin,))
                owners.append(owner)
            with tempfile.TemporaryDirectory() as tmp:
                for count in args.dispatchers:
                    dispatchers = Dispatchers(url, service.origin, Path(tmp), args.batch)
                    await dispatchers.start(count)
                    try:
                        result = await _measure(args, service, owners, count, dispatchers)
                    finally:
                        counts = await dispatchers.stop()
                    results.append({**result, "per_process_rows": counts})
    finally:
        await service.stop()
        admin = await asyncpg.connect(args.postgres)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print()
    print(f"outbox → push service on PostgreSQL ({args.rows} rows; {args.latency_rows} single commits; "
          f"batch {args.batch}; {args.citizens} devices; load average {os.getloadavg()[0]:.1f})")
    print("| dispatchers | notifications/s | per process | dispatcher CPU per notification | latency p50 | p99 | max "
          "| rows per process |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['dispatchers']} | {r['rate']:.0f} | {r['rate'] / r['dispatchers']:.0f} | {r['cpu_ms']:.2f} ms | "
              f"{r['p50'] * 1000:.0f} ms | {r['p99'] * 1000:.0f} ms | {r['max'] * 1000:.0f} ms | "
              f"{' '.join(str(c) for c in r['per_process_rows'])} |")
    print("targets: ≥ 300 notifications/s per process; p99 < 1 s")


async def _measure(args: argparse.Namespace, service: PushService, owners: list[str], count: int,
                   dispatchers: Dispatchers) -> dict:
    service.received.clear()
    # Throughput: one commit of many rows (one NOTIFY wakes every dispatcher).
    now = dt.datetime.now(dt.UTC)
    rows = [Outbox(kind="case.accept", recipient=owners[i % len(owners)], case_id=i,
                   data={"item_name": "营业执照遗失补领", "number": f"5119002026120{i:07d}", "due_date": "2026-12-20",
                         "state": "accepted"}, urgent=False, created_at=now, due_at=now, attempts=0, error="",
                   outcome="") for i in range(args.rows)]
    cpu_before = dispatchers.cpu()
    async with in_transaction() as conn:
        await Outbox.bulk_create(rows, batch_size=1000, using_db=conn)
        await conn.execute_query(f"NOTIFY {CHANNEL}")
    committed = time.time()
    await service.wait_until(lambda: len(service.received) >= args.rows, 600)
    elapsed = max(r.at for r in service.received) - committed
    cpu_ms = (dispatchers.cpu() - cpu_before) * 1000 / args.rows
    rate = args.rows / elapsed
    print(f"{count} dispatcher(s): {args.rows} in {elapsed:.2f} s = {rate:.0f}/s "
          f"(refused {len(service.refused)}, answered {service.answered})", flush=True)

    # Latency: single commits while the dispatchers idle.
    service.received.clear()
    sent: dict[int, float] = {}
    for i in range(args.latency_rows):
        async with in_transaction() as conn:
            row = await enqueue(conn, "case.approve", owners[i % len(owners)], case_id=i,
                                data={"item_name": "营业执照遗失补领", "number": f"N{i}"})
        sent[row.id] = time.time()
        await asyncio.sleep(0.02)  # pacing the load generator: one commit every 20 ms
    await service.wait_until(lambda: len(service.received) >= args.latency_rows, 120)
    latencies = [r.at - sent[r.payload["id"]] for r in service.received if r.payload["id"] in sent]
    return {"dispatchers": count, "rate": rate, "cpu_ms": cpu_ms, "p50": statistics.median(latencies),
            "p99": _pct(latencies, 0.99), "max": max(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("ZHENGWU_TEST_POSTGRES_URL",
                                                             "postgres://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--dispatchers", default="1,4", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--latency-rows", type=int, default=200)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--citizens", type=int, default=200)
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
