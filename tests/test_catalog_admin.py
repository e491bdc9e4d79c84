"""Catalog administration: drafts, validation, publishing, retiring, organisation, staff, audit.

The database is shared with other tests (demo catalog loaded): these tests create their own item,
department, window and life-event codes and never change demo content.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from httpx import AsyncClient
from litestar import Litestar
from tortoise.transactions import in_transaction

from api.audit.models import AuditEntry
from api.catalog import admin
from api.catalog.document import CatalogDocument, ItemDoc
from api.catalog.models import Department, LifeEvent, ServiceItem, ServiceItemVersion, Window
from api.catalog.services import bump_catalog_version, load_version
from tests.identity_helpers import STAFF_PASSWORD, bearer, citizen_tokens, staff_tokens

_serial = itertools.count(1)
ADMIN = "/api/v1/admin"


PREFIX = "ADMTEST"  # every code these tests create starts with it, so teardown can remove them


def new_code() -> str:
    return f"{PREFIX}{next(_serial):04d}-511900000000-000"


def new_item(demo: CatalogDocument, name: str) -> ItemDoc:
    """A fresh item built from a demo item's content (questions, situations, materials)."""
    return msgspec.structs.replace(demo.items[0], code=new_code(), basic_code=f"T{next(_serial):06d}", name=name,
                                   keywords=[], popularity=0)


@pytest.fixture(autouse=True)
async def _remove_what_the_test_created(client: AsyncClient) -> AsyncIterator[None]:
    """Other tests compare the shared database with the demo catalog: leave it as it was."""
    yield
    async with in_transaction() as conn:
        await ServiceItem.filter(code__startswith=PREFIX).using_db(conn).delete()
        await LifeEvent.filter(code__startswith=PREFIX).using_db(conn).delete()
        await Window.filter(code__startswith=PREFIX).using_db(conn).delete()
        await Department.filter(code__startswith=PREFIX).using_db(conn).delete()
        await bump_catalog_version(conn)  # so the catalog cache forgets them too


async def admin_headers(client: AsyncClient) -> dict[str, str]:
    return bearer(await staff_tokens(client, "admin"))


def as_json(doc: Any) -> Any:
    return msgspec.to_builtins(doc)


async def public_codes(client: AsyncClient, q: str) -> list[str]:
    r = await client.get("/api/v1/items", params={"q": q, "region": "all", "limit": 100})
    assert r.status_code == 200, r.text
    return [i["code"] for i in r.json()["items"]]


async def test_the_whole_life_of_an_item(client: AsyncClient, demo: CatalogDocument) -> None:
    h = await admin_headers(client)
    doc = new_item(demo, "管理测试事项营业执照补领")
    code = doc.code

    # A new item is a draft: nothing public yet.
    r = await client.post(f"{ADMIN}/items", json=as_json(doc), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["number"] == 1
    assert (await client.get(f"/api/v1/items/{code}")).status_code == 404
    assert code not in await public_codes(client, "管理测试事项")

    r = await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["number"] == 1 and r.json()["superseded"] is None
    guide = (await client.get(f"/api/v1/items/{code}")).json()
    assert guide["version"]["number"] == 1

    # Draft v2 copies v1; a second draft is refused; the draft never shows publicly.
    r = await client.post(f"{ADMIN}/items/{code}/draft", headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["number"] == 2 and r.json()["item"]["name"] == doc.name
    r = await client.post(f"{ADMIN}/items/{code}/draft", headers=h)
    assert r.status_code == 409 and r.json()["field"] == "draft" and r.json()["message"]

    # Edit one situation's materials so that a rule breaks: the situation has no material list.
    situation = doc.situations[0].code
    r = await client.put(f"{ADMIN}/items/{code}/draft/situations/{situation}/materials", json=[], headers=h)
    assert r.status_code == 200, r.text
    assert (await client.get(f"/api/v1/items/{code}")).json()["situations"][0]["materials"]  # still v1

    r = await client.post(f"{ADMIN}/items/{code}/draft/validate", headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is False
    assert {"where": f"items[{code}]/situations[{situation}]", "field": "materials",
            "message": "每个情形都必须有材料清单"} in body["problems"]

    r = await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)
    assert r.status_code == 422
    assert r.json()["field"] == "materials" and "不能发布" in r.json()["message"] and r.json()["detail"]
    assert any(p["field"] == "materials" for p in r.json()["problems"])

    # Fix it with a new material, and change the summary through the whole-draft PUT.
    new_material = {"code": "admin_new_form", "name": "补领申请表（管理测试）", "copy_count": 1}
    r = await client.put(f"{ADMIN}/items/{code}/draft/situations/{situation}/materials",
                         json=[new_material], headers=h)
    assert r.status_code == 200, r.text
    draft = (await client.get(f"{ADMIN}/items/{code}/draft", headers=h)).json()["item"]
    draft["summary"] = "第二版：补领只需一张申请表"
    r = await client.put(f"{ADMIN}/items/{code}/draft", json=draft, headers=h)
    assert r.status_code == 200, r.text
    r = await client.post(f"{ADMIN}/items/{code}/draft/validate", headers=h)
    assert r.json() == {"valid": True, "problems": []}

    r = await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["number"] == 2 and r.json()["superseded"] == 1

    # The very next public read serves version 2 (cache invalidated on publish).
    guide = (await client.get(f"/api/v1/items/{code}")).json()
    assert guide["version"]["number"] == 2
    assert guide["summary"] == "第二版：补领只需一张申请表"
    assert [m["code"] for m in guide["situations"][0]["materials"]] == ["admin_new_form"]
    statuses = await ServiceItemVersion.filter(item__code=code).order_by("number").values_list("number", "status")
    assert statuses == [(1, "superseded"), (2, "published")]

    r = await client.get(f"{ADMIN}/items/{code}", headers=h)
    assert r.status_code == 200
    overview = r.json()
    assert [(v["number"], v["status"]) for v in overview["versions"]] == [(1, "superseded"), (2, "published")]
    assert overview["published"]["summary"] == "第二版：补领只需一张申请表" and overview["has_draft"] is False

    # Retire: gone from the guide, the search and the material list; the versions stay.
    assert code in await public_codes(client, "管理测试事项")
    r = await client.post(f"{ADMIN}/items/{code}/retire", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "retired"
    assert (await client.get(f"/api/v1/items/{code}")).status_code == 404
    assert code not in await public_codes(client, "管理测试事项")
    r = await client.post(f"{ADMIN}/items/{code}/retire", headers=h)
    assert r.status_code == 409 and r.json()["message"]
    statuses = await ServiceItemVersion.filter(item__code=code).order_by("number").values_list("number", "status")
    assert statuses == [(1, "superseded"), (2, "retired")]

    # The trail: who, what, before and after, newest first.
    r = await client.get(f"{ADMIN}/audit", params={"target_type": "item", "target_code": code}, headers=h)
    assert r.status_code == 200
    trail = r.json()["items"]
    assert [e["action"] for e in trail] == [
        "item.retire", "item.publish", "item.draft.update", "item.draft.materials", "item.draft.materials",
        "item.draft.create", "item.publish", "item.create",
    ]
    assert all(e["actor"].startswith("staff:") for e in trail)
    assert trail[0]["before"] == {"version": 2, "status": "published"}
    assert trail[0]["after"]["status"] == "retired"
    assert trail[1]["before"] == {"published": 1, "draft": 2}
    assert trail[1]["after"]["published"] == 2 and trail[1]["after"]["content"]["summary"].startswith("第二版")
    materials_edit = trail[4]
    assert materials_edit["before"]["content"]["situations"][0]["materials"]
    assert materials_edit["after"]["content"]["situations"][0]["materials"] == []
    assert trail[-1]["before"] is None and trail[-1]["after"]["content"]["code"] == code


async def test_published_versions_never_change(client: AsyncClient, demo: CatalogDocument) -> None:
    h = await admin_headers(client)
    doc = new_item(demo, "管理测试不可变事项")
    code = doc.code
    assert (await client.post(f"{ADMIN}/items", json=as_json(doc), headers=h)).status_code == 201
    assert (await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)).status_code == 200
    v1 = await ServiceItemVersion.get(item__code=code, number=1)
    content_v1 = await load_version(v1.id)

    # Without a draft there is nothing to edit: every edit route answers 404, never touching v1.
    for method, path, body in [
        ("PUT", "/draft", as_json(doc)), ("PUT", "/draft/questions", []), ("PUT", "/draft/situations", []),
        ("PUT", f"/draft/situations/{doc.situations[0].code}/materials", []), ("DELETE", "/draft", None),
        ("POST", "/draft/publish", None), ("POST", "/draft/validate", None), ("GET", "/draft", None),
    ]:
        r = await client.request(method, f"{ADMIN}/items/{code}{path}", json=body, headers=h)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["field"] == "draft" and r.json()["message"]

    # Editing and discarding a draft leaves v1 exactly as it was.
    assert (await client.post(f"{ADMIN}/items/{code}/draft", headers=h)).status_code == 201
    r = await client.put(f"{ADMIN}/items/{code}/draft/questions", json=[], headers=h)
    assert r.status_code == 200
    r = await client.put(f"{ADMIN}/items/{code}/draft/situations",
                         json=[{"code": "only", "name": "唯一情形", "materials": [{"code": "m", "name": "材料"}]}],
                         headers=h)
    assert r.status_code == 200, r.text
    assert await load_version(v1.id) == content_v1
    assert (await ServiceItemVersion.get(id=v1.id)).status == "published"
    assert (await client.delete(f"{ADMIN}/items/{code}/draft", headers=h)).status_code == 204
    assert await ServiceItemVersion.filter(item__code=code).count() == 1
    assert await load_version(v1.id) == content_v1
    assert (await client.get(f"/api/v1/items/{code}")).json()["version"]["number"] == 1


async def test_a_draft_cannot_change_what_belongs_to_the_item(client: AsyncClient, demo: CatalogDocument) -> None:
    h = await admin_headers(client)
    doc = new_item(demo, "管理测试身份字段")
    assert (await client.post(f"{ADMIN}/items", json=as_json(doc), headers=h)).status_code == 201
    for field, value in [("department", "JYJ"), ("basic_code", "OTHER"), ("code", new_code())]:
        r = await client.put(f"{ADMIN}/items/{doc.code}/draft", json={**as_json(doc), field: value}, headers=h)
        assert r.status_code == 400 and r.json()["field"] == field, r.text
    r = await client.put(f"{ADMIN}/items/{doc.code}/draft", json={**as_json(doc), "window": "NOPE"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "window"
    r = await client.put(f"{ADMIN}/items/{doc.code}/draft/situations/nope/materials", json=[], headers=h)
    assert r.status_code == 404 and r.json()["field"] == "situation"


async def test_bad_item_bodies_are_4xx_with_a_field(client: AsyncClient, demo: CatalogDocument) -> None:
    h = await admin_headers(client)
    base = as_json(new_item(demo, "管理测试坏请求"))
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({**base, "surprise": 1}, 400, None),  # unknown field
        ({k: v for k, v in base.items() if k != "name"}, 400, None),  # missing field
        ({**base, "name": "名" * 201}, 422, "name"),
        ({**base, "trips": 2**40}, 422, "trips"),
        ({**base, "summary": "a\x00b"}, 422, "summary"),
        ({**base, "code": "bad code/with slash"}, 422, "code"),
        ({**base, "department": "NO-SUCH-DEPT"}, 422, "department"),
        ({**base, "situations": [*base["situations"], base["situations"][0]]}, 422, "situations"),
        ({**base, "code": demo.items[0].code}, 409, "code"),
    ]
    for body, status, field in cases:
        r = await client.post(f"{ADMIN}/items", json=body, headers=h)
        assert r.status_code == status, (body.get("code"), r.text)
        assert r.json()["message"] and r.json()["detail"]
        if field:
            assert r.json()["field"] == field, r.text
    assert (await client.get(f"{ADMIN}/items/NO-SUCH-ITEM-CODE", headers=h)).status_code == 404
    r = await client.post(f"{ADMIN}/items/NO-SUCH-ITEM-CODE/draft", headers=h)
    assert r.status_code == 404 and r.json()["message"].startswith("没有找到")


async def test_time_limits_must_be_sane_to_publish(client: AsyncClient, demo: CatalogDocument) -> None:
    h = await admin_headers(client)
    doc = msgspec.structs.replace(new_item(demo, "管理测试时限"), legal_limit=5, promised_limit=9)
    assert (await client.post(f"{ADMIN}/items", json=as_json(doc), headers=h)).status_code == 201
    r = await client.post(f"{ADMIN}/items/{doc.code}/draft/publish", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "promised_limit"
    assert "不能超过法定时限" in r.json()["problems"][0]["message"]
    assert (await client.get(f"/api/v1/items/{doc.code}")).status_code == 404


async def test_a_zero_trip_item_asking_for_an_original_is_not_published(
        client: AsyncClient, demo: CatalogDocument) -> None:
    """零跑腿 with 需带原件 would tell a citizen two things: refused, naming the material."""
    h = await admin_headers(client)
    doc = new_item(demo, "管理测试零跑腿原件")
    first = doc.situations[0]
    material = msgspec.structs.replace(first.materials[0], bring_original=True)
    doc = msgspec.structs.replace(doc, trips=0, situations=[
        msgspec.structs.replace(first, materials=[material, *first.materials[1:]]), *doc.situations[1:]])
    assert (await client.post(f"{ADMIN}/items", json=as_json(doc), headers=h)).status_code == 201
    r = await client.post(f"{ADMIN}/items/{doc.code}/draft/publish", headers=h)
    assert r.status_code == 422, r.text
    problem = next(p for p in r.json()["problems"] if p["field"] == "bring_original")
    assert f"「{material.name}」" in problem["message"] and "到现场 0 次" in problem["message"]
    assert (await client.get(f"/api/v1/items/{doc.code}")).status_code == 404


async def test_a_failed_publish_writes_nothing(client: AsyncClient, demo: CatalogDocument) -> None:
    """Service level, without HTTP: the audit entry shares the change's transaction."""
    doc = msgspec.structs.replace(new_item(demo, "管理测试原子性"), situations=[])
    await admin.create_item("staff:0", doc)
    entries = await AuditEntry.filter(target_code=doc.code).count()
    with pytest.raises(admin.ProblemsFound) as caught:
        await admin.publish_draft("staff:0", doc.code)
    assert [p.field for p in caught.value.problems] == ["situations"]
    assert await AuditEntry.filter(target_code=doc.code).count() == entries
    assert await ServiceItemVersion.filter(item__code=doc.code).values_list("status", flat=True) == ["draft"]


async def test_only_administrators_may_use_the_admin_api(client: AsyncClient, app: Litestar) -> None:
    code = "any-item-code"
    routes = [
        ("GET", "/departments"), ("POST", "/departments"), ("PUT", "/windows/W01"), ("GET", "/staff"),
        ("POST", "/staff/1/deactivate"), ("GET", f"/items/{code}"), ("POST", f"/items/{code}/draft"),
        ("PUT", f"/items/{code}/draft"), ("POST", f"/items/{code}/draft/publish"), ("POST", f"/items/{code}/retire"),
        ("DELETE", f"/items/{code}/draft"), ("GET", "/audit"),
    ]
    clerk = bearer(await staff_tokens(client, "clerk", window="W01"))
    officer = bearer(await staff_tokens(client, "officer", department="SCJGJ"))
    citizen = bearer(await citizen_tokens(client, app))
    for method, path in routes:
        r = await client.request(method, f"{ADMIN}{path}", json={})
        assert r.status_code == 401, (method, path, r.text)
        for headers in (clerk, officer, citizen):
            r = await client.request(method, f"{ADMIN}{path}", json={}, headers=headers)
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["message"] == "您没有权限进行此操作"


async def test_departments_windows_and_life_events(client: AsyncClient, demo: CatalogDocument) -> None:
    h = await admin_headers(client)
    n = next(_serial)
    dept = {"code": f"{PREFIX}D{n}", "name": "管理测试局", "region_code": "511900000000", "level": "city",
            "region_name": "巴中市"}
    r = await client.post(f"{ADMIN}/departments", json=dept, headers=h)
    assert r.status_code == 201, r.text
    assert (await client.post(f"{ADMIN}/departments", json=dept, headers=h)).status_code == 409
    for bad, field in [({"region_code": "5119"}, "region_code"), ({"level": "province"}, "level"),
                       ({"parent": "NOPE"}, "parent"), ({"parent": dept["code"]}, "parent")]:
        r = await client.put(f"{ADMIN}/departments/{dept['code']}", json={**dept, **bad}, headers=h)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    child = {**dept, "code": f"{PREFIX}D{n}C", "name": "管理测试局下属中心", "parent": dept["code"]}
    assert (await client.post(f"{ADMIN}/departments", json=child, headers=h)).status_code == 201
    r = await client.put(f"{ADMIN}/departments/{dept['code']}", json={**dept, "parent": child["code"]}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "parent" and "下级" in r.json()["message"]
    r = await client.post(f"{ADMIN}/departments", json={**dept, "code": f"{PREFIX}D{n}S", "parent": f"{PREFIX}D{n}S"},
                          headers=h)
    assert r.status_code == 422 and r.json()["field"] == "parent"
    r = await client.put(f"{ADMIN}/departments/OTHER", json=dept, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "code"
    r = await client.put(f"{ADMIN}/departments/{dept['code']}", json={**dept, "phone": "0827-1234567"}, headers=h)
    assert r.status_code == 200
    listed = {d["code"]: d for d in (await client.get(f"{ADMIN}/departments", headers=h)).json()}
    assert listed[dept["code"]]["phone"] == "0827-1234567"
    # The public list shows the new department at once.
    public = (await client.get("/api/v1/departments")).json()["items"]
    assert any(d["code"] == dept["code"] for d in public)

    window = {"code": f"{PREFIX}W{n}", "name": "管理测试窗口", "category": "social_affairs"}
    assert (await client.post(f"{ADMIN}/windows", json=window, headers=h)).status_code == 201
    r = await client.put(f"{ADMIN}/windows/{window['code']}", json={**window, "category": "fun"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "category"
    assert (await client.put(f"{ADMIN}/windows/NOPE{n}", json={**window, "code": f"NOPE{n}"},
                             headers=h)).status_code == 404

    event = {"code": f"{PREFIX}E{n}", "name": "管理测试一件事", "audience": "natural_person",
             "items": [demo.items[0].basic_code]}
    assert (await client.post(f"{ADMIN}/life-events", json=event, headers=h)).status_code == 201
    r = await client.put(f"{ADMIN}/life-events/{event['code']}", json={**event, "items": ["NOPE"]}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "items"
    r = await client.put(f"{ADMIN}/life-events/{event['code']}", json={**event, "audience": "alien"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "audience"
    public = (await client.get(f"/api/v1/life-events/{event['code']}")).json()
    assert public["items"][0]["basic_code"] == demo.items[0].basic_code

    r = await client.get(f"{ADMIN}/audit", params={"target_type": "department", "target_code": dept["code"]},
                         headers=h)
    trail = r.json()["items"]
    assert [e["action"] for e in trail] == ["department.update", "department.create"]
    assert trail[0]["before"]["phone"] == "" and trail[0]["after"]["phone"] == "0827-1234567"


async def test_staff_accounts(client: AsyncClient) -> None:
    h = await admin_headers(client)
    me = (await client.get("/api/v1/me", headers=h)).json()
    username = f"clerk.admin.test{next(_serial)}"
    body = {"username": username, "password": STAFF_PASSWORD, "role": "clerk", "window": "W01", "name": "张三"}
    r = await client.post(f"{ADMIN}/staff", json=body, headers=h)
    assert r.status_code == 201, r.text
    staff_id = r.json()["id"]
    assert (await client.post(f"{ADMIN}/staff", json=body, headers=h)).status_code == 409
    for bad, status, field in [({"role": "boss"}, 400, "role"), ({"window": "NOPE"}, 400, "window"),
                               ({"role": "officer", "window": ""}, 400, "department"),
                               ({"password": "short"}, 400, "password"), ({"username": "x" * 60}, 400, "username")]:
        r = await client.post(f"{ADMIN}/staff", json={**body, "username": f"u{next(_serial)}x", **bad}, headers=h)
        assert r.status_code == status and r.json()["field"] == field, r.text
    listed = (await client.get(f"{ADMIN}/staff", headers=h)).json()
    assert any(s["username"] == username for s in listed)
    assert not any("password" in key for s in listed for key in s)

    login = {"username": username, "password": STAFF_PASSWORD}
    assert (await client.post("/api/v1/auth/staff/token", json=login)).status_code == 200
    r = await client.post(f"{ADMIN}/staff/{staff_id}/deactivate", headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    assert (await client.post("/api/v1/auth/staff/token", json=login)).status_code == 401
    assert (await client.post(f"{ADMIN}/staff/{staff_id}/reactivate", headers=h)).json()["active"] is True
    r = await client.put(f"{ADMIN}/staff/{staff_id}", json={"role": "officer", "department": "SCJGJ"}, headers=h)
    assert r.status_code == 200 and r.json()["role"] == "officer" and r.json()["name"] == "张三"
    assert (await client.put(f"{ADMIN}/staff/999999", json={"role": "admin"}, headers=h)).status_code == 404

    # An administrator cannot lock themselves out.
    own = next(s for s in listed if s["username"] == me["username"])["id"]
    assert (await client.post(f"{ADMIN}/staff/{own}/deactivate", headers=h)).status_code == 409
    assert (await client.put(f"{ADMIN}/staff/{own}", json={"role": "clerk", "window": "W01"},
                             headers=h)).status_code == 409

    trail = (await client.get(f"{ADMIN}/audit", params={"target_type": "staff", "target_code": username},
                              headers=h)).json()["items"]
    assert [e["action"] for e in trail] == ["staff.update", "staff.reactivate", "staff.deactivate", "staff.create"]
    assert trail[0]["before"]["role"] == "clerk" and trail[0]["after"]["role"] == "officer"
    assert all("password" not in str(e) for e in trail)


async def test_audit_pages_newest_first(client: AsyncClient, demo: CatalogDocument) -> None:
    h = await admin_headers(client)
    doc = new_item(demo, "管理测试审计分页")
    await client.post(f"{ADMIN}/items", json=as_json(doc), headers=h)
    for _ in range(3):
        await client.put(f"{ADMIN}/items/{doc.code}/draft/questions", json=as_json(doc.questions), headers=h)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"target_code": doc.code, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{ADMIN}/audit", params=params, headers=h)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 4 and seen == sorted(seen, reverse=True)
    for bad in ("abc", "²", "-1"):
        r = await client.get(f"{ADMIN}/audit", params={"cursor": bad}, headers=h)
        assert r.status_code == 400 and r.json()["field"] == "cursor"
    r = await client.get(f"{ADMIN}/audit", params={"limit": 0}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "limit"


async def test_an_open_case_keeps_the_material_list_of_its_own_version(
    client: AsyncClient, app: Litestar, demo: CatalogDocument,
) -> None:
    """A published change of the catalog never changes what an open case needs: the draft filed
    under version 1 re-derives its checklist from version 1 when its answers change."""
    from api.cases.models import Case

    h = await admin_headers(client)
    doc = new_item(demo, "管理测试事项版本固定")
    code, situation = doc.code, doc.situations[0]
    assert (await client.post(f"{ADMIN}/items", json=as_json(doc), headers=h)).status_code == 201
    assert (await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)).status_code == 200
    citizen = bearer(await citizen_tokens(client, app))
    answers = {"entity": situation.rule["eq"], "premises": "own", "pre_approval": "no", "agent": "no"}
    try:
        r = await client.post("/api/v1/cases", json={"item_code": code, "answers": answers}, headers=citizen)
        assert r.status_code == 201, r.text
        case = r.json()
        v1_list = [m["code"] for m in case["materials"]]
        assert "admin_only_in_v2" not in v1_list

        # Version 2 lists one new material for every applicant of that situation.
        assert (await client.post(f"{ADMIN}/items/{code}/draft", headers=h)).status_code == 201
        materials = [as_json(m) for m in situation.materials] + [
            {"code": "admin_only_in_v2", "name": "第二版新增材料", "copy_count": 1}]
        r = await client.put(f"{ADMIN}/items/{code}/draft/situations/{situation.code}/materials",
                             json=materials, headers=h)
        assert r.status_code == 200, r.text
        assert (await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)).status_code == 200
        r = await client.post(f"/api/v1/items/{code}/material-list", json={"answers": answers})
        assert "admin_only_in_v2" in [m["code"] for m in r.json()["materials"]]  # today's guide has it

        r = await client.patch(f"/api/v1/cases/{case['id']}", json={"answers": {**answers, "agent": "yes"}},
                               headers=citizen)
        assert r.status_code == 200, r.text
        after = [m["code"] for m in r.json()["materials"]]
        assert "admin_only_in_v2" not in after and "power_of_attorney" in after  # v1's list for the new answer
        assert r.json()["item_version"] == case["item_version"] == 1
        # A new application is filed under version 2.
        r = await client.post("/api/v1/cases", json={"item_code": code, "answers": answers}, headers=citizen)
        assert "admin_only_in_v2" in [m["code"] for m in r.json()["materials"]]
    finally:
        await Case.filter(item_code=code).delete()
