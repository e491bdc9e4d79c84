"""Catalog import is atomic and versioned; export gives back exactly what was imported."""

from __future__ import annotations

import msgspec
import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.catalog.document import CatalogDocument, SituationDoc
from api.catalog.models import ServiceItem, ServiceItemVersion
from api.catalog.services import CatalogInvalid, catalog_version, export_document, import_document


async def test_export_gives_back_the_imported_catalog(client: AsyncClient, demo: CatalogDocument) -> None:
    exported = await export_document()
    assert exported.items == demo.items
    assert exported.life_events == demo.life_events
    assert exported.windows == demo.windows
    assert exported.certificate_types == demo.certificate_types
    assert sorted(d.code for d in exported.departments) == sorted(d.code for d in demo.departments)
    assert {d.code: d for d in exported.departments} == {d.code: d for d in demo.departments}


async def test_importing_the_same_catalog_again_changes_nothing(
    client: AsyncClient, demo: CatalogDocument
) -> None:
    versions = await ServiceItemVersion.all().count()
    result = await import_document(demo)
    assert result.versions_published == 0 and result.items_unchanged == len(demo.items)
    assert await ServiceItemVersion.all().count() == versions


async def test_a_bad_row_imports_nothing(client: AsyncClient, demo: CatalogDocument) -> None:
    items_before = await ServiceItem.all().count()
    version_before = await catalog_version()
    good = msgspec.structs.replace(demo.items[0], code="NEW-ITEM-0000000000-0000000000", name="全新事项")
    bad = msgspec.structs.replace(demo.items[1], code="BAD-ITEM-0000000000-0000000000", kind="77")
    with pytest.raises(CatalogInvalid) as caught:
        await import_document(CatalogDocument(items=[good, bad]))
    assert [p.field for p in caught.value.problems] == ["kind"]
    assert "BAD-ITEM" in caught.value.problems[0].where
    assert await ServiceItem.all().count() == items_before
    assert await catalog_version() == version_before
    assert await ServiceItem.filter(code=good.code).count() == 0


async def test_a_changed_item_gets_a_new_published_version(client: AsyncClient, demo: CatalogDocument) -> None:
    original = demo.items[-1]
    changed = msgspec.structs.replace(
        original,
        promised_limit=max(1, original.promised_limit - 1) if original.legal_limit else original.promised_limit,
        summary=original.summary + "（本版新增：可预约上门服务）",
        situations=[*original.situations, SituationDoc(code="zz_extra", name="新增情形", materials=[
            msgspec.structs.replace(original.situations[0].materials[0], code="extra")])],
    )
    before = (await client.get(f"/api/v1/items/{original.code}")).json()
    result = await import_document(CatalogDocument(items=[changed]))
    assert result.versions_published == 1
    statuses = await ServiceItemVersion.filter(item__code=original.code).order_by("number").values_list(
        "number", "status"
    )
    assert statuses[-2:] == [(statuses[-2][0], "superseded"), (statuses[-2][0] + 1, "published")]
    after = (await client.get(f"/api/v1/items/{original.code}")).json()
    assert after["version"]["number"] == before["version"]["number"] + 1
    assert after["summary"].endswith("可预约上门服务）")
    assert after["situations"][-1]["code"] == "zz_extra"
    # Restore, so other tests see the demo content (a third version, same content as the first).
    await import_document(CatalogDocument(items=[original]))
    assert (await client.get(f"/api/v1/items/{original.code}")).json()["summary"] == original.summary


async def test_a_publish_by_another_process_reaches_the_cache(app: Litestar) -> None:
    """The cache is keyed by the catalog version in the database, not by this process's memory."""
    from api.catalog.models import CatalogState

    snapshot = await app.state.catalog.snapshot()
    await CatalogState.filter(id=1).update(version=snapshot.version + 100)  # as another process would
    fresh = await app.state.catalog.snapshot()
    assert fresh is not snapshot and fresh.version == snapshot.version + 100


async def test_an_item_with_an_open_draft_is_not_imported_over(client: AsyncClient, demo: CatalogDocument) -> None:
    from api.catalog.models import ServiceItem

    item = demo.items[2]
    current = await ServiceItemVersion.get(item__code=item.code, status="published")
    row = await ServiceItem.get(code=item.code)
    number = await ServiceItemVersion.filter(item_id=row.id).count() + 1
    draft = await ServiceItemVersion.create(
        item_id=row.id, number=number, status="draft", name=current.name, kind=current.kind
    )
    try:
        changed = msgspec.structs.replace(item, summary=item.summary + "（导入的新内容）")
        with pytest.raises(CatalogInvalid) as caught:
            await import_document(CatalogDocument(items=[changed]))
        assert [p.message for p in caught.value.problems] == ["该事项有尚未发布的草稿，请先发布或放弃草稿再导入"]
    finally:
        await draft.delete()
