"""HTTP for supervision (监察员), the departments' side of supervision orders, the statistics
(监察员 and 管理员) and the thresholds (管理员). Thin: parse, call one service, shape the answer."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.core.db import is_database_unavailable
from api.core.errors import InvalidInput
from api.identity.guards import require_roles
from api.identity.principal import Principal
from api.supervision import orders, rules, services, statistics, views
from api.supervision.models import Accountability, Irregularity, SupervisionAlert, SupervisionOrder
from api.supervision.schemas import (
    AccountabilityIn,
    AccountabilityOut,
    AccountabilityPage,
    AlertCount,
    AlertOut,
    AlertPage,
    AuditEntryOut,
    CaseSupervisionOut,
    EvidenceOut,
    FiguresOut,
    FiguresRow,
    IrregularityOut,
    IrregularityPage,
    OrderCloseIn,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderResponseIn,
    PersonOut,
    StepOut,
    ThresholdsOut,
)
from api.workflow.deadlines import CHINA
from api.workflow.states import STATE_NAMES

log = logging.getLogger("zhengwu.supervision")

SUPERVISORS = {"roles": ["supervisor"]}
READERS = {"roles": ["admin", "supervisor"]}
ADMINS = {"roles": ["admin"]}
DEPARTMENTS = {"roles": ["approver", "officer"]}
STREAM_POLL = 1.0  # seconds between looks for new alerts
STREAM_PING = 15.0  # a comment line this often keeps proxies from closing a quiet stream
STREAM_RETRY_MS = 3000

AnyRequest = Request[Principal, Any, State]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=20)]
Code = Annotated[str | None, QueryParameter(max_length=64)]


def _before(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidInput("分页参数无效，请从第一页重新开始", "invalid cursor", "cursor")
    return int(cursor)


def _next(rows: list[Any], limit: int) -> str | None:
    return str(rows[-1].id) if len(rows) == limit and rows else None


def alert_out(a: SupervisionAlert) -> AlertOut:
    return AlertOut(
        id=a.id, level=a.level, level_name=rules.LEVEL_NAMES.get(a.level, a.level), cause=a.cause,
        cause_name=rules.CAUSES.get(a.cause, a.cause), case_id=a.case_id, case_number=a.case_number,  # type: ignore[attr-defined]
        item_code=a.item_code, item_name=a.item_name, step=a.step, step_name=rules.STEP_NAMES.get(a.step, a.step),
        order_id=a.order_id, department=a.department_code, holder=a.holder, due_date=a.due_date,
        raised_at=a.raised_at, resolved_at=a.resolved_at)


def irregularity_out(i: Irregularity) -> IrregularityOut:
    rule, name = rules.IRREGULARITIES.get(i.kind, ("", i.kind))
    return IrregularityOut(
        id=i.id, kind=i.kind, name=name, rule=rule, case_id=i.case_id, case_number=i.case_number,  # type: ignore[attr-defined]
        item_code=i.item_code, department=i.department_code, person=i.person, at=i.at,
        evidence=[msgspec.convert(e, EvidenceOut) for e in i.evidence or []], detail=dict(i.detail or {}),
        found_at=i.found_at)


def order_out(o: SupervisionOrder) -> OrderOut:
    return OrderOut(
        id=o.id, case_id=o.case_id, alert_id=o.alert_id, department=o.department_code,  # type: ignore[attr-defined]
        instructions=o.instructions, days=o.days, due_date=o.due_date, state=o.state,
        state_name=orders.ORDER_STATES.get(o.state, o.state), red=o.red_at is not None, opened_by=o.opened_by,
        opened_at=o.opened_at, explanation=o.explanation, action_taken=o.action_taken, responded_by=o.responded_by,
        responded_at=o.responded_at, conclusion=o.conclusion, closed_at=o.closed_at)


def accountability_out(a: Accountability) -> AccountabilityOut:
    return AccountabilityOut(
        id=a.id, person=a.person, person_name=a.person_name, department=a.department_code, finding=a.finding,
        measure=a.measure, measure_name=orders.MEASURES.get(a.measure, a.measure), decided_on=a.decided_on,
        case_id=a.case_id, order_id=a.order_id, alerts=list(a.alerts or []),
        irregularities=list(a.irregularities or []), evidence=list(a.evidence or []), recorded_by=a.recorded_by,
        recorded_at=a.recorded_at)


def thresholds_out(t: rules.Thresholds) -> ThresholdsOut:
    return ThresholdsOut(**msgspec.to_builtins(t), names=rules.FIELD_NAMES)


def _alert_event(a: SupervisionAlert) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=msgspec.json.encode(alert_out(a)).decode(), event="alert", id=a.id)


async def alert_stream(after: int, seconds: float) -> AsyncIterator[ServerSentEventMessage]:
    """New alerts as they are raised (by any worker), for ``seconds``; then the browser's EventSource
    reconnects with Last-Event-ID and the stream goes on from there."""
    yield ServerSentEventMessage(data=None, comment="zhengwu alerts", retry=STREAM_RETRY_MS)
    end = time.monotonic() + seconds
    pinged = time.monotonic()
    while time.monotonic() < end:
        try:
            found = await views.alerts_after(after)
        except Exception as exc:  # the response has started: end it, the client reconnects
            if not is_database_unavailable(exc):
                log.exception("alert stream failed")
            return
        for a in found:
            after = a.id
            yield _alert_event(a)
        if time.monotonic() - pinged >= STREAM_PING:
            pinged = time.monotonic()
            yield ServerSentEventMessage(data=None, comment="ping")
        await asyncio.sleep(max(0.0, min(STREAM_POLL, end - time.monotonic())))


class SupervisionController(Controller):
    path = "/api/v1/supervision"
    tags = ["supervision"]
    guards = [require_roles]
    opt = SUPERVISORS

    @get("/alerts", summary="Warnings and alarms, newest first (filters: level, department, item, person, status)")
    async def alerts(
        self, level: Annotated[str | None, QueryParameter(max_length=8)] = None, department: Code = None,
        item: Code = None, person: Annotated[str | None, QueryParameter(max_length=40)] = None,
        status: Annotated[str | None, QueryParameter(max_length=10)] = None,
        case_id: Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)] = None, limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AlertPage:
        rows = await views.alerts(views.AlertFilters(level, department, item, person, status, case_id), limit=limit,
                                  before_id=_before(cursor))
        return AlertPage(items=[alert_out(a) for a in rows], next_cursor=_next(rows, limit))

    @get("/alerts/counts", summary="Alerts per department and level (filters as for the list)")
    async def alert_counts(
        self, level: Annotated[str | None, QueryParameter(max_length=8)] = None, item: Code = None,
        status: Annotated[str | None, QueryParameter(max_length=10)] = "open",
    ) -> list[AlertCount]:
        counts = await views.alert_counts(views.AlertFilters(level=level, item=item, status=status))
        return [msgspec.convert(c, AlertCount) for c in counts]

    @get("/alerts/stream", summary="New alerts as Server-Sent Events (event 'alert'; resumes after Last-Event-ID)")
    async def alert_stream(
        self, state: State,
        last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID", max_length=20)] = None,
        after: Annotated[int | None, QueryParameter(ge=0, le=2**63 - 1)] = None,
    ) -> ServerSentEvent:
        start = after
        if last_event_id is not None:
            start = _before(last_event_id.strip())
        if start is None:
            start = await views.latest_alert_id()  # from now on
        return ServerSentEvent(alert_stream(start, state.settings.alert_stream_seconds),
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @get("/irregularities", summary="Irregularities found in the audit trail, each with its evidence")
    async def irregularities(
        self, kind: Annotated[str | None, QueryParameter(max_length=32)] = None, department: Code = None,
        person: Annotated[str | None, QueryParameter(max_length=40)] = None,
        case_id: Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)] = None, limit: Limit = 50,
        cursor: Cursor = None,
    ) -> IrregularityPage:
        rows = await views.irregularities(views.IrregularityFilters(kind, department, person, case_id), limit=limit,
                                          before_id=_before(cursor))
        return IrregularityPage(items=[irregularity_out(i) for i in rows], next_cursor=_next(rows, limit))

    @get("/orders", summary="Supervision orders (督办), newest first")
    async def orders(
        self, state_: Annotated[str | None, QueryParameter(name="state", max_length=12)] = None,
        department: Code = None, case_id: Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)] = None,
        red: FromQuery[bool | None] = None, limit: Limit = 50, cursor: Cursor = None,
    ) -> OrderPage:
        rows = await orders.orders(orders.OrderFilters(state_, department, case_id, red), limit=limit,
                                   before_id=_before(cursor))
        return OrderPage(items=[order_out(o) for o in rows], next_cursor=_next(rows, limit))

    @post("/orders", status_code=201, summary="Open a supervision order on a case or an alert (instructions, "
                                              "deadline in working days)")
    async def open_order(self, request: AnyRequest, data: JSONBody[OrderIn]) -> OrderOut:
        order = await orders.open_order(request.user, case_id=data.case_id, alert_id=data.alert_id,
                                        instructions=data.instructions, days=data.days)
        return order_out(order)

    @get("/orders/{id:int}", summary="One supervision order")
    async def order(self, id: FromPath[int]) -> OrderOut:
        return order_out(await orders.get_order(id))

    @post("/orders/{id:int}/close", status_code=200, summary="Close an answered order with a conclusion")
    async def close_order(self, request: AnyRequest, id: FromPath[int], data: JSONBody[OrderCloseIn]) -> OrderOut:
        return order_out(await orders.close(request.user, id, conclusion=data.conclusion))

    @get("/accountability", summary="Accountability records (问责), newest first")
    async def accountability(
        self, person: Annotated[str | None, QueryParameter(max_length=40)] = None, limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AccountabilityPage:
        query = Accountability.all()
        if person:
            query = query.filter(person=person)
        if (before := _before(cursor)) is not None:
            query = query.filter(id__lt=before)
        rows = list(await query.order_by("-id").limit(limit))
        return AccountabilityPage(items=[accountability_out(a) for a in rows], next_cursor=_next(rows, limit))

    @post("/accountability", status_code=201, summary="Record accountability: person, finding, measure, date, "
                                                      "linked alerts, irregularities and audit entries")
    async def record_accountability(self, request: AnyRequest, data: JSONBody[AccountabilityIn]) -> AccountabilityOut:
        row = await orders.record_accountability(
            request.user, person=data.person, finding=data.finding, measure=data.measure,
            decided_on=data.decided_on or dt.datetime.now(CHINA).date(), alerts=data.alerts,
            irregularities=data.irregularities, evidence=data.evidence, case_id=data.case_id, order_id=data.order_id)
        return accountability_out(row)

    @get("/people/{id:int}", summary="A staff member's supervision record: alerts held, irregularities, accountability")
    async def person(self, id: FromPath[int]) -> PersonOut:
        found = await views.person_record(id)
        s = found.staff
        return PersonOut(id=s.id, username=s.username, name=s.name, role=s.role, department=s.department,
                         alerts=[alert_out(a) for a in found.alerts],
                         irregularities=[irregularity_out(i) for i in found.irregularities],
                         accountability=[accountability_out(a) for a in found.accountability])

    @get("/cases/{id:int}", summary="A case's supervision view: steps with limits and times, alerts, "
                                   "irregularities, orders, its audit trail with each entry checked")
    async def case(self, request: AnyRequest, id: FromPath[int]) -> CaseSupervisionOut:
        v = await views.case_view(request.user, id)
        c = v.case
        return CaseSupervisionOut(
            case_id=c.id, number=c.number, item_code=c.item_code, item_name=c.item_name, state=c.state,
            state_name=STATE_NAMES.get(c.state, ""), department=c.department_code, due_date=c.due_date,
            clock_paused=c.paused_at is not None,
            steps=[StepOut(id=s.id, step=s.step, step_name=rules.STEP_NAMES.get(s.step, s.step),
                           department=s.department_code, holder=s.holder, started_at=s.started_at,
                           limit_days=s.limit_days, due_date=s.due_date, legal_due_date=s.legal_due_date,
                           clock_paused=s.paused_at is not None, warning_at=s.warning_at, yellow_at=s.yellow_at,
                           red_at=s.red_at, next_check_at=s.next_check_at, closed_at=s.closed_at) for s in v.steps],
            alerts=[alert_out(a) for a in v.alerts], irregularities=[irregularity_out(i) for i in v.irregularities],
            orders=[order_out(o) for o in v.orders],
            audit=[AuditEntryOut(id=e.entry.id, seq=e.entry.seq, at=e.entry.at, actor=e.entry.actor, role=e.entry.role,
                                 action=e.entry.action, before=e.entry.before, after=e.entry.after, hash=e.entry.hash,
                                 prev_hash=e.entry.prev_hash, hash_ok=e.hash_ok, link_ok=e.link_ok) for e in v.audit],
            audit_chain_intact=v.chain_intact,
        )

    @get("/cases/{id:int}/exchange", summary="The case's process steps and supervision record in the field shape "
                                            "of GB/T 39046 (T7 事项办理, T11 电子监察), states as vendor codes")
    async def exchange(self, request: AnyRequest, id: FromPath[int]) -> dict[str, Any]:
        return await views.exchange(request.user, id)


class DepartmentOrderController(Controller):
    """A department's supervision orders: its officers and approvers read and answer them."""

    path = "/api/v1/workbench/supervision-orders"
    tags = ["supervision"]
    guards = [require_roles]
    opt = DEPARTMENTS

    @get("/", summary="My department's supervision orders, newest first")
    async def list_orders(
        self, request: AnyRequest, state_: Annotated[str | None, QueryParameter(name="state", max_length=12)] = None,
        limit: Limit = 50, cursor: Cursor = None,
    ) -> OrderPage:
        rows = await orders.orders(orders.OrderFilters(state_, request.user.department or "-"), limit=limit,
                                   before_id=_before(cursor))
        return OrderPage(items=[order_out(o) for o in rows], next_cursor=_next(rows, limit))

    @get("/{id:int}", summary="One of my department's supervision orders")
    async def one(self, request: AnyRequest, id: FromPath[int]) -> OrderOut:
        return order_out(await orders.department_order(request.user, id))

    @post("/{id:int}/response", status_code=200, summary="Answer a supervision order (explanation, action taken)")
    async def respond(self, request: AnyRequest, id: FromPath[int], data: JSONBody[OrderResponseIn]) -> OrderOut:
        return order_out(await orders.respond(request.user, id, explanation=data.explanation,
                                              action_taken=data.action_taken))


class AdminSupervisionController(Controller):
    path = "/api/v1/admin/supervision"
    tags = ["admin"]
    guards = [require_roles]
    opt = ADMINS

    @get("/thresholds", opt=READERS, summary="The supervision thresholds (预警/报警 rules' numbers)")
    async def get_thresholds(self) -> ThresholdsOut:
        return thresholds_out(await services.thresholds())

    @put("/thresholds", summary="Replace the thresholds (omitted ones take their defaults); 422 naming each "
                                "value that makes no sense")
    async def put_thresholds(self, request: AnyRequest, data: JSONBody[dict[str, Any]]) -> ThresholdsOut:
        return thresholds_out(await services.set_thresholds(request.user.subject, data))


FromDay = Annotated[dt.date | None, QueryParameter(name="from")]
ToDay = Annotated[dt.date | None, QueryParameter(name="to")]
By = Annotated[str, QueryParameter(max_length=12)]


def _query(start: dt.date | None, end: dt.date | None, by: str, department: str | None, item: str | None,
           window: str | None, region: str | None) -> statistics.Query:
    today = dt.datetime.now(CHINA).date()
    end = end or today
    return statistics.Query(start or end.replace(day=1), end, by, department, item, window, region)


class StatisticsController(Controller):
    path = "/api/v1/statistics"
    tags = ["statistics"]
    guards = [require_roles]
    opt = READERS

    @get("/figures", summary="Figures over a date range (from/to, this month by default) per department, item, "
                             "window, region, channel or day")
    async def figures(
        self, start: FromDay = None, end: ToDay = None, by: By = "department", department: Code = None,
        item: Code = None, window: Code = None, region: Annotated[str | None, QueryParameter(max_length=6)] = None,
    ) -> FiguresOut:
        q = _query(start, end, by, department, item, window, region)
        rows = await statistics.figures(q)
        return FiguresOut(start=q.start, end=q.end, by=q.by, rows=[msgspec.convert(r, FiguresRow) for r in rows])

    @get("/export.csv", media_type="text/csv", summary="The figures as CSV (UTF-8 with BOM, bilingual headers)")
    async def export_csv(
        self, start: FromDay = None, end: ToDay = None, by: By = "department", department: Code = None,
        item: Code = None, window: Code = None, region: Annotated[str | None, QueryParameter(max_length=6)] = None,
    ) -> Response[bytes]:
        q = _query(start, end, by, department, item, window, region)
        body = statistics.to_csv(await statistics.figures(q))
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="statistics-{q.start}-{q.end}.csv"'})

    @get("/export.xlsx", summary="The figures as an Excel workbook")
    async def export_xlsx(
        self, start: FromDay = None, end: ToDay = None, by: By = "department", department: Code = None,
        item: Code = None, window: Code = None, region: Annotated[str | None, QueryParameter(max_length=6)] = None,
    ) -> Response[bytes]:
        q = _query(start, end, by, department, item, window, region)
        body = statistics.to_xlsx(await statistics.figures(q), f"统计 {q.start} 至 {q.end}（按 {q.by}）")
        return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="statistics-{q.start}-{q.end}.xlsx"'})
