"""Serving the built PWA: hashed assets cached for a year, the shell never cached, deep links
(``/items/…``) answered with ``index.html`` so a reload on any client route works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.response import File
from litestar.router import Router
from litestar.static_files import create_static_files_router

from api.core.errors import error_response


def pwa_routers(dist: Path) -> list[Router]:
    if not (dist / "index.html").exists():
        return []
    routers = []
    if (dist / "assets").is_dir():
        routers.append(
            create_static_files_router(
                "/assets", directories=[dist / "assets"], name="pwa-assets", opt={"public": True},
                cache_control=CacheControlHeader(max_age=31_536_000, public=True),
            )
        )
    routers.append(
        create_static_files_router(
            "/", directories=[dist], name="pwa", opt={"public": True}, html_mode=True,
            cache_control=CacheControlHeader(no_cache=True),
        )
    )
    return routers


def spa_fallback(dist: Path):  # -> exception handler for NotFoundException
    index = dist / "index.html"

    def handler(request: Request, exc: NotFoundException) -> Response[Any]:
        path = request.url.path
        last = path.rsplit("/", 1)[-1]
        if (
            request.method == "GET"
            and not path.startswith(("/api/", "/schema", "/assets/"))
            and "." not in last
            and index.exists()
        ):
            return File(index, content_disposition_type="inline", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})
        return error_response(404, "没有找到您要的内容", str(exc.detail) or "not found")

    return handler
