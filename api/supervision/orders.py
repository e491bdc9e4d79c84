"""Supervision orders (督办) and accountability (问责): the supervisor's side of supervision.

An order is opened on a case or on one of its alerts, with instructions and its own deadline in
working days; the department responds (explanation, action taken); the supervisor closes it. Its
deadline is watched like a step (``services.open_order_step``): a warning before it, and red when
still unanswered past it. An accountability record closes the loop: the person, the finding, the
measure, the date, and the alerts, irregularities and audit entries it rests on. Every change is
audited and told through the outbox in its own transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from api.audit.models import AuditEntry
from api.audit.services import record
from api.cases.models import Case
from api.cases.services import visible_case
from api.core.errors import Conflict, NotFound, RuleViolation
from api.identity.models import Staff
from api.identity.principal import Principal
from api.notifications import services as notifications
from api.supervision import services
from api.supervision.models import Accountability, Irregularity, SupervisionAlert, SupervisionOrder
from api.workflow.calendar_services import current_calendar
from api.workflow.deadlines import add_working_days, china_day

MEASURES = {"reminder_talk": "提醒谈话", "criticism": "批评教育", "public_criticism": "通报批评",
            "admonishment": "诫勉", "referral": "移送纪检监察"}
ORDER_STATES = {"open": "待答复", "responded": "已答复", "closed": "已办结"}
MAX_TEXT = 2000
MAX_ORDER_DAYS = 60
MAX_LINKS = 100
DEPARTMENT_ROLES = ("officer", "approver")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _text(value: str | None, field: str, name: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise RuleViolation(f"请填写「{name}」", f"{field} is required", field)
    if len(text) > MAX_TEXT:
        raise RuleViolation(f"「{name}」最多 {MAX_TEXT} 字", f"{field} must be at most {MAX_TEXT} characters", field)
    return text


def order_not_found(order_id: int) -> NotFound:
    return NotFound("没有找到这个督办单", f"supervision order not found: {order_id}")


async def _heads_and_holder(department: str, holder: str | None) -> list[str]:
    heads = [f"staff:{i}" for i in await Staff.filter(role="approver", active=True, department=department)
             .order_by("id").values_list("id", flat=True)]
    return list(dict.fromkeys([*([holder] if holder else []), *heads]))


async def open_order(principal: Principal, *, case_id: int | None = None, alert_id: int | None = None,
                     instructions: str, days: int | None = None, now: dt.datetime | None = None) -> SupervisionOrder:
    """A supervision order on a case (or one of its alerts): the department's deadline is ``days``
    working days from today (the configured default when not given)."""
    at = (now or _now()).astimezone(dt.UTC)
    text = _text(instructions, "instructions", "督办要求")
    alert = None
    if alert_id is not None:
        alert = await SupervisionAlert.get_or_none(id=alert_id)
        if alert is None:
            raise RuleViolation("没有找到这条预警报警", f"alert not found: {alert_id}", "alert_id")
        if case_id is not None and case_id != alert.case_id:
            raise RuleViolation("预警报警不属于这个办件", "the alert is of another case", "alert_id")
        case_id = alert.case_id
    if case_id is None:
        raise RuleViolation("请指定督办的办件或预警报警", "case_id or alert_id is required", "case_id")
    case = await visible_case(principal, case_id)
    if days is None:
        days = (await services.thresholds()).order_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_ORDER_DAYS:
        raise RuleViolation(f"督办期限应为 1 到 {MAX_ORDER_DAYS} 个工作日", f"days must be 1 to {MAX_ORDER_DAYS}",
                            "days")
    department = alert.department_code if alert is not None else case.department_code
    calendar = await current_calendar()
    due = add_working_days(calendar, china_day(at), days)
    async with in_transaction() as conn:
        order = await SupervisionOrder.create(
            case_id=case.id, alert_id=alert_id, department_code=department, instructions=text, days=days,
            due_date=due, opened_by=principal.subject, opened_at=at, using_db=conn)
        await services.open_order_step(conn, order, case, at, calendar)
        await record(conn, principal.subject, "supervision.order_open", "case", case.number or str(case.id),
                     after={"order": order.id, "department": department, "days": days, "due_date": due,
                            "alert": alert_id})
        data = {"order_id": order.id, "number": case.number, "item_name": case.item_name, "department": department,
                "instructions": text, "due_date": due.isoformat()}
        for recipient in await _heads_and_holder(department, alert.holder if alert is not None else case.claimed_by):
            await notifications.enqueue(conn, "supervision.order", recipient, case_id=case.id, data=data,
                                        urgent=True, at=at)
    return order


async def get_order(order_id: int) -> SupervisionOrder:
    order = await SupervisionOrder.get_or_none(id=order_id)
    if order is None:
        raise order_not_found(order_id)
    return order


async def department_order(principal: Principal, order_id: int) -> SupervisionOrder:
    """An order as its department's staff see it (another department's does not exist for them)."""
    order = await SupervisionOrder.get_or_none(id=order_id)
    if order is None or principal.role not in DEPARTMENT_ROLES or principal.department != order.department_code:
        raise order_not_found(order_id)
    return order


async def respond(principal: Principal, order_id: int, *, explanation: str, action_taken: str,
                  now: dt.datetime | None = None) -> SupervisionOrder:
    """The department's answer (once): the order's clock stops; the supervisor who opened it is told."""
    at = (now or _now()).astimezone(dt.UTC)
    why = _text(explanation, "explanation", "情况说明")
    done = _text(action_taken, "action_taken", "整改措施")
    await department_order(principal, order_id)
    async with in_transaction() as conn:
        order = await SupervisionOrder.filter(id=order_id).using_db(conn).select_for_update().first()
        assert order is not None
        if order.state != "open":
            raise Conflict(f"这个督办单{ORDER_STATES[order.state]}，不能再次答复", f"the order is {order.state}",
                           "state")
        order.state, order.explanation, order.action_taken = "responded", why, done
        order.responded_by, order.responded_at, order.version = principal.subject, at, order.version + 1
        await order.save(using_db=conn)
        await services.close_order_step(conn, order.id, at)
        number = await Case.filter(id=order.case_id).using_db(conn).first().values_list("number", flat=True)
        await record(conn, principal.subject, "supervision.order_response", "case", str(number or order.case_id),
                     after={"order": order.id, "late": china_day(at) > order.due_date})
        await notifications.enqueue(conn, "supervision.order_response", order.opened_by, case_id=order.case_id,
                                    data={"order_id": order.id, "number": number, "department": order.department_code},
                                    at=at)
    return order


async def close(principal: Principal, order_id: int, *, conclusion: str, now: dt.datetime | None = None
                ) -> SupervisionOrder:
    """The supervisor closes an answered order with a conclusion."""
    at = (now or _now()).astimezone(dt.UTC)
    text = _text(conclusion, "conclusion", "督办结论")
    async with in_transaction() as conn:
        order = await SupervisionOrder.filter(id=order_id).using_db(conn).select_for_update().first()
        if order is None:
            raise order_not_found(order_id)
        if order.state != "responded":
            raise Conflict(f"督办单{ORDER_STATES[order.state]}，只有已答复的督办单可以办结",
                           f"the order is {order.state}, not responded", "state")
        order.state, order.conclusion, order.closed_by, order.closed_at = "closed", text, principal.subject, at
        order.version += 1
        await order.save(using_db=conn)
        await SupervisionAlert.filter(order_id=order.id, resolved_at__isnull=True).using_db(conn).update(resolved_at=at)
        number = await Case.filter(id=order.case_id).using_db(conn).first().values_list("number", flat=True)
        await record(conn, principal.subject, "supervision.order_close", "case", str(number or order.case_id),
                     after={"order": order.id})
    return order


@dataclass(frozen=True, slots=True)
class OrderFilters:
    state: str | None = None
    department: str | None = None
    case_id: int | None = None
    red: bool | None = None


async def orders(filters: OrderFilters, *, limit: int, before_id: int | None = None) -> list[SupervisionOrder]:
    if filters.state is not None and filters.state not in ORDER_STATES:
        raise RuleViolation(f"督办单状态只能是 {'、'.join(ORDER_STATES)}", "unknown state", "state")
    query = SupervisionOrder.all()
    if filters.state:
        query = query.filter(state=filters.state)
    if filters.department:
        query = query.filter(department_code=filters.department)
    if filters.case_id is not None:
        query = query.filter(case_id=filters.case_id)
    if filters.red is not None:
        query = query.filter(red_at__isnull=not filters.red)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return list(await query.order_by("-id").limit(limit))


# --------------------------------------------------------------------------- accountability


async def _existing(model: Any, ids: Sequence[int], field: str, what: str) -> list[int]:
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_LINKS:
        raise RuleViolation(f"最多关联 {MAX_LINKS} 条{what}", f"at most {MAX_LINKS} {field}", field)
    found = set(await model.filter(id__in=ids).values_list("id", flat=True)) if ids else set()
    missing = [i for i in ids if i not in found]
    if missing:
        raise RuleViolation(f"没有找到这些{what}：{'、'.join(map(str, missing))}", f"{field} not found: {missing}",
                            field)
    return ids


async def record_accountability(
    principal: Principal, *, person: int, finding: str, measure: str, decided_on: dt.date,
    alerts: Sequence[int] = (), irregularities: Sequence[int] = (), evidence: Sequence[int] = (),
    case_id: int | None = None, order_id: int | None = None, now: dt.datetime | None = None,
) -> Accountability:
    at = (now or _now()).astimezone(dt.UTC)
    staff = await Staff.get_or_none(id=person)
    if staff is None:
        raise RuleViolation("没有找到被问责的工作人员", f"staff not found: {person}", "person")
    text = _text(finding, "finding", "问责事由")
    if measure not in MEASURES:
        raise RuleViolation(f"问责方式只能是：{'、'.join(MEASURES.values())}",
                            f"measure must be one of {', '.join(MEASURES)}", "measure")
    if decided_on > china_day(at):
        raise RuleViolation("问责日期不能晚于今天", "decided_on is in the future", "decided_on")
    alert_ids = await _existing(SupervisionAlert, alerts, "alerts", "预警报警")
    irregular_ids = await _existing(Irregularity, irregularities, "irregularities", "违规记录")
    entries = await _existing(AuditEntry, evidence, "evidence", "审计记录")
    if case_id is not None and not await Case.exists(id=case_id):
        raise RuleViolation("没有找到这个办件", f"case not found: {case_id}", "case_id")
    if order_id is not None and not await SupervisionOrder.exists(id=order_id):
        raise RuleViolation("没有找到这个督办单", f"order not found: {order_id}", "order_id")
    for found in await Irregularity.filter(id__in=irregular_ids).values_list("evidence", flat=True):
        entries += [int(e["id"]) for e in found or [] if int(e["id"]) not in entries]
    async with in_transaction() as conn:
        row = await Accountability.create(
            person=f"staff:{staff.id}", person_name=staff.name, department_code=staff.department, finding=text,
            measure=measure, decided_on=decided_on, case_id=case_id, order_id=order_id, alerts=alert_ids,
            irregularities=irregular_ids, evidence=entries, recorded_by=principal.subject, recorded_at=at,
            using_db=conn)
        await record(conn, principal.subject, "supervision.accountability", "staff", str(staff.id),
                     after={"accountability": row.id, "measure": measure, "decided_on": decided_on,
                            "alerts": alert_ids, "irregularities": irregular_ids})
    return row
