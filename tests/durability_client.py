"""The crash-test workload of ``tests/test_durability.py``: a killable ``zhengwu serve``, a ledger of
what the server acknowledged, the concurrent citizens that fill it, and the checks run on the
database and the blob store after a SIGKILL.

A step counts as *acknowledged* only when its success response reached the client: a 201 to a case
or upload creation, a 204 to a PATCH (with its ``Upload-Offset``), the 204 that completes an upload
(its content hash is the hash of the bytes sent), a 200 to a submission (with its case number)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.processes import ROOT, free_port, http_status, zhengwu_exe
from tests.tus_helpers import metadata, pdf_bytes

LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领 (city)
ANSWERS = {"reason": "lost", "agent": "no"}
UPLOADS = "/api/v1/uploads"
CASES = "/api/v1/cases"
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {"Content-Type": "application/offset+octet-stream", **TUS}
CHUNK_SIZE = 32 * 1024


# --------------------------------------------------------------------------- a killable server


class Server:
    """``zhengwu serve`` on a free port, that can be SIGKILLed (no shutdown code runs)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("a") as out:
            self.proc = subprocess.Popen(
                [zhengwu_exe(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while http_status(f"{self.base}/api/v1/health") != 200:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"server not ready within 60 s:\n{log.read_text()[-4000:]}")
            time.sleep(0.05)  # polling a process that is binding its port, not synchronising a test

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


# --------------------------------------------------------------------------- material files




def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()




# --------------------------------------------------------------------------- the ledger


@dataclass
class UploadRecord:
    case_id: int
    code: str
    data: bytes
    url: str | None = None  # set once the creation was acknowledged (201)
    acked_offset: int = 0  # the last Upload-Offset a 204 acknowledged
    completed: bool = False  # the 204 that reached Upload-Length was received


@dataclass
class CaseRecord:
    id: int
    token: str
    key: str  # Idempotency-Key of its submission
    uploads: list[UploadRecord]
    number: str | None = None  # set once a 200 to the submission was received
    query_code: str | None = None


@dataclass
class Ledger:
    cases: list[CaseRecord] = field(default_factory=list)
    acks: int = 0
    on_ack: Callable[[Ledger], None] | None = None

    def ack(self) -> None:
        self.acks += 1
        if self.on_ack is not None:
            self.on_ack(self)

    @property
    def submitted(self) -> list[CaseRecord]:
        return [c for c in self.cases if c.number]

    @property
    def uploads(self) -> list[UploadRecord]:
        return [u for c in self.cases for u in c.uploads]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- setting up


async def sign_in(client: httpx.AsyncClient, phone: str) -> str:
    r = await client.post("/api/v1/auth/otp", json={"phone": phone})
    assert r.status_code == 202, r.text
    r = await client.get("/api/v1/dev/sms", params={"phone": phone})
    assert r.status_code == 200, r.text
    code = r.json()["codes"][0]
    r = await client.post("/api/v1/auth/token", json={"phone": phone, "code": code})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def new_case(client: httpx.AsyncClient, token: str, index: int, rng: random.Random) -> CaseRecord:
    r = await client.post(CASES, json={"item_code": LICENCE, "answers": ANSWERS}, headers=auth(token))
    assert r.status_code == 201, r.text
    case = r.json()
    wanted = [m["code"] for m in case["materials"] if m["required"] and m["source"] == "applicant"]
    assert wanted, case
    uploads = [UploadRecord(case["id"], code, pdf_bytes(rng.randrange(8_000, 260_000), rng)) for code in wanted]
    return CaseRecord(case["id"], token, f"crash-{index}-{rng.randbytes(6).hex()}", uploads)


# --------------------------------------------------------------------------- the workload


async def upload(client: httpx.AsyncClient, case: CaseRecord, up: UploadRecord, ledger: Ledger) -> None:
    r = await client.post(UPLOADS, headers={**auth(case.token), **TUS, "Upload-Length": str(len(up.data)),
                                            "Upload-Metadata": metadata(case_id=case.id, material_id=up.code,
                                                                        filename=f"{up.code}.pdf")})
    assert r.status_code == 201, r.text
    up.url = r.headers["Location"]
    ledger.ack()
    while up.acked_offset < len(up.data):
        start = up.acked_offset
        r = await client.patch(up.url, content=up.data[start:start + CHUNK_SIZE],
                               headers={**auth(case.token), **CHUNK, "Upload-Offset": str(start)})
        assert r.status_code == 204, r.text
        offset = int(r.headers["Upload-Offset"])
        assert start < offset <= len(up.data)
        up.acked_offset = offset
        up.completed = offset == len(up.data)
        ledger.ack()


async def submit(client: httpx.AsyncClient, case: CaseRecord) -> httpx.Response:
    return await client.post(f"{CASES}/{case.id}/submit", headers={**auth(case.token), "Idempotency-Key": case.key})


async def apply(client: httpx.AsyncClient, case: CaseRecord, ledger: Ledger) -> None:
    """One citizen's application: its uploads concurrently, then the submission. Stops at the first
    transport error (the server was killed); any other failure is a failure of the test."""
    try:
        await asyncio.gather(*(upload(client, case, up, ledger) for up in case.uploads))
        r = await submit(client, case)
        assert r.status_code == 200, r.text
        body = r.json()
        case.number, case.query_code = body["number"], body["query_code"]
        ledger.ack()
    except httpx.TransportError:
        return


# --------------------------------------------------------------------------- checking the database


NUMBER = re.compile(r"\d{20}")
HEX64 = re.compile(r"[0-9a-f]{64}")


def rows(db: sqlite3.Connection, sql: str, *args: object) -> list[sqlite3.Row]:
    return list(db.execute(sql, args))


def check_consistent(db_path: Path, blob_root: Path, ledger: Ledger) -> dict[str, int]:
    """Invariants across tables, read with sqlite3 straight from the file the killed server left.
    Returns a few counts of what the crash left behind."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    ids = [c.id for c in ledger.cases]
    marks = ",".join("?" * len(ids))
    cases = {r["id"]: r for r in rows(db, f"SELECT * FROM cases WHERE id IN ({marks})", *ids)}
    assert set(cases) == set(ids), "an acknowledged draft is missing"
    counts = {"draft": 0, "submitted": 0, "partial uploads": 0, "completed uploads": 0}

    for case in ledger.cases:
        row = cases[case.id]
        events = rows(db, "SELECT * FROM case_event WHERE case_id = ?", case.id)
        materials = {m["code"]: m for m in rows(db, "SELECT * FROM case_material WHERE case_id = ?", case.id)}
        assert {u.code for u in case.uploads} <= set(materials), f"case {case.id} lost checklist entries"
        counts[row["state"]] += 1
        if row["state"] == "draft":
            assert row["number"] is None and row["query_code_hash"] is None and row["query_code_salt"] is None
            assert row["submitted_at"] is None and row["idempotency_key"] is None and row["expires_at"] is not None
            assert events == [], f"draft {case.id} has timeline events"
            assert case.number is None, f"case {case.id} was acknowledged as {case.number} but is a draft"
        else:
            assert row["state"] == "submitted", f"case {case.id} is {row['state']}"
            assert NUMBER.fullmatch(row["number"] or ""), f"submitted case {case.id} has no number"
            assert row["query_code_hash"] and row["query_code_salt"] and row["submitted_at"] is not None
            assert row["idempotency_key"] == case.key and row["expires_at"] is None
            assert [(e["action"], e["from_state"], e["to_state"]) for e in events] == [
                ("submit", "draft", "submitted")], f"case {case.id} timeline: {[dict(e) for e in events]}"
            audit = rows(db, "SELECT * FROM audit_entry WHERE action = 'case.submit' AND target_code = ?",
                         row["number"])
            assert len(audit) == 1, f"case {row['number']} has {len(audit)} audit entries"
            assert all(m["status"] == "attached" for m in materials.values()
                       if m["required"] and m["source"] == "applicant"), f"case {case.id} submitted incomplete"
            if case.number is not None:
                assert row["number"] == case.number, "an acknowledged case number changed"

        for m in materials.values():
            if m["status"] == "attached":
                assert m["blob_key"] and HEX64.fullmatch(m["sha256"]) and m["size"] is not None
                blob = blob_root / m["blob_key"]
                assert blob.is_file(), f"attached blob {m['blob_key']} is not in the store"
                content = blob.read_bytes()
                assert sha256(content) == m["sha256"] and len(content) == m["size"], f"blob {m['blob_key']} corrupt"
                assert m["blob_key"].endswith(m["sha256"])
            else:
                assert m["status"] == "missing" and m["blob_key"] is None and m["size"] is None and not m["sha256"]

        uploads = {(u["material_code"]): u for u in rows(db, "SELECT * FROM upload WHERE case_id = ?", case.id)}
        for up in case.uploads:
            material = materials[up.code]
            if up.url is None:
                continue  # its creation was never acknowledged (it may or may not exist)
            stored = uploads.get(up.code)
            assert stored is not None and up.url.endswith(stored["id"]), f"acknowledged upload {up.url} is missing"
            assert stored["upload_offset"] >= up.acked_offset, (
                f"upload {stored['id']}: acknowledged offset {up.acked_offset} > stored {stored['upload_offset']}")
            if stored["state"] == "completed":
                counts["completed uploads"] += 1
                assert stored["upload_offset"] == len(up.data) and stored["sha256"] == sha256(up.data)
                assert material["status"] == "attached" and material["blob_key"] == stored["blob_key"], (
                    f"completed upload {stored['id']} is not attached to its material")
                assert material["sha256"] == sha256(up.data)
            else:
                assert stored["state"] == "partial", f"upload {stored['id']} is {stored['state']}"
                assert not up.completed, f"upload {stored['id']} was acknowledged complete but is partial"
                assert material["status"] == "missing", f"material {up.code} attached without a completed upload"
                counts["partial uploads"] += 1
                partial = blob_root / "uploads" / "partial" / stored["id"]
                if stored["upload_offset"] == 0 and not partial.exists():
                    continue  # nothing acknowledged yet: the first PATCH creates the file
                assert partial.is_file() and partial.stat().st_size >= stored["upload_offset"]
                assert partial.read_bytes()[:stored["upload_offset"]] == up.data[:stored["upload_offset"]], (
                    f"upload {stored['id']}: the acknowledged bytes differ")
    db.close()
    return counts


def referenced_keys(db_path: Path) -> set[str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        return {k for (k,) in db.execute("SELECT blob_key FROM case_material WHERE blob_key IS NOT NULL")}


def stored_keys(blob_root: Path) -> set[str]:
    folder = blob_root / "sha256"
    return {str(p.relative_to(blob_root)) for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


# The housekeeping a scheduler runs, without the `zhengwu` command: expire partial files no live
# upload refers to, then sweep blobs no case material refers to and abandoned partial writes.
SWEEP = """
import asyncio, datetime as dt, os, sys
from api.cases.services import referenced_blob
from api.core.db import orm_session
from api.uploads.services import expire_uploads
from storage import open_store, storage_path

async def main():
    url = os.environ["ZHENGWU_STORAGE_URL"]
    async with orm_session(os.environ["ZHENGWU_DATABASE_URL"]):
        partial = await expire_uploads(storage_path(url), orphan_grace=dt.timedelta(0))
        swept = await open_store(url).sweep_orphans(referenced_blob, older_than=dt.timedelta(0))
    print(partial, swept)

asyncio.run(main())
"""
