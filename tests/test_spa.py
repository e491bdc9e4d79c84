"""Serving the built PWA and the staff console (api/core/spa.py) from a dist folder made here: each
shell at its own path, never cached, deep links answered with the right shell, hashed assets cached
for a year, a missing asset a 404 (never a shell), the API's misses JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from tests.conftest import make_settings

CITIZEN = "<!doctype html><title>citizen</title>"
STAFF = "<!doctype html><title>staff</title>"


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "staff" / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(CITIZEN)
    (dist / "assets" / "app-1.js").write_text("citizen()")
    (dist / "staff" / "index.html").write_text(STAFF)
    (dist / "staff" / "assets" / "main-2.js").write_text("staff()")
    # No database: the static routes and the fallback never touch it.
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path, pwa_dist=dist),
                     manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t.local") as c:
        yield c


async def test_each_shell_at_its_own_path_and_deep_links(web: httpx.AsyncClient) -> None:
    for path, body in (("/", CITIZEN), ("/items/123", CITIZEN), ("/staff/", STAFF), ("/staff", STAFF),
                       ("/staff/cases/42", STAFF), ("/staff/admin/items", STAFF), ("/staffing", CITIZEN)):
        r = await web.get(path, follow_redirects=True)
        assert r.status_code == 200, path
        assert r.text == body, path
        assert r.headers["cache-control"] == "no-cache", path
        assert r.headers["x-frame-options"] == "DENY"


async def test_assets_cached_a_year_and_misses_are_404(web: httpx.AsyncClient) -> None:
    r = await web.get("/staff/assets/main-2.js")
    assert r.status_code == 200 and r.text == "staff()"
    assert "max-age=31536000" in r.headers["cache-control"]
    r = await web.get("/assets/app-1.js")
    assert r.status_code == 200 and "max-age=31536000" in r.headers["cache-control"]
    for path in ("/staff/assets/gone-3.js", "/assets/gone.js", "/staff/missing.png"):
        r = await web.get(path)
        assert r.status_code == 404, path
        assert r.json()["message"] == "没有找到您要的内容"
    r = await web.get("/api/v1/nothing-here")
    assert r.status_code == 404 and "message" in r.json()
