"""Liveness and database check for load balancers and the container health check."""

from __future__ import annotations

from litestar import MediaType, Response, get

from api.core.db import database_ok


@get("/api/v1/health", opt={"public": True}, tags=["system"], summary="Service and database health")
async def health() -> Response[dict[str, str]]:
    if await database_ok():
        return Response({"status": "ok", "database": "ok"}, media_type=MediaType.JSON,
                        headers={"Cache-Control": "no-store"})
    return Response({"status": "degraded", "database": "unavailable"}, status_code=503,
                    media_type=MediaType.JSON, headers={"Cache-Control": "no-store"})
