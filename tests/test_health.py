"""Liveness and readiness (api/core/health.py): live asks nothing; ready asks the database, the
blob store and this process's worker, and answers 503 with each reason. The database going away
under a serving process is in tests/test_database_outage.py (both answers measured there)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from litestar import Litestar

from api.app import create_app
from api.core.blobs import blob_store
from api.worker import Worker
from tests.conftest import make_settings


async def test_live_and_ready_answer_200_with_every_check(client: httpx.AsyncClient) -> None:
    live = await client.get("/api/v1/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert live.headers["Cache-Control"] == "no-store"
    r = await client.get("/api/v1/health/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "storage": "ok", "worker": "not_in_this_process"}}
    assert r.headers["Cache-Control"] == "no-store" and "Retry-After" not in r.headers
    old = await client.get("/api/v1/health")  # as before the split
    assert old.status_code == 200 and old.json()["database"] == "ok"


async def test_ready_is_503_with_the_reason_when_the_blob_store_is_unusable(
    app: Litestar, database_url: str, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the storage directory should be")
    broken = create_app(make_settings(database_url, tmp_path, storage_url=f"file://{blocked}"), manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=broken), base_url="http://t") as c:
        r = await c.get("/api/v1/health/ready")
        assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
        body = r.json()
        assert body["checks"] == {"database": "ok", "storage": "unavailable", "worker": "not_in_this_process"}
        assert [p["check"] for p in body["problems"]] == ["storage"]
        assert body["message"] == "服务暂时不能处理请求：文件存储暂时不可用"
        assert body["detail"] == "not ready: blob storage unavailable (StorageUnavailable)"
        assert str(blocked) not in r.text  # no path, no key, no address
        assert (await c.get("/api/v1/health/live")).status_code == 200  # alive all the same


async def test_ready_is_503_when_this_process_worker_stops_ticking(app: Litestar, database_url: str,
                                                                  tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, tick_interval=30.0)
    worker = Worker(settings, blob_store(settings))
    now = time.monotonic()
    assert worker.tick_problem(now) == "the background worker is not running"
    worker.started = now - 100
    assert worker.tick_problem(now) is None  # 100 s < the window (max(3 × 30 s, 120 s)) since its start
    worker.started = now - 500
    assert worker.tick_problem(now) == "no supervision tick for 500 s"
    worker.supervision.rounds.last_ok = now - 10
    assert worker.tick_problem(now) is None
    worker.supervision.rounds.last_ok = now - 130
    worker.supervision.rounds.last_error = "ConnectionRefusedError: [Errno 111] 127.0.0.1:5432"
    assert worker.tick_problem(now) == "no supervision tick for 130 s (last error ConnectionRefusedError)"

    app.state.worker = worker
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.get("/api/v1/health/ready")
    finally:
        app.state.worker = None
    assert r.status_code == 503, r.text
    assert r.json()["checks"] == {"database": "ok", "storage": "ok", "worker": "unavailable"}
    assert r.json()["problems"][0]["message"] == "后台任务未按时运行"
    assert "5432" not in r.text
