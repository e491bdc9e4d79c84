"""The audit chains: every entry hashed and linked; concurrent writers never fork one; tampering found.

Tampering is done as an intruder with database access would do it (plain SQL), and found the way
an operator finds it (``zhengwu audit-verify`` in a child process, its exit status and message).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from tortoise.transactions import in_transaction

from api.audit.chain import CHAINS, GENESIS, SAFE_INTEGER, canonical, chain_of, entry_hash
from api.audit.models import AuditEntry
from api.audit.services import record, verify
from tests.databases import fresh_database
from tests.identity_helpers import bearer, staff_tokens
from tests.processes import ROOT, sqlite_env, zhengwu

# --------------------------------------------------------------------------- helpers


async def sql(url: str, query: str) -> list[tuple[Any, ...]]:
    """Run one statement as someone with direct access to the database would."""
    if url.startswith("sqlite:"):
        def run() -> list[tuple[Any, ...]]:
            with sqlite3.connect(url.removeprefix("sqlite://")) as db:
                return db.execute(query).fetchall()

        return await asyncio.to_thread(run)
    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(query)]
    finally:
        await conn.close()


def write_concurrently(url: str, processes: int, writers: int, target: str | None = None) -> None:
    """``processes`` child processes, released at once, each running ``writers`` concurrent
    transactions that record one entry each (tests/audit_writer.py): each about its own target
    (spread over the chains), or all about ``target`` (all in its chain)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    one = [target] if target else []
    children = [
        subprocess.Popen([sys.executable, "-m", "tests.audit_writer", url, str(writers), f"p{i}", *one], cwd=ROOT,
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(processes)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:  # every child is connected and waiting: release them together
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0 and "done" in out, err


def verify_cli(url: str, var: Path) -> tuple[int, str]:
    done = zhengwu("audit-verify", env=sqlite_env(var, ZHENGWU_DATABASE_URL=url))
    return done.returncode, " ".join((done.stdout + done.stderr).split())  # rich wraps long lines


ONE = "one-target"  # every entry about it is in one chain: chain_of("test", ONE)


async def chain_ids(url: str, chain: int | None = None) -> list[int]:
    """The entries of one chain (``ONE``'s by default), in chain order."""
    chain = chain or chain_of("test", ONE)
    return [r[0] for r in await sql(url, f"SELECT id FROM audit_entry WHERE chain = {chain} ORDER BY seq")]


def assert_unforked(rows: list[tuple[Any, ...]]) -> None:
    """(chain, seq, prev_hash, hash) rows: each chain numbered 1 … n, each entry linked to the one before."""
    chains: dict[int, list[tuple[Any, ...]]] = {}
    for row in sorted(rows):
        chains.setdefault(row[0], []).append(row)
    for entries in chains.values():
        assert [e[1] for e in entries] == list(range(1, len(entries) + 1))
        assert [e[2] for e in entries] == [GENESIS, *(e[3] for e in entries[:-1])]  # no two share a predecessor


# --------------------------------------------------------------------------- the hash


def test_the_canonical_encoding_is_rfc8785_of_the_documented_fields() -> None:
    import datetime as dt

    at = dt.datetime(2026, 12, 4, 10, 30, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    fields: dict[str, Any] = {
        "seq": 1, "at": at, "actor": "staff:3", "role": "admin", "action": "staff.create", "target_type": "staff",
        "target_code": "li", "before": None, "after": {"name": "李", "n": 2.0}, "client": "10.0.0.1",
        "prev_hash": GENESIS,
    }
    assert canonical(**fields) == (
        '{"action":"staff.create","actor":"staff:3","after":{"n":2,"name":"李"},"at":"2026-12-04T02:30:05.000007Z",'
        f'"before":null,"client":"10.0.0.1","prev_hash":"{GENESIS}","role":"admin","seq":1,'
        '"target_code":"li","target_type":"staff"}'
    ).encode()
    assert len(entry_hash(**fields)) == 64


# --------------------------------------------------------------------------- writing (session database)


async def test_twenty_concurrent_writers_in_one_process_never_fork_the_chain(app: Litestar) -> None:
    async def write(n: int, target: str) -> None:
        async with in_transaction() as conn:
            await record(conn, "system", "test.concurrent", "test", target, None, {"n": n})

    await asyncio.gather(*(write(n, f"c-{n}") for n in range(20)), *(write(n, "c-one") for n in range(20)))
    verdict = await verify()
    assert verdict.broken is None and verdict.breaks == []
    entries = await AuditEntry.all()
    assert verdict.entries == len(entries)
    assert_unforked([(e.chain, e.seq, e.prev_hash, e.hash) for e in entries])
    one = [e for e in entries if e.target_code == "c-one"]
    assert {e.chain for e in one} == {chain_of("test", "c-one")} and len(one) == 20
    many = sorted(e.target_code for e in entries if e.action == "test.concurrent" and e.target_code != "c-one")
    assert many == sorted(f"c-{n}" for n in range(20))


async def test_one_transaction_writes_to_one_chain(app: Litestar) -> None:
    """Its first entry's target picks the chain; later entries of other targets follow it there (a
    transaction locks one head only, so two transactions never wait for each other's)."""
    first, second = "tx-first", next(f"tx-{n}" for n in range(100) if chain_of("test", f"tx-{n}") != chain_of(
        "test", "tx-first"))
    async with in_transaction() as conn:
        a = await record(conn, "system", "test.tx", "test", first)
        async with in_transaction() as savepoint:  # a nested block is the same transaction
            b = await record(savepoint, "system", "test.tx", "test", second)
    async with in_transaction() as conn:
        c = await record(conn, "system", "test.tx", "test", second)
    assert a.chain == b.chain == chain_of("test", first) and b.seq == a.seq + 1 and b.prev_hash == a.hash
    assert c.chain == chain_of("test", second)
    assert (await verify()).broken is None


async def test_what_is_stored_hashes_alike_when_read_back_from_either_database(app: Litestar) -> None:
    """JSONB reorders keys and rewrites numbers; SQLite keeps text. Both must verify."""
    after = {"z": 1, "a": [1.0, -0.0, 0.1, 1e20, 1.5e-10, 2**60, -(2**60), SAFE_INTEGER],
             "text": '中文 \u2028 "quoted" \\ /', "nested": {"b": None, "a": True, "空": ""}}
    async with in_transaction() as conn:
        entry = await record(conn, "citizen:9", "test.values", "test", "values", {"state": "draft"}, after)
    stored = await AuditEntry.get(id=entry.id)
    assert stored.role == "citizen" and stored.client == ""  # no request: no client address
    assert stored.after["a"][5:] == [str(2**60), str(-(2**60)), SAFE_INTEGER]  # beyond JSON's exact integers
    assert stored.after["text"] == after["text"]
    assert (await verify()).broken is None


async def test_an_entry_records_the_callers_role_and_address(app: Litestar, client: httpx.AsyncClient) -> None:
    admin = await staff_tokens(client, "admin")
    transport = httpx.ASGITransport(app=app, client=("10.20.30.40", 51000))
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as own:
        r = await own.post("/api/v1/admin/staff", headers=bearer(admin), json={
            "username": "chain-clerk", "password": "Clerk-pass-2026", "role": "clerk", "window": "W01",
            "department": "", "name": "链"})
    assert r.status_code in (200, 201), r.text
    entry = await AuditEntry.get(action="staff.create", target_code="chain-clerk")
    assert (entry.role, entry.client) == ("admin", "10.20.30.40")
    r = await client.get("/api/v1/admin/audit", params={"target_type": "staff", "target_code": "chain-clerk"},
                         headers=bearer(admin))
    assert r.json()["items"][0]["role"] == "admin" and r.json()["items"][0]["client"] == "10.20.30.40"
    assert (await verify()).broken is None


# --------------------------------------------------------------------------- own databases, CLI


@pytest.mark.parametrize("targets", ["many chains", "one chain"])
async def test_twenty_writers_in_four_processes_never_fork_the_chain(backend: str, tmp_path: Path,
                                                                     targets: str) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await asyncio.to_thread(write_concurrently, url, 4, 5, ONE if targets == "one chain" else None)
        code, out = await asyncio.to_thread(verify_cli, url, tmp_path)
        assert code == 0, out
        assert "20 entries" in out
        rows = await sql(url, "SELECT chain, seq, prev_hash, hash FROM audit_entry")
        assert len(rows) == 20
        assert_unforked(rows)
        if targets == "one chain":
            assert {r[0] for r in rows} == {chain_of("test", ONE)}
        else:
            assert len({r[0] for r in rows}) > 1


async def test_verify_names_exactly_the_entry_edited_in_the_database(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await asyncio.to_thread(write_concurrently, url, 1, 6, ONE)
        await asyncio.to_thread(write_concurrently, url, 1, 6)  # other chains: they still verify
        ids = await chain_ids(url)
        await sql(url, f"""UPDATE audit_entry SET "after" = '{{"writer": "p0", "n": 99}}' WHERE id = {ids[2]}""")
        code, out = await asyncio.to_thread(verify_cli, url, tmp_path)
        assert code == 1
        assert f"id={ids[2]} (chain {chain_of('test', ONE)}, seq 3)" in out and "hash mismatch" in out
        assert "1 chain(s) broken; 8 entries verify" in out  # 2 before it in its chain, 6 in the others


async def test_verify_finds_the_gap_of_an_entry_deleted_from_the_middle(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await asyncio.to_thread(write_concurrently, url, 1, 6, ONE)
        ids = await chain_ids(url)
        await sql(url, f"DELETE FROM audit_entry WHERE id = {ids[3]}")
        code, out = await asyncio.to_thread(verify_cli, url, tmp_path)
        assert code == 1
        assert f"id={ids[4]} (chain {chain_of('test', ONE)}, seq 5)" in out
        assert "previous-hash mismatch" in out and "entries 4–4 are missing" in out


async def test_verify_notices_entries_removed_from_the_end(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await asyncio.to_thread(write_concurrently, url, 1, 4, ONE)
        ids = await chain_ids(url)
        await sql(url, f"DELETE FROM audit_entry WHERE id = {ids[-1]}")
        code, out = await asyncio.to_thread(verify_cli, url, tmp_path)
        assert code == 1
        assert f"the head of chain {chain_of('test', ONE)}" in out and "head mismatch" in out
        assert "the chain ends at seq 3" in out


async def test_verify_notices_an_entry_moved_to_another_chain(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await asyncio.to_thread(write_concurrently, url, 1, 3, ONE)
        ids = await chain_ids(url)
        home = chain_of("test", ONE)
        other = home % CHAINS + 1
        await sql(url, f"UPDATE audit_entry SET chain = {other} WHERE id = {ids[1]}")  # not hashed, but linked
        code, out = await asyncio.to_thread(verify_cli, url, tmp_path)
        assert code == 1
        assert f"id={ids[2]} (chain {home}, seq 3): previous-hash mismatch: entries 2–2 are missing" in out
        assert f"id={ids[1]} (chain {other}, seq 2): previous-hash mismatch: entries 1–1 are missing" in out


async def test_an_empty_chain_verifies(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path) as url:
        code, out = await asyncio.to_thread(verify_cli, url, tmp_path)
        assert code == 0 and "0 entries" in out


async def test_the_migration_chains_the_entries_it_finds(backend: str, tmp_path: Path) -> None:
    """Entries written before the chain existed are hashed in id order, and verify."""
    from alembic import command
    from api.core.db import alembic_config, migrate

    async with fresh_database(backend, tmp_path) as url:
        await asyncio.to_thread(write_concurrently, url, 1, 5)
        await sql(url, 'INSERT INTO staff (username, password_hash, role, department, "window", name, active, '
                       "failed_logins, created_at) VALUES ('old-admin', 'x', 'admin', '', '', '', TRUE, 0, "
                       "'2026-12-01 08:00:00.123456+00:00')")
        (staff_id,), = await sql(url, "SELECT id FROM staff WHERE username = 'old-admin'")
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0006_bigint_ids")  # before the chain
        await sql(url, 'INSERT INTO audit_entry (at, actor, action, target_type, target_code, "before", "after") '
                       f"VALUES ('2026-12-01 09:00:00.654321+00:00', 'staff:{staff_id}', 'item.publish', 'item', "
                       """'A-1', '"draft"', '{"version": 2, "fee": 10.50, "title": "旧"}')""")
        await asyncio.to_thread(migrate, url)
        code, out = await asyncio.to_thread(verify_cli, url, tmp_path)
        assert code == 0, out
        assert "6 entries" in out
        assert await sql(url, "SELECT role, client FROM audit_entry WHERE action = 'item.publish'") == [("admin", "")]


async def test_the_chains_migration_keeps_every_entry_as_it_was(backend: str, tmp_path: Path) -> None:
    """0022_queue_scale makes the one chain there was chain 1, hashes untouched; its downgrade links every
    entry into one chain again, in id order."""
    from alembic import command
    from api.core.db import alembic_config, migrate

    async with fresh_database(backend, tmp_path) as url:
        await asyncio.to_thread(write_concurrently, url, 2, 4)
        assert len({r[0] for r in await sql(url, "SELECT DISTINCT chain FROM audit_entry")}) > 1
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0021_supervision")
        before = await sql(url, "SELECT id, seq, prev_hash, hash FROM audit_entry ORDER BY id")
        assert [r[1] for r in before] == list(range(1, 9))
        assert [r[2] for r in before] == [GENESIS, *(r[3] for r in before[:-1])]
        await asyncio.to_thread(migrate, url)
        after = await sql(url, "SELECT id, seq, prev_hash, hash, chain FROM audit_entry ORDER BY id")
        assert [r[:4] for r in after] == before and {r[4] for r in after} == {1}
        assert (await sql(url, "SELECT COUNT(*) FROM audit_chain_head"))[0][0] == CHAINS
        code, out = await asyncio.to_thread(verify_cli, url, tmp_path)
        assert code == 0 and "8 entries" in out, out
