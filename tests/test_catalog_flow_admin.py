"""Flows through the API, on both databases: an administrator replaces a draft's flow, validation
and publishing refuse a bad one, and the public guide shows the steps with their limits.

The database is shared with other tests (demo catalog loaded): these tests create their own
items and remove them afterwards.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from httpx import AsyncClient
from tortoise.transactions import in_transaction

from api.catalog.document import CatalogDocument, ItemDoc
from api.catalog.models import FlowStep, ServiceItem
from api.catalog.services import bump_catalog_version
from tests.identity_helpers import bearer, staff_tokens

ADMIN = "/api/v1/admin"
PREFIX = "FLOWTEST"
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
async def _remove_what_the_test_created(client: AsyncClient) -> AsyncIterator[None]:
    yield
    async with in_transaction() as conn:
        await ServiceItem.filter(code__startswith=PREFIX).using_db(conn).delete()
        await bump_catalog_version(conn)


def plain_item(demo: CatalogDocument) -> ItemDoc:
    """A city 承诺件 of ten working days or more at a window, without a declared flow, as a new item."""
    base = next(
        i for i in demo.items
        if i.case_type == "2" and i.promised_limit >= 10 and i.promised_limit_unit == "working_day" and i.window
        and not i.flow and all(s.promised_limit is None for s in i.situations) and not i.tolerated_missing.allowed
    )
    n = next(_serial)
    return msgspec.structs.replace(base, code=f"{PREFIX}{n:04d}-511900000000-000", basic_code=f"F{n:06d}",
                                   name=f"流程测试事项{n}", keywords=[], popularity=0)


async def headers(client: AsyncClient) -> dict[str, str]:
    return bearer(await staff_tokens(client, "admin"))


def flow(*spec: tuple[str, str, int], **owners: str) -> list[dict[str, Any]]:
    return [{"code": c, "role": r, "limit": n, **({"owner": owners[c]} if c in owners else {})} for c, r, n in spec]


async def test_an_administrator_declares_a_flow_and_the_guide_shows_it(
    client: AsyncClient, demo: CatalogDocument
) -> None:
    h = await headers(client)
    doc = plain_item(demo)
    code, limit = doc.code, doc.promised_limit
    r = await client.post(f"{ADMIN}/items", json=msgspec.to_builtins(doc), headers=h)
    assert r.status_code == 201, r.text

    # No flow declared: the draft shows the default one, its owners filled in.
    draft = (await client.get(f"{ADMIN}/items/{code}/draft", headers=h)).json()
    assert draft["item"].get("flow", []) == []
    assert [(s["code"], s["role"], s["owner"]) for s in draft["flow"]] == [
        ("accept", "clerk", doc.window), ("review", "officer", doc.department),
        ("decide", "approver", doc.department), ("deliver", "clerk", doc.window)]
    assert sum(s["limit"] for s in draft["flow"]) == limit

    # A flow in the wrong order, with an unknown department and too long: stored (a draft may be
    # unfinished), and every problem is reported at once by validate and by publish.
    bad = flow(("accept", "clerk", 1), ("decide", "approver", 2), ("review", "officer", limit),
               review="NO-SUCH-DEPT")
    r = await client.put(f"{ADMIN}/items/{code}/draft/flow", json=bad, headers=h)
    assert r.status_code == 200, r.text
    r = await client.post(f"{ADMIN}/items/{code}/draft/validate", headers=h)
    assert r.status_code == 200 and r.json()["valid"] is False
    problems = {(p["where"], p["field"], p["message"]) for p in r.json()["problems"]}
    at = f"items[{code}]"
    assert problems == {
        (f"{at}/flow[review]", "owner", "承办部门不存在：NO-SUCH-DEPT"),
        (f"{at}/flow[review]", "code",
         "第 3 个环节「审查」的顺序不对：环节应按 受理 → 初审 → 审查 → 决定 → 送达 排列，每个环节至多出现一次"),
        (at, "flow", f"各环节时限合计 {limit + 3} 个工作日，超过承诺时限 {limit} 个工作日"),
    }
    r = await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)
    assert r.status_code == 422 and "不能发布" in r.json()["message"]
    assert len(r.json()["problems"]) == 3
    assert (await client.get(f"/api/v1/items/{code}")).status_code == 404

    # A step twice cannot even be stored; nor a role the column cannot hold.
    r = await client.put(f"{ADMIN}/items/{code}/draft/flow",
                         json=flow(("accept", "clerk", 1), ("accept", "clerk", 1)), headers=h)
    assert r.status_code == 422 and r.json()["field"] == "flow" and "环节重复" in r.json()["message"]
    r = await client.put(f"{ADMIN}/items/{code}/draft/flow", json=[{"code": "accept", "role": "x" * 21}],
                         headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["where"] == f"{at}/flow[accept]"
    r = await client.put(f"{ADMIN}/items/{code}/draft/flow", json=[{"code": "accept"}], headers=h)
    assert r.status_code == 400 and r.json()["message"]

    good = flow(("accept", "clerk", 1), ("initial_review", "officer", 2), ("review", "officer", limit - 5),
                ("decide", "approver", 1), ("deliver", "officer", 1), review="ZJJ")
    r = await client.put(f"{ADMIN}/items/{code}/draft/flow", json=good, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["code"] for s in body["item"]["flow"]] == ["accept", "initial_review", "review", "decide", "deliver"]
    assert [s["owner"] for s in body["flow"]] == [doc.window, doc.department, "ZJJ", doc.department, doc.department]
    assert [s["name"] for s in body["flow"]] == ["受理", "初审", "审查", "决定", "送达"]
    assert (await client.post(f"{ADMIN}/items/{code}/draft/validate", headers=h)).json() == {
        "valid": True, "problems": []}

    r = await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)
    assert r.status_code == 200, r.text
    guide = (await client.get(f"/api/v1/items/{code}")).json()
    assert [(s["name"], s["limit"]) for s in guide["flow"]] == [
        ("受理", 1), ("初审", 2), ("审查", limit - 5), ("决定", 1), ("送达", 1)]
    assert [s["role_name"] for s in guide["flow"]] == ["窗口人员", "承办人员", "承办人员", "审批人员", "承办人员"]
    assert guide["flow"][2]["owner_name"] == "巴中市住房和城乡建设局"
    assert "role" not in guide["flow"][0] and "owner" not in guide["flow"][0]  # names only, for citizens

    # The trail holds the flow before and after.
    r = await client.get(f"{ADMIN}/audit", params={"target_type": "item", "target_code": code}, headers=h)
    edits = [e for e in r.json()["items"] if e["action"] == "item.draft.flow"]
    assert len(edits) == 2  # the bad flow and the good one (the refused ones wrote nothing)
    assert [s["code"] for s in edits[0]["before"]["content"]["flow"]] == ["accept", "decide", "review"]
    assert len(edits[0]["after"]["content"]["flow"]) == 5

    # A new draft copies the published flow; an empty flow goes back to the default.
    assert (await client.post(f"{ADMIN}/items/{code}/draft", headers=h)).status_code == 201
    assert len((await client.get(f"{ADMIN}/items/{code}/draft", headers=h)).json()["item"]["flow"]) == 5
    r = await client.put(f"{ADMIN}/items/{code}/draft/flow", json=[], headers=h)
    assert r.status_code == 200 and [s["code"] for s in r.json()["flow"]] == ["accept", "review", "decide", "deliver"]
    assert (await client.post(f"{ADMIN}/items/{code}/draft/publish", headers=h)).status_code == 200
    assert len((await client.get(f"/api/v1/items/{code}")).json()["flow"]) == 4
    # The superseded version 1 keeps its five steps (its cases follow them); version 2 has none.
    steps = await FlowStep.filter(version__item__code=code).values_list("version__number", flat=True)
    assert steps == [1] * 5


async def test_a_flow_needs_a_draft(client: AsyncClient, demo: CatalogDocument) -> None:
    h = await headers(client)
    published = demo.items[0].code
    r = await client.put(f"{ADMIN}/items/{published}/draft/flow", json=[], headers=h)
    assert r.status_code == 404 and r.json()["field"] == "draft"
    r = await client.put(f"{ADMIN}/items/NO-SUCH-ITEM/draft/flow", json=[], headers=h)
    assert r.status_code == 404


async def test_guides_show_the_default_flows(client: AsyncClient, demo: CatalogDocument) -> None:
    commitment = next(i for i in demo.items if i.case_type == "2" and not i.flow and i.window)
    guide = (await client.get(f"/api/v1/items/{commitment.code}")).json()
    assert [s["name"] for s in guide["flow"]] == ["受理", "审查", "决定", "送达"]
    assert sum(s["limit"] for s in guide["flow"]) == commitment.promised_limit
    assert guide["flow"][0]["owner_name"] == next(w.name for w in demo.windows if w.code == commitment.window)

    on_the_spot = next(i for i in demo.items if i.case_type == "1" and i.window)
    guide = (await client.get(f"/api/v1/items/{on_the_spot.code}")).json()
    assert [(s["name"], s["role_name"], s["limit"]) for s in guide["flow"]] == [
        ("受理", "窗口人员", 0), ("决定", "窗口人员", 0)]
    assert guide["tolerated_missing"] is None and guide["joint_departments"] == []


async def test_the_guide_of_a_joint_item_names_its_departments_and_steps(
    client: AsyncClient, demo: CatalogDocument
) -> None:
    joint = next(i for i in demo.items if i.joint_departments and i.tolerated_missing.allowed)
    guide = (await client.get(f"/api/v1/items/{joint.code}")).json()
    assert [d["code"] for d in guide["joint_departments"]] == joint.joint_departments
    assert all(d["name"] for d in guide["joint_departments"])
    assert [(s["name"], s["limit"]) for s in guide["flow"]] == [(s.name, s.limit) for s in joint.flow]
    assert guide["tolerated_missing"] == {"materials": joint.tolerated_missing.materials,
                                          "deadline": joint.tolerated_missing.deadline}
    kinds = {p["kind"]: p["kind_name"] for p in guide["special_procedures"]}
    assert all(kinds.values())
