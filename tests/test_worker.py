"""Scheduled maintenance (api/worker.py): drafts and uploads expire, orphaned blobs go, nothing a
submitted case needs is touched; rounds run on a schedule, one process at a time."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.cases.models import Case, CaseMaterial
from api.core.jobs import lock_key
from api.core.settings import Settings
from api.uploads import services as uploads
from api.uploads.models import Upload
from api.worker import MaintenanceScheduler, _round_lock, run_maintenance, run_once_locked
from storage import open_store, storage_path
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens
from tests.test_cases import attach_all, draft, put_blob, submitted
from tests.tus_helpers import metadata, pdf_bytes

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(autouse=True)
async def _clean(client: AsyncClient) -> AsyncIterator[None]:
    await remove_cases()
    yield
    await Upload.all().delete()
    await remove_cases()


async def test_a_round_expires_drafts_and_uploads_and_sweeps_only_orphans(client: AsyncClient,
                                                                           app: Litestar) -> None:
    settings, blobs = app.state.settings, app.state.blobs
    await run_maintenance(settings, blobs, blob_grace=dt.timedelta(0))  # what earlier tests left in the store
    tokens = await citizen_tokens(client, app)
    abandoned = await draft(client, tokens)
    await attach_all(app, tokens, abandoned, content=b"%PDF-1.4 abandoned ")
    lost = [m.blob_key for m in await CaseMaterial.filter(case_id=abandoned["id"], blob_key__isnull=False)]
    assert lost

    # A half-finished upload on the abandoned draft: its partial file must go too.
    data = pdf_bytes(50_000)
    code = abandoned["materials"][0]["code"]
    r = await client.post("/api/v1/uploads", headers={**bearer(tokens), **TUS, "Upload-Length": str(len(data)),
                                                      "Upload-Metadata": metadata(case_id=abandoned["id"],
                                                                                  material_id=code)})
    url = r.headers["Location"]
    r = await client.patch(url, content=data[:20_000], headers={**bearer(tokens), **TUS, "Upload-Offset": "0",
                                                                "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204
    partial = uploads.partial_dir(storage_path(settings.storage_url)) / url.rsplit("/", 1)[1]
    assert partial.exists()

    _, done = await submitted(client, app, tokens)  # submitted: never expires
    kept = [m["download_url"] for m in done["case"]["materials"] if m.get("download_url")]
    orphan = await put_blob(app, b"stored, then its row was never committed")

    report = await run_maintenance(settings, blobs, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31),
                                   blob_grace=dt.timedelta(0))

    assert report.drafts_expired == 1 and report.upload_files_removed == 1
    assert report.blobs_removed == len(lost) + 1
    assert not await Case.exists(id=abandoned["id"]) and not partial.exists()
    for key in [*lost, orphan.key]:
        assert not await blobs.exists(key)
    assert await Case.exists(id=done["case"]["id"])
    for link in kept:  # the submitted case's materials are all still there
        assert (await client.get(link, headers=bearer(tokens))).status_code == 200
    again = await run_maintenance(settings, blobs, blob_grace=dt.timedelta(0))
    assert (again.drafts_expired, again.upload_files_removed, again.blobs_removed) == (0, 0, 0)


async def test_the_grace_period_protects_a_blob_whose_row_is_not_committed_yet(client: AsyncClient,
                                                                               app: Litestar) -> None:
    fresh = await put_blob(app, b"just stored; the upload is committing its row")
    report = await run_maintenance(app.state.settings, app.state.blobs)  # default grace: one hour
    assert report.blobs_removed == 0 and await app.state.blobs.exists(fresh.key)
    await app.state.blobs.delete(fresh.key)


async def test_the_scheduler_runs_rounds_and_only_one_process_at_a_time(client: AsyncClient,
                                                                        app: Litestar) -> None:
    settings, blobs = app.state.settings, app.state.blobs
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    await Case.filter(id=case["id"]).update(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))

    async with another_process_holds_the_round(settings):
        assert await run_once_locked(settings, blobs) is None
        assert await Case.exists(id=case["id"])

    scheduler = MaintenanceScheduler(settings, blobs, interval=0.01, first_delay=0)
    async with scheduler.running():
        await asyncio.wait_for(scheduler.round_done.wait(), timeout=30)
    assert scheduler.rounds >= 1 and not await Case.exists(id=case["id"])
    assert scheduler.last is not None and "drafts expired" in str(scheduler.last)


@contextlib.asynccontextmanager
async def another_process_holds_the_round(settings: Settings) -> AsyncIterator[None]:
    """SQLite: the storage root's flock; PostgreSQL: the advisory lock, from another session."""
    if settings.is_sqlite:
        with _round_lock(storage_path(settings.storage_url)) as mine:
            assert mine
            yield
        return
    other = await asyncpg.connect(settings.database_url)
    try:
        await other.execute("SELECT pg_advisory_lock($1)", lock_key("maintenance"))
        yield
    finally:
        await other.close()  # the session's end releases the lock


async def test_a_failed_round_is_logged_and_retried(app: Litestar, tmp_path: Path) -> None:
    # The storage root is briefly unusable (a file where its directory should be): the round fails,
    # the scheduler keeps going, and the first round after the path is fixed succeeds.
    root = tmp_path / "storage"
    root.write_text("not a directory")
    settings = dataclasses.replace(app.state.settings, storage_url=f"file://{root}")
    scheduler = MaintenanceScheduler(settings, open_store(settings.storage_url), interval=0.01, first_delay=0)
    async with scheduler.running():
        await asyncio.wait_for(scheduler.round_failed.wait(), timeout=30)
        root.unlink()
        await asyncio.wait_for(scheduler.round_done.wait(), timeout=30)
    assert scheduler.failures >= 1 and scheduler.rounds >= 1
