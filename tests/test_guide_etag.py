"""The guide's strong ETag (issue #18): a phone re-reading a guide it holds gets a 304 and no body,
for every If-None-Match form RFC 9110 allows; a new published version changes the tag."""

from __future__ import annotations

import msgspec
from httpx import AsyncClient
from litestar import Litestar

from api.catalog.cache import CatalogCache
from api.catalog.document import CatalogDocument
from api.catalog.services import import_document


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
