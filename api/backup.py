"""Backup and restore of a whole instance: the database and the blobs (``zhengwu backup DIR``,
``zhengwu restore DIR``; the runbook is in the README).

A backup directory holds

* ``database.dump`` — ``pg_dump --format=custom`` (one consistent snapshot, taken by pg_dump's own
  transaction), or ``database.sqlite3`` — SQLite's online backup API (consistent while the server
  writes);
* ``blobs/sha256/ab/cd/<hex>`` — every blob of the store, copied after the database snapshot and
  verified against its name (content addressing: the name is the SHA-256) on the way; with
  ``--no-blobs`` only their listing, for an object store that has its own replication;
* ``blobs.jsonl`` — one ``{"key", "size", "sha256"}`` per blob;
* ``manifest.json`` — what the backup is: format, when, the database kind, file and SHA-256, the
  schema revision, how many cases, materials and audit entries the snapshot holds and the audit
  chain's head — written last, so a directory without it is an unfinished backup.

Blobs are copied after the snapshot: every blob it refers to is still in the store then, because
the orphan sweep removes only blobs that nothing has referred to for its grace period (an hour).

``restore`` refuses a database or a store that is not empty, checks every file against the
manifest first, loads the database (``pg_restore --single-transaction``, or the SQLite file),
writes every blob into the store (any backend) verifying its hash again, migrates to the code's
schema, and verifies what it restored: the counts, every material's blob and hash, and the audit
chain (``api.audit.services.verify``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import aiofiles

from api.core.blobs import blob_store
from api.core.settings import Settings
from storage import BlobStore

FORMAT = "zhengwu-backup"
VERSION = 1
CHUNK = 1024 * 1024


class BackupError(Exception):
    """What is wrong, in one line for the operator."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the database holds, to compare after a restore."""

    cases: int
    materials: int
    audit_entries: int
    audit_head: str


# --------------------------------------------------------------------------- the database


def _postgres_env(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq arguments for pg_dump/pg_restore, the password in the environment (never in argv)."""
    parts = urlparse(url)
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    args = ["--host", parts.hostname or "127.0.0.1", "--port", str(parts.port or 5432),
            "--username", unquote(parts.username or "postgres"), "--no-password"]
    return args, env


def _dbname(url: str) -> str:
    return unquote(urlparse(url).path.lstrip("/"))


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} not found: install the PostgreSQL client (Debian: postgresql-client)")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{what} failed: {detail[:300]}")


def _sqlite_path(url: str) -> Path:
    # sqlite:////abs/path and sqlite:///abs/path both name /abs/path
    return Path("/" + url.removeprefix("sqlite://").lstrip("/"))


_COUNTS = {
    "cases": 'SELECT count(*) FROM "cases"',
    "materials": "SELECT count(*) FROM case_material WHERE blob_key IS NOT NULL",
    "audit_entries": "SELECT count(*) FROM audit_entry",
    "audit_head": "SELECT coalesce(max(hash), '') FROM audit_chain_head",
    "revision": "SELECT coalesce(max(version_num), '') FROM alembic_version",
}


async def dump_database(url: str, directory: Path) -> tuple[str, Snapshot, str]:
    """Copy the database into ``directory``; the file's name, what it holds, its schema revision.
    The counts are read from exactly the data dumped: the SQLite copy itself, or, on PostgreSQL,
    a transaction whose snapshot pg_dump is told to use (``--snapshot``)."""
    if url.startswith("sqlite"):
        target = directory / "database.sqlite3"
        await asyncio.to_thread(_sqlite_copy, _sqlite_path(url), target)
        with sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True) as db:
            found = {name: db.execute(sql).fetchone()[0] for name, sql in _COUNTS.items()}
        return target.name, _snapshot_from(found), found["revision"]
    import asyncpg

    args, env = _postgres_env(url)
    target = directory / "database.dump"
    connection = await asyncpg.connect(url.split("?", 1)[0], timeout=10)
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            exported = await connection.fetchval("SELECT pg_export_snapshot()")
            found = {name: await connection.fetchval(sql) for name, sql in _COUNTS.items()}
            # The transaction stays open while pg_dump reads: its snapshot must stay alive.
            await asyncio.to_thread(_run, [
                "pg_dump", *args, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={exported}",
                "--file", str(target), _dbname(url)], env, "pg_dump")
    finally:
        await connection.close()
    return target.name, _snapshot_from(found), found["revision"]


def _snapshot_from(found: dict[str, Any]) -> Snapshot:
    return Snapshot(cases=int(found["cases"]), materials=int(found["materials"]),
                    audit_entries=int(found["audit_entries"]), audit_head=str(found["audit_head"] or ""))


def _sqlite_copy(source_path: Path, target: Path) -> None:
    if not source_path.is_file():
        raise BackupError(f"SQLite database {source_path} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = sqlite3.connect(f"{source_path.as_uri()}?mode=ro", uri=True)
        try:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)  # the online backup API: a consistent copy while others write
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"copying the SQLite database failed: {exc}") from None


async def database_is_empty(url: str) -> bool:
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return True
        with sqlite3.connect(path) as db:
            return db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    import asyncpg

    connection = await asyncpg.connect(url.split("?", 1)[0], timeout=10)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    finally:
        await connection.close()
    return tables == 0


def load_database(url: str, directory: Path, file: str) -> None:
    if url.startswith("sqlite"):
        if file != "database.sqlite3":
            raise BackupError("this backup holds a PostgreSQL dump: restore it into ZHENGWU_DATABASE_URL=postgres://…")
        _sqlite_copy(directory / file, _sqlite_path(url))
        return
    if file != "database.dump":
        raise BackupError("this backup holds a SQLite database: restore it into ZHENGWU_DATABASE_URL=sqlite:///…")
    args, env = _postgres_env(url)
    _run(["pg_restore", *args, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
          "--dbname", _dbname(url), str(directory / file)], env, "pg_restore")


async def snapshot() -> Snapshot:
    """Counts and the audit head of the database the ORM is on."""
    from api.audit.models import AuditChainHead, AuditEntry
    from api.cases.models import Case, CaseMaterial

    # The audit trail is several chains (api/audit/chain.py): one value for all their heads, as the
    # backup's own query takes it (the greatest head hash).
    heads = [str(h) for h in await AuditChainHead.all().values_list("hash", flat=True)]
    return Snapshot(
        cases=await Case.all().count(),
        materials=await CaseMaterial.filter(blob_key__isnull=False).count(),
        audit_entries=await AuditEntry.all().count(),
        audit_head=max(heads, default=""),
    )


# --------------------------------------------------------------------------- blobs


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with aiofiles.open(path, "rb") as f:
        while chunk := await f.read(CHUNK):
            yield chunk


async def _copy_out(store: BlobStore, key: str, target: Path) -> tuple[int, str]:
    """Stream one blob into ``target``, hashing it; (size, sha256)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    async with store.open(key) as chunks, aiofiles.open(target, "wb") as out:
        async for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            await out.write(chunk)
        await out.flush()
        await asyncio.to_thread(os.fsync, out.fileno())
    return size, digest.hexdigest()


def _sha_of(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- backup


async def backup(settings: Settings, directory: Path, *, with_blobs: bool = True,
                 say: Callable[[str], None] = print) -> dict[str, Any]:
    await asyncio.to_thread(_new_directory, directory)
    started = dt.datetime.now(dt.UTC)
    database_file, counted, revision = await dump_database(settings.database_url, directory)
    say(f"database: {database_file} ({counted.cases} cases, {counted.materials} materials, "
        f"{counted.audit_entries} audit entries)")
    store = blob_store(settings)
    listing: list[dict[str, Any]] = []
    try:
        async for key, size in store.keys():
            entry = {"key": key, "size": size, "sha256": _sha_of(key)}
            if with_blobs:
                copied, sha = await _copy_out(store, key, directory / "blobs" / key)
                if sha != entry["sha256"] or copied != size:
                    raise BackupError(f"blob {key} is damaged in the store: its content hashes to {sha}")
            listing.append(entry)
    finally:
        await store.close()
    async with aiofiles.open(directory / "blobs.jsonl", "w") as f:
        for entry in listing:
            await f.write(json.dumps(entry, sort_keys=True) + "\n")
    manifest = {
        "format": FORMAT, "version": VERSION, "created_at": started.isoformat(),
        "database": {"kind": "sqlite" if settings.is_sqlite else "postgresql", "file": database_file,
                     "sha256": await asyncio.to_thread(_file_sha256, directory / database_file),
                     "schema_revision": revision},
        "blobs": {"included": with_blobs, "count": len(listing), "bytes": sum(e["size"] for e in listing),
                  "listing": "blobs.jsonl",
                  "listing_sha256": await asyncio.to_thread(_file_sha256, directory / "blobs.jsonl"),
                  "source": _describe(settings.storage_url)},
        "counts": {"cases": counted.cases, "materials": counted.materials, "audit_entries": counted.audit_entries,
                   "audit_head": counted.audit_head},
    }
    await asyncio.to_thread(_write_manifest, directory, manifest)
    say(f"blobs: {len(listing)} ({manifest['blobs']['bytes']} bytes){'' if with_blobs else ', listed only'}")
    return manifest


def _new_directory(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: back up into a new directory")
    directory.mkdir(parents=True, exist_ok=True)


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    temp = directory / "manifest.json.tmp"
    temp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
    os.replace(temp, directory / "manifest.json")  # last: a directory without it is unfinished


def _describe(storage_url: str) -> str:
    return storage_url.split("?", 1)[0]  # the bucket or directory, never an option


# --------------------------------------------------------------------------- restore


@dataclass(frozen=True, slots=True)
class Restored:
    snapshot: Snapshot
    blobs: int
    materials_verified: int
    audit_entries_verified: int


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / "manifest.json"
    if not path.exists():
        raise BackupError(f"{directory} holds no manifest.json: not a backup, or an unfinished one")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"manifest.json cannot be read: {exc}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"manifest.json is not a {FORMAT} v{VERSION} manifest")
    return manifest


def check_files(directory: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every file against the manifest (before anything is written anywhere); the blob listing."""
    database = manifest["database"]
    if _file_sha256(directory / database["file"]) != database["sha256"]:
        raise BackupError(f"{database['file']} does not match the manifest's SHA-256: the backup is damaged")
    blobs = manifest["blobs"]
    if _file_sha256(directory / blobs["listing"]) != blobs["listing_sha256"]:
        raise BackupError("blobs.jsonl does not match the manifest's SHA-256: the backup is damaged")
    listing = [json.loads(line) for line in (directory / blobs["listing"]).read_text().splitlines() if line]
    if len(listing) != blobs["count"]:
        raise BackupError(f"blobs.jsonl lists {len(listing)} blobs, the manifest {blobs['count']}")
    if blobs["included"]:
        for entry in listing:
            path = directory / "blobs" / entry["key"]
            if not path.is_file() or path.stat().st_size != entry["size"]:
                raise BackupError(f"blob {entry['key']} is missing from the backup or has the wrong size")
            if _file_sha256(path) != entry["sha256"]:
                raise BackupError(f"blob {entry['key']} in the backup is damaged: its bytes do not hash to its name")
    return listing


async def restore(settings: Settings, directory: Path, *, say: Callable[[str], None] = print) -> Restored:
    from api.core.db import migrate, orm_session

    manifest = read_manifest(directory)
    listing = await asyncio.to_thread(check_files, directory, manifest)
    if not await database_is_empty(settings.database_url):
        raise BackupError("the database is not empty: restore into a new, empty database")
    store = blob_store(settings)
    try:
        await store.prepare()
        async for key, _ in store.keys():
            raise BackupError(f"the blob store is not empty (it holds {key}): restore into an empty one")
        await asyncio.to_thread(load_database, settings.database_url, directory, manifest["database"]["file"])
        say(f"database loaded from {manifest['database']['file']}")
        written = 0
        if manifest["blobs"]["included"]:
            for entry in listing:
                blob = await store.write(_file_chunks(directory / "blobs" / entry["key"]))
                if blob.key != entry["key"]:  # content addressing: the bytes must hash to their name
                    await store.delete(blob.key)
                    raise BackupError(f"blob {entry['key']} in the backup is damaged (its bytes hash to {blob.sha256})")
                written += 1
            say(f"blobs: {written} written into {_describe(settings.storage_url)}")
        await asyncio.to_thread(migrate, settings.database_url)  # to this code's schema, if the backup is older
        async with orm_session(settings.database_url):
            result = await verify_restored(store, manifest)
    finally:
        await store.close()
    return Restored(result[0], written, result[1], result[2])


async def verify_restored(store: BlobStore, manifest: dict[str, Any]) -> tuple[Snapshot, int, int]:
    """The counts, every material's blob and hash, and the audit chain, or a BackupError."""
    from api.audit.services import verify
    from api.cases.models import CaseMaterial

    got = await snapshot()
    expected = manifest["counts"]
    for name in ("cases", "materials", "audit_entries", "audit_head"):
        if getattr(got, name) != expected[name]:
            raise BackupError(f"restored {name} {getattr(got, name)!r} != backed up {expected[name]!r}")
    checked = 0
    async for key, sha in _material_blobs(CaseMaterial):
        digest = hashlib.sha256()
        try:
            async with store.open(key) as chunks:
                async for chunk in chunks:
                    digest.update(chunk)
        except KeyError:
            raise BackupError(f"a material's blob {key} is not in the store") from None
        if digest.hexdigest() != sha or _sha_of(key) != sha:
            raise BackupError(f"a material's blob {key} does not hash to its recorded SHA-256")
        checked += 1
    verdict = await verify()
    if verdict.broken is not None:
        raise BackupError(f"the restored audit chain is broken at seq {verdict.broken.seq}: {verdict.broken.problem}")
    return got, checked, verdict.entries


async def _material_blobs(model: Any) -> AsyncIterator[tuple[str, str]]:
    last = 0
    while True:
        rows = await model.filter(blob_key__isnull=False, id__gt=last).order_by("id").limit(500) \
            .values_list("id", "blob_key", "sha256")
        if not rows:
            return
        for row_id, key, sha in rows:
            yield key, sha
            last = row_id
