"""Crash durability (issue 4 item 6): SIGKILL the server while 100 uploads and 50 submissions are in
flight, restart it on the same SQLite database and blob store, and prove that

* nothing acknowledged is lost: every acknowledged upload offset is at most the offset HEAD
  reports after the restart (and the stored bytes up to it are the bytes sent), every acknowledged
  completed upload is attached to its material and downloads byte-identical (sha256), and every
  acknowledged submission is there with the same case number (a retry with the same
  Idempotency-Key replays it);
* no case is half-written: read straight from the database file the killed server left, each case
  is either a draft (no number, no query code, no events, consistent materials) or submitted (a
  number, a query code, exactly one submit event and one audit entry, all required materials
  attached) — and every attached blob is in the store with its recorded hash and size;
* interrupted uploads resume to completion byte-identically and interrupted submissions complete;
* the housekeeping sweep leaves the blob store with exactly the referenced blobs and no partial
  writes.

The kill point is random (its seed is in the failure message): after a random number of
acknowledgements, once a few submissions have been acknowledged.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from tests.durability_client import (
    CASES,
    CHUNK,
    CHUNK_SIZE,
    SWEEP,
    TUS,
    CaseRecord,
    Ledger,
    Server,
    apply,
    auth,
    check_consistent,
    new_case,
    referenced_keys,
    sha256,
    sign_in,
    stored_keys,
    submit,
    upload,
)
from tests.processes import ROOT, sqlite_env, zhengwu

CITIZENS = 5  # sign-in codes are limited to 10 an hour per address: a few citizens, many cases each
CASES_PER_CITIZEN = 10  # 50 cases × 2 required materials = 100 uploads, then 50 submissions


async def resume_and_submit(client: httpx.AsyncClient, case: CaseRecord) -> dict:
    """After the restart: finish each upload from where HEAD says, submit with the same key."""
    for up in case.uploads:
        if up.url is None:  # creation never acknowledged: nothing to resume, start afresh
            continue
        r = await client.head(up.url, headers={**auth(case.token), **TUS})
        assert r.status_code == 200, r.text
        offset = int(r.headers["Upload-Offset"])
        assert up.acked_offset <= offset <= len(up.data), (up.url, up.acked_offset, offset)
        assert not up.completed or offset == len(up.data)
        while offset < len(up.data):
            r = await client.patch(up.url, content=up.data[offset:offset + CHUNK_SIZE],
                                   headers={**auth(case.token), **CHUNK, "Upload-Offset": str(offset)})
            assert r.status_code == 204, r.text
            offset = int(r.headers["Upload-Offset"])
    r = await client.get(f"{CASES}/{case.id}", headers=auth(case.token))
    assert r.status_code == 200, r.text
    materials = {m["code"]: m for m in r.json()["materials"]}
    for up in case.uploads:
        if up.url is None:
            await upload(client, case, up, Ledger())
            r = await client.get(f"{CASES}/{case.id}", headers=auth(case.token))
            materials = {m["code"]: m for m in r.json()["materials"]}
        material = materials[up.code]
        assert material["status"] == "attached" and material["sha256"] == sha256(up.data), material
        r = await client.get(material["download_url"], headers=auth(case.token))
        assert r.status_code == 200 and sha256(r.content) == sha256(up.data), f"{up.url} differs after restart"
    r = await submit(client, case)
    assert r.status_code == 200, r.text
    body = r.json()
    if case.number is not None:
        assert body["number"] == case.number and body["query_code"] == case.query_code, "acknowledged number changed"
    return body


async def scenario(env: dict[str, str], log: Path, seed: int) -> tuple[Ledger, dict[str, int], int]:
    rng = random.Random(seed)
    server = Server(env, log)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=30, limits=limits) as client:
            tokens = [await sign_in(client, f"139{seed % 10_000:04d}{i:04d}") for i in range(CITIZENS)]
            cases = await asyncio.gather(*(new_case(client, tokens[i % CITIZENS], i, rng)
                                           for i in range(CITIZENS * CASES_PER_CITIZEN)))
            expected = sum(1 + sum(2 + len(u.data) // CHUNK_SIZE for u in c.uploads) for c in cases)
            kill_at = rng.randrange(expected // 3, expected * 4 // 5)

            def maybe_kill(ledger: Ledger) -> None:
                if ledger.acks >= kill_at and len(ledger.submitted) >= 3:
                    server.kill()  # synchronously, at this acknowledgement: SIGKILL, no shutdown code
                    ledger.on_ack = None

            ledger = Ledger(cases=list(cases), on_ack=maybe_kill)
            await asyncio.gather(*(apply(client, case, ledger) for case in ledger.cases))
            assert server.proc.poll() is not None, "the workload finished before the kill point"
            in_flight = sum(1 for u in ledger.uploads if not u.completed)
            assert in_flight and len(ledger.submitted) < len(ledger.cases), "nothing was in flight at the kill"
    finally:
        server.kill()

    counts = check_consistent(Path(env["ZHENGWU_VAR_DIR"]) / "db.sqlite3", Path(env["ZHENGWU_VAR_DIR"]) / "storage",
                              ledger)

    server = Server(env, log)  # the same database and storage
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=30, limits=limits) as client:
            done = await asyncio.gather(*(resume_and_submit(client, case) for case in ledger.cases))
        assert len({d["number"] for d in done}) == len(ledger.cases)
    finally:
        server.stop()
    return ledger, counts, in_flight


def test_sigkill_loses_nothing_acknowledged_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = sqlite_env(var, ZHENGWU_STORAGE_URL=f"file://{var / 'storage'}")
    assert zhengwu("migrate", env=env).returncode == 0
    assert zhengwu("seed", "--demo", env=env).returncode == 0
    seed = int.from_bytes(os.urandom(4))
    log = tmp_path / "serve.log"
    try:
        ledger, counts, in_flight = asyncio.run(scenario(env, log, seed))
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}\n--- server log ---\n{log.read_text()[-3000:]}") from exc

    blob_root = var / "storage"
    orphans_before = stored_keys(blob_root) - referenced_keys(var / "db.sqlite3")
    swept = subprocess.run([sys.executable, "-c", SWEEP], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=60)
    assert swept.returncode == 0, swept.stderr
    partial_removed, blobs_removed = map(int, swept.stdout.split())
    assert blobs_removed >= len(orphans_before)
    referenced = referenced_keys(var / "db.sqlite3")
    assert stored_keys(blob_root) == referenced, "the store holds unreferenced blobs after the sweep"
    assert len(referenced) == len(ledger.uploads)  # every material's distinct bytes, nothing else
    assert not any((blob_root / "tmp").iterdir()), "partial writes remain after the sweep"
    with sqlite3.connect(var / "db.sqlite3") as db:
        live = {i for (i,) in db.execute("SELECT id FROM upload WHERE state = 'partial'")}
    partial_files = {p.name for p in (blob_root / "uploads" / "partial").iterdir()}
    assert partial_files == live, "partial upload files without a live upload remain (or live ones lost theirs)"
    # A kill during completion can leave the normaliser's output behind; the sweep removes it.
    normalised = blob_root / "uploads" / "normalised"
    leftovers = len(list(normalised.iterdir())) if normalised.is_dir() else 0
    assert leftovers == 0, "normalised files of a killed completion remain after the sweep"
    print(f"seed {seed}: killed after {ledger.acks} acknowledgements with {in_flight} uploads unfinished and "
          f"{len(ledger.submitted)}/{len(ledger.cases)} submissions acknowledged; crash state {counts}; "
          f"swept {blobs_removed} blob(s)/temp(s), {partial_removed} partial file(s); "
          "no normaliser leftovers")
