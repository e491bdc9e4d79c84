"""Real test databases: a fresh SQLite file or a fresh PostgreSQL database per use."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg

from api.core.db import migrate

POSTGRES_URL = os.environ.get("ZHENGWU_TEST_POSTGRES_URL", "")


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


@asynccontextmanager
async def fresh_database(backend: str, directory: Path, migrated: bool = True) -> AsyncIterator[str]:
    """A new empty database URL (migrated to head unless asked not to); dropped afterwards."""
    name = f"zw_test_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        url = f"sqlite:///{directory / name}.sqlite3"
        if migrated:
            await asyncio.to_thread(migrate, url)  # Alembic's env.py runs its own event loop
        yield url
        return
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _with_database(POSTGRES_URL, name)
    try:
        if migrated:
            await asyncio.to_thread(migrate, url)
        yield url
    finally:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def remove_cases(*, check_counts: bool = True) -> None:
    """Delete every case, and the workbench queues' counts with them (kept by the workflow in each
    change's transaction, which a bulk delete bypasses). First, unless told not to, check that the
    counts kept through whatever the test did equal the counts of the cases themselves."""
    from api.cases.models import Case
    from api.workflow import queues
    from api.workflow.models import QueueCount

    if check_counts:
        kept, recounted = await queues.kept(), await queues.recounted()
        assert kept == recounted, f"queue counts drifted: kept {kept}, cases {recounted}"
    await Case.all().delete()
    await QueueCount.all().delete()
