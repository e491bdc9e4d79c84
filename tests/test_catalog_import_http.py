"""The Excel import over HTTP (the staff console's 导入): all or nothing, every bad cell reported by
sheet, row and column, a file that is no workbook refused in Chinese, the import audited."""

from __future__ import annotations

from pathlib import Path

from httpx import AsyncClient

from api.audit.models import AuditEntry
from api.catalog.document import CatalogDocument
from tests.identity_helpers import bearer, staff_tokens
from tests.test_catalog_excel import edit, export, set_cell

URL = "/api/v1/admin/catalog/import"
XLSX = {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


async def test_a_workbook_is_imported_and_audited(client: AsyncClient, demo: CatalogDocument, tmp_path: Path) -> None:
    h = {**bearer(await staff_tokens(client, "admin")), **XLSX}
    # The demo's own first department and window, unchanged: nothing new is published.
    path = export(CatalogDocument(departments=[demo.departments[0]], windows=[demo.windows[0]]), tmp_path)
    r = await client.post(URL, content=path.read_bytes(), headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items_created"] == 0 and r.json()["versions_published"] == 0
    entry = await AuditEntry.filter(action="catalog.import").order_by("-id").first()
    assert entry is not None and entry.target_type == "catalog" and entry.role == "admin"
    assert entry.after["items_created"] == 0


async def test_every_bad_row_is_reported_and_nothing_imported(client: AsyncClient, demo: CatalogDocument,
                                                              tmp_path: Path) -> None:
    h = {**bearer(await staff_tokens(client, "admin")), **XLSX}
    path = export(CatalogDocument(departments=demo.departments, windows=demo.windows,
                                  certificate_types=demo.certificate_types, items=demo.items[:2]), tmp_path)

    def two_bad_cells(wb: object) -> None:
        set_cell(wb["事项"], 2, "kind", "11")  # type: ignore[index]
        set_cell(wb["事项"], 3, "legal_limit", "十五天")  # type: ignore[index]

    edit(path, two_bad_cells)
    before = await AuditEntry.filter(action="catalog.import").count()
    r = await client.post(URL, content=path.read_bytes(), headers=h)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["message"] == "导入失败，工作簿中有 2 处问题，未导入任何内容"
    assert {(p["sheet"], p["row"], p["column"]) for p in body["problems"]} == {("事项", 2, "kind"),
                                                                               ("事项", 3, "legal_limit")}
    assert all(p["message"] for p in body["problems"])
    assert await AuditEntry.filter(action="catalog.import").count() == before


async def test_a_file_that_is_no_workbook_is_refused(client: AsyncClient) -> None:
    h = {**bearer(await staff_tokens(client, "admin")), **XLSX}
    for body in (b"not a zip at all", b"PK\x03\x04broken"):
        r = await client.post(URL, content=body, headers=h)
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "这不是有效的 Excel 工作簿（.xlsx），请用本平台导出的工作簿修改后导入"
        assert r.json()["field"] == "file"
