"""The guide's strong ETag (issue #18): a phone re-reading a guide it holds gets a 304 and no body,
for every If-None-Match form RFC 9110 allows; a new published version changes the tag."""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec
import pytest
from httpx import AsyncClient
from litestar import Litestar, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from api.app import create_app
from api.catalog.cache import CatalogCache
from api.catalog.document import CatalogDocument
from api.catalog.guide_asgi import GuideRouteChanged, check_guide_route
from api.catalog.services import import_document
from tests.conftest import make_settings


async def test_the_guide_has_a_strong_etag_and_answers_304(client: AsyncClient, demo: CatalogDocument) -> None:
    url = f"/api/v1/items/{demo.items[0].code}"
    full = await client.get(url)
    etag = full.headers["etag"]
    assert full.status_code == 200 and etag.startswith('"') and etag.endswith('"') and len(etag) > 8
    assert (await client.get(url)).headers["etag"] == etag  # the same bytes, the same tag
    for field in [etag, f"W/{etag}", f'"other", {etag}', f'W/"x",W/{etag} ', "*"]:
        r = await client.get(url, headers={"If-None-Match": field})
        assert r.status_code == 304, field
        assert r.content == b"" and r.headers["etag"] == etag and r.headers["cache-control"] == "public, max-age=30"
        assert "content-type" not in r.headers
    for field in ['"other"', etag.strip('"'), f"{etag[:-1]}x\"", f"{etag} {etag}", ""]:
        r = await client.get(url, headers={"If-None-Match": field})
        assert r.status_code == 200 and r.content == full.content and r.headers["etag"] == etag, field


async def test_no_304_for_an_item_that_does_not_exist(client: AsyncClient) -> None:
    r = await client.get("/api/v1/items/NO-SUCH-ITEM", headers={"If-None-Match": "*"})
    assert r.status_code == 404 and "etag" not in r.headers


async def test_every_process_derives_the_same_tag(client: AsyncClient, demo: CatalogDocument) -> None:
    code = demo.items[1].code
    served = (await client.get(f"/api/v1/items/{code}")).headers["etag"]
    other_process = CatalogCache(check_interval=0.0, prewarm=False)  # its own snapshot and serialisation
    cached = await other_process.cached_guide(code)
    assert cached is not None and cached.etag == served


async def test_a_new_version_changes_the_etag(client: AsyncClient, app: Litestar, demo: CatalogDocument) -> None:
    original = demo.items[-2]
    url = f"/api/v1/items/{original.code}"
    before = await client.get(url)
    old = before.headers["etag"]
    changed = msgspec.structs.replace(original, summary=original.summary + "（本版新增：周末也可办理）")
    assert (await import_document(CatalogDocument(items=[changed]))).versions_published == 1
    try:
        app.state.catalog.invalidate()
        r = await client.get(url, headers={"If-None-Match": old})
        assert r.status_code == 200 and r.headers["etag"] != old
        assert r.json()["version"]["number"] == before.json()["version"]["number"] + 1
        assert (await client.get(url, headers={"If-None-Match": r.headers["etag"]})).status_code == 304
    finally:  # restore the demo content for other tests (as a further version)
        await import_document(CatalogDocument(items=[original]))
        app.state.catalog.invalidate()


# ------------------------------------------------------------------ the fast path (api/catalog/guide_asgi.py)


async def _raw(app: Litestar, path: str, headers: list[tuple[bytes, bytes]] | None = None,
               method: str = "GET") -> tuple[int, dict[bytes, bytes], bytes, bool]:
    """One request straight through the ASGI app: status, headers, body, and whether Litestar's
    router saw it (it sets the path parameters in the scope first; the fast path does not)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": headers if headers is not None else [(b"host", b"zw.example.cn")],
        "client": ("198.51.100.7", 50000), "server": ("zw.example.cn", 443), "state": {},
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start, *bodies = sent
    return (start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in bodies),
            "path_params" in scope)


@pytest.fixture
async def fast(app: Litestar, tmp_path: Path) -> Litestar:
    """The app as production runs it: version checks at most once an hour here, so the fast path
    answers guides it holds (the session's app checks on every request: always the route)."""
    settings = make_settings(app.state.settings.database_url, tmp_path, catalog_version_check_interval=3600.0)
    return create_app(settings, manage_database=False)


async def test_the_fast_path_answers_exactly_as_the_route(
    app: Litestar, fast: Litestar, demo: CatalogDocument, caplog: pytest.LogCaptureFixture
) -> None:
    code = demo.items[0].code
    url = f"/api/v1/items/{code}"
    _, first, _, routed = await _raw(fast, url)
    assert routed  # not cached yet: the route loads it
    etag = first[b"etag"]
    host = (b"host", b"zw.example.cn")
    forms = [[], [(b"if-none-match", etag)], [(b"if-none-match", b"W/" + etag)], [(b"if-none-match", b"*")],
             [(b"if-none-match", b'"other", ' + etag)], [(b"if-none-match", b'"other"')],
             [(b"if-none-match", etag), (b"if-none-match", b'"other"')], [(b"if-none-match", b"")],
             [(b"if-none-match", b'"other"'), (b"if-none-match", etag)]]  # the route reads the first line
    caplog.set_level(logging.INFO, "zhengwu.access")
    for form in forms:
        caplog.clear()
        status, headers, body, routed = await _raw(fast, url, [host, *form])
        assert not routed, form  # answered before Litestar
        expected = await _raw(app, url, [host, *form])
        assert expected[3]  # the session's app: always through the route
        rid = headers.pop(b"x-request-id")
        assert rid != expected[1].pop(b"x-request-id")
        assert (status, headers, body) == expected[:3], form
        assert status == (200 if form in (forms[0], forms[5], forms[7], forms[8]) else 304), form
        # The request context still runs around it: its id, its one access line naming the route.
        (record,) = [r for r in caplog.records if r.name == "zhengwu.access" and r.request_id == rid.decode()]
        assert record.route == "/api/v1/items/{code}" and record.status == status


async def test_the_fast_path_leaves_everything_else_to_the_route(
    fast: Litestar, demo: CatalogDocument
) -> None:
    code = demo.items[1].code
    url = f"/api/v1/items/{code}"
    assert (await _raw(fast, url))[3]
    assert not (await _raw(fast, url))[3]  # cached now
    head = await _raw(fast, url, method="HEAD")
    assert head[0] == 405 and head[3]
    slash = await _raw(fast, url + "/")
    assert slash[0] == 200 and slash[3]  # Litestar's router normalises the path; the fast path does not guess
    unknown = await _raw(fast, "/api/v1/items/NO-SUCH-ITEM")
    assert unknown[0] == 404 and unknown[3] and msgspec.json.decode(unknown[2])["status_code"] == 404
    odd_host = await _raw(fast, url, [(b"host", b"zw.example.cn\\x")])
    assert odd_host[0] == 400 and odd_host[3]  # a host the fast path does not vouch for: Litestar decides
    fast.state.catalog.invalidate()  # a publish in this process: the version check is due again
    assert (await _raw(fast, url))[3]
    assert not (await _raw(fast, url))[3]


def test_the_fast_path_refuses_a_guide_route_it_would_bypass() -> None:
    async def guide(code: FromPath[str]) -> str:
        return code

    def no_one(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        raise NotAuthorizedException()

    with pytest.raises(GuideRouteChanged, match="guards"):
        check_guide_route(Litestar([get("/api/v1/items/{code:str}", opt={"public": True}, guards=[no_one])(guide)]))
    with pytest.raises(GuideRouteChanged, match="not public"):
        check_guide_route(Litestar([get("/api/v1/items/{code:str}")(guide)]))
    with pytest.raises(GuideRouteChanged, match="no GET route"):
        check_guide_route(Litestar([get("/api/v1/item/{code:str}", opt={"public": True})(guide)]))
    assert check_guide_route(Litestar([get("/api/v1/items/{code:str}", opt={"public": True})(guide)]))
