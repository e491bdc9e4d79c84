"""Maintenance on a schedule: expire untouched drafts, expire abandoned uploads, sweep orphaned blobs,
and accept the cases no window answered in time (行政许可法 §32).

Every server process runs :class:`MaintenanceScheduler` in its lifespan (``ZHENGWU_MAINTENANCE_
INTERVAL`` seconds apart, 0 turns it off); a non-blocking ``flock`` on the storage root makes one
process on the host do each round while the others skip it. ``zhengwu maintenance`` runs one round
by hand or from cron; ``zhengwu maintenance --every N`` runs the loop in the foreground for
deployments that turn it off in the web processes.

Order matters: drafts are deleted first (their uploads cascade), then partial upload files no live
row refers to are removed, then blobs that no case material refers to and that are older than the
grace period are swept. The grace period covers the time between a blob being stored and the row
that refers to it being committed, so a sweep never races an upload that is completing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from api.cases import services as cases
from api.core.settings import Settings
from api.uploads import services as uploads
from api.workflow import services as workflow
from storage import BlobStore

log = logging.getLogger("zhengwu.maintenance")

BLOB_GRACE = dt.timedelta(hours=1)
FIRST_ROUND_DELAY = 30.0  # seconds after start-up: let the server warm up first


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    drafts_expired: int
    upload_files_removed: int
    blobs_removed: int
    deemed_accepted: int = 0

    def __str__(self) -> str:
        return (f"{self.drafts_expired} drafts expired, {self.upload_files_removed} upload files removed, "
                f"{self.blobs_removed} orphaned blobs swept, {self.deemed_accepted} cases deemed accepted")


async def run_maintenance(settings: Settings, blobs: BlobStore, *, now: dt.datetime | None = None,
                          blob_grace: dt.timedelta = BLOB_GRACE) -> MaintenanceReport:
    """One round. Safe to run at any time, concurrently with uploads and submissions."""
    root = settings.work_root  # partial uploads: on this host's disk
    drafts, _keys = await cases.expire_drafts(now)  # their blobs go in the sweep below, once unreferenced
    files = await uploads.expire_uploads(root, now=now)
    swept = await blobs.sweep_orphans(cases.referenced_blob, older_than=blob_grace)
    deemed = await workflow.deem_overdue_accepted(now)
    return MaintenanceReport(drafts, files, swept, deemed)


@contextlib.contextmanager
def _round_lock(root: Path) -> Iterator[bool]:
    """Held for one round; yields False when another process on this host is doing one."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".maintenance.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


async def run_once_locked(settings: Settings, blobs: BlobStore) -> MaintenanceReport | None:
    """One round unless another process on this host is running one (then ``None``)."""
    with _round_lock(settings.work_root) as mine:
        if not mine:
            return None
        return await run_maintenance(settings, blobs)


class MaintenanceScheduler:
    """Runs :func:`run_once_locked` every ``interval`` seconds until the app stops; a failed round
    is logged and retried at the next one (the database may be briefly away)."""

    def __init__(self, settings: Settings, blobs: BlobStore, *, interval: float,
                 first_delay: float = FIRST_ROUND_DELAY) -> None:
        self.settings, self.blobs = settings, blobs
        self.interval, self.first_delay = interval, first_delay
        self.rounds = self.failures = 0
        self.last: MaintenanceReport | None = None
        self.round_done = asyncio.Event()  # set after each completed round (for tests and health)
        self.round_failed = asyncio.Event()

    async def _loop(self) -> None:
        await asyncio.sleep(self.first_delay)
        while True:
            try:
                report = await run_once_locked(self.settings, self.blobs)
            except Exception:
                self.failures += 1
                self.round_failed.set()
                log.exception("maintenance round failed; retrying in %.0f s", self.interval)
            else:
                if report is not None:
                    self.rounds += 1
                    self.last = report
                    self.round_done.set()
                    log.info("maintenance: %s", report)
            await asyncio.sleep(self.interval)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._loop(), name="zhengwu-maintenance")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
