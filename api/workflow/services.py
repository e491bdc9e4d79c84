"""The one write path for a change of a case: ``apply``.

It locks the case within the caller's scope (someone else's case, another window's or another
department's, does not exist for them), checks the version the caller saw, checks the move against
the transition table (``states.decide``) and the action's fields, runs the action's own effect
(numbering for a submission, the clock for acceptance, suspension and corrections, the checklist for
a one-time notice), and writes the case, its timeline event, the audit entry and the applicant's
notification outbox row (``notifications.case_changed``) in ONE transaction. A retry with the same
Idempotency-Key returns the first answer and writes nothing. Nobody else writes ``CaseEvent``, case
audit or outbox rows (the joint case's sub-cases and survey have theirs in ``joint``).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.fields import JSONField
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.cases import services as cases
from api.cases import versions
from api.cases.models import ATTACHED, Case, CaseEvent, CaseMaterial
from api.catalog.flows import flow_of
from api.catalog.services import load_version
from api.core.errors import Conflict, NotFound, RuleViolation
from api.identity.principal import Principal
from api.notifications import services as notifications
from api.supervision import services as supervision
from api.workflow import deadlines, delivery, parallel, queues, states, tolerated
from api.workflow.calendar_services import current_calendar
from api.workflow.models import SubCase

#: 行政许可法 §32: a correction notice within 5 (working) days of submission, or the case counts as accepted.
NOTICE_DAYS = 5
#: Days for delivering a decision (the default flow's deliver step).
DELIVER_DAYS = 1


@dataclass(frozen=True, slots=True)
class Move:
    """What an action's effect needs besides the case."""

    principal: Principal
    action: str
    at: dt.datetime
    calendar: deadlines.Calendar  # China's, with the administrators' overrides
    fields: dict[str, Any]
    idempotency_key: str | None
    secret: str


@dataclass(frozen=True, slots=True)
class Applied:
    case: Case
    replayed: bool  # the same move was made before (a retry): nothing was written


class StaleVersion(Conflict):
    def __init__(self, seen: int, now: int) -> None:
        super().__init__("办件已被他人处理，请刷新", f"case is at version {now}, not {seen}", "version")


class OutsideChecklist(RuleViolation):
    """A correction notice naming a material that is not on the case's checklist (一单载明: nothing
    outside it may be demanded). Recorded as an attempted irregularity even though nothing changes."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"补正材料只能从本办件的材料清单中选择，清单中没有：{'、'.join(codes)}",
                         f"not on this case's checklist: {', '.join(codes)}", "materials")
        self.codes = codes


#: An action's own work inside the transaction, before the state changes; returns what the audit
#: entry records beyond the new state.
Effect = Callable[[BaseDBAsyncClient, Case, Move], Awaitable[dict[str, Any]]]


def _day(at: dt.datetime) -> dt.date:
    return deadlines.china_day(at)


def _resume_clock(case: Case, move: Move) -> int:
    """Restart a stopped clock: the working days it stood still are added to the case and to its due date."""
    if case.paused_at is None:
        return 0
    stopped = max(0, deadlines.working_days_between(move.calendar, _day(case.paused_at), _day(move.at)))
    case.paused_days += stopped
    case.paused_at = None
    return stopped


async def _submit(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    owed = await tolerated.promised(conn, case, move.fields.get("tolerated") or [], move.fields.get("promise"))
    await cases.number_submission(conn, case, move.principal, move.idempotency_key or "", move.secret, move.at,
                                  excused=frozenset(m["code"] for m in owed))
    case.due_date = deadlines.add_working_days(move.calendar, _day(move.at), NOTICE_DAYS)  # the §32 deadline
    extra: dict[str, Any] = {"id": case.id, "item_code": case.item_code, "submitted_at": move.at}
    if owed:  # 容缺: what was promised, in the applicant's own words as signed (the event keeps them too)
        case.owed = owed
        move.fields["promise"] = extra["promise"] = tolerated.promise_text(owed, await tolerated.deadline_days(
            conn, case))
        move.fields["tolerated"] = [m["code"] for m in owed]
    else:
        move.fields.pop("tolerated", None)
        move.fields.pop("promise", None)
    return extra


async def _accept(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    case.accepted_at, case.claimed_by = move.at, None
    case.due_date = deadlines.due_date(move.at, case.promised_limit, case.promised_limit_unit, move.calendar)
    return {"due_date": case.due_date, **await _start_makeup(conn, case, move)}


async def _deem_accepted(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    """Accepted as of the day the notice period ended (not the day the platform noticed)."""
    assert case.due_date is not None
    deemed = dt.datetime.combine(case.due_date, dt.time(), tzinfo=deadlines.CHINA)
    case.accepted_at, case.claimed_by = deemed, None
    case.due_date = deadlines.due_date(deemed, case.promised_limit, case.promised_limit_unit, move.calendar)
    return {"deemed_on": deemed.date(), "due_date": case.due_date, **await _start_makeup(conn, case, move)}


async def _start_makeup(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    """容缺受理: the make-up deadline starts at acceptance; the timeline's entry (and the acceptance
    notice drawn from it) names what is owed and by when."""
    started = await tolerated.start_makeup(conn, case, move.calendar)
    if started:
        assert case.makeup_due is not None
        move.fields.update(owed=case.owed, makeup_due=case.makeup_due.isoformat())
    return started


async def _make_up(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    return {"materials": await tolerated.make_up(conn, case)}


async def _terminate(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    """容缺 materials not made up by their day: the case ends (off every queue, nothing waits)."""
    owed = [m["code"] for m in case.owed]
    case.due_date, case.claimed_by, case.paused_at = None, None, None
    return {"materials": owed, "makeup_due": case.makeup_due}


async def _fan_out(conn: BaseDBAsyncClient, case: Case, move: Move) -> list[str]:
    """并联审批: a case whose item version names joint departments opens one sub-case per involved
    department at acceptance (in its transaction), each due after its flow steps' working days;
    the parent is in review at once. [] for a case of one department."""
    joint = await versions.facts(case.item_version_id, conn)  # type: ignore[attr-defined]
    if joint is None or not joint.joint_departments:  # (kept in memory: no query on most acceptances)
        return []
    found = await load_version(case.item_version_id, conn)  # type: ignore[attr-defined]
    if found is None:
        return []
    doc = found[0]
    involved = parallel.departments(case.department_code, doc.joint_departments)
    assert case.accepted_at is not None
    due = deadlines.add_working_days(move.calendar, _day(case.accepted_at),
                                     parallel.department_days(flow_of(doc, case.situation_code)))
    await SubCase.bulk_create([SubCase(case_id=case.id, department_code=d, state=states.ACCEPTED, due_date=due)
                               for d in involved], using_db=conn)
    case.state = states.IN_REVIEW
    return involved


class JointDecides(Conflict):
    """The parent of a joint case is not approved, denied or suspended by hand: the join decides."""

    def __init__(self, action: str) -> None:
        what = states.ACTION_NAMES.get(action, action)
        super().__init__(f"并联审批办件由各部门分别审批，全部部门办结后自动作出决定，不能直接{what}",
                         f"{action} is decided by the joint departments on a joint case", "state")


class NotImplementingDepartment(states.ActionForbidden):
    def __init__(self, action: str, state: str, role: str) -> None:
        super().__init__(action, state, role)
        self.message = "并联审批部门只能办理本部门的审查，这个操作由实施部门办理"


async def _decide(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    case.decided_at, case.claimed_by = move.at, None
    case.due_date = (None if move.action == "refuse"
                     else deadlines.add_working_days(move.calendar, _day(move.at), DELIVER_DAYS))
    return {}


async def _request_correction(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    listed = {m.code: m.name for m in await cases.materials_of(case, conn)}
    wanted = move.fields["materials"]
    outside = [m["code"] for m in wanted if m["code"] not in listed]
    if outside:
        raise OutsideChecklist(outside)
    if case.corrections >= 1 and not move.fields.get("reason"):
        raise RuleViolation("这个办件已经发过一次补正通知，再次要求补正必须写明理由", "a second notice needs a reason",
                            "reason")
    for m in wanted:
        m["name"] = listed[m["code"]]
    case.corrections += 1
    case.paused_at, case.due_date, case.claimed_by = move.at, None, None
    return {"materials": [m["code"] for m in wanted], "notice": case.corrections}


async def _resupply(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    notice = await cases.correction_notice(case, conn)
    fixed = {m.code for m in await CaseMaterial.filter(case_id=case.id, status=ATTACHED).using_db(conn)
             if notice is None or (m.attached_at is not None and m.attached_at >= notice.at)}
    missing = [m for m in (notice.data or {}).get("materials", []) if m["code"] not in fixed] if notice else []
    if missing:
        names = "、".join(f"「{m['name']}」" for m in missing)
        raise RuleViolation(f"还有 {len(missing)} 份需补正的材料没有重新上传：{names}",
                            f"{len(missing)} material(s) of the notice not uploaded again", missing[0]["code"],
                            problems=[{"field": m["code"], "message": f"请重新上传「{m['name']}」",
                                       "detail": m["problem"]} for m in missing])
    stopped = _resume_clock(case, move)
    case.due_date = deadlines.add_working_days(move.calendar, _day(move.at), NOTICE_DAYS)
    return {"stopped_days": stopped}


async def _extend(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    days = move.fields["days"]
    if case.extended_days:
        raise Conflict("这个办件已经延长过一次期限，不能再次延长", "already extended once", "days")
    room = case.legal_limit - case.promised_limit if case.legal_limit_unit == case.promised_limit_unit else 0
    if days > room:
        raise RuleViolation(f"延长后不能超过法定期限：最多还能延长 {max(room, 0)} 个工作日",
                            f"at most {max(room, 0)} days within the legal limit", "days")
    case.extended_days = days
    if case.due_date is not None:
        case.due_date = deadlines.add_working_days(move.calendar, case.due_date, days)
    return {"days": days, "due_date": case.due_date}


async def _suspend(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    case.paused_at = move.at
    return {"procedure": move.fields["procedure"]}


async def _resume(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    stopped = _resume_clock(case, move)
    if case.due_date is not None:
        case.due_date = deadlines.add_working_days(move.calendar, case.due_date, stopped)
    return {"stopped_days": stopped, "due_date": case.due_date}


async def _deliver(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    sent = delivery.check_delivery(move.fields)
    case.due_date, case.claimed_by = None, None
    case.delivery_method, case.delivery_carrier = sent["method"], sent["carrier"]
    case.delivery_tracking_number, case.delivered_at = sent["tracking_number"], move.at
    return {k: v for k, v in sent.items() if v is not None}


async def _withdraw(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    # Nothing waits for anyone any more: off every queue (the queues order by due date).
    case.due_date, case.claimed_by = None, None
    return {}


async def _claim(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    who = move.principal.subject
    if move.action == "claim":
        if case.claimed_by not in (None, who):
            raise Conflict("这个办件已被他人认领", f"claimed by {case.claimed_by}", "claimed_by")
        case.claimed_by = who
    else:
        if case.claimed_by not in (None, who):
            raise Conflict("只有认领人可以放回这个办件", f"claimed by {case.claimed_by}", "claimed_by")
        case.claimed_by = None
    return {"claimed_by": case.claimed_by}


async def _nothing(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    return {}


EFFECTS: dict[str, Effect] = {
    "submit": _submit, "accept": _accept, "deem_accepted": _deem_accepted, "refuse": _decide, "approve": _decide,
    "deny": _decide,
    "request_correction": _request_correction, "resupply": _resupply, "suspend": _suspend, "resume": _resume,
    "extend": _extend, "deliver": _deliver, "claim": _claim, "release": _claim, "withdraw": _withdraw,
    "start_review": _nothing, "comment": _nothing, "make_up": _make_up, "terminate": _terminate,
}
#: Actions retried safely only with the same Idempotency-Key (the key is kept on the case).
KEYED = frozenset({"submit"})
#: Actions whose retry finds the case where the first attempt left it, and answers the same.
REPEATABLE = frozenset({"withdraw"})
#: Timeline entries staff write for each other; the applicant never sees them.
INTERNAL = frozenset({"comment", "claim", "release"})


def check_fields(rule: states.Rule, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The action's fields, checked: each required one present, of its kind, within its length."""
    clean: dict[str, Any] = {}
    for f in rule.fields:
        value = payload.get(f.name)
        if f.kind == "materials":
            clean[f.name] = _materials(value)
            continue
        if f.kind == "choice":
            if value not in f.choices:
                names = "、".join(delivery.METHODS.get(c, (c,))[0] for c in f.choices)
                raise RuleViolation(f"请选择「{FIELD_NAMES.get(f.name, f.name)}」：{names}",
                                    f"{f.name} must be one of {', '.join(f.choices)}", f.name)
            clean[f.name] = value
            continue
        if f.kind == "codes":
            clean[f.name] = _codes(f.name, value)
            continue
        if f.kind == "consent":
            if value is not None and not isinstance(value, bool):
                raise RuleViolation(f"「{FIELD_NAMES.get(f.name, f.name)}」应为是或否",
                                    f"{f.name} must be true or false", f.name)
            clean[f.name] = value is True
            continue
        if f.kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
                raise RuleViolation(f"「{FIELD_NAMES.get(f.name, f.name)}」应为 1 到 365 之间的整数",
                                    f"{f.name} must be an integer from 1 to 365", f.name)
            clean[f.name] = value
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required:
                raise RuleViolation(f"请填写「{FIELD_NAMES.get(f.name, f.name)}」", f"{f.name} is required", f.name)
            continue
        if not isinstance(value, str) or len(value) > f.max_length:
            raise RuleViolation(f"「{FIELD_NAMES.get(f.name, f.name)}」最多 {f.max_length} 字",
                                f"{f.name} must be text of at most {f.max_length} characters", f.name)
        clean[f.name] = value.strip()
    return clean


FIELD_NAMES = {"days": "延长天数", "reason": "理由", "text": "意见", "procedure": "特别程序", "opinion": "审批意见",
               "findings": "特别程序结论", "materials": "需补正的材料", "method": "送达方式", "carrier": "快递公司",
               "tracking_number": "运单号", "tolerated": "容缺材料", "promise": "容缺承诺"}


def _codes(name: str, value: Any) -> list[str]:
    """A list of material codes (each once, in the order given); absent: none."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 100 or not all(
            isinstance(c, str) and 0 < len(c) <= 64 for c in value):
        raise RuleViolation(f"「{FIELD_NAMES.get(name, name)}」应为材料编号的列表",
                            f"{name} must be a list of material codes", name)
    return list(dict.fromkeys(value))


def _materials(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise RuleViolation("一次性告知须列出全部需补正的材料及问题", "materials must list every material to fix",
                            "materials")
    seen: dict[str, dict[str, str]] = {}
    for m in value:
        code = m.get("code") if isinstance(m, dict) else None
        problem = m.get("problem") if isinstance(m, dict) else None
        if not isinstance(code, str) or not code or len(code) > 64:
            raise RuleViolation("每项补正材料都要有材料编号", "each material needs its code", "materials")
        if not isinstance(problem, str) or not problem.strip() or len(problem) > 500:
            raise RuleViolation(f"请写明材料「{code}」的问题（500 字以内）", f"material {code} needs its problem",
                                "materials")
        seen[code] = {"code": code, "problem": problem.strip()}
    return list(seen.values())


async def _replayed(conn: BaseDBAsyncClient, case: Case, action: str, key: str | None) -> bool:
    if action in KEYED:
        return case.state != states.DRAFT and bool(key) and case.idempotency_key == key
    if key and await CaseEvent.filter(case_id=case.id, idempotency_key=key).using_db(conn).exists():
        return True
    return action in REPEATABLE and case.state in states.targets(action)


async def apply(
    principal: Principal, case_id: int, action: str, *, payload: Mapping[str, Any] | None = None,
    version: int | None = None, idempotency_key: str | None = None, secret: str = "",
    now: dt.datetime | None = None, actor: str | None = None,
) -> Applied:
    """Make ``action`` happen to the case, or raise why not: NotFound outside the caller's scope,
    StaleVersion, TransitionRefused / ActionForbidden, a field missing, or the effect's own refusal
    (missing materials, a reused key, a notice outside the checklist …). ``actor`` names who really
    acted when it is not the principal (a clerk submitting a walk-in application for the applicant)."""
    if action in KEYED or idempotency_key is not None:
        cases.check_idempotency_key(idempotency_key)
    at = now or dt.datetime.now(dt.UTC)
    calendar = await current_calendar()
    try:
        async with in_transaction() as conn:
            case = await cases.visible_case(principal, case_id, conn, lock=True)
            if await _replayed(conn, case, action, idempotency_key):
                return Applied(case, True)
            if version is not None and version != case.version:
                raise StaleVersion(version, case.version)
            rule = states.decide(case.state, action, principal.role, case_facts(case))
            subs = (await SubCase.filter(case_id=case.id).using_db(conn).values_list("department_code", "state")
                    if case.accepted_at is not None else [])
            if subs:
                _check_joint(principal, case, action)
            waiting = [d for d, s in subs if s not in parallel.SUB_DECIDED]
            queued = queues.memberships(case, waiting)
            move = Move(principal, action, at, calendar, check_fields(rule, payload or {}), idempotency_key, secret)
            before = case.state
            seen = _columns(case)
            extra = await EFFECTS.get(action, _nothing)(conn, case, move)
            if rule.to_state is not None:
                case.state = rule.to_state
            data = move.fields or None
            if action in ("accept", "deem_accepted") and (involved := await _fan_out(conn, case, move)):
                extra["departments"] = involved
                data = {**(data or {}), "departments": involved}
                waiting = involved
            case.version += 1
            await case.save(using_db=conn, update_fields=_changed(case, seen))
            await CaseEvent.create(
                case_id=case.id, at=at, action=action, actor=actor or principal.subject, from_state=before,
                to_state=case.state, data=data, internal=action in INTERNAL,
                idempotency_key=None if action in KEYED else idempotency_key, using_db=conn)
            await queues.recount(conn, case.id, queued, queues.memberships(case, waiting))
            # The dispatchers are woken after the commit (notifications.wake says why).
            told = await notifications.case_changed(conn, case, action, actor=actor or principal.subject, at=at,
                                                    details={**extra, **(data or {})}, notify=False)
            # Its steps for 电子监察. A case without sub-cases before this move, and none opened by
            # it, has none: track need not look them up.
            await supervision.track(conn, case, at=at, calendar=calendar, joint=None if subs or waiting else False)
            # The audit entry last: from here to the commit the chain's head row is locked, and
            # every other writer of that chain waits for it.
            await record(conn, actor or principal.subject, f"case.{action}", "case", case.number or str(case.id),
                         before={"state": before}, after={"state": case.state, **extra})
        if told is not None:
            await notifications.wake()
        return Applied(case, False)
    except IntegrityError:
        if action in KEYED:  # the same key raced onto two cases of this applicant
            raise cases.key_reused() from None
        raise
    except RuleViolation as exc:
        attempt = _attempt(action, exc)
        if attempt is None:
            raise
        async with in_transaction() as conn:  # the refusal rolled back; the attempt is kept, for supervision
            number = await Case.filter(id=case_id).using_db(conn).first().values_list("number", flat=True)
            await record(conn, principal.subject, attempt[0], "case", str(number or case_id), after=attempt[1])
        raise


#: The case's columns (the key aside), and those holding JSON (compared by value: copied when seen).
_COLUMNS = tuple(f for f in Case._meta.fields_db_projection if f != Case._meta.pk_attr)
_JSON_COLUMNS = frozenset(f for f in _COLUMNS if isinstance(Case._meta.fields_map[f], JSONField))


def _columns(case: Case) -> dict[str, Any]:
    return {f: copy.deepcopy(getattr(case, f)) if f in _JSON_COLUMNS else getattr(case, f) for f in _COLUMNS}


def _changed(case: Case, seen: dict[str, Any]) -> list[str]:
    """The columns a move changed, and ``updated_at`` (set on every save): what the UPDATE writes.
    The row is locked since it was read, so the columns left out hold what ``seen`` says."""
    return [f for f in _COLUMNS if f == "updated_at" or getattr(case, f) != seen[f]]


def _attempt(action: str, exc: RuleViolation) -> tuple[str, dict[str, Any]] | None:
    """The audit entry of a refused move that supervision counts as an attempted irregularity: a
    correction notice outside the checklist, a refusal or denial without its reason."""
    if isinstance(exc, OutsideChecklist):
        return "case.irregular_correction", {"materials": exc.codes}
    if action in ("refuse", "deny") and exc.field == "reason":
        return "case.irregular_refusal", {"action": action}
    return None


def _check_joint(principal: Principal, case: Case, action: str) -> None:
    """A joint case's parent: the join decides it, and a joint department only comments on it."""
    implementing = principal.role not in ("officer", "approver") or principal.department == case.department_code
    if action in parallel.PARENT_BLOCKED:
        raise JointDecides(action)
    if not parallel.parent_actions([action], joint=True, implementing=implementing):
        raise NotImplementingDepartment(action, case.state, principal.role)


#: The platform acting by itself (scheduled rules); sees every case, as its rules need.
SYSTEM = Principal("system", 0, "system", "", "", "", dt.datetime.max.replace(tzinfo=dt.UTC))


async def deem_overdue_accepted(now: dt.datetime | None = None) -> int:
    """行政许可法 §32: a case whose window sent no correction notice within the period counts as
    accepted on the day it ended. Run by the maintenance rounds; safe to run twice or in parallel
    (each case is moved under its lock, and one already moved is left alone)."""
    today = deadlines.china_day(now or dt.datetime.now(dt.UTC))
    ids = await Case.filter(state=states.SUBMITTED, due_date__lt=today).order_by("id").values_list("id", flat=True)
    moved = 0
    for case_id in ids:
        try:
            await apply(SYSTEM, int(case_id), "deem_accepted", now=now)  # type: ignore[arg-type]
        except (states.TransitionRefused, NotFound):  # moved meanwhile by a clerk (or another process)
            continue
        moved += 1
    return moved


async def end_overdue_tolerated(now: dt.datetime | None = None) -> int:
    """容缺受理: a case whose promised materials were not made up by their day ends (terminated).
    Run by the maintenance rounds; safe to run twice or in parallel, as ``deem_overdue_accepted``."""
    today = deadlines.china_day(now or dt.datetime.now(dt.UTC))
    ids = await Case.filter(makeup_due__lt=today, state__in=[states.ACCEPTED, states.IN_REVIEW, states.SUSPENDED]) \
        .order_by("id").values_list("id", flat=True)
    ended = 0
    for case_id in ids:
        try:
            await apply(SYSTEM, int(case_id), "terminate", now=now)  # type: ignore[arg-type]
        except (states.TransitionRefused, NotFound):  # made up, decided or withdrawn meanwhile
            continue
        ended += 1
    return ended


def case_actions(principal: Principal, case: Case, joint: bool) -> list[str]:
    """The actions a case's responses carry: the table's, less what the join does on a joint case."""
    implementing = principal.role not in ("officer", "approver") or principal.department == case.department_code
    used = states.used_actions(extended=bool(case.extended_days))
    return parallel.parent_actions(states.allowed_actions(case.state, principal.role, used, case_facts(case)),
                                   joint=joint, implementing=implementing)


def case_facts(case: Case) -> frozenset[str]:
    """The facts of the case the transition table's rules depend on (即办件, 容缺 owed)."""
    return states.case_facts(case_type=case.case_type, owing=bool(case.owed))


def actions_for(principal: Principal, case: Case, joint: bool = False) -> list[dict[str, Any]]:
    """What the caller may do now, with the fields each needs (the UI draws its buttons from it)."""
    out = []
    for action in case_actions(principal, case, joint):
        rule = states.rule_for(case.state, action)
        assert rule is not None
        out.append({
            "action": action, "name": states.ACTION_NAMES.get(action, action), "to_state": rule.to_state,
            "fields": [{"name": f.name, "kind": f.kind, "required": f.required and not (
                f.name == "reason" and action == "request_correction" and case.corrections == 0),
                **({"choices": [{"value": c, "name": delivery.METHODS.get(c, (c, c))[0],
                                 "name_en": delivery.METHODS.get(c, (c, c))[1]} for c in f.choices]}
                   if f.choices else {})}
                for f in rule.fields],
        })
    return out
