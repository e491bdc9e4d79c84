"""What background work needs from the database, whatever the work: a heartbeat per worker process
(``/api/v1/health`` and ``zhengwu worker --check`` read it), the last run and the saved position of
each periodic job (``JobRun``), and the locks that make a periodic job run once at a time.

* ``cluster_lock(name)``: on PostgreSQL a session-level ``pg_try_advisory_lock`` on a connection of
  the pool, held for the job and released after it (or by the server when the process dies, since
  the session ends with it), so one process in the whole cluster runs the job while the others
  skip it. On SQLite there is one worker process (``sqlite_worker_lock``), and a non-blocking
  ``flock`` on a file beside the database keeps a command run by hand from running the same job
  beside it.
* ``sqlite_worker_lock(database_url)``: the one worker a SQLite database may have, held for the
  worker's whole life; a second worker started on the same database is refused.

Imports no domain: the worker (api/worker.py) and the domains' jobs build on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from tortoise import Tortoise, fields
from tortoise.models import Model


class WorkerHeartbeat(Model):
    """One row per worker process (named host:pid:start), replaced after every round of its loops."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    host = fields.CharField(max_length=64)
    pid = fields.IntField()
    started_at = fields.DatetimeField()
    beat_at = fields.DatetimeField()  # the last sign of life
    last_tick_at = fields.DatetimeField(null=True)  # the last completed supervision tick
    loops = fields.JSONField(default=dict)  # {loop: {"ok_at": …, "error": …}} for operators
    stopped_at = fields.DatetimeField(null=True)  # stopped cleanly

    class Meta:
        table = "worker_heartbeat"


class JobRun(Model):
    """A periodic job's last run, cluster-wide, and what it keeps between runs (a cursor, a stamp)."""

    name = fields.CharField(max_length=64, primary_key=True)
    last_done_at = fields.DatetimeField(null=True)
    state = fields.JSONField(default=dict)

    class Meta:
        table = "job_run"


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` (the key space is shared by the database)."""
    return int.from_bytes(hashlib.sha256(f"zhengwu:{name}".encode()).digest()[:8], "big", signed=True)


def is_postgres() -> bool:
    return Tortoise.get_connection("default").capabilities.dialect == "postgres"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[bool]:
    """A non-blocking exclusive ``flock`` on ``path``; yields False when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def sqlite_path(database_url: str) -> Path | None:
    if not database_url.startswith("sqlite:///"):
        return None
    return Path(database_url.removeprefix("sqlite://"))


@contextlib.asynccontextmanager
async def cluster_lock(name: str, lock_dir: Path | None = None) -> AsyncIterator[bool]:
    """Yields True while this process alone runs the job ``name``, False when another one does.
    ``lock_dir`` is where SQLite keeps the lock file (PostgreSQL needs none)."""
    conn: Any = Tortoise.get_connection("default")
    if conn.capabilities.dialect != "postgres":
        with file_lock((lock_dir or Path(".")) / f".{name}.lock") as mine:
            yield mine
        return
    key = lock_key(name)
    async with conn.acquire_connection() as raw:  # one session of the pool, held for the job
        got = bool(await raw.fetchval("SELECT pg_try_advisory_lock($1)", key))
        try:
            yield got
        finally:
            if got:
                with contextlib.suppress(Exception):  # a lost session has released it already
                    await raw.execute("SELECT pg_advisory_unlock($1)", key)


async def xact_lock(conn: Any, name: str) -> bool:
    """Inside ``conn``'s transaction: True when this transaction alone may do ``name`` (released
    at commit or rollback). Always True on SQLite, whose single writer serialises transactions."""
    if conn.capabilities.dialect != "postgres":
        return True
    rows = await conn.execute_query_dict("SELECT pg_try_advisory_xact_lock($1) AS got", [lock_key(name)])
    return bool(rows[0]["got"])


class SecondSqliteWorker(RuntimeError):
    """Another worker already runs on this SQLite database."""


@contextlib.contextmanager
def sqlite_worker_lock(database_url: str) -> Iterator[bool]:
    """For a SQLite database: True while this process is its one worker (False: another is); always
    True for PostgreSQL, where any number of workers share the work."""
    path = sqlite_path(database_url)
    if path is None:
        yield True
        return
    with file_lock(path.with_name(path.name + ".worker.lock")) as mine:
        yield mine


async def job_due(name: str, every: dt.timedelta, now: dt.datetime) -> bool:
    """Whether the periodic job ``name`` last finished at least ``every`` ago (anywhere in the cluster)."""
    done = await JobRun.filter(name=name).values_list("last_done_at", flat=True)
    return not done or done[0] is None or done[0] <= now - every


async def job_done(name: str, now: dt.datetime, state: dict[str, Any] | None = None) -> None:
    values: dict[str, Any] = {"last_done_at": now}
    if state is not None:
        values["state"] = state
    if not await JobRun.filter(name=name).update(**values):
        await JobRun.create(name=name, **values)


async def job_state(name: str) -> dict[str, Any]:
    found = await JobRun.filter(name=name).values_list("state", flat=True)
    return dict(found[0] or {}) if found else {}


async def last_tick() -> tuple[dt.datetime | None, int]:
    """(the latest supervision tick of any worker, how many workers beat in the last 5 minutes)."""
    now = dt.datetime.now(dt.UTC)
    rows = await WorkerHeartbeat.all().values("last_tick_at", "beat_at", "stopped_at")
    ticks = [r["last_tick_at"] for r in rows if r["last_tick_at"] is not None]
    alive = sum(1 for r in rows if r["stopped_at"] is None and r["beat_at"] >= now - dt.timedelta(minutes=5))
    return (max(ticks) if ticks else None), alive
