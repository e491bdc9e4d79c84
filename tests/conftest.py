"""Fixtures: every database test runs on real SQLite and real PostgreSQL.

PostgreSQL comes from ZHENGWU_TEST_POSTGRES_URL (``make test`` and ``.ci/run`` set it). When it is
unset the PostgreSQL half is skipped locally, but CI (``CI=true``) refuses to run without it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from api.app import create_app
from api.catalog.demo import demo_document
from api.catalog.document import CatalogDocument
from api.catalog.services import import_document
from api.core.db import close_orm, init_orm
from api.core.settings import Settings
from tests.databases import POSTGRES_URL, fresh_database
from tests.seaweed import SeaweedS3, seaweed_s3, wait_writable

if os.environ.get("CI") == "true" and not POSTGRES_URL:
    raise pytest.UsageError("CI must test PostgreSQL: set ZHENGWU_TEST_POSTGRES_URL")

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="ZHENGWU_TEST_POSTGRES_URL is not set"),
        ],
    ),
]


@pytest.fixture(scope="session")
def demo() -> CatalogDocument:
    return demo_document()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
async def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with fresh_database(backend, tmp_path_factory.mktemp(backend)) as url:
        yield url


def make_settings(database_url: str, tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "storage_url": f"file://{tmp / 'storage'}",
        "secret_key": "t" * 48,
        "public_url": "https://zw.example.cn",
        "pwa_dist": tmp / "no-pwa",
        "catalog_version_check_interval": 0.0,
        "catalog_prewarm": False,
        "alert_stream_seconds": 0.3,  # the live alert stream ends soon (the matrix reads each route to its end)
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def app(
    database_url: str, demo: CatalogDocument, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Litestar]:
    """The app on a migrated database holding the demo catalog (one per backend per session).

    The ORM is initialised here, on the test loop. Litestar's own test client runs the app on a
    portal thread's loop; every switch between that loop and the test's (which queries the
    database directly too) would make Tortoise reopen its connection and leak the old one.
    """
    application = create_app(make_settings(database_url, tmp_path_factory.mktemp("app")), manage_database=False)
    await init_orm(database_url)
    try:
        await import_document(demo)
        yield application
    finally:
        await close_orm()


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, so ENOSPC comes from the kernel. Mounting needs root (CAP_SYS_ADMIN)."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.fail(
            "the full-disk test mounts a 1 MiB tmpfs and needs root (CAP_SYS_ADMIN): "
            f"{mounted.stderr.strip() or mounted.returncode}"
        )
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


@pytest.fixture(scope="session")
async def seaweed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SeaweedS3]:
    """A real SeaweedFS S3 gateway for the session (tests/seaweed.py), its bucket created and writable."""
    directory = tmp_path_factory.mktemp("seaweedfs")
    (directory / "work").mkdir()
    (directory / "work" / "probe").write_bytes(b"probe")
    with seaweed_s3(directory / "data", directory / "weed.log") as gateway:
        await wait_writable(gateway, directory / "work")
        yield gateway
