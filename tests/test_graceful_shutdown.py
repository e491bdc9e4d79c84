"""SIGTERM to ``zhengwu serve`` (issue #16.2): the server stops accepting at once, lets the request
in flight finish — a tus PATCH whose body the client is still sending — answers it with its 204,
the bytes are durable, the worker in the server stops its loops, and the process exits 0 within
``ZHENGWU_SHUTDOWN_TIMEOUT``. One process on SQLite, two (``--workers 2``) on PostgreSQL.

The client sends the first half of the body, the test sends SIGTERM, waits until the port refuses
connections (the condition, polled), then lets the client send the rest."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.databases import fresh_database
from tests.durability_client import CHUNK, TUS, UPLOADS, auth, new_case, sign_in
from tests.processes import ROOT, free_port, http_status, sqlite_env, zhengwu, zhengwu_exe
from tests.tus_helpers import metadata, pdf_bytes

TIMEOUT = 20  # ZHENGWU_SHUTDOWN_TIMEOUT of these servers
PIECE = 64 * 1024


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def _serve(log: Path, environment: dict[str, str], port: int, *extra: str) -> subprocess.Popen[bytes]:
    """``zhengwu serve`` on ``port`` as a process of its own, its output in ``log``."""
    with log.open("w") as out:
        return subprocess.Popen([zhengwu_exe(), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
                                cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[dict[str, str], list[str]]]:
    base = sqlite_env(tmp_path, ZHENGWU_STORAGE_URL=f"file://{tmp_path / 'storage'}",
                      ZHENGWU_SHUTDOWN_TIMEOUT=str(TIMEOUT), ZHENGWU_MAINTENANCE_INTERVAL="0")
    if request.param == "sqlite":
        done = zhengwu("migrate", env=base)
        assert done.returncode == 0, done.stdout + done.stderr
        yield base, []
        return
    async with fresh_database("postgres", tmp_path) as url:
        yield {**base, "ZHENGWU_DATABASE_URL": url}, ["--workers", "2"]


async def test_sigterm_finishes_the_chunk_in_flight_refuses_new_connections_and_exits_0(
    env: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    environment, extra = env
    done = zhengwu("seed", "--demo", env=environment)
    assert done.returncode == 0, done.stdout + done.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    proc = _serve(log, environment, port, *extra)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while http_status(f"{base}/api/v1/health/ready") != 200:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-4000:]
            await asyncio.sleep(0.1)  # polling a process that is binding its port

        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            token = await sign_in(client, "13912345678")
            case = await new_case(client, token, 0, random.Random(16))
        data = pdf_bytes(1_500_000, random.Random(2))
        code = case.uploads[0].code
        # A connection of its own, opened before the signal (the one the PATCH will use).
        async with httpx.AsyncClient(base_url=base, timeout=60) as uploader:
            r = await uploader.post(UPLOADS, headers={
                **auth(token), **TUS, "Upload-Length": str(len(data)),
                "Upload-Metadata": metadata(case_id=case.id, material_id=code, filename=f"{code}.pdf")})
            assert r.status_code == 201, r.text
            url = r.headers["Location"]
            half_sent, go_on = asyncio.Event(), asyncio.Event()

            async def body() -> AsyncIterator[bytes]:
                half = len(data) // 2
                for at in range(0, half, PIECE):
                    yield data[at:min(at + PIECE, half)]
                half_sent.set()
                await go_on.wait()  # the server is shutting down now
                for at in range(half, len(data), PIECE):
                    yield data[at:at + PIECE]

            patch = asyncio.create_task(uploader.patch(url, content=body(), headers={
                **auth(token), **CHUNK, "Upload-Offset": "0", "Content-Length": str(len(data))}))
            await half_sent.wait()
            signalled = time.monotonic()
            os.kill(proc.pid, signal.SIGTERM)
            while not _refused(port):  # stops accepting at once
                assert time.monotonic() < signalled + 5, "still accepting connections 5 s after SIGTERM"
                await asyncio.sleep(0.02)  # polling the port for the outcome
            assert proc.poll() is None  # … while the request in flight is still served
            go_on.set()
            r = await patch
        assert r.status_code == 204, r.text
        assert r.headers["Upload-Offset"] == str(len(data))
        assert r.headers.get("Connection") == "close"

        while proc.poll() is None:
            assert time.monotonic() < signalled + TIMEOUT, "still running after the shutdown timeout"
            await asyncio.sleep(0.05)  # polling the process for its exit
        assert proc.returncode == 0, log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "Traceback" not in text, text[-4000:]
    processes = int(extra[1]) if extra else 1
    # The PATCH was answered after the shutdown began (by each process that got the signal).
    lines = text.splitlines()
    answered = next(i for i, line in enumerate(lines) if '"PATCH /api/v1/uploads/' in line and '" 204 ' in line)
    assert any("Shutting down" in line for line in lines[:answered]), text[-3000:]
    # Each server process's worker stopped its loops (api/worker.py logs it after the last round).
    assert len(re.findall(r"worker \S+ stopped", text)) == processes, text[-3000:]

    # Durable: the blob holds exactly the bytes sent, and a new server finds the upload complete.
    digest = hashlib.sha256(data).hexdigest()
    blob = tmp_path / "storage" / "sha256" / digest[:2] / digest[2:4] / digest
    assert blob.read_bytes() == data
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    again = _serve(tmp_path / "again.log", environment, port)
    try:
        deadline = time.monotonic() + 90
        while http_status(f"{base}/api/v1/health/ready") != 200:
            assert again.poll() is None and time.monotonic() < deadline
            await asyncio.sleep(0.1)  # polling a process that is binding its port
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            r = await client.get(f"/api/v1/cases/{case.id}", headers=auth(token))
            assert r.status_code == 200, r.text
            material = next(m for m in r.json()["materials"] if m["code"] == code)
            assert (material["status"], material["sha256"], material["size"]) == ("attached", digest, len(data))
            r = await client.get(material["download_url"], headers=auth(token))
            assert r.status_code == 200 and r.content == data
    finally:
        again.terminate()
        again.wait(timeout=60)
