"""The background worker as the real ``zhengwu worker`` process: one per SQLite database (a second one,
or one beside the server that runs it, refuses), ``--check``, several on PostgreSQL sharing the due
steps, a killed one losing nothing, and a database that goes away and comes back."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from tests.databases import POSTGRES_URL, fresh_database
from tests.private_postgres import private_postgres
from tests.processes import ROOT, running_server, sqlite_env, zhengwu, zhengwu_exe
from tests.supervision_load import demo_item, in_review, load

UTC = dt.UTC
ON_POSTGRES = pytest.mark.skipif(not POSTGRES_URL, reason="ZHENGWU_TEST_POSTGRES_URL is not set")


def worker_env(var: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = sqlite_env(var, ZHENGWU_TICK_INTERVAL="1", ZHENGWU_MAINTENANCE_INTERVAL="0", **extra)
    if database_url is not None:
        env["ZHENGWU_DATABASE_URL"] = database_url
    return env


@contextmanager
def running_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        proc = subprocess.Popen([zhengwu_exe(), "worker"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def until(condition: Callable[[], bool], what: str, seconds: float = 90.0) -> None:
    """Poll another process's progress (its log, its rows) until ``condition``; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.2)


def sqlite_ticked(url: str) -> bool:
    db = sqlite3.connect(url.removeprefix("sqlite://"))
    try:
        return db.execute("SELECT count(*) FROM worker_heartbeat WHERE last_tick_at IS NOT NULL").fetchone()[0] > 0
    except sqlite3.OperationalError:  # the worker's transaction holds the database: look again
        return False
    finally:
        db.close()


def pg(url: str, sql: str) -> object:
    async def run() -> object:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_sqlite_has_one_worker_and_check_says_whether_it_ticks(tmp_path: Path) -> None:
    env = worker_env(tmp_path)
    url = env["ZHENGWU_DATABASE_URL"]
    assert zhengwu("migrate", env=env).returncode == 0
    before = zhengwu("worker", "--check", env=env)
    assert before.returncode == 1 and "no worker has ticked yet" in before.stderr
    with running_worker(env, tmp_path / "first.log") as first:
        until(lambda: sqlite_ticked(url), "the first worker ticks")
        second = zhengwu("worker", env=env, timeout=60)
        assert second.returncode == 1
        assert "SQLite has one worker" in second.stderr and "SQLite 只能有一个" in second.stderr
        ok = zhengwu("worker", "--check", env=env)
        assert ok.returncode == 0 and "worker ok" in ok.stderr and "1 worker(s) running" in ok.stderr
        assert first.poll() is None  # the first one runs on
    log = (tmp_path / "first.log").read_text()
    assert "worker" in log and "Traceback" not in log


def test_on_sqlite_the_server_runs_the_worker_and_a_second_one_refuses(tmp_path: Path) -> None:
    env = worker_env(tmp_path)
    url = env["ZHENGWU_DATABASE_URL"]
    assert zhengwu("migrate", env=env).returncode == 0
    with running_server(env, tmp_path / "server.log"):
        until(lambda: sqlite_ticked(url), "the server's worker ticks")
        second = zhengwu("worker", env=env, timeout=60)
        assert second.returncode == 1 and "SQLite has one worker" in second.stderr


@ON_POSTGRES
async def test_workers_share_the_due_steps_and_a_killed_one_loses_nothing(tmp_path: Path) -> None:
    async with fresh_database("postgres", tmp_path) as url:
        env = worker_env(tmp_path, url)
        assert (await asyncio.to_thread(zhengwu, "seed", "--demo", env=env)).returncode == 0
        item = await demo_item(url)
        now = dt.datetime.now(UTC)
        today = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        n = 12_000  # on its due date: a warning each, nothing more
        await load(url, in_review(item, 1_000_000, n, now=now, due=today, legal_due=today + dt.timedelta(days=30),
                                  next_check=(now - dt.timedelta(minutes=1) for _ in range(n))))
        heads = await asyncio.to_thread(pg, url, "SELECT count(*) FROM staff WHERE role = 'approver' AND active "
                                                 "AND department = 'SCJGJ'")
        assert heads == 1

        def alerts() -> int:
            return int(pg(url, "SELECT count(*) FROM supervision_alert"))  # type: ignore[arg-type]

        def pending() -> int:
            return int(pg(url, "SELECT count(*) FROM supervised_step WHERE warning_at IS NULL"))  # type: ignore[arg-type]

        def kill_midway() -> int:
            with running_worker(env, tmp_path / "killed.log") as victim:
                until(lambda: alerts() > 0, "the first worker commits a batch")
                victim.send_signal(signal.SIGKILL)  # mid-tick: the batch it holds is rolled back
                victim.wait()
            return alerts()

        done_before = await asyncio.to_thread(kill_midway)
        assert 0 < done_before < n

        def share() -> None:
            with (running_worker(env, tmp_path / "a.log"), running_worker(env, tmp_path / "b.log"),
                  running_worker(env, tmp_path / "c.log")):
                until(lambda: pending() == 0, "three workers finish the rest", seconds=300)

        await asyncio.to_thread(share)
        assert await asyncio.to_thread(alerts) == n
        told = await asyncio.to_thread(pg, url, "SELECT count(*) FROM outbox WHERE kind = 'alert.warning'")
        assert told == n * heads  # every alert told once: no step was done twice, none was lost
        again = await asyncio.to_thread(pg, url, "SELECT count(*) FROM (SELECT step_id FROM supervision_alert "
                                                 "GROUP BY step_id, level HAVING count(*) > 1) AS twice")
        assert again == 0
        workers = await asyncio.to_thread(pg, url, "SELECT count(*) FROM worker_heartbeat "
                                                   "WHERE last_tick_at IS NOT NULL")
        assert workers >= 3


@ON_POSTGRES
def test_a_worker_that_loses_its_database_logs_once_waits_and_resumes(tmp_path: Path) -> None:
    with private_postgres() as server:
        url = server.url
        env = worker_env(tmp_path, url)
        assert zhengwu("migrate", env=env).returncode == 0
        log = tmp_path / "worker.log"

        def last_tick() -> dt.datetime | None:
            try:
                return pg(url, "SELECT max(last_tick_at) FROM worker_heartbeat")  # type: ignore[return-value]
            except (OSError, asyncpg.PostgresError):
                return None

        with running_worker(env, log) as worker:
            until(lambda: last_tick() is not None, "the worker ticks")
            server.stop()
            stopped = dt.datetime.now(UTC)
            until(lambda: "the database is unavailable" in log.read_text(), "the worker notices")
            time.sleep(12)  # the outage lasts: several retries, with nothing more logged (not synchronisation)
            server.start()
            until(lambda: (t := last_tick()) is not None and t > stopped, "the worker ticks again")
            assert worker.poll() is None  # it never stopped
        text = log.read_text()
        assert text.count("the database is unavailable") == 1
        assert text.count("the database is back") == 1
        assert "Traceback" not in text, text[-3000:]
        assert os.path.getsize(log) < 20_000
