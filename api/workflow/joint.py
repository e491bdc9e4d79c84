"""并联审批's writes: a department's move on its sub-case (``apply_sub``), the one joint site survey
(``schedule_survey``, ``record_findings``), and what a joint case's departments look like (``joint_of``).

Like ``services.apply`` (the one write path of a case), each locks the parent case within the
caller's scope first (the order every writer of the case takes, so two never deadlock), then the
sub-case or survey, checks the version and the pure rules of ``parallel``, and writes the change,
a timeline event on the parent and the audit entry in ONE transaction. The last department's
decision joins the parent in the same transaction (``parallel.join``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.cases import services as cases
from api.cases.models import Case, CaseEvent
from api.core.errors import Conflict, Forbidden, NotFound, RuleViolation
from api.identity.principal import Principal
from api.notifications import services as notifications
from api.supervision import services as supervision
from api.workflow import deadlines, parallel, queues, states
from api.workflow.calendar_services import current_calendar
from api.workflow.models import SiteSurvey, SubCase
from api.workflow.services import DELIVER_DAYS, StaleVersion, check_fields

MAX_NAMES = 20  # attendees per department
MAX_NAME = 50
MAX_PLACE = 200
MAX_FINDINGS = 2000
DEPARTMENT_ROLES = frozenset({"officer", "approver"})


@dataclass(frozen=True, slots=True)
class Joint:
    case: Case
    subs: list[SubCase]
    survey: SiteSurvey | None


class NotJoint(NotFound):
    def __init__(self, case_id: int) -> None:
        super().__init__("这个办件不是并联审批办件", f"case {case_id} has no joint departments", "department")


class OtherDepartment(Forbidden):
    def __init__(self, department: str) -> None:
        super().__init__("只有该部门的人员可以办理本部门的审查", f"only staff of {department} act for it", "department")


class SurveyScheduled(Conflict):
    def __init__(self) -> None:
        super().__init__("这个办件已经安排过联合踏勘，一个办件只踏勘一次", "the joint survey was scheduled already",
                         "survey")


class SurveyOpen(Conflict):
    def __init__(self, waiting: list[str]) -> None:
        super().__init__(f"联合踏勘尚未结束（等待{'、'.join(waiting)}的踏勘意见），暂不能作出审批决定",
                         f"the joint site survey is open; findings missing from {', '.join(waiting)}", "survey")


def _day(at: dt.datetime) -> dt.date:
    return deadlines.china_day(at)


async def _subs(conn: BaseDBAsyncClient, case: Case, *, lock: bool = False) -> list[SubCase]:
    query = SubCase.filter(case_id=case.id).order_by("id")
    return list(await (query.select_for_update() if lock else query).using_db(conn))


async def _survey(conn: BaseDBAsyncClient, case: Case, *, lock: bool = False) -> SiteSurvey | None:
    query = SiteSurvey.filter(case_id=case.id)
    return await (query.select_for_update() if lock else query).using_db(conn).first()


def _waiting(subs: list[SubCase], survey: SiteSurvey) -> list[str]:
    return [s.department_code for s in subs if s.department_code not in (survey.findings or {})]


def _own_department(principal: Principal, department: str) -> None:
    if principal.role not in DEPARTMENT_ROLES or principal.department != department:
        raise OtherDepartment(department)


def _in_review(case: Case, action: str) -> None:
    if case.state != states.IN_REVIEW:
        raise states.TransitionRefused(action, case.state, [])


async def _event(conn: BaseDBAsyncClient, case: Case, at: dt.datetime, action: str, actor: str, before: str,
                 data: dict[str, Any]) -> None:
    await CaseEvent.create(case_id=case.id, at=at, action=action, actor=actor, from_state=before,
                           to_state=case.state, data=data, using_db=conn)


async def joint_of(principal: Principal, case_id: int) -> Joint:
    """A joint case's departments and survey, for whoever may see the case (404 for a case of one department)."""
    async with in_transaction() as conn:
        case = await cases.visible_case(principal, case_id, conn)
        subs = await _subs(conn, case)
        if not subs:
            raise NotJoint(case_id)
        return Joint(case, subs, await _survey(conn, case))


def sub_actions_for(principal: Principal, sub: SubCase, survey: SiteSurvey | None, case: Case) -> list[str]:
    """What the caller may do on one department's sub-case now (their own department's only)."""
    if principal.role not in DEPARTMENT_ROLES or principal.department != sub.department_code:
        return []
    if case.state != states.IN_REVIEW:
        return []
    survey_open = survey is not None and survey.closed_at is None
    offered = parallel.sub_actions(sub.state, principal.role, survey_open=survey_open)
    return [a for a in offered if not (a == "approve" and case.owed)]  # 容缺: not while materials are owed


async def apply_sub(
    principal: Principal, case_id: int, department: str, action: str, *, payload: Mapping[str, Any] | None = None,
    version: int | None = None, now: dt.datetime | None = None,
) -> Joint:
    """A department's move on its sub-case (start_review, approve, deny), or why not; the last
    decision decides the parent (approved when all approved, denied with every reason otherwise)."""
    at = now or dt.datetime.now(dt.UTC)
    calendar = await current_calendar()
    async with in_transaction() as conn:
        case = await cases.visible_case(principal, case_id, conn, lock=True)
        subs = await _subs(conn, case, lock=True)
        sub = next((s for s in subs if s.department_code == department), None)
        if sub is None:
            raise NotFound("这个办件没有这个审批部门", f"no sub-case of {department} on case {case_id}", "department")
        _own_department(principal, department)
        if version is not None and version != sub.version:
            raise StaleVersion(version, sub.version)
        rule = parallel.decide_sub(sub.state, action, principal.role)
        _in_review(case, action)
        if action == "approve" and case.owed:
            raise states.FactBars(action, states.OWING)
        fields = check_fields(rule, payload or {})
        survey = await _survey(conn, case)
        if action in parallel.DECISIONS and survey is not None and survey.closed_at is None:
            raise SurveyOpen(_waiting(subs, survey))
        queued = queues.memberships(case, _undecided(subs))
        sub_before = sub.state
        assert rule.to_state is not None
        sub.state, sub.version = rule.to_state, sub.version + 1
        if action in parallel.DECISIONS:
            sub.decided_at, sub.due_date, sub.claimed_by = at, None, None
            sub.reason, sub.opinion = fields.get("reason", ""), fields.get("opinion", "")
        await sub.save(using_db=conn)
        case.version += 1
        await _event(conn, case, at, f"sub_{action}", principal.subject, case.state,
                     {"department": department, **fields})
        joined = parallel.join(parallel.SubState(s.department_code, s.state, s.reason) for s in subs)
        before = case.state
        if joined.decision is not None:
            _join(case, at, calendar, joined)
        await case.save(using_db=conn)
        # The counts before the audit entries: every writer locks the counts, then the chain's head.
        await queues.recount(conn, case.id, queued, queues.memberships(case, _undecided(subs)))
        await record(conn, principal.subject, f"case.sub_{action}", "case", case.number or str(case.id),
                     before={"department": department, "state": sub_before},
                     after={"department": department, "state": sub.state})
        if joined.decision is not None:
            await _joined(conn, case, at, before, joined)
        await supervision.track(conn, case, at=at, calendar=calendar)  # the departments' steps for 电子监察
        return Joint(case, subs, survey)


def _undecided(subs: list[SubCase]) -> list[str]:
    return [s.department_code for s in subs if s.state not in parallel.SUB_DECIDED]


def _join(case: Case, at: dt.datetime, calendar: deadlines.Calendar, joined: parallel.Joined) -> None:
    """The parent decided by its departments, as ``services._decide`` decides a case: due for delivery."""
    assert joined.decision is not None
    case.state = joined.decision
    case.decided_at, case.claimed_by = at, None
    case.due_date = deadlines.add_working_days(calendar, _day(at), DELIVER_DAYS)


async def _joined(conn: BaseDBAsyncClient, case: Case, at: dt.datetime, before: str, joined: parallel.Joined) -> None:
    """The parent's decision on its timeline and in the audit trail."""
    action = "approve" if joined.decision == states.APPROVED else "deny"
    data: dict[str, Any] = {"joint": True}
    if joined.reasons:  # the denial voucher states ``reason``: every department's, each named
        data["reason"] = "；".join(f"{d}：{r}" for d, r in joined.reasons.items())
        data["reasons"] = joined.reasons
    await _event(conn, case, at, action, "system", before, data)
    await record(conn, "system", f"case.{action}", "case", case.number or str(case.id), before={"state": before},
                 after={"state": case.state, "joint": True, "reasons": joined.reasons, "due_date": case.due_date})
    await notifications.case_changed(conn, case, action, actor="system", at=at, details=data)


def _attendees(value: Any, involved: list[str]) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise RuleViolation("请按部门列出参加踏勘的人员", "attendees must map departments to names", "attendees")
    unknown = [d for d in value if d not in involved]
    if unknown:
        raise RuleViolation(f"这些部门不是本办件的审批部门：{'、'.join(map(str, unknown))}",
                            f"not involved: {', '.join(map(str, unknown))}", "attendees")
    out: dict[str, list[str]] = {}
    problems = []
    for d in involved:
        names = value.get(d)
        if (not isinstance(names, list) or not names or len(names) > MAX_NAMES
                or not all(isinstance(n, str) and n.strip() and len(n) <= MAX_NAME for n in names)):
            problems.append({"field": d, "message": f"请列出{d}参加踏勘的人员（1 到 {MAX_NAMES} 人）",
                             "detail": f"attendees of {d} missing or invalid"})
            continue
        out[d] = [n.strip() for n in names]
    if problems:
        raise RuleViolation("联合踏勘须由每个审批部门派员参加", "every involved department attends", "attendees",
                            problems=problems)
    return out


async def schedule_survey(
    principal: Principal, case_id: int, *, on: dt.date, place: str, attendees: Any, now: dt.datetime | None = None,
) -> Joint:
    """The one joint site survey (一次踏勘) for every involved department: the parent's clock stops
    once, until every department has recorded its findings. A second one is a conflict."""
    at = now or dt.datetime.now(dt.UTC)
    place = (place or "").strip()
    if not place or len(place) > MAX_PLACE:
        raise RuleViolation(f"请填写踏勘地点（{MAX_PLACE} 字以内）", "place is required", "place")
    try:
        async with in_transaction() as conn:
            case = await cases.visible_case(principal, case_id, conn, lock=True)
            subs = await _subs(conn, case, lock=True)
            if not subs:
                raise NotJoint(case_id)
            involved = [s.department_code for s in subs]
            if principal.role not in DEPARTMENT_ROLES or principal.department not in involved:
                raise OtherDepartment("、".join(involved))
            if await _survey(conn, case) is not None:
                raise SurveyScheduled
            _in_review(case, "survey_scheduled")
            decided = [s.department_code for s in subs if s.state in parallel.SUB_DECIDED]
            if decided:
                raise Conflict(f"{'、'.join(decided)}已作出审批决定，不能再安排联合踏勘",
                               f"already decided: {', '.join(decided)}", "survey")
            if on < _day(at):
                raise RuleViolation("踏勘日期不能早于今天", "the survey date is in the past", "date")
            people = _attendees(attendees, involved)
            survey = await SiteSurvey.create(case_id=case.id, scheduled_on=on, place=place, attendees=people,
                                             findings={}, scheduled_by=principal.subject, scheduled_at=at,
                                             using_db=conn)
            case.paused_at = at  # the clock stops once for every department (see the README: 并联审批)
            case.version += 1
            await case.save(using_db=conn)
            await supervision.track(conn, case, at=at)  # every department's clock stops for 电子监察 too
            await _event(conn, case, at, "survey_scheduled", principal.subject, case.state,
                         {"date": on.isoformat(), "place": place, "attendees": people})
            await record(conn, principal.subject, "case.survey_scheduled", "case", case.number or str(case.id),
                         after={"date": on, "place": place, "departments": involved})
            await notifications.case_changed(conn, case, "survey_scheduled", actor=principal.subject, at=at,
                                             details={"date": on, "place": place})
            return Joint(case, subs, survey)
    except IntegrityError:  # two officers scheduling at once: the unique case answers the second
        raise SurveyScheduled from None


async def record_findings(
    principal: Principal, case_id: int, *, department: str, findings: str, now: dt.datetime | None = None,
) -> Joint:
    """One department's findings of the joint survey; the last one closes it and restarts the clock
    once: the stopped working days are added to the parent and to every undecided sub-case."""
    at = now or dt.datetime.now(dt.UTC)
    text = (findings or "").strip()
    if not text or len(text) > MAX_FINDINGS:
        raise RuleViolation(f"请填写踏勘意见（{MAX_FINDINGS} 字以内）", "findings are required", "findings")
    calendar = await current_calendar()
    async with in_transaction() as conn:
        case = await cases.visible_case(principal, case_id, conn, lock=True)
        subs = await _subs(conn, case, lock=True)
        if not subs:
            raise NotJoint(case_id)
        if department not in [s.department_code for s in subs]:
            raise NotFound("这个办件没有这个审批部门", f"no sub-case of {department} on case {case_id}", "department")
        _own_department(principal, department)
        survey = await _survey(conn, case, lock=True)
        if survey is None:
            raise Conflict("这个办件还没有安排联合踏勘", "no joint survey scheduled", "survey")
        if survey.closed_at is not None or department in (survey.findings or {}):
            raise Conflict(f"{department}的踏勘意见已经记录过了", f"findings of {department} recorded already",
                           "department")
        survey.findings = {**(survey.findings or {}), department: text}
        case.version += 1
        await _event(conn, case, at, "survey_findings", principal.subject, case.state,
                     {"department": department, "findings": text})
        await record(conn, principal.subject, "case.survey_findings", "case", case.number or str(case.id),
                     after={"department": department})
        if not _waiting(subs, survey):
            survey.closed_at = at
            stopped = 0
            if case.paused_at is not None:
                stopped = max(0, deadlines.working_days_between(calendar, _day(case.paused_at), _day(at)))
                case.paused_days += stopped
                case.paused_at = None
            if case.due_date is not None:
                case.due_date = deadlines.add_working_days(calendar, case.due_date, stopped)
            for s in subs:
                if s.state not in parallel.SUB_DECIDED and s.due_date is not None:
                    s.due_date = deadlines.add_working_days(calendar, s.due_date, stopped)
                    await s.save(using_db=conn, update_fields=["due_date"])
            await _event(conn, case, at, "survey_closed", "system", case.state, {"stopped_days": stopped})
            await record(conn, "system", "case.survey_closed", "case", case.number or str(case.id),
                         after={"stopped_days": stopped, "due_date": case.due_date})
        await survey.save(using_db=conn)
        await case.save(using_db=conn)
        await supervision.track(conn, case, at=at, calendar=calendar)  # the clocks restart for 电子监察
        return Joint(case, subs, survey)
