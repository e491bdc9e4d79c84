"""容缺受理 and 即办件 on real SQLite and PostgreSQL: a case submitted with secondary materials
missing against the applicant's promise, accepted, made up (or ended when not), and a case decided
at the window the day it is accepted."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.audit.models import AuditEntry
from api.cases import services
from api.catalog.models import ServiceItem
from api.core.errors import Conflict
from api.notifications.models import Outbox
from api.workflow import deadlines
from api.workflow import services as workflow
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens, staff_tokens
from tests.test_cases import draft, principal_of, put_blob
from tests.test_vouchers import text_of
from tests.test_workflow import act, submitted_case
from tests.tus_helpers import pdf_bytes

CASES = "/api/v1/cases"
PERMIT = "511A5007010000"  # 建筑工程施工许可证核发 (ZJJ, window W12): 安全措施 and 资金承诺 may be made up in 3 days
NEW_BUILDING = {"apply": "new", "kind": "building", "invest": 500, "area": 2000}
OWED = ["funds_pledge", "safety_measures"]


@pytest.fixture(autouse=True)
async def _remove_cases(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()


async def permit_draft(client: AsyncClient, app: Litestar) -> tuple[dict, dict]:
    code = await ServiceItem.filter(basic_code=PERMIT).first().values_list("code", flat=True)
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens, str(code), **NEW_BUILDING)
    who = principal_of(app, tokens)
    for m in case["materials"]:  # everything but the two materials the item tolerates
        if m["required"] and m["source"] == "applicant" and m["code"] not in OWED:
            blob = await put_blob(app, b"%PDF-1.4 " + m["code"].encode())
            await services.attach_material(who, case["id"], m["code"], blob, f"{m['code']}.pdf", "application/pdf")
    return tokens, (await client.get(f"{CASES}/{case['id']}", headers=bearer(tokens))).json()


async def submit(client: AsyncClient, tokens: dict, case: dict, **body: Any) -> Any:
    return await client.post(f"{CASES}/{case['id']}/submit", json=body or None,
                             headers={**bearer(tokens), "Idempotency-Key": uuid.uuid4().hex})


async def attach(app: Litestar, tokens: dict, case: dict, code: str) -> None:
    blob = await put_blob(app, b"%PDF-1.4 made up " + code.encode())
    await services.attach_material(principal_of(app, tokens), case["id"], code, blob, f"{code}.pdf", "application/pdf")


async def promised_case(client: AsyncClient, app: Litestar) -> tuple[dict, dict]:
    citizen, case = await permit_draft(client, app)
    r = await submit(client, citizen, case, tolerated=OWED, promise=True)
    assert r.status_code == 200, r.text
    return citizen, r.json()["case"]


async def test_a_promised_material_is_made_up_before_the_approval(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await permit_draft(client, app)
    # The draft says which missing materials the item lets the applicant promise instead.
    assert sorted(case["missing_required"]) == OWED and sorted(case["tolerable"]) == OWED
    assert case["tolerable_deadline"] == 3

    r = await submit(client, citizen, case)
    assert r.status_code == 422 and {p["field"] for p in r.json()["problems"]} == set(OWED)
    r = await submit(client, citizen, case, tolerated=OWED)
    assert r.status_code == 422 and r.json()["field"] == "promise" and "承诺" in r.json()["message"]
    r = await submit(client, citizen, case, tolerated=["funds_pledge"], promise=True)
    assert r.status_code == 422 and "安全" in r.json()["message"]  # the other one is still missing
    r = await submit(client, citizen, case, tolerated=[*OWED, "application"], promise=True)
    assert r.status_code == 422 and r.json()["field"] == "tolerated" and "不能容缺" in r.json()["message"]
    r = await submit(client, citizen, case, tolerated="funds_pledge", promise=True)
    assert r.status_code == 400 or (r.status_code == 422 and r.json()["field"] == "tolerated")
    assert (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()["state"] == "draft"

    r = await submit(client, citizen, case, tolerated=OWED, promise=True)
    assert r.status_code == 200, r.text
    shown = r.json()["case"]
    assert shown["state"] == "submitted" and [m["code"] for m in shown["owed"]] == sorted(
        OWED, key=lambda c: [m["code"] for m in case["materials"]].index(c))
    assert shown["makeup_due"] is None  # the deadline starts at acceptance
    signed = next(e for e in shown["timeline"] if e["action"] == "submit")["data"]
    assert signed["tolerated"] == [m["code"] for m in shown["owed"]]
    assert "3 个工作日内补齐" in signed["promise"] and "终止办理" in signed["promise"]
    assert await AuditEntry.filter(action="case.submit", target_code=shown["number"]).count() == 1

    clerk = await staff_tokens(client, "clerk", window="W12")
    r = await act(client, clerk, shown, "accept")
    assert r.status_code == 200, r.text
    accepted = r.json()
    today = deadlines.china_day(dt.datetime.now(dt.UTC))
    assert accepted["makeup_due"] and accepted["due_date"]
    assert today < dt.date.fromisoformat(accepted["makeup_due"]) <= dt.date.fromisoformat(accepted["due_date"])

    officer = await staff_tokens(client, "officer", department="ZJJ")
    approver = await staff_tokens(client, "approver", department="ZJJ")
    assert (await act(client, officer, shown, "start-review")).status_code == 200
    offered = [a["action"] for a in (await client.get(f"{CASES}/{shown['id']}/actions",
                                                      headers=bearer(approver))).json()]
    assert "approve" not in offered and "deny" in offered
    r = await act(client, approver, shown, "approve", opinion="同意")
    assert r.status_code == 409 and "容缺" in r.json()["message"]

    # The applicant uploads the promised materials (and only those) and hands them in.
    assert "make_up" in (await client.get(f"{CASES}/{shown['id']}", headers=bearer(citizen))).json()[
        "allowed_actions"]
    r = await act(client, citizen, shown, "make-up")
    assert r.status_code == 422 and {p["field"] for p in r.json()["problems"]} == set(OWED)
    await attach(app, citizen, shown, "funds_pledge")
    with pytest.raises(Conflict):  # not owed: the checklist is closed after submission
        await attach(app, citizen, shown, "application")
    r = await act(client, citizen, shown, "make-up")
    assert r.status_code == 422 and [p["field"] for p in r.json()["problems"]] == ["safety_measures"]
    await attach(app, citizen, shown, "safety_measures")
    r = await act(client, citizen, shown, "make-up")
    assert r.status_code == 200, r.text
    assert r.json()["owed"] == [] and r.json()["makeup_due"] is None and r.json()["state"] == "in_review"
    assert "make_up" not in r.json()["allowed_actions"]

    r = await act(client, approver, shown, "approve", opinion="同意")
    assert r.status_code == 200 and r.json()["state"] == "approved"


async def test_the_acceptance_notice_lists_what_is_owed(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await promised_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W12")
    accepted = (await act(client, clerk, case, "accept")).json()
    r = await client.get(f"{CASES}/{case['id']}/vouchers/acceptance.pdf", headers=bearer(citizen))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    flat = "".join(text_of(r.content).split())
    due = dt.date.fromisoformat(accepted["makeup_due"])
    assert "容缺受理" in flat and f"{due.year}年{due.month}月{due.day}日前补齐" in flat
    for m in accepted["owed"]:
        assert "".join(m["name"].split()) in flat


async def test_materials_not_made_up_in_time_end_the_case(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await promised_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W12")
    accepted = (await act(client, clerk, case, "accept")).json()
    due = dt.date.fromisoformat(accepted["makeup_due"])

    on_the_day = dt.datetime.combine(due, dt.time(18), tzinfo=deadlines.CHINA)
    assert await workflow.end_overdue_tolerated(on_the_day) == 0  # the last day is still theirs
    after = on_the_day + dt.timedelta(days=1)
    assert await workflow.end_overdue_tolerated(after) == 1
    assert await workflow.end_overdue_tolerated(after) == 0  # once

    shown = (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()
    assert shown["state"] == "terminated" and shown["state_name"].startswith("已终止")
    assert shown["allowed_actions"] == [] and shown["due_date"] is None
    assert shown["timeline"][-1]["action"] == "terminate"
    told = await Outbox.filter(case_id=case["id"], kind="case.terminate").values_list("urgent", flat=True)
    assert told == [True]  # the applicant hears of it at once
    r = await act(client, citizen, case, "make-up")
    assert r.status_code == 409  # too late
    queue = (await client.get("/api/v1/workbench/queue", headers=bearer(clerk))).json()
    assert case["id"] not in [c["id"] for c in queue["items"]]


async def test_a_made_up_case_is_not_ended(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await promised_case(client, app)
    for code in OWED:  # uploaded before the window even looked at it
        await attach(app, citizen, case, code)
    clerk = await staff_tokens(client, "clerk", window="W12")
    accepted = (await act(client, clerk, case, "accept")).json()
    assert accepted["owed"] == [] and accepted["makeup_due"] is None  # nothing is owed any more
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    assert await workflow.end_overdue_tolerated(later) == 0


async def test_an_item_without_tolerance_refuses_a_promise(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    assert case["tolerable"] == []
    r = await submit(client, tokens, case, tolerated=[case["materials"][0]["code"]], promise=True)
    assert r.status_code == 422 and r.json()["field"] == "tolerated" and "不支持容缺" in r.json()["message"]


async def test_an_instant_case_is_decided_at_the_window(client: AsyncClient, app: Litestar) -> None:
    _citizen, case = await submitted_case(client, app)  # 营业执照遗失补领: 即办件
    assert case["instant"] is True
    clerk = await staff_tokens(client, "clerk", window="W08")
    accepted = (await act(client, clerk, case, "accept")).json()
    assert accepted["state"] == "accepted"
    assert {"approve", "deny"} <= set(accepted["allowed_actions"])
    actions = (await client.get(f"{CASES}/{case['id']}/actions", headers=bearer(clerk))).json()
    deny = next(a for a in actions if a["action"] == "deny")
    assert [f["name"] for f in deny["fields"] if f["required"]] == ["reason"]
    r = await act(client, clerk, case, "approve", opinion="当场办结")
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    r = await act(client, clerk, case, "deliver", method="window")
    assert r.status_code == 200 and r.json()["state"] == "delivered"
    assert [e["action"] for e in r.json()["timeline"]][-3:] == ["accept", "approve", "deliver"]


async def test_a_promised_case_is_decided_by_its_department_only(client: AsyncClient, app: Litestar) -> None:
    _citizen, case = await promised_case(client, app)
    assert case["instant"] is False
    clerk = await staff_tokens(client, "clerk", window="W12")
    accepted = (await act(client, clerk, case, "accept")).json()
    assert "approve" not in accepted["allowed_actions"]
    r = await act(client, clerk, case, "approve")
    assert r.status_code == 409 and "已受理" in r.json()["message"]


async def test_a_walk_in_applicant_promises_at_the_window(client: AsyncClient, app: Litestar) -> None:
    code = await ServiceItem.filter(basic_code=PERMIT).first().values_list("code", flat=True)
    clerk = await staff_tokens(client, "clerk", window="W12")
    r = await client.post("/api/v1/workbench/walk-ins", headers=bearer(clerk), json={
        "phone": "13900000417", "name": "王建国", "id_number": "11010519491231002X", "item_code": code,
        "answers": NEW_BUILDING})
    assert r.status_code == 201, r.text
    case = r.json()
    scans = f"/api/v1/workbench/walk-ins/{case['id']}/materials"
    for m in case["materials"]:
        if m["required"] and m["source"] == "applicant" and m["code"] not in OWED:
            r = await client.put(f"{scans}/{m['code']}", params={"filename": f"{m['code']}.pdf"},
                                 content=pdf_bytes(20_000), headers=bearer(clerk))
            assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/workbench/walk-ins/{case['id']}/submit", json={"tolerated": OWED, "promise": True},
                          headers={**bearer(clerk), "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    assert (await act(client, clerk, case, "accept")).status_code == 200
    r = await client.post(f"/api/v1/workbench/walk-ins/{case['id']}/make-up", headers=bearer(clerk))
    assert r.status_code == 422 and {p["field"] for p in r.json()["problems"]} == set(OWED)
    for code in OWED:  # the applicant came back with them; the window scans them in
        r = await client.put(f"{scans}/{code}", params={"filename": f"{code}.pdf"}, content=pdf_bytes(20_000),
                             headers=bearer(clerk))
        assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/workbench/walk-ins/{case['id']}/make-up", headers=bearer(clerk))
    assert r.status_code == 200 and r.json()["owed"] == [], r.text
    made = next(e for e in r.json()["timeline"] if e["action"] == "make_up")
    assert made["actor_name"] != "申请人"  # the clerk did it, for the applicant

