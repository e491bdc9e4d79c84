"""Serving the built PWA: hashed assets cached for a year, the shell never cached, deep links
(``/items/…``) answered with ``index.html`` so a reload on any client route works. The staff
console is a second build in ``dist/staff`` served the same way at ``/staff/`` (its own
``index.html`` with its own Content-Security-Policy, its own assets; deep links ``/staff/…``
answered with its shell)."""

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

#: What every shell is sent with: never framed (the meta CSP cannot say frame-ancestors), never sniffed.
SHELL_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


async def _shell_headers(response: Any) -> Any:
    """The static router's answers (the app's response_headers do not reach them)."""
    for name, value in SHELL_HEADERS.items():
        response.headers[name] = value
    return response


def pwa_routers(dist: Path) -> list[Router]:
    if not (dist / "index.html").exists():
        return []
    routers = []
    if (dist / "staff" / "assets").is_dir():
        routers.append(
            create_static_files_router(
                "/staff/assets", directories=[dist / "staff" / "assets"], name="staff-assets", opt={"public": True},
                cache_control=CacheControlHeader(max_age=31_536_000, public=True),
            )
        )
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
            cache_control=CacheControlHeader(no_cache=True), after_request=_shell_headers,
        )
    )
    return routers


def spa_fallback(dist: Path):  # -> exception handler for NotFoundException
    def handler(request: Request, exc: NotFoundException) -> Response[Any]:
        path = request.url.path
        last = path.rsplit("/", 1)[-1]
        staff = path == "/staff" or path.startswith("/staff/")
        index = dist / "staff" / "index.html" if staff else dist / "index.html"
        if (
            request.method == "GET"
            and not path.startswith(("/api/", "/schema", "/assets/", "/staff/assets/"))
            and "." not in last
            and index.exists()
        ):
            return File(index, content_disposition_type="inline", media_type="text/html",
                        headers={"Cache-Control": "no-cache", **SHELL_HEADERS})
        return error_response(404, "没有找到您要的内容", str(exc.detail) or "not found")

    return handler
