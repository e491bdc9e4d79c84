"""并联审批 on real SQLite and PostgreSQL: a joint item's case fans out to every involved department at
acceptance, each department reviews and decides its part, one joint site survey stops the clock
once, and the join decides the parent (denied with every reason, or approved); plus the pure join."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.audit.models import AuditEntry
from api.cases.models import Case
from api.catalog.flows import FlowStepDoc
from api.catalog.models import ServiceItemVersion
from api.identity.principal import Principal
from api.workflow import deadlines, joint, parallel
from api.workflow import services as workflow
from api.workflow.calendar_services import current_calendar
from api.workflow.models import SubCase
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens, staff_tokens
from tests.test_cases import attach_all, draft

CASES = "/api/v1/cases"
FIRE = "特殊建设工程消防设计审查"  # ZJJ, joint with XFZD and ZRZYJ; flow: initial review 2 + review 4 + decide 2
ACCEPTANCE = "工程建设项目竣工联合验收"  # XZSPJ, joint with ZJJ, ZRZYJ, XFZD, RFB, QXJ


@pytest.fixture(autouse=True)
async def _remove_cases(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()


async def city_item(name: str) -> str:
    codes = await ServiceItemVersion.filter(name=name, status="published").values_list("item__code", flat=True)
    return next(str(c) for c in codes if "-511900000000-" in str(c))


async def accepted_joint_case(client: AsyncClient, app: Litestar, name: str, **answers: object) -> tuple[dict, dict]:
    citizen = await citizen_tokens(client, app)
    case = await draft(client, citizen, await city_item(name), **answers)
    await attach_all(app, citizen, case)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = await client.post(f"{CASES}/{case['id']}/submit", headers={**bearer(citizen), **key})
    assert r.status_code == 200, r.text
    clerk = await staff_tokens(client, "clerk", window="W12")
    r = await client.post(f"{CASES}/{case['id']}/actions/accept", json={"version": r.json()["case"]["version"]},
                          headers=bearer(clerk))
    assert r.status_code == 200, r.text
    return citizen, r.json()


async def departments(client: AsyncClient, who: dict, case_id: int) -> Any:
    r = await client.get(f"{CASES}/{case_id}/departments", headers=bearer(who))
    assert r.status_code == 200, r.text
    return r.json()


async def sub_act(client: AsyncClient, who: dict, case_id: int, department: str, action: str, **body: Any) -> Any:
    if "version" not in body:
        subs = (await departments(client, who, case_id))["departments"]
        body["version"] = next(s["version"] for s in subs if s["department"] == department)
    return await client.post(f"{CASES}/{case_id}/departments/{department}/actions/{action}", json=body,
                             headers=bearer(who))


def staff_principal(app: Litestar, tokens: dict, role: str, department: str) -> Principal:
    claims = app.state.tokens.verify_access(tokens["access_token"])
    return Principal("staff", int(claims.subject.split(":")[1]), role, department, "", claims.jti, claims.expires_at)


async def test_a_joint_case_with_one_survey_denied_by_two_departments(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await accepted_joint_case(client, app, FIRE, special_design="no")
    case_id = case["id"]
    involved = ["ZJJ", "XFZD", "ZRZYJ"]
    officers = {d: await staff_tokens(client, "officer", department=d) for d in involved}
    approvers = {d: await staff_tokens(client, "approver", department=d) for d in involved}

    # Accepted and in review at once; one sub-case per department, each due after its flow's 8 working days.
    assert case["state"] == "in_review" and case["timeline"][-1]["data"]["departments"] == involved
    calendar = await current_calendar()
    today = deadlines.china_day(dt.datetime.now(dt.UTC))
    joint_view = await departments(client, officers["XFZD"], case_id)
    assert [s["department"] for s in joint_view["departments"]] == involved
    assert {s["state"] for s in joint_view["departments"]} == {"accepted"}
    assert {s["due_date"] for s in joint_view["departments"]} == {
        deadlines.add_working_days(calendar, today, 8).isoformat()}
    mine = {s["department"]: s["allowed_actions"] for s in joint_view["departments"]}
    assert mine == {"ZJJ": [], "XFZD": ["start_review"], "ZRZYJ": []}
    for d in involved:  # in every department's workbench queue
        r = await client.get("/api/v1/workbench/queue", headers=bearer(officers[d]))
        assert [c["id"] for c in r.json()["items"]] == [case_id]

    # An uninvolved department does not see the case at all.
    stranger = await staff_tokens(client, "officer", department="SCJGJ")
    assert (await client.get(f"{CASES}/{case_id}", headers=bearer(stranger))).status_code == 404
    assert (await client.get(f"{CASES}/{case_id}/departments", headers=bearer(stranger))).status_code == 404
    r = await client.post(f"{CASES}/{case_id}/survey", json={"date": today.isoformat(), "place": "现场"},
                          headers=bearer(stranger))
    assert r.status_code == 404

    # A joint department sees the parent and only comments on it; nobody approves the parent by hand.
    parent = (await client.get(f"{CASES}/{case_id}", headers=bearer(officers["XFZD"]))).json()
    assert parent["allowed_actions"] == ["comment"]
    lead = (await client.get(f"{CASES}/{case_id}", headers=bearer(approvers["ZJJ"]))).json()
    assert "approve" not in lead["allowed_actions"] and "deny" not in lead["allowed_actions"]
    r = await client.post(f"{CASES}/{case_id}/actions/approve", json={"version": lead["version"]},
                          headers=bearer(approvers["ZJJ"]))
    assert r.status_code == 409 and "并联审批" in r.json()["message"]
    r = await client.post(f"{CASES}/{case_id}/actions/deliver", json={"version": lead["version"], "method": "window"},
                          headers=bearer(officers["XFZD"]))
    assert r.status_code == 409  # in review: nothing to deliver yet

    # Each department starts its own review, and only its own.
    assert (await sub_act(client, officers["XFZD"], case_id, "ZJJ", "start-review")).status_code == 403
    for d in involved:
        r = await sub_act(client, officers[d], case_id, d, "start-review")
        assert r.status_code == 200, r.text
    assert (await sub_act(client, officers["ZJJ"], case_id, "ZJJ", "start-review", version=1)).status_code == 409

    # One joint site survey for every department; a second is refused.
    body = {"date": today.isoformat(), "place": "巴州区江北大道建设项目现场",
            "attendees": {"ZJJ": ["张工"], "XFZD": ["李警官"], "ZRZYJ": ["王科长", "赵工"]}}
    r = await client.post(f"{CASES}/{case_id}/survey", json=body, headers=bearer(officers["XFZD"]))
    assert r.status_code == 200, r.text
    assert r.json()["clock_paused"] is True and r.json()["survey"]["waiting"] == involved
    r = await client.post(f"{CASES}/{case_id}/survey", json=body, headers=bearer(officers["ZJJ"]))
    assert r.status_code == 409 and r.json()["field"] == "survey"
    before = {s["department"]: s["due_date"] for s in (await departments(client, citizen, case_id))["departments"]}
    parent_due = (await client.get(f"{CASES}/{case_id}", headers=bearer(citizen))).json()["due_date"]

    # While it is open nobody decides.
    r = await sub_act(client, approvers["ZJJ"], case_id, "ZJJ", "approve", opinion="同意")
    assert r.status_code == 409 and r.json()["field"] == "survey" and "ZJJ" in r.json()["message"]
    assert all(not s["allowed_actions"]
               for s in (await departments(client, approvers["ZJJ"], case_id))["departments"])

    # Each department records its own findings; the last closes the survey (ten days on) and the clock
    # restarts once: the stopped working days on the parent and on every department's due date.
    r = await client.post(f"{CASES}/{case_id}/survey/findings", json={"department": "ZJJ", "findings": "符合"},
                          headers=bearer(officers["XFZD"]))
    assert r.status_code == 403
    for d in ("ZJJ", "XFZD"):
        r = await client.post(f"{CASES}/{case_id}/survey/findings", json={"department": d, "findings": f"{d} 已踏勘"},
                              headers=bearer(officers[d]))
        assert r.status_code == 200 and r.json()["clock_paused"] is True
    r = await client.post(f"{CASES}/{case_id}/survey/findings", json={"department": "ZJJ", "findings": "再记一次"},
                          headers=bearer(officers["ZJJ"]))
    assert r.status_code == 409
    scheduled = await Case.get(id=case_id)
    assert scheduled.paused_at is not None
    closing = scheduled.paused_at + dt.timedelta(days=10)
    done = await joint.record_findings(staff_principal(app, officers["ZRZYJ"], "officer", "ZRZYJ"), case_id,
                                       department="ZRZYJ", findings="用地范围与批准一致", now=closing)
    stopped = deadlines.working_days_between(calendar, deadlines.china_day(scheduled.paused_at),
                                             deadlines.china_day(closing))
    assert stopped > 0 and done.case.paused_days == stopped and done.case.paused_at is None
    after = await departments(client, citizen, case_id)
    assert after["paused_days"] == stopped and after["survey"]["closed_at"] and after["survey"]["waiting"] == []
    for s in after["departments"]:
        assert s["due_date"] == deadlines.add_working_days(calendar, dt.date.fromisoformat(before[s["department"]]),
                                                           stopped).isoformat()
    parent_after = (await client.get(f"{CASES}/{case_id}", headers=bearer(citizen))).json()
    assert parent_after["due_date"] == deadlines.add_working_days(
        calendar, dt.date.fromisoformat(parent_due), stopped).isoformat()
    assert parent_after["paused_days"] == stopped  # once, not once per department
    assert [e["action"] for e in parent_after["timeline"]].count("survey_closed") == 1

    # The departments decide: one approves, two deny with their reasons; the parent waits for the last.
    r = await sub_act(client, approvers["ZJJ"], case_id, "ZJJ", "approve", opinion="同意", version=1)
    assert r.status_code == 409 and r.json()["field"] == "version"
    assert (await sub_act(client, approvers["ZJJ"], case_id, "ZJJ", "approve", opinion="同意")).status_code == 200
    r = await sub_act(client, approvers["XFZD"], case_id, "XFZD", "deny")
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = await sub_act(client, approvers["XFZD"], case_id, "XFZD", "deny", reason="消防车道宽度不足")
    assert r.status_code == 200 and r.json()["state"] == "in_review"
    r = await client.get("/api/v1/workbench/queue", headers=bearer(approvers["XFZD"]))
    assert r.json()["items"] == []  # its part is decided: no longer waiting for it
    r = await sub_act(client, approvers["ZRZYJ"], case_id, "ZRZYJ", "deny", reason="用地手续不全")
    assert r.status_code == 200 and r.json()["state"] == "denied"
    assert {s["department"]: s["state"] for s in r.json()["departments"]} == {
        "ZJJ": "approved", "XFZD": "denied", "ZRZYJ": "denied"}

    denied = (await client.get(f"{CASES}/{case_id}", headers=bearer(citizen))).json()
    decision = next(e for e in denied["timeline"] if e["action"] == "deny")  # (the survey closed "later")
    assert decision["action"] == "deny" and decision["data"]["reasons"] == {
        "XFZD": "消防车道宽度不足", "ZRZYJ": "用地手续不全"}
    assert "消防车道宽度不足" in decision["data"]["reason"] and "用地手续不全" in decision["data"]["reason"]
    decided_day = deadlines.china_day(dt.datetime.now(dt.UTC))
    assert denied["due_date"] == deadlines.add_working_days(calendar, decided_day, 1).isoformat()
    trail = await AuditEntry.filter(target_type="case", target_code=denied["number"]).order_by("id").values_list(
        "action", flat=True)
    assert trail.count("case.survey_scheduled") == 1 and trail.count("case.survey_closed") == 1
    assert trail[-1] == "case.deny" and trail.count("case.sub_deny") == 2
    # The applicant heard of the survey (they must be on site) and of the denial, once each, with its reasons.
    from api.notifications.models import Outbox

    told = {o.kind: o for o in await Outbox.filter(case_id=case_id)}
    assert sorted(told) == ["case.accept", "case.deny", "case.survey_scheduled"]
    assert told["case.survey_scheduled"].data["place"] and told["case.deny"].urgent is True
    assert told["case.deny"].data["reasons"] == {"XFZD": "消防车道宽度不足", "ZRZYJ": "用地手续不全"}

    # Then the case is delivered as any other.
    r = await client.post(f"{CASES}/{case_id}/actions/deliver", json={"version": denied["version"], "method": "window"},
                          headers=bearer(officers["ZJJ"]))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "delivered"


async def test_a_joint_case_approved_by_every_department(client: AsyncClient, app: Litestar) -> None:
    _, case = await accepted_joint_case(client, app, ACCEPTANCE, type="municipal", items=["planning"])
    involved = ["XZSPJ", "ZJJ", "ZRZYJ", "XFZD", "RFB", "QXJ"]
    assert [s["department"] for s in (await departments(client, await staff_tokens(
        client, "officer", department="QXJ"), case["id"]))["departments"]] == involved
    for d in involved:
        officer = await staff_tokens(client, "officer", department=d)
        approver = await staff_tokens(client, "approver", department=d)
        assert (await sub_act(client, officer, case["id"], d, "start_review")).status_code == 200
        r = await sub_act(client, approver, case["id"], d, "approve")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == ("approved" if d == involved[-1] else "in_review")
    clerk = await staff_tokens(client, "clerk", window="W12")
    approved = (await client.get(f"{CASES}/{case['id']}", headers=bearer(clerk))).json()
    assert approved["state"] == "approved" and approved["timeline"][-1]["action"] == "approve"
    assert approved["timeline"][-1]["data"] == {"joint": True}
    r = await client.post(f"{CASES}/{case['id']}/actions/deliver", headers=bearer(clerk),
                          json={"version": approved["version"], "method": "electronic"})
    assert r.status_code == 200 and r.json()["state"] == "delivered"


async def test_a_joint_case_deemed_accepted_fans_out_too(client: AsyncClient, app: Litestar) -> None:
    citizen = await citizen_tokens(client, app)
    case = await draft(client, citizen, await city_item(FIRE), special_design="no")
    await attach_all(app, citizen, case)
    r = await client.post(f"{CASES}/{case['id']}/submit",
                          headers={**bearer(citizen), "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    assert await workflow.deem_overdue_accepted(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=20)) == 1
    deemed = await Case.get(id=case["id"])
    assert deemed.state == "in_review" and deemed.accepted_at is not None
    calendar = await current_calendar()
    subs = await SubCase.filter(case_id=deemed.id).order_by("id").values_list("department_code", "state", "due_date")
    due = deadlines.add_working_days(calendar, deadlines.china_day(deemed.accepted_at), 8)
    assert subs == [("ZJJ", "accepted", due), ("XFZD", "accepted", due), ("ZRZYJ", "accepted", due)]


async def test_a_case_of_one_department_has_no_departments(client: AsyncClient, app: Litestar) -> None:
    from tests.test_workflow import submitted_case

    _, case = await submitted_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W08")
    r = await client.post(f"{CASES}/{case['id']}/actions/accept", json={"version": case["version"]},
                          headers=bearer(clerk))
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    assert (await client.get(f"{CASES}/{case['id']}/departments", headers=bearer(officer))).status_code == 404
    r = await client.post(f"{CASES}/{case['id']}/survey", json={"date": "2099-01-05", "place": "现场"},
                          headers=bearer(officer))
    assert r.status_code == 404


# --------------------------------------------------------------------------- pure rules


def test_the_join() -> None:
    S = parallel.SubState
    assert parallel.join([]) == parallel.Joined(None, {})
    assert parallel.join([S("A", "approved"), S("B", "in_review")]).decision is None
    assert parallel.join([S("A", "denied", "x"), S("B", "accepted")]).decision is None  # waits for every one
    assert parallel.join([S("A", "approved"), S("B", "approved")]) == parallel.Joined("approved", {})
    joined = parallel.join([S("A", "denied", "图纸不全"), S("B", "approved"), S("C", "denied", "用地不符")])
    assert joined == parallel.Joined("denied", {"A": "图纸不全", "C": "用地不符"})


def test_departments_and_their_days() -> None:
    assert parallel.departments("ZJJ", ["XFZD", "ZJJ", "XFZD", "ZRZYJ"]) == ["ZJJ", "XFZD", "ZRZYJ"]
    flow = [FlowStepDoc(code="accept", role="clerk", limit=1),
            FlowStepDoc(code="initial_review", role="officer", limit=2),
            FlowStepDoc(code="review", role="officer", limit=4), FlowStepDoc(code="decide", role="approver", limit=2),
            FlowStepDoc(code="deliver", role="clerk", limit=1)]
    assert parallel.department_days(flow) == 8


def test_the_parent_of_a_joint_case_is_decided_by_the_join() -> None:
    actions = ["approve", "deny", "extend", "suspend", "comment", "claim", "release"]
    assert parallel.parent_actions(actions, joint=False, implementing=True) == actions
    assert parallel.parent_actions(actions, joint=True, implementing=True) == ["extend", "comment", "claim", "release"]
    assert parallel.parent_actions(actions, joint=True, implementing=False) == ["comment"]
    assert parallel.sub_actions("in_review", "approver") == ["approve", "deny"]
    assert parallel.sub_actions("in_review", "approver", survey_open=True) == []
    assert parallel.sub_actions("accepted", "approver") == ["start_review"]
    assert parallel.sub_actions("approved", "approver") == []
