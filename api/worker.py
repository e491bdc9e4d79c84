"""The background worker: the one place where the platform does work nobody asked for just now.

``Worker`` runs named loops side by side (``Worker.loops``), each in its own task with its own
error handling, so that one failing never stops the others:

* ``supervision`` — every ``ZHENGWU_TICK_INTERVAL`` seconds: notice a changed working-day calendar
  (every open step is looked at again), ``supervision.services.tick`` (the steps whose next check has
  come: warnings and alarms, claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that any number
  of workers share them), then the irregularities found in the new audit entries. Each completed
  round is this worker's last tick in ``worker_heartbeat`` (``/api/v1/health``, ``zhengwu worker --check``).
* ``maintenance`` — every ``ZHENGWU_MAINTENANCE_INTERVAL`` seconds (0: never): expire untouched
  drafts and abandoned uploads, sweep orphaned blobs, accept the cases no window answered in time
  (行政许可法 §32). Once in the whole cluster per interval: under ``pg_try_advisory_lock`` on
  PostgreSQL (``core/jobs.cluster_lock``) with its last run in ``job_run``; on SQLite under a
  non-blocking ``flock`` on the storage root, as before.
* ``statistics`` — the daily rollups of the statistics, under their own advisory lock.
* ``notifications`` — the outbox dispatcher (``api/notifications/dispatcher.py``, ``Dispatcher.run``):
  woken by LISTEN/NOTIFY on PostgreSQL (rows claimed with ``FOR UPDATE SKIP LOCKED``), polling on SQLite.

Where it runs: ``zhengwu worker`` runs it as its own process, as many as wanted on PostgreSQL; and
every server process runs one in its lifespan unless ``ZHENGWU_WORKER_IN_SERVER=false``. SQLite has
one worker per database (``core/jobs.sqlite_worker_lock``): the single server process runs it, and
a second worker on the same database refuses to start.

Faults: a loop that loses the database logs it once, waits (5 s, doubling to a minute) and resumes
when the database answers again, logging that once too; any other failure of a round is logged with
its traceback and the next round comes as usual. Killed at any moment, a worker loses nothing:
each batch of a tick is one transaction, and the next tick (of any worker) redoes what did not commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.cases import services as cases
from api.core import jobs
from api.core.db import is_database_unavailable
from api.core.settings import Settings
from api.identity.sms import SmsSender, sms_sender
from api.notifications.dispatcher import Dispatcher
from api.ratings import services as ratings
from api.uploads import services as uploads
from api.workflow import services as workflow
from storage import BlobStore

log = logging.getLogger("zhengwu.worker")
mlog = logging.getLogger("zhengwu.maintenance")

BLOB_GRACE = dt.timedelta(hours=1)
FIRST_ROUND_DELAY = 30.0  # seconds after start-up: let the server warm up first
OUTAGE_FIRST_WAIT, OUTAGE_LONGEST_WAIT = 5.0, 60.0
STATISTICS_INTERVAL = 600.0
HEARTBEAT_KEPT = dt.timedelta(days=7)


# --------------------------------------------------------------------------- maintenance


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    drafts_expired: int
    upload_files_removed: int
    blobs_removed: int
    deemed_accepted: int = 0
    rectifications_changed: int = 0  # 好差评: overdue steps told to supervision, unanswered callbacks closed
    tolerated_terminated: int = 0  # 容缺受理 whose promised materials never came: ended

    def __str__(self) -> str:
        return (f"{self.drafts_expired} drafts expired, {self.upload_files_removed} upload files removed, "
                f"{self.blobs_removed} orphaned blobs swept, {self.deemed_accepted} cases deemed accepted, "
                f"{self.rectifications_changed} rectifications overdue or closed, "
                f"{self.tolerated_terminated} cases ended for materials not made up")


async def run_maintenance(settings: Settings, blobs: BlobStore, *, now: dt.datetime | None = None,
                          blob_grace: dt.timedelta = BLOB_GRACE) -> MaintenanceReport:
    """One round. Safe to run at any time, concurrently with uploads and submissions.

    Order matters: drafts are deleted first (their uploads cascade), then partial upload files no
    live row refers to are removed, then blobs that no case material refers to and that are older
    than the grace period are swept. The grace period covers the time between a blob being stored
    and the row that refers to it being committed, so a sweep never races an upload that is completing.
    """
    root = settings.work_root  # partial uploads: on this host's disk
    root.mkdir(parents=True, exist_ok=True)  # something else in its place fails the round, loudly
    drafts, _keys = await cases.expire_drafts(now)  # their blobs go in the sweep below, once unreferenced
    files = await uploads.expire_uploads(root, now=now)
    swept = await blobs.sweep_orphans(cases.referenced_blob, older_than=blob_grace)
    deemed = await workflow.deem_overdue_accepted(now)
    rectified = await ratings.sweep(now)
    terminated = await workflow.end_overdue_tolerated(now)
    return MaintenanceReport(drafts, files, swept, deemed, rectified, terminated)


@contextlib.contextmanager
def _round_lock(root: Path) -> Iterator[bool]:
    """SQLite: held for one round; yields False when another process on this host is doing one."""
    root.mkdir(parents=True, exist_ok=True)
    with jobs.file_lock(root / ".maintenance.lock") as mine:
        yield mine


@contextlib.asynccontextmanager
async def _maintenance_lock(settings: Settings) -> AsyncIterator[bool]:
    if settings.is_sqlite:
        with _round_lock(settings.work_root) as mine:
            yield mine
    else:  # the whole cluster, whichever host
        async with jobs.cluster_lock("maintenance") as mine:
            yield mine


async def run_once_locked(settings: Settings, blobs: BlobStore, *, every: float | None = None,
                          now: dt.datetime | None = None) -> MaintenanceReport | None:
    """One round unless another process is running one (then ``None``). With ``every`` (seconds),
    also ``None`` when some process of the cluster finished one less than that long ago."""
    async with _maintenance_lock(settings) as mine:
        if not mine:
            return None
        at = now or dt.datetime.now(dt.UTC)
        if every is not None and not await jobs.job_due("maintenance", dt.timedelta(seconds=every), at):
            return None
        report = await run_maintenance(settings, blobs)
        await jobs.job_done("maintenance", dt.datetime.now(dt.UTC))
        return report


# --------------------------------------------------------------------------- loops


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less when the worker is stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))


class Outage:
    """The database's unavailability as one worker process sees it, shared by its loops: the first
    loop that finds it down logs it, the first that finds it back logs that; the others say nothing."""

    def __init__(self) -> None:
        self.since: float | None = None

    def down(self, loop: str, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.warning("the database is unavailable (%s, in %s); the worker waits for it and resumes by itself",
                        type(exc).__name__, loop)

    def up(self) -> None:
        if self.since is not None:
            log.warning("the database is back after %.0f s; the worker resumes", time.monotonic() - self.since)
            self.since = None


class Rounds:
    """A loop's rounds, with the worker's fault handling: an unavailable database is logged once
    (and its return once, ``Outage``), and waited for with a growing pause; any other failure is
    logged with its traceback and the next round comes at the usual time."""

    def __init__(self, name: str, interval: float, outage: Outage | None = None) -> None:
        self.name, self.interval = name, interval
        self.outage = outage or Outage()
        self.rounds = self.failures = 0
        self.last_error = ""
        self.last_ok: float | None = None  # time.monotonic() of the last completed round (readiness)
        self.done = asyncio.Event()  # set after each completed round (tests, health)
        self.failed = asyncio.Event()

    async def run(self, stop: asyncio.Event, body: Callable[[], Awaitable[Any]], first_delay: float = 0.0) -> None:
        await _wait(stop, first_delay)
        pause = OUTAGE_FIRST_WAIT
        while not stop.is_set():
            try:
                await body()
            except Exception as exc:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                self.failed.set()
                if is_database_unavailable(exc):
                    self.outage.down(self.name, exc)
                    await _wait(stop, pause)
                    pause = min(pause * 2, OUTAGE_LONGEST_WAIT)
                    continue
                log.exception("%s: a round failed; the next one in %.0f s", self.name, self.interval)
            else:
                self.outage.up()
                pause = OUTAGE_FIRST_WAIT
                self.rounds += 1
                self.last_error = ""
                self.last_ok = time.monotonic()
                self.done.set()
            await _wait(stop, self.interval)


class MaintenanceScheduler:
    """Maintenance rounds every ``interval`` seconds, at most one per interval in the cluster."""

    name = "maintenance"

    def __init__(self, settings: Settings, blobs: BlobStore, *, interval: float,
                 first_delay: float = FIRST_ROUND_DELAY, outage: Outage | None = None) -> None:
        self.settings, self.blobs = settings, blobs
        self.interval, self.first_delay = interval, first_delay
        self.last: MaintenanceReport | None = None
        self._rounds = Rounds(self.name, interval, outage)
        self.round_done, self.round_failed = self._rounds.done, self._rounds.failed

    @property
    def rounds(self) -> int:
        return self._rounds.rounds

    @property
    def failures(self) -> int:
        return self._rounds.failures

    async def _round(self) -> None:
        # A little less than the interval: rounds of one process must not skip every second turn.
        report = await run_once_locked(self.settings, self.blobs, every=self.interval * 0.9)
        if report is not None:
            self.last = report
            mlog.info("maintenance: %s", report)

    async def run(self, stop: asyncio.Event) -> None:
        await self._rounds.run(stop, self._round, self.first_delay)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop), name="zhengwu-maintenance")
        try:
            yield
        finally:
            stop.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class SupervisionLoop:
    """The tick: calendar changes, due steps, new audit entries (see the module docstring)."""

    name = "supervision"

    def __init__(self, interval: float, heartbeat: Heartbeat, outage: Outage | None = None) -> None:
        self.interval, self.heartbeat = interval, heartbeat
        self.rounds = Rounds(self.name, interval, outage)
        self.last: Any = None

    async def _round(self) -> None:
        from api.supervision import irregularities, services

        now = dt.datetime.now(dt.UTC)
        await services.follow_calendar(now)
        report = await services.tick(now)
        report.irregularities += await irregularities.scan(now)
        self.last = report
        if report.claimed or report.irregularities:
            log.info("supervision tick: %s", report)
        await self.heartbeat.beat(self.name, tick=True)

    async def run(self, stop: asyncio.Event) -> None:
        await self.rounds.run(stop, self._round)


class StatisticsLoop:
    """The statistics' daily rollups (today's and the days not rolled up yet), once at a time in the cluster."""

    name = "statistics"

    def __init__(self, interval: float, heartbeat: Heartbeat, outage: Outage | None = None) -> None:
        self.interval, self.heartbeat = interval, heartbeat
        self.rounds = Rounds(self.name, interval, outage)

    async def _round(self) -> None:
        from api.supervision import statistics

        async with jobs.cluster_lock("statistics", _lock_dir_of(self.heartbeat.settings)) as mine:
            if mine:
                await statistics.roll_up(dt.datetime.now(dt.UTC))
        await self.heartbeat.beat(self.name)

    async def run(self, stop: asyncio.Event) -> None:
        await self.rounds.run(stop, self._round, first_delay=min(FIRST_ROUND_DELAY, self.interval))


def _lock_dir_of(settings: Settings) -> Path:
    path = jobs.sqlite_path(settings.database_url)
    return path.parent if path is not None else Path(".")


class Heartbeat:
    """This process's row in ``worker_heartbeat``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = dt.datetime.now(dt.UTC)
        self.name = f"{socket.gethostname()[:40]}:{os.getpid()}:{int(self.started_at.timestamp())}"
        self.status: dict[str, Any] = {}

    async def beat(self, loop: str, *, tick: bool = False, error: str = "") -> None:
        now = dt.datetime.now(dt.UTC)
        self.status[loop] = {"ok_at": now.isoformat(), "error": error}
        values: dict[str, Any] = {"beat_at": now, "loops": self.status}
        if tick:
            values["last_tick_at"] = now
        if not await jobs.WorkerHeartbeat.filter(name=self.name).update(**values):
            # This process's first beat: the rows of processes silent for a week go (restarts leave one each).
            await jobs.WorkerHeartbeat.filter(beat_at__lt=now - HEARTBEAT_KEPT).delete()
            await jobs.WorkerHeartbeat.create(name=self.name, host=socket.gethostname()[:64], pid=os.getpid(),
                                              started_at=self.started_at, **values)

    async def stopped(self) -> None:
        with contextlib.suppress(Exception):  # the database may be the reason we stop
            await jobs.WorkerHeartbeat.filter(name=self.name).update(stopped_at=dt.datetime.now(dt.UTC))


@dataclass(frozen=True, slots=True)
class Loop:
    """A named background loop: ``run(stop)`` returns when ``stop`` is set."""

    name: str
    run: Callable[[asyncio.Event], Awaitable[None]]


class Worker:
    def __init__(self, settings: Settings, blobs: BlobStore, *, sms: SmsSender | None = None,
                 first_delay: float = FIRST_ROUND_DELAY) -> None:
        self.settings = settings
        self.heartbeat = Heartbeat(settings)
        self.outage = Outage()  # one log line for an outage, whichever loops notice it
        self.supervision = SupervisionLoop(settings.tick_interval, self.heartbeat, self.outage)
        self.loops: list[Loop] = [Loop(self.supervision.name, self.supervision.run)]
        if settings.maintenance_interval > 0:
            self.maintenance: MaintenanceScheduler | None = MaintenanceScheduler(
                settings, blobs, interval=settings.maintenance_interval, first_delay=first_delay, outage=self.outage)
            self.loops.append(Loop(self.maintenance.name, self.maintenance.run))
        else:
            self.maintenance = None
        self.statistics = StatisticsLoop(STATISTICS_INTERVAL, self.heartbeat, self.outage)
        self.loops.append(Loop(self.statistics.name, self.statistics.run))
        # The outbox dispatcher: its run(stop) handles its own rounds (LISTEN/NOTIFY on PostgreSQL,
        # polling on SQLite); _guarded below restarts it should it ever raise.
        self.loops.append(Loop("notifications", Dispatcher(settings, sms or sms_sender(settings)).run))
        self.started: float | None = None  # time.monotonic() when running() started it; None: not running

    def tick_problem(self, now: float) -> str | None:
        """Readiness (api/core/health.py): None while this worker's supervision ticks are on time —
        one completed within three tick intervals (and at least two minutes, as ``zhengwu worker
        --check``) of the last one, or of the start."""
        if self.started is None:
            return "the background worker is not running"
        window = max(3 * self.settings.tick_interval, 120.0)
        since = self.supervision.rounds.last_ok or self.started
        if now - since <= window:
            return None
        error = self.supervision.rounds.last_error.split(":", 1)[0]
        return f"no supervision tick for {now - since:.0f} s" + (f" (last error {error})" if error else "")

    async def _guarded(self, loop: Loop, stop: asyncio.Event) -> None:
        """A loop that raises (it should handle its own rounds) is logged and started again."""
        while not stop.is_set():
            try:
                await loop.run(stop)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker loop %s stopped unexpectedly; starting it again in %.0f s", loop.name,
                              OUTAGE_FIRST_WAIT)
                await _wait(stop, OUTAGE_FIRST_WAIT)

    async def run(self, stop: asyncio.Event) -> None:
        """Every loop side by side until ``stop`` is set."""
        log.info("worker %s started: %s", self.heartbeat.name, ", ".join(loop.name for loop in self.loops))
        try:
            await asyncio.gather(*(self._guarded(loop, stop) for loop in self.loops))
        finally:
            await self.heartbeat.stopped()
            log.info("worker %s stopped", self.heartbeat.name)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[bool]:
        """In a server's lifespan: the worker in the background (True), or none (False) when this is
        a SQLite database that has its worker already."""
        with jobs.sqlite_worker_lock(self.settings.database_url) as mine:
            if not mine:
                log.warning("another worker runs on this SQLite database; this process runs none")
                yield False
                return
            stop = asyncio.Event()
            task = asyncio.create_task(self.run(stop), name="zhengwu-worker")
            self.started = time.monotonic()
            try:
                yield True
            finally:
                self.started = None
                stop.set()
                try:
                    await asyncio.wait_for(task, timeout=10)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task


SECOND_SQLITE_WORKER = ("另一个后台任务进程（或运行它的服务进程）已在使用这个 SQLite 数据库；SQLite 只能有一个。"
                        "需要多个后台任务进程请改用 PostgreSQL "
                        "(another worker, or the server that runs it, already uses this SQLite database; "
                        "SQLite has one worker: use PostgreSQL for several)")


async def check(settings: Settings, now: dt.datetime | None = None) -> tuple[bool, str]:
    """``zhengwu worker --check``: whether some worker ticked recently (within three tick intervals,
    and at least two minutes), with a line for the operator."""
    last, alive = await jobs.last_tick()
    now = now or dt.datetime.now(dt.UTC)
    window = dt.timedelta(seconds=max(3 * settings.tick_interval, 120))
    if last is None:
        return False, f"no worker has ticked yet ({alive} running)"
    age = (now - last).total_seconds()
    ok = now - last <= window
    return ok, f"last tick {last.isoformat(timespec='seconds')} ({age:.0f} s ago), {alive} worker(s) running"
