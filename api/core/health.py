"""Liveness and database check for load balancers and the container health check, with the time of
the last supervision tick of any background worker (for operators: ``zhengwu worker --check``)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Response, get

from api.core.db import database_ok
from api.core.jobs import last_tick


@get("/api/v1/health", opt={"public": True}, tags=["system"], summary="Service and database health, last worker tick")
async def health() -> Response[dict[str, Any]]:
    if await database_ok():
        try:
            tick, alive = await last_tick()
            worker: dict[str, Any] = {"last_tick_at": tick.isoformat() if tick else None, "running": alive}
        except Exception:  # a database not migrated yet: the health of the database is what matters here
            worker = {"last_tick_at": None, "running": 0}
        return Response({"status": "ok", "database": "ok", "worker": worker}, media_type=MediaType.JSON,
                        headers={"Cache-Control": "no-store"})
    return Response({"status": "degraded", "database": "unavailable"}, status_code=503,
                    media_type=MediaType.JSON, headers={"Cache-Control": "no-store"})
