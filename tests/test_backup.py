"""Backup and restore with the real commands: a populated instance (the session's database, with
cases, materials and audit entries made here) is backed up by ``zhengwu backup``, restored by
``zhengwu restore`` into a new empty database and an empty store elsewhere — SQLite onto local
disk, PostgreSQL into an S3 bucket — and every case, every material's hash and the audit chain
are checked against the original, by the restore itself and again here."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from httpx import AsyncClient
from litestar import Litestar
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.cases.models import CaseMaterial
from storage import open_store
from tests.databases import fresh_database
from tests.identity_helpers import citizen_tokens
from tests.processes import sqlite_env, zhengwu
from tests.seaweed import CREDENTIALS, SeaweedS3
from tests.test_cases import attach_all, draft, submitted

TABLES = {"cases": "id", "case_material": "id", "case_event": "id", "audit_entry": "seq", "audit_chain_head": "id",
          "citizen": "id"}


async def rows(url: str, table: str, order: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        with sqlite3.connect("/" + url.removeprefix("sqlite://").lstrip("/")) as db:
            return [tuple(r) for r in db.execute(f'SELECT * FROM "{table}" ORDER BY {order}')]
    connection = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await connection.fetch(f'SELECT * FROM "{table}" ORDER BY {order}')]
    finally:
        await connection.close()


@pytest.fixture
def target_storage(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, dict[str, str]]:
    """Where the restore writes: local disk after SQLite, a fresh bucket prefix after PostgreSQL."""
    if backend == "sqlite":
        return f"file://{tmp_path / 'restored-blobs'}", {}
    gateway: SeaweedS3 = request.getfixturevalue("seaweed")
    return gateway.url(f"restored-{uuid.uuid4().hex}"), dict(CREDENTIALS)


async def test_a_backup_restores_elsewhere_with_every_case_hash_and_the_audit_chain(
    client: AsyncClient, app: Litestar, backend: str, database_url: str, tmp_path: Path,
    target_storage: tuple[str, dict[str, str]],
) -> None:
    # A populated instance: a submitted case (its materials, events and audit entries), a draft
    # with files, and an administrative audit entry.
    await submitted(client, app)
    tokens = await citizen_tokens(client, app)
    await attach_all(app, tokens, await draft(client, tokens), content=b"%PDF-1.4 draft " + uuid.uuid4().bytes)
    async with in_transaction() as conn:
        await record(conn, "admin", "test.backup", "test", uuid.uuid4().hex, None, {"n": 1}, role="admin",
                     client="127.0.0.1")
    assert await CaseMaterial.filter(blob_key__isnull=False).count() >= 2

    source = sqlite_env(tmp_path / "var", ZHENGWU_DATABASE_URL=database_url,
                        ZHENGWU_STORAGE_URL=app.state.settings.storage_url)
    backup_dir = tmp_path / "backup"
    done = zhengwu("backup", str(backup_dir), env=source)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["database"]["kind"] == ("sqlite" if backend == "sqlite" else "postgresql")
    assert manifest["blobs"]["included"] and manifest["blobs"]["count"] >= 2
    assert manifest["counts"]["audit_entries"] >= 2 and len(manifest["counts"]["audit_head"]) == 64

    storage_url, credentials = target_storage
    async with fresh_database(backend, tmp_path / "restored", migrated=False) as restored_url:
        target = sqlite_env(tmp_path / "var2", ZHENGWU_DATABASE_URL=restored_url, ZHENGWU_STORAGE_URL=storage_url,
                            **credentials)
        done = zhengwu("restore", str(backup_dir), env=target)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "restored and verified" in done.stderr and "Traceback" not in done.stderr

        # Every row of the cases, their materials and events, the citizens and the audit chain,
        # exactly as backed up (the test's database has not changed since).
        for table, order in TABLES.items():
            assert await rows(restored_url, table, order) == await rows(database_url, table, order), table

        # Every material's blob is in the new store and hashes to what its row says.
        store = open_store(storage_url, work_dir=tmp_path / "work", credentials={
            "access_key": credentials.get("AWS_ACCESS_KEY_ID", ""),
            "secret_key": credentials.get("AWS_SECRET_ACCESS_KEY", "")} if credentials else None)
        try:
            materials = [r for r in await rows(restored_url, "case_material", "id") if r]
            keys = await _material_keys(restored_url)
            assert keys and len(materials) >= len(keys)
            for key, sha in keys:
                digest = hashlib.sha256()
                async with store.open(key) as chunks:
                    async for chunk in chunks:
                        digest.update(chunk)
                assert digest.hexdigest() == sha == key.rsplit("/", 1)[1]
        finally:
            await store.close()

        # The audit chain verifies on the restored database.
        verified = zhengwu("audit-verify", env=target)
        assert verified.returncode == 0 and f"{manifest['counts']['audit_entries']} entries" in verified.stderr

        # A second restore refuses the database that is no longer empty, naming why.
        again = zhengwu("restore", str(backup_dir), env=target)
        assert again.returncode == 1 and "the database is not empty" in again.stderr


async def _material_keys(url: str) -> list[tuple[str, str]]:
    query = "SELECT blob_key, sha256 FROM case_material WHERE blob_key IS NOT NULL ORDER BY id"
    if url.startswith("sqlite"):
        with sqlite3.connect("/" + url.removeprefix("sqlite://").lstrip("/")) as db:
            return [tuple(r) for r in db.execute(query)]
    connection = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await connection.fetch(query)]
    finally:
        await connection.close()


async def test_a_damaged_backup_is_refused_before_anything_is_written(
    client: AsyncClient, app: Litestar, backend: str, database_url: str, tmp_path: Path,
) -> None:
    tokens = await citizen_tokens(client, app)
    await attach_all(app, tokens, await draft(client, tokens), content=b"%PDF-1.4 damaged " + uuid.uuid4().bytes)
    source = sqlite_env(tmp_path / "var", ZHENGWU_DATABASE_URL=database_url,
                        ZHENGWU_STORAGE_URL=app.state.settings.storage_url)
    backup_dir = tmp_path / "backup"
    assert zhengwu("backup", str(backup_dir), env=source).returncode == 0
    assert zhengwu("backup", str(backup_dir), env=source).returncode == 1  # never into a used directory
    blob = next(p for p in (backup_dir / "blobs").rglob("*") if p.is_file())
    blob.write_bytes(blob.read_bytes()[:-1] + b"?")  # one byte changed
    async with fresh_database(backend, tmp_path / "restored", migrated=False) as restored_url:
        target = sqlite_env(tmp_path / "var2", ZHENGWU_DATABASE_URL=restored_url,
                            ZHENGWU_STORAGE_URL=f"file://{tmp_path / 'restored-blobs'}")
        done = zhengwu("restore", str(backup_dir), env=target)
        assert done.returncode == 1 and "is damaged" in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / "restored-blobs" / "sha256").exists()  # nothing written
        if backend == "sqlite":
            assert not await asyncio.to_thread(os.path.exists, restored_url.removeprefix("sqlite://"))
