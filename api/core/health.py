"""Health for load balancers, orchestrators and the container health check.

* ``GET /api/v1/health/live`` (liveness): the process runs its event loop. Touches nothing else, so
  a database outage never makes an orchestrator restart healthy processes.
* ``GET /api/v1/health/ready`` (readiness): this process can serve now — the database answers, the
  blob store answers, and the background worker this process runs (if any) completed a supervision
  tick recently. 503 with ``Retry-After`` and each reason (Chinese ``message``, English ``detail``)
  otherwise, so a load balancer sends the traffic elsewhere.
* ``GET /api/v1/health``: the database and the last tick of any worker in the cluster (for
  operators: ``zhengwu worker --check``), as before.

All three are public (a load balancer has no credentials) and say nothing about anyone: states,
timestamps and error kinds only, never an address, a key or a password. Never cached.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from litestar import MediaType, Response, get
from litestar.datastructures import State

from api.core.db import database_ok
from api.core.jobs import last_tick
from storage import StorageUnavailable

#: How long readiness waits for each dependency: an answer slower than this is no answer.
CHECK_TIMEOUT = 3.0
RETRY_AFTER = "5"
NO_STORE = {"Cache-Control": "no-store"}


class TickSource(Protocol):
    """What readiness needs from the background worker of this process (api/worker.py)."""

    def tick_problem(self, now: float) -> str | None:
        """None while its supervision ticks are on time; else why not (English, no personal data)."""


@get("/api/v1/health", opt={"public": True}, tags=["system"], summary="Service and database health, last worker tick")
async def health() -> Response[dict[str, Any]]:
    if await database_ok():
        try:
            tick, alive = await last_tick()
            worker: dict[str, Any] = {"last_tick_at": tick.isoformat() if tick else None, "running": alive}
        except Exception:  # a database not migrated yet: the health of the database is what matters here
            worker = {"last_tick_at": None, "running": 0}
        return Response({"status": "ok", "database": "ok", "worker": worker}, media_type=MediaType.JSON,
                        headers=NO_STORE)
    return Response({"status": "degraded", "database": "unavailable"}, status_code=503,
                    media_type=MediaType.JSON, headers=NO_STORE)


@get("/api/v1/health/live", opt={"public": True}, tags=["system"],
     summary="Liveness: the process is up (no dependency is asked)")
async def live() -> Response[dict[str, str]]:
    return Response({"status": "ok"}, media_type=MediaType.JSON, headers=NO_STORE)


async def _database() -> str | None:
    try:
        ok = await asyncio.wait_for(database_ok(), CHECK_TIMEOUT)
    except TimeoutError:
        return f"database did not answer within {CHECK_TIMEOUT:.0f} s"
    return None if ok else "database unavailable"


async def _storage(state: State) -> str | None:
    try:
        await asyncio.wait_for(state.blobs.check(), CHECK_TIMEOUT)
    except TimeoutError:
        return f"blob storage did not answer within {CHECK_TIMEOUT:.0f} s"
    except StorageUnavailable as exc:
        return f"blob storage unavailable ({type(exc).__name__})"
    return None


#: The Chinese message of each check that fails.
MESSAGES = {"database": "数据库暂时不可用", "storage": "文件存储暂时不可用", "worker": "后台任务未按时运行"}


async def readiness(state: State) -> tuple[bool, dict[str, Any]]:
    """(ready, the body): every check, and a reason for each one that failed."""
    database, storage = await asyncio.gather(_database(), _storage(state))
    source: TickSource | None = state.get("worker")
    worker = source.tick_problem(time.monotonic()) if source is not None else None
    found = {"database": database, "storage": storage, "worker": worker}
    checks: dict[str, str] = {name: ("unavailable" if problem else "ok") for name, problem in found.items()}
    if source is None:
        checks["worker"] = "not_in_this_process"
    problems = [{"check": name, "message": MESSAGES[name], "detail": problem}
                for name, problem in found.items() if problem]
    body: dict[str, Any] = {"status": "ok" if not problems else "unavailable", "checks": checks}
    if problems:
        body |= {"message": "服务暂时不能处理请求：" + "；".join(p["message"] for p in problems),
                 "detail": "not ready: " + "; ".join(p["detail"] for p in problems), "problems": problems}
    return not problems, body


@get("/api/v1/health/ready", opt={"public": True}, tags=["system"],
     summary="Readiness: database and blob store answer, this process's worker ticks on time (503 with reasons)")
async def ready(state: State) -> Response[dict[str, Any]]:
    ok, body = await readiness(state)
    if ok:
        return Response(body, media_type=MediaType.JSON, headers=NO_STORE)
    return Response(body, status_code=503, media_type=MediaType.JSON,
                    headers={**NO_STORE, "Retry-After": RETRY_AFTER})
