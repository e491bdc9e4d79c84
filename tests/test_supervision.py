"""Electronic supervision on real SQLite and PostgreSQL: each open step's row follows the case, the tick
raises each threshold once (to the holder and the department's heads, through the outbox), a stopped
clock raises nothing, completing a step resolves its alerts; workers share the due rows without doing
one twice; thresholds, irregularities with their evidence, orders, accountability, a case's view with
its audit chain checked, the exchange shape, the live stream."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.audit.models import AuditEntry
from api.core.jobs import JobRun
from api.identity.models import Staff
from api.notifications.models import Outbox
from api.supervision import irregularities, services
from api.supervision.models import (
    Irregularity,
    SupervisedStep,
    SupervisionAlert,
    SupervisionConfig,
    SupervisionOrder,
)
from api.workflow.calendar_services import current_calendar
from api.workflow.deadlines import CHINA, add_working_days, china_day
from tests.databases import remove_cases
from tests.identity_helpers import bearer, staff_tokens
from tests.test_parallel import accepted_joint_case, city_item, sub_act
from tests.test_workflow import act, submitted_case

SUPERVISION = "/api/v1/supervision"
FOOD = "食品经营许可"  # SCJGJ: promised 3, legal 10 working days; a site survey may last 5


@pytest.fixture(autouse=True)
async def _clean(client: AsyncClient) -> AsyncIterator[None]:
    await SupervisionConfig.all().delete()
    await JobRun.filter(name=irregularities.JOB).delete()
    yield
    await remove_cases()  # steps, alerts, irregularities and orders go with their cases
    await Outbox.all().delete()
    await SupervisionConfig.all().delete()


def moment(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=CHINA)


async def steps_of(case_id: int) -> list[tuple[str, bool]]:
    return [(s.step, s.closed_at is None) for s in await SupervisedStep.filter(case_id=case_id).order_by("id")]


async def accepted_case(client: AsyncClient, app: Litestar, item: str | None = None) -> tuple[dict, dict, dict]:
    """A case accepted at W07 and claimed by an officer of SCJGJ: (citizen, case, officer)."""
    from tests.test_cases import attach_all, draft

    if item is None:
        citizen, case = await submitted_case(client, app)
    else:
        import uuid

        from tests.identity_helpers import citizen_tokens

        citizen = await citizen_tokens(client, app)
        case = await draft(client, citizen, await city_item(item), apply="renew", agent="no")
        await attach_all(app, citizen, case)
        r = await client.post(f"/api/v1/cases/{case['id']}/submit",
                              headers={**bearer(citizen), "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 200, r.text
        case = r.json()["case"]
    clerk = await staff_tokens(client, "clerk", window="W07")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    assert (await act(client, clerk, case, "accept")).status_code == 200
    assert (await act(client, officer, case, "start-review")).status_code == 200
    r = await act(client, officer, case, "claim")
    assert r.status_code == 200, r.text
    return citizen, r.json(), officer


async def subject(client: AsyncClient, tokens: dict) -> str:
    return f"staff:{(await Staff.get(username=tokens['username'])).id}"


async def test_each_open_step_has_its_row_which_follows_the_case(client: AsyncClient, app: Litestar) -> None:
    _, case = await submitted_case(client, app)
    [accept] = await SupervisedStep.filter(case_id=case["id"])
    assert (accept.step, accept.limit_days, accept.due_date.isoformat(), accept.closed_at) == (
        "accept", 5, case["due_date"], None)
    calendar = await current_calendar()
    # Next looked at on the working day before the §32 period ends (one working day left: the warning).
    day_before = accept.due_date - dt.timedelta(days=1)
    while not calendar.is_working_day(day_before):
        day_before -= dt.timedelta(days=1)
    assert accept.next_check_at == moment(day_before, 0)

    clerk = await staff_tokens(client, "clerk", window="W07")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    approver = await staff_tokens(client, "approver", department="SCJGJ")
    assert (await act(client, clerk, case, "accept")).status_code == 200
    assert await steps_of(case["id"]) == [("accept", False), ("review", True)]
    review = await SupervisedStep.get(case_id=case["id"], step="review")
    accepted = (await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(officer))).json()
    assert review.due_date.isoformat() == accepted["due_date"] and review.legal_due_date is not None
    assert (await act(client, officer, case, "start-review")).status_code == 200
    assert (await act(client, officer, case, "claim")).status_code == 200
    assert (await SupervisedStep.get(id=review.id)).holder == await subject(client, officer)

    assert (await act(client, officer, case, "suspend", procedure="现场核查", reason="核查场所")).status_code == 200
    stopped = await SupervisedStep.get(id=review.id)
    assert stopped.paused_at is not None and stopped.pause_limit == 20  # the item names none: the default
    assert (await act(client, officer, case, "resume")).status_code == 200
    assert (await SupervisedStep.get(id=review.id)).paused_at is None
    assert (await act(client, approver, case, "approve")).status_code == 200
    assert await steps_of(case["id"]) == [("accept", False), ("review", False), ("deliver", True)]
    assert (await act(client, officer, case, "deliver", method="window")).status_code == 200
    assert await steps_of(case["id"]) == [("accept", False), ("review", False), ("deliver", False)]
    assert await SupervisedStep.filter(case_id=case["id"], next_check_at__isnull=False).count() == 0


async def test_alerts_are_raised_once_per_threshold_to_the_holder_and_the_head(client: AsyncClient,
                                                                               app: Litestar) -> None:
    _, case, officer = await accepted_case(client, app)  # 营业执照遗失补领: promised and legal limit one day
    approver = await staff_tokens(client, "approver", department="SCJGJ")
    holder, head = await subject(client, officer), await subject(client, approver)
    review = await SupervisedStep.get(case_id=case["id"], step="review")
    due = review.due_date
    calendar = await current_calendar()

    before = await services.tick(moment(due, 1) - dt.timedelta(days=30))
    assert before.alerts == 0
    first = await services.tick(moment(due))
    assert first.alerts == 1  # one working day left on the due date: the warning
    again = await services.tick(moment(due, 15))
    assert (again.claimed, again.alerts) == (0, 0)  # looked at once a day at most, raised once
    late = await services.tick(moment(add_working_days(calendar, due, 1)))
    assert late.alerts == 2  # past the step's limit and past the legal limit on the same day
    after = await services.tick(moment(add_working_days(calendar, due, 5)))
    assert (after.claimed, after.alerts) == (0, 0)  # everything raised: nothing left to look at

    alerts = await SupervisionAlert.filter(case_id=case["id"]).order_by("id")
    assert [(a.level, a.cause, a.step, a.department_code, a.holder, a.resolved_at) for a in alerts] == [
        ("warning", "approaching", "review", "SCJGJ", holder, None),
        ("yellow", "step_limit", "review", "SCJGJ", holder, None),
        ("red", "legal_limit", "review", "SCJGJ", holder, None)]
    told = await Outbox.filter(kind__startswith="alert.").order_by("id").values_list("kind", "recipient", "urgent")
    for level, urgent in (("warning", False), ("yellow", False), ("red", True)):
        mine = [(k, r, u) for k, r, u in told if k == f"alert.{level}"]
        assert (f"alert.{level}", holder, urgent) in mine and (f"alert.{level}", head, urgent) in mine
        assert len(mine) == len({r for _, r, _ in mine})  # nobody twice
    notice = (await Outbox.filter(kind="alert.red", recipient=holder).first()).data
    assert notice["number"] == case["number"] and notice["level_name"] == "红牌" and notice["alert_id"] == alerts[2].id

    # Completing the step resolves its alerts; they stay for history.
    assert (await act(client, approver, case, "approve")).status_code == 200
    assert {a.resolved_at is not None for a in await SupervisionAlert.filter(case_id=case["id"])} == {True}


async def test_a_stopped_clock_never_raises_an_alarm(client: AsyncClient, app: Litestar) -> None:
    _, case, officer = await accepted_case(client, app, FOOD)
    r = await act(client, officer, case, "suspend", procedure="现场踏勘", reason="核查经营场所")
    assert r.status_code == 200
    step = await SupervisedStep.get(case_id=case["id"], step="review")
    assert step.pause_limit == 5  # the item's site survey
    calendar = await current_calendar()
    paused_on = china_day(step.paused_at)
    within = await services.tick(moment(add_working_days(calendar, paused_on, 5)))
    assert within.alerts == 0 and within.irregularities == 0
    far = await services.tick(moment(add_working_days(calendar, paused_on, 60)))
    assert far.alerts == 0 and far.irregularities == 1  # no alarm, but the suspension outlasted the item's limit
    found = await Irregularity.get(case_id=case["id"])
    suspend = await AuditEntry.get(action="case.suspend", target_code=case["number"])
    assert found.kind == "overlong_suspension" and [e["id"] for e in found.evidence] == [suspend.id]
    assert found.person == await subject(client, officer)
    # Ending it: the scan of the audit trail finds the same irregularity, and records it no second time.
    assert (await act(client, officer, case, "resume")).status_code == 200
    await irregularities.scan()
    assert await Irregularity.filter(case_id=case["id"], kind="overlong_suspension").count() == 1


async def test_workers_share_the_due_steps_and_none_does_one_twice(client: AsyncClient, app: Litestar,
                                                                   backend: str) -> None:
    _, case, _ = await accepted_case(client, app)
    template = await SupervisedStep.get(case_id=case["id"], step="review")
    now = moment(template.due_date)
    await SupervisedStep.bulk_create([SupervisedStep(
        case_id=case["id"], step="deliver", case_number=case["number"], item_code="X", item_name="X",
        department_code="SCJGJ", started_at=now, limit_days=1, due_date=template.due_date, next_check_at=now,
        updated_at=now) for _ in range(600)])
    due = await SupervisedStep.filter(next_check_at__lte=now).count()
    if backend == "postgres":  # four workers at once, each on its own connections
        reports = await asyncio.gather(*(services.tick(now, batch=50, record_ids=True) for _ in range(4)))
    else:  # SQLite has one worker
        reports = [await services.tick(now, batch=50, record_ids=True)]
    done = [i for r in reports for i in r.step_ids]
    assert len(done) == len(set(done)) == due
    assert sum(r.alerts for r in reports) == due == await SupervisionAlert.filter(case_id=case["id"]).count()


async def test_thresholds_are_configuration_checked_and_applied(client: AsyncClient, app: Litestar) -> None:
    admin = await staff_tokens(client, "admin")
    url = "/api/v1/admin/supervision/thresholds"
    r = await client.get(url, headers=bearer(admin))
    assert r.status_code == 200 and r.json()["warning_percent_left"] == 20 and r.json()["yellow_days_late"] == 1
    r = await client.put(url, json={"warning_days_left": -2, "yellow_days_late": 0}, headers=bearer(admin))
    assert r.status_code == 422 and r.json()["field"] == "warning_days_left"
    assert [p["field"] for p in r.json()["problems"]] == ["warning_days_left", "yellow_days_late"]
    assert "不能为负数" in r.json()["message"] and "不能早于或等于预警" in r.json()["message"]
    r = await client.put(url, json={"warning_days_left": "two"}, headers=bearer(admin))
    assert r.status_code == 422 and r.json()["field"] == "warning_days_left"
    r = await client.put(url, json={"warn_me": 1}, headers=bearer(admin))
    assert r.status_code == 422 and r.json()["field"] == "warn_me"

    _, case, _ = await accepted_case(client, app, FOOD)
    step = await SupervisedStep.get(case_id=case["id"], step="review")
    r = await client.put(url, json={"warning_days_left": 3, "working_hours": "08:30-17:30"}, headers=bearer(admin))
    assert r.status_code == 200 and r.json()["warning_days_left"] == 3 and r.json()["warning_percent_left"] == 20
    requeued = await SupervisedStep.get(id=step.id)
    assert requeued.next_check_at is not None and requeued.next_check_at <= dt.datetime.now(dt.UTC)
    await services.tick()  # looked at with the new numbers: three days of three left, a warning now
    assert await SupervisionAlert.filter(step_id=step.id, level="warning").count() == 1
    assert await AuditEntry.filter(action="supervision.thresholds").count() >= 1
    supervisor = await staff_tokens(client, "supervisor")
    assert (await client.get(url, headers=bearer(supervisor))).status_code == 200
    assert (await client.put(url, json={}, headers=bearer(supervisor))).status_code == 403


async def test_irregularities_are_found_in_the_audit_trail_with_their_evidence(client: AsyncClient,
                                                                              app: Litestar) -> None:
    from api.cases import services as case_services
    from tests.test_cases import principal_of, put_blob

    citizen, case = await submitted_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W07")
    r = await act(client, clerk, case, "request-correction", materials=[{"code": "house_deed", "problem": "需房产证"}])
    assert r.status_code == 422  # outside the checklist: refused, and kept as an attempt
    for problem in ("缺少签名", "仍不清晰"):
        body: dict[str, Any] = {"materials": [{"code": "application", "problem": problem}]}
        if problem == "仍不清晰":
            body["reason"] = "扫描件模糊"
        assert (await act(client, clerk, case, "request-correction", **body)).status_code == 200
        await case_services.attach_material(principal_of(app, citizen), case["id"], "application",
                                            await put_blob(app, problem.encode()), "a.pdf", "application/pdf")
        assert (await act(client, citizen, case, "resupply")).status_code == 200
    assert (await act(client, clerk, case, "refuse")).status_code == 422  # no reason: refused, kept
    for _ in range(3):
        assert (await act(client, clerk, case, "claim")).status_code == 200
        assert (await act(client, clerk, case, "release")).status_code == 200

    assert await irregularities.scan() == 4
    assert await irregularities.scan() == 0  # from where it stopped
    found = {i.kind: i for i in await Irregularity.filter(case_id=case["id"])}
    assert set(found) == {"correction_outside_list", "repeated_correction", "refusal_without_reason",
                          "repeated_claims"}
    by_action = {e.id: e.action for e in await AuditEntry.filter(target_code=case["number"])}
    assert [by_action[e["id"]] for e in found["repeated_correction"].evidence] == [
        "case.request_correction", "case.request_correction"]
    assert [by_action[e["id"]] for e in found["correction_outside_list"].evidence] == ["case.irregular_correction"]
    assert len(found["repeated_claims"].evidence) == 6
    clerk_subject = await subject(client, clerk)
    assert {i.person for i in found.values()} == {clerk_subject}

    supervisor = await staff_tokens(client, "supervisor")
    r = await client.get(f"{SUPERVISION}/irregularities", params={"case_id": case["id"]}, headers=bearer(supervisor))
    assert r.status_code == 200 and {i["rule"] for i in r.json()["items"]} == {"JC01", "JC02", "JC06", "JC08"}
    r = await client.get(f"{SUPERVISION}/irregularities", params={"kind": "nonsense"}, headers=bearer(supervisor))
    assert r.status_code == 422 and r.json()["field"] == "kind"


async def test_a_deemed_acceptance_is_an_irregularity(client: AsyncClient, app: Litestar) -> None:
    from api.workflow import services as workflow

    _, case = await submitted_case(client, app)
    due = dt.date.fromisoformat(case["due_date"])
    assert await workflow.deem_overdue_accepted(moment(due + dt.timedelta(days=1))) >= 1
    await irregularities.scan()
    [deemed] = await Irregularity.filter(case_id=case["id"])
    assert deemed.kind == "deemed_acceptance" and deemed.person is None
    assert await steps_of(case["id"]) == [("accept", False), ("review", True)]


async def test_an_order_answered_late_turns_red_and_accountability_closes_the_loop(client: AsyncClient,
                                                                                  app: Litestar) -> None:
    _, case, officer = await accepted_case(client, app)
    approver = await staff_tokens(client, "approver", department="SCJGJ")
    other = await staff_tokens(client, "officer", department="MZJ")
    supervisor = await staff_tokens(client, "supervisor")
    review = await SupervisedStep.get(case_id=case["id"], step="review")
    await services.tick(moment(review.due_date))
    warning = await SupervisionAlert.get(case_id=case["id"], level="warning")

    r = await client.post(f"{SUPERVISION}/orders", json={"alert_id": warning.id, "instructions": ""},
                          headers=bearer(supervisor))
    assert r.status_code == 422 and r.json()["field"] == "instructions"
    r = await client.post(f"{SUPERVISION}/orders", json={"alert_id": warning.id, "days": 0, "instructions": "x"},
                          headers=bearer(supervisor))
    assert r.status_code == 422 and r.json()["field"] == "days"
    r = await client.post(f"{SUPERVISION}/orders", json={"alert_id": warning.id, "days": 2,
                                                         "instructions": "请于两日内办结并说明原因"},
                          headers=bearer(supervisor))
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["state"], order["department"], order["red"]) == ("open", "SCJGJ", False)
    told = set(await Outbox.filter(kind="supervision.order").values_list("recipient", flat=True))
    assert {await subject(client, officer), await subject(client, approver)} <= told

    calendar = await current_calendar()
    due = dt.date.fromisoformat(order["due_date"])
    assert due == add_working_days(calendar, china_day(dt.datetime.now(dt.UTC)), 2)
    await services.tick(moment(add_working_days(calendar, due, 1)))  # still unanswered past the deadline
    raised = await SupervisionAlert.filter(order_id=order["id"]).order_by("id")
    assert [(a.level, a.cause, a.step) for a in raised] == [("warning", "approaching", "order"),
                                                            ("red", "order_deadline", "order")]
    red = raised[1]
    assert (await SupervisionOrder.get(id=order["id"])).red_at is not None

    url = f"/api/v1/workbench/supervision-orders/{order['id']}"
    assert (await client.get(url, headers=bearer(other))).status_code == 404  # another department's
    r = await client.get("/api/v1/workbench/supervision-orders", headers=bearer(officer))
    assert [o["id"] for o in r.json()["items"]] == [order["id"]]
    r = await client.post(f"{url}/response", json={"explanation": "系统故障", "action_taken": ""},
                          headers=bearer(officer))
    assert r.status_code == 422 and r.json()["field"] == "action_taken"
    r = await client.post(f"{url}/response", json={"explanation": "系统故障导致延误", "action_taken": "已当日办结"},
                          headers=bearer(officer))
    assert r.status_code == 200 and r.json()["state"] == "responded" and r.json()["red"] is True
    assert (await client.post(f"{url}/response", json={"explanation": "a", "action_taken": "b"},
                              headers=bearer(officer))).status_code == 409
    assert (await SupervisionAlert.get(id=red.id)).resolved_at is not None  # the order's step is done
    r = await client.post(f"{SUPERVISION}/orders/{order['id']}/close", json={"conclusion": "情况属实，予以提醒"},
                          headers=bearer(supervisor))
    assert r.status_code == 200 and r.json()["state"] == "closed"

    officer_id = int((await subject(client, officer)).split(":")[1])
    evidence = await AuditEntry.filter(target_code=case["number"], action="case.claim").values_list("id", flat=True)
    body = {"person": officer_id, "finding": "督办逾期未答复", "measure": "reminder_talk",
            "decided_on": dt.datetime.now(CHINA).date().isoformat(), "alerts": [warning.id, red.id],
            "evidence": list(evidence), "case_id": case["id"], "order_id": order["id"]}
    r = await client.post(f"{SUPERVISION}/accountability", json={**body, "measure": "firing"},
                          headers=bearer(supervisor))
    assert r.status_code == 422 and r.json()["field"] == "measure"
    r = await client.post(f"{SUPERVISION}/accountability", json={**body, "alerts": [999999999]},
                          headers=bearer(supervisor))
    assert r.status_code == 422 and r.json()["field"] == "alerts"
    r = await client.post(f"{SUPERVISION}/accountability", json=body, headers=bearer(supervisor))
    assert r.status_code == 201 and r.json()["measure_name"] == "提醒谈话"
    r = await client.get(f"{SUPERVISION}/people/{officer_id}", headers=bearer(supervisor))
    assert r.status_code == 200
    record = r.json()
    assert [a["measure"] for a in record["accountability"]] == ["reminder_talk"]
    assert {a["level"] for a in record["alerts"]} >= {"warning"}
    admin = await staff_tokens(client, "admin")
    assert (await client.get(f"{SUPERVISION}/people/{officer_id}", headers=bearer(admin))).status_code == 403


async def test_a_joint_case_watches_each_department_and_the_survey_stops_every_clock(client: AsyncClient,
                                                                                     app: Litestar) -> None:
    _, case = await accepted_joint_case(client, app, "特殊建设工程消防设计审查", special_design="no")
    departments = await SupervisedStep.filter(case_id=case["id"], step="department_review", closed_at__isnull=True) \
        .order_by("id").values_list("department_code", flat=True)
    assert list(departments) == ["ZJJ", "XFZD", "ZRZYJ"]
    officer = await staff_tokens(client, "officer", department="XFZD")
    approver = await staff_tokens(client, "approver", department="XFZD")
    today = dt.datetime.now(CHINA).date()
    body = {"date": today.isoformat(), "place": "现场",
            "attendees": {"ZJJ": ["甲"], "XFZD": ["乙"], "ZRZYJ": ["丙"]}}
    assert (await client.post(f"/api/v1/cases/{case['id']}/survey", json=body, headers=bearer(officer))
            ).status_code == 200
    open_steps = await SupervisedStep.filter(case_id=case["id"], closed_at__isnull=True)
    assert {s.paused_at is not None for s in open_steps} == {True}
    assert (await services.tick(moment(today + dt.timedelta(days=200)))).alerts == 0
    for department in ("ZJJ", "XFZD", "ZRZYJ"):
        who = officer if department == "XFZD" else await staff_tokens(client, "officer", department=department)
        r = await client.post(f"/api/v1/cases/{case['id']}/survey/findings",
                              json={"department": department, "findings": "符合"}, headers=bearer(who))
        assert r.status_code == 200, r.text
    assert {s.paused_at for s in await SupervisedStep.filter(case_id=case["id"], closed_at__isnull=True)} == {None}
    assert (await sub_act(client, officer, case["id"], "XFZD", "start-review")).status_code == 200
    assert (await sub_act(client, approver, case["id"], "XFZD", "approve")).status_code == 200
    assert await SupervisedStep.filter(case_id=case["id"], step="department_review",
                                       closed_at__isnull=False).values_list("department_code", flat=True) == ["XFZD"]


async def test_the_case_view_checks_its_audit_chain_and_the_exchange_shape(client: AsyncClient,
                                                                          app: Litestar) -> None:
    _, case, _ = await accepted_case(client, app)
    review = await SupervisedStep.get(case_id=case["id"], step="review")
    await services.tick(moment(review.due_date))
    supervisor = await staff_tokens(client, "supervisor")
    r = await client.get(f"{SUPERVISION}/cases/{case['id']}", headers=bearer(supervisor))
    assert r.status_code == 200, r.text
    view = r.json()
    assert [s["step"] for s in view["steps"]] == ["accept", "review"]
    assert [a["level"] for a in view["alerts"]] == ["warning"]
    assert [e["action"] for e in view["audit"]] == ["case.submit", "case.accept", "case.start_review", "case.claim"]
    assert view["audit_chain_intact"] is True and {(e["hash_ok"], e["link_ok"]) for e in view["audit"]} == {
        (True, True)}

    # An entry changed in the database is named (its own hash no longer matches).
    entry = await AuditEntry.get(action="case.claim", target_code=case["number"])
    await AuditEntry.filter(id=entry.id).update(actor="staff:0")
    view = (await client.get(f"{SUPERVISION}/cases/{case['id']}", headers=bearer(supervisor))).json()
    assert view["audit_chain_intact"] is False
    assert [(e["action"], e["hash_ok"]) for e in view["audit"] if not e["hash_ok"]] == [("case.claim", False)]
    await AuditEntry.filter(id=entry.id).update(actor=entry.actor)

    r = await client.get(f"{SUPERVISION}/cases/{case['id']}/exchange", headers=bearer(supervisor))
    assert r.status_code == 200
    record = r.json()
    assert record["办件编号"] == case["number"] and record["办件状态代码"] == "8"  # 部门受理
    assert [(s["环节名称"], s["业务动作"], s["办件状态代码"], s["环节办理状态代码"]) for s in record["事项办理"]] == [
        ("提交申请", "通过", "1", "2"), ("受理", "通过", "3", "2"), ("开始审查", "通过", "8", "2"),
        ("审查决定", "其他", "", "1")]
    [warning] = record["电子监察"]
    assert set(warning) == {"办件编号", "督办内容", "机构名称", "事项类型代码", "督办发出时间", "监察编号",
                            "监察规则编号", "监察预警类型代码", "状态产生时间", "监察结果描述", "责任部门"}
    assert (warning["监察规则编号"], warning["监察预警类型代码"]) == ("YJ01", "1")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    assert (await client.get(f"{SUPERVISION}/cases/{case['id']}", headers=bearer(officer))).status_code == 403


async def test_supervisors_list_count_and_stream_alerts(client: AsyncClient, app: Litestar) -> None:
    _, case, officer = await accepted_case(client, app)
    supervisor = await staff_tokens(client, "supervisor")
    start = (await client.get(f"{SUPERVISION}/alerts", params={"limit": 1}, headers=bearer(supervisor))).json()
    after = start["items"][0]["id"] if start["items"] else 0
    review = await SupervisedStep.get(case_id=case["id"], step="review")
    calendar = await current_calendar()
    await services.tick(moment(add_working_days(calendar, review.due_date, 1)))

    r = await client.get(f"{SUPERVISION}/alerts", params={"case_id": case["id"], "level": "red"},
                         headers=bearer(supervisor))
    assert [(a["level"], a["cause_name"], a["case_number"]) for a in r.json()["items"]] == [
        ("red", "超过法定时限", case["number"])]
    r = await client.get(f"{SUPERVISION}/alerts", params={"person": await subject(client, officer),
                                                          "status": "open", "case_id": case["id"]},
                         headers=bearer(supervisor))
    assert sorted(a["level"] for a in r.json()["items"]) == ["red", "warning", "yellow"]
    r = await client.get(f"{SUPERVISION}/alerts", params={"level": "purple"}, headers=bearer(supervisor))
    assert r.status_code == 422 and r.json()["field"] == "level"
    page = await client.get(f"{SUPERVISION}/alerts", params={"case_id": case["id"], "limit": 2},
                            headers=bearer(supervisor))
    rest = await client.get(f"{SUPERVISION}/alerts", params={"case_id": case["id"], "limit": 2,
                                                             "cursor": page.json()["next_cursor"]},
                            headers=bearer(supervisor))
    assert len(page.json()["items"]) == 2 and len(rest.json()["items"]) == 1
    counts = (await client.get(f"{SUPERVISION}/alerts/counts", headers=bearer(supervisor))).json()
    mine = next(c for c in counts if c["department"] == "SCJGJ")
    assert mine["red"] >= 1 and mine["total"] == mine["warning"] + mine["yellow"] + mine["red"]

    # The live stream: every alert after the one named, as events; a reconnect resumes after Last-Event-ID.
    r = await client.get(f"{SUPERVISION}/alerts/stream", params={"after": after}, headers=bearer(supervisor))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [block for block in r.text.split("\r\n\r\n") if "event: alert" in block]
    assert len(events) == 3 and "retry: 3000" in r.text
    last = events[-1].split("id: ")[1].split("\r\n")[0]
    r = await client.get(f"{SUPERVISION}/alerts/stream", headers={**bearer(supervisor), "Last-Event-ID": last})
    assert "event: alert" not in r.text
