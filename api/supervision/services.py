"""Supervision's writes: the thresholds (admin), ``track`` (each open step's row, kept in the case's
own transaction), and ``tick`` (the worker's round over the steps whose next check has come).

How the work is found: every open step keeps ``next_check_at``, the start of the first day one of its
thresholds not raised yet can be reached (``rules.next_check_day``). ``tick`` claims the rows whose
moment has come — an indexed range, in batches, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that any
number of workers share them and none takes a row another holds — raises what is due, writes the
outbox rows, sets the next moment, and commits each batch. A worker killed mid-batch commits
nothing of it: the rows' moments have not moved, and the next tick (of any worker) takes them again.
An alert's ``key`` is unique (step and level), so nothing is raised twice whatever happens.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.audit.models import AuditEntry
from api.audit.services import record
from api.cases.models import Case, CaseEvent
from api.catalog import codes
from api.catalog.models import ServiceItemVersion
from api.core.errors import RuleViolation
from api.identity.models import Staff
from api.notifications import services as notifications
from api.supervision import rules
from api.supervision.models import Irregularity, SupervisedStep, SupervisionAlert, SupervisionConfig, SupervisionOrder
from api.workflow.calendar_services import current_calendar
from api.workflow.deadlines import Calendar, china_day, working_days_between
from api.workflow.models import SubCase

log = logging.getLogger("zhengwu.supervision")

CONFIG_ID = 1
BATCH = 500
KIND_NAMES = {k: v[0] for k, v in codes.SPECIAL_PROCEDURE_KINDS.items()}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- thresholds


async def thresholds(conn: BaseDBAsyncClient | None = None) -> rules.Thresholds:
    found = await SupervisionConfig.filter(id=CONFIG_ID).using_db(conn).values_list("values", flat=True)
    if not found:
        return rules.DEFAULTS
    known = {k: v for k, v in dict(found[0] or {}).items() if k in rules.Thresholds.__struct_fields__}
    return msgspec.convert(known, rules.Thresholds)


class BadThresholds(RuleViolation):
    def __init__(self, problems: Sequence[rules.Problem]) -> None:
        first = problems[0]
        super().__init__("监察阈值设置不合理：" + "；".join(p.message for p in problems), first.detail, first.field,
                         problems=[{"field": p.field, "message": p.message, "detail": p.detail} for p in problems])


def parse_thresholds(payload: Mapping[str, Any]) -> rules.Thresholds:
    """The thresholds in ``payload`` (missing ones keep their defaults), or BadThresholds naming each
    value that makes no sense."""
    unknown = [k for k in payload if k not in rules.Thresholds.__struct_fields__]
    if unknown:
        raise BadThresholds([rules.Problem(k, f"没有这个阈值：{k}", f"unknown threshold: {k}") for k in unknown])
    wrong = [k for k, v in payload.items()
             if (k == "working_hours" and not isinstance(v, str))
             or (k != "working_hours" and (isinstance(v, bool) or not isinstance(v, int)))]
    if wrong:
        kinds = {k: "文字" if k == "working_hours" else "整数" for k in wrong}
        raise BadThresholds([rules.Problem(k, f"「{rules.FIELD_NAMES[k]}」应为{kinds[k]}", f"{k} has the wrong type")
                             for k in wrong])
    values = msgspec.convert(dict(payload), rules.Thresholds)
    problems = rules.threshold_problems(values)
    if problems:
        raise BadThresholds(problems)
    return values


async def set_thresholds(actor: str, payload: Mapping[str, Any], now: dt.datetime | None = None) -> rules.Thresholds:
    """Save new thresholds (audited) and look at every open step again with them at the next tick."""
    values = parse_thresholds(payload)
    at = (now or _now()).astimezone(dt.UTC)
    async with in_transaction() as conn:
        before = await thresholds(conn)
        stored = msgspec.to_builtins(values)
        if not await SupervisionConfig.filter(id=CONFIG_ID).using_db(conn).update(
                values=stored, updated_at=at, updated_by=actor):
            await SupervisionConfig.create(id=CONFIG_ID, values=stored, updated_at=at, updated_by=actor,
                                           using_db=conn)
        await requeue(conn, at)
        await record(conn, actor, "supervision.thresholds", "supervision", "thresholds",
                     msgspec.to_builtins(before), stored)
    return values


async def requeue(conn: BaseDBAsyncClient | None, at: dt.datetime) -> int:
    """Every open step due for a look now (the thresholds or the calendar changed under them)."""
    return await SupervisedStep.filter(closed_at__isnull=True).using_db(conn).update(next_check_at=at)


# --------------------------------------------------------------------------- track (inside the case's transaction)


def _facts(case: Case) -> rules.CaseFacts:
    return rules.CaseFacts(
        state=case.state, department_code=case.department_code, claimed_by=case.claimed_by,
        submitted_at=case.submitted_at, accepted_at=case.accepted_at, decided_at=case.decided_at,
        due_date=case.due_date, paused_at=case.paused_at, paused_days=case.paused_days,
        promised_limit=case.promised_limit, extended_days=case.extended_days, legal_limit=case.legal_limit,
        legal_limit_unit=case.legal_limit_unit)


def step_of(row: SupervisedStep) -> rules.Step:
    raised = {level for level, at in ((rules.WARNING, row.warning_at), (rules.YELLOW, row.yellow_at),
                                      (rules.RED, row.red_at), ("overlong", row.overlong_at)) if at is not None}
    return rules.Step(row.step, row.limit_days, row.due_date, row.legal_due_date, row.paused_at, row.pause_limit,
                      frozenset(raised))


def _schedule(row: SupervisedStep, t: rules.Thresholds, calendar: Calendar, today: dt.date) -> None:
    row.next_check_at = rules.check_moment(rules.next_check_day(step_of(row), t, calendar, today))


async def _pause_limit(conn: BaseDBAsyncClient, case: Case, t: rules.Thresholds) -> int:
    """How long the case's current stop may last: its special procedure's limit in the item version."""
    if case.state == "suspended":
        data = await CaseEvent.filter(case_id=case.id, action="suspend").using_db(conn).order_by("-id").first() \
            .values_list("data", flat=True)
        procedure = str((data or {}).get("procedure") or "")
    else:  # the joint site survey (一次踏勘) stops a case in review
        procedure = "site_survey"
    found = await ServiceItemVersion.filter(id=case.item_version_id).using_db(conn) \
        .values_list("special_procedures", flat=True)  # type: ignore[attr-defined]
    return rules.allowed_suspension(procedure, (found[0] or []) if found else [], t.suspension_days, KIND_NAMES)


async def track(conn: BaseDBAsyncClient, case: Case, *, at: dt.datetime, calendar: Calendar | None = None,
                joint: bool | None = None) -> None:
    """Keep the case's step rows as its facts now say, in the caller's transaction: open the steps
    it has entered, close (and resolve the alerts of) those it has left, move due dates, holder and
    stopped clocks, and set each open step's next check. Called after every move of the case.
    ``joint=False``: the caller knows the case has no sub-cases (not looked up then)."""
    if case.state == "draft":
        return
    at = at.astimezone(dt.UTC)
    calendar = calendar or await current_calendar()
    subs: list[rules.SubFacts] = []
    if case.accepted_at is not None and joint is not False:
        start = china_day(case.accepted_at)
        for s in await SubCase.filter(case_id=case.id).using_db(conn).order_by("id"):
            days = working_days_between(calendar, start, s.due_date) if s.due_date else 0
            subs.append(rules.SubFacts(s.id, s.department_code, s.state, s.due_date, s.claimed_by, max(days, 0)))
    wanted = {(s.kind, s.sub_case_id): s for s in rules.open_steps(_facts(case), subs, calendar, at)}
    rows = await SupervisedStep.filter(case_id=case.id, closed_at__isnull=True).exclude(step=rules.ORDER) \
        .using_db(conn)
    existing = {(r.step, r.sub_case_id): r for r in rows}
    t = await thresholds(conn)
    today = china_day(at)
    for key, row in existing.items():
        if key not in wanted:
            await _close(conn, row, at)
    for key, spec in wanted.items():
        row = existing.get(key)
        if row is None:
            row = SupervisedStep(
                case_id=case.id, sub_case_id=spec.sub_case_id, step=spec.kind, case_number=case.number or "",
                item_code=case.item_code, item_name=case.item_name, window_category=case.window_category,
                started_at=spec.started_at)
        pause_limit = row.pause_limit
        if spec.paused_at is None:
            pause_limit = None
        elif spec.kind == rules.REVIEW and (pause_limit is None or row.paused_at != spec.paused_at):
            pause_limit = await _pause_limit(conn, case, t)
        if row.paused_at != spec.paused_at:
            row.overlong_at = None  # a new stop is judged afresh
        row.department_code, row.holder, row.limit_days = spec.department_code, spec.holder, spec.limit_days
        row.due_date, row.legal_due_date, row.paused_at = spec.due_date, spec.legal_due_date, spec.paused_at
        row.pause_limit, row.updated_at = pause_limit, at
        _schedule(row, t, calendar, today)
        await row.save(using_db=conn)


async def _close(conn: BaseDBAsyncClient, row: SupervisedStep, at: dt.datetime) -> None:
    row.closed_at, row.next_check_at, row.updated_at = at, None, at
    await row.save(using_db=conn, update_fields=["closed_at", "next_check_at", "updated_at"])
    await SupervisionAlert.filter(step_id=row.id, resolved_at__isnull=True).using_db(conn).update(resolved_at=at)


async def open_order_step(conn: BaseDBAsyncClient, order: SupervisionOrder, case: Case, at: dt.datetime,
                          calendar: Calendar) -> SupervisedStep:
    """The department's response to a supervision order, watched like a step (its deadline turns red)."""
    row = SupervisedStep(
        case_id=case.id, order_id=order.id, step=rules.ORDER, case_number=case.number or "", item_code=case.item_code,
        item_name=case.item_name, department_code=order.department_code, window_category=case.window_category,
        started_at=at, limit_days=order.days, due_date=order.due_date, updated_at=at)
    _schedule(row, await thresholds(conn), calendar, china_day(at))
    await row.save(using_db=conn)
    return row


async def close_order_step(conn: BaseDBAsyncClient, order_id: int, at: dt.datetime) -> None:
    for row in await SupervisedStep.filter(order_id=order_id, closed_at__isnull=True).using_db(conn):
        await _close(conn, row, at)


# --------------------------------------------------------------------------- tick (the worker's round)


@dataclass(slots=True)
class TickReport:
    claimed: int = 0
    alerts: int = 0
    notifications: int = 0
    irregularities: int = 0
    batches: int = 0
    seconds: float = 0.0
    step_ids: list[int] = field(default_factory=list)  # what this worker did (the benchmark checks overlap)

    def __str__(self) -> str:
        return (f"{self.claimed} steps looked at, {self.alerts} alerts raised, {self.notifications} notifications, "
                f"{self.irregularities} irregularities, {self.batches} batches in {self.seconds:.3f} s")


async def _claim(conn: BaseDBAsyncClient, now: dt.datetime, batch: int) -> list[SupervisedStep]:
    # FOR UPDATE SKIP LOCKED on PostgreSQL (ignored by SQLite, which has one worker): rows another
    # worker holds are passed over, not waited for.
    return list(await SupervisedStep.filter(next_check_at__lte=now).order_by("next_check_at", "id").limit(batch)
                .select_for_update(skip_locked=True).using_db(conn))


async def _heads(conn: BaseDBAsyncClient, departments: set[str], cache: dict[str, list[str]]) -> None:
    """The heads of each department (its approvers, who sign its decisions), for the notices."""
    missing = [d for d in departments if d not in cache]
    for d in missing:
        cache[d] = []
    if missing:
        for staff_id, department in await Staff.filter(role="approver", active=True, department__in=missing) \
                .using_db(conn).order_by("id").values_list("id", "department"):
            cache[str(department)].append(f"staff:{staff_id}")


def alert_data(row: SupervisedStep, level: str, cause: str) -> dict[str, Any]:
    return {"number": row.case_number, "item_name": row.item_name, "step": row.step,
            "step_name": rules.STEP_NAMES.get(row.step, row.step), "level": level,
            "level_name": rules.LEVEL_NAMES[level], "cause": cause, "cause_name": rules.CAUSES[cause],
            "department": row.department_code, "holder": row.holder,
            "due_date": (row.legal_due_date if cause == "legal_limit" else row.due_date).isoformat()
            if (row.legal_due_date if cause == "legal_limit" else row.due_date) else None}


async def _raise(conn: BaseDBAsyncClient, raised: list[tuple[SupervisedStep, str, str]], now: dt.datetime,
                 heads: dict[str, list[str]]) -> tuple[int, int]:
    """Insert the alerts (each key once) and tell the holder and the department's heads."""
    if not raised:
        return 0, 0
    keys = {f"step:{row.id}:{level}": (row, level, cause) for row, level, cause in raised}
    ids = await _insert_alerts(conn, keys, now)
    new = {k: v for k, v in keys.items() if k in ids}  # a key already there was raised before: nobody is told twice
    await _heads(conn, {row.department_code for row, _, _ in new.values()}, heads)
    told = []
    for k, (row, level, cause) in new.items():
        data = {**alert_data(row, level, cause), "alert_id": ids.get(k)}
        for recipient in dict.fromkeys([*([row.holder] if row.holder else []), *heads[row.department_code]]):
            told.append((f"alert.{level}", recipient, row.case_id, data, level == rules.RED))
    await notifications.enqueue_many(conn, told, at=now)
    return len(new), len(told)


_ALERT_COLUMNS = ("key", "level", "cause", "case_id", "case_number", "item_code", "item_name", "step_id", "step",
                  "order_id", "department_code", "holder", "due_date", "raised_at")
_ALERT_TYPES = ("text", "text", "text", "bigint", "text", "text", "text", "bigint", "text", "bigint", "text", "text",
                "date", "timestamptz")
_INSERT_ALERTS_PG = (
    f"INSERT INTO supervision_alert ({', '.join(_ALERT_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${n}::{t}[]" for n, t in enumerate(_ALERT_TYPES, start=1))
    + ") ON CONFLICT (key) DO NOTHING RETURNING id, key")


async def _insert_alerts(conn: BaseDBAsyncClient, keys: dict[str, tuple[SupervisedStep, str, str]],
                         now: dt.datetime) -> dict[str, int]:
    """The alerts whose key is new, inserted; {key: id} of those (a key already there is left alone)."""
    values = [(k, level, cause, row.case_id, row.case_number, row.item_code, row.item_name, row.id, row.step,
               row.order_id, row.department_code, row.holder,
               row.legal_due_date if cause == "legal_limit" else row.due_date, now)
              for k, (row, level, cause) in keys.items()]
    if conn.capabilities.dialect == "postgres":  # one round trip for the batch
        rows = await conn.execute_query_dict(_INSERT_ALERTS_PG, [list(col) for col in zip(*values, strict=True)])
        return {r["key"]: int(r["id"]) for r in rows}
    there = set(await SupervisionAlert.filter(key__in=list(keys)).using_db(conn).values_list("key", flat=True))
    await SupervisionAlert.bulk_create([SupervisionAlert(**dict(zip(_ALERT_COLUMNS, v, strict=True)))
                                        for v in values if v[0] not in there], using_db=conn)
    return dict(await SupervisionAlert.filter(key__in=[k for k in keys if k not in there]).using_db(conn)
                .values_list("key", "id"))


async def _overlong(conn: BaseDBAsyncClient, rows: list[SupervisedStep], now: dt.datetime) -> int:
    """A suspension outlasting what the item allows, still running: the irregularity, with the
    suspension's audit entry as its evidence."""
    found = 0
    for row in rows:
        started = await AuditEntry.filter(target_type="case", target_code=row.case_number,
                                          action__in=["case.suspend", "case.survey_scheduled"]) \
            .using_db(conn).order_by("-id").first()
        key = f"overlong_suspension:{row.case_id}:{started.id if started else row.id}"
        if await Irregularity.filter(key=key).using_db(conn).exists():
            continue
        await Irregularity.create(
            key=key, kind="overlong_suspension", case_id=row.case_id, case_number=row.case_number,
            item_code=row.item_code, department_code=row.department_code,
            person=started.actor if started is not None and started.actor.startswith("staff:") else None,
            at=now, evidence=evidence_of([started] if started else []),
            detail={"allowed_days": row.pause_limit, "ongoing": True}, found_at=now, using_db=conn)
        found += 1
    return found


def evidence_of(entries: Sequence[AuditEntry | rules.Entry]) -> list[dict[str, Any]]:
    """The audit entries an irregularity rests on, as it keeps them (enough to find and check each)."""
    return [{"id": e.id, "seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
             "hash": e.hash} for e in entries]


TICK_FIELDS = ["warning_at", "yellow_at", "red_at", "overlong_at", "next_check_at", "updated_at"]
# One statement for a batch (an ORM bulk_update builds a CASE per field and row: most of a tick's time).
_TICK_UPDATE_PG = (
    "UPDATE supervised_step AS s SET " + ", ".join(f"{f} = v.{f}" for f in TICK_FIELDS)
    + " FROM unnest($1::bigint[], " + ", ".join(f"${n}::timestamptz[]" for n in range(2, len(TICK_FIELDS) + 2))
    + ") AS v(id, " + ", ".join(TICK_FIELDS) + ") WHERE s.id = v.id")
_TICK_UPDATE_SQLITE = ("UPDATE supervised_step SET " + ", ".join(f"{f} = ?" for f in TICK_FIELDS)
                       + " WHERE id = ?")


async def _save_ticked(conn: BaseDBAsyncClient, rows: list[SupervisedStep]) -> None:
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query(_TICK_UPDATE_PG, [[r.id for r in rows],
                                                   *([getattr(r, f) for r in rows] for f in TICK_FIELDS)])
    else:
        await conn.execute_many(_TICK_UPDATE_SQLITE, [[*(getattr(r, f) for f in TICK_FIELDS), r.id] for r in rows])


async def tick(now: dt.datetime | None = None, *, batch: int = BATCH, record_ids: bool = False) -> TickReport:
    """Look at every step whose next check has come (see the module docstring), batch by batch."""
    started = time.perf_counter()
    now = (now or _now()).astimezone(dt.UTC)
    today = china_day(now)
    calendar = await current_calendar()
    t = await thresholds()
    report = TickReport()
    heads: dict[str, list[str]] = {}
    while True:
        async with in_transaction() as conn:
            rows = await _claim(conn, now, batch)
            if not rows:
                break
            raised: list[tuple[SupervisedStep, str, str]] = []
            overlong: list[SupervisedStep] = []
            red_orders: list[int] = []
            for row in rows:
                step = step_of(row)
                for level, cause in rules.due_levels(step, t, calendar, today):
                    raised.append((row, level, cause))
                    setattr(row, f"{level}_at", now)
                    if level == rules.RED and row.order_id is not None:
                        red_orders.append(row.order_id)
                if "overlong" not in step.raised and rules.overlong_suspension(step, calendar, today):
                    row.overlong_at = now
                    overlong.append(row)
                _schedule(row, t, calendar, today)
                if row.next_check_at is not None and row.next_check_at <= now:
                    row.next_check_at = rules.check_moment(today + dt.timedelta(days=1))  # never twice a day
                row.updated_at = now
            alerts, sent = await _raise(conn, raised, now, heads)
            report.irregularities += await _overlong(conn, overlong, now)
            if red_orders:
                await SupervisionOrder.filter(id__in=red_orders, red_at__isnull=True).using_db(conn).update(red_at=now)
            await _save_ticked(conn, rows)
        report.claimed += len(rows)
        report.alerts += alerts
        report.notifications += sent
        report.batches += 1
        if record_ids:
            report.step_ids += [r.id for r in rows]
        if len(rows) < batch:
            break
    report.seconds = time.perf_counter() - started
    return report


CALENDAR_JOB = "supervision.calendar"


async def follow_calendar(now: dt.datetime | None = None) -> bool:
    """When an administrator changed the working-day calendar since the last look, every open step
    is looked at again at the next tick (its thresholds' days may have moved). True when it did so."""
    from api.core.jobs import JobRun, xact_lock
    from api.workflow.models import CalendarRevision

    at = (now or _now()).astimezone(dt.UTC)
    async with in_transaction() as conn:
        stamps = await CalendarRevision.filter(id=1).using_db(conn).values_list("stamp", flat=True)
        stamp = stamps[0] if stamps else None
        state = await JobRun.filter(name=CALENDAR_JOB).using_db(conn).values_list("state", flat=True)
        seen = dict(state[0] or {}) if state else None
        if seen is not None and seen.get("stamp") == stamp:
            return False
        if not await xact_lock(conn, CALENDAR_JOB):
            return False
        await requeue(conn, at)
        if not await JobRun.filter(name=CALENDAR_JOB).using_db(conn).update(state={"stamp": stamp}, last_done_at=at):
            await JobRun.create(name=CALENDAR_JOB, state={"stamp": stamp}, last_done_at=at, using_db=conn)
        return True
