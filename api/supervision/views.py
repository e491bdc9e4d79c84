"""What supervisors read: alerts (filtered, counted per department, and new ones for the live
stream), irregularities, a case's full supervision view with its audit chain checked, a person's
record, and a case's exchange record in the field shape of GB/T 39046 (T7 事项办理, T11 电子监察)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from api.audit.chain import entry_hash
from api.audit.models import AuditEntry
from api.cases.models import Case, CaseEvent
from api.cases.services import visible_case
from api.catalog.models import Department, ServiceItemVersion
from api.core.errors import NotFound, RuleViolation
from api.identity.models import Staff
from api.identity.principal import Principal
from api.supervision import rules
from api.supervision.models import (
    Accountability,
    Irregularity,
    SupervisedStep,
    SupervisionAlert,
    SupervisionOrder,
)
from api.workflow import states
from api.workflow.deadlines import CHINA


@dataclass(frozen=True, slots=True)
class AlertFilters:
    level: str | None = None
    department: str | None = None
    item: str | None = None
    person: str | None = None  # "staff:3"
    status: str | None = None  # open | resolved
    case_id: int | None = None


def _check_alert_filters(f: AlertFilters) -> None:
    if f.level is not None and f.level not in rules.LEVELS:
        raise RuleViolation(f"级别只能是 {'、'.join(rules.LEVELS)}", "unknown level", "level")
    if f.status is not None and f.status not in ("open", "resolved"):
        raise RuleViolation("状态只能是 open 或 resolved", "status must be open or resolved", "status")


def _alert_query(f: AlertFilters) -> Any:
    _check_alert_filters(f)
    query = SupervisionAlert.all()
    if f.level:
        query = query.filter(level=f.level)
    if f.department:
        query = query.filter(department_code=f.department)
    if f.item:
        query = query.filter(item_code=f.item)
    if f.person:
        query = query.filter(holder=f.person)
    if f.status is not None:
        query = query.filter(resolved_at__isnull=f.status == "open")
    if f.case_id is not None:
        query = query.filter(case_id=f.case_id)
    return query


async def alerts(f: AlertFilters, *, limit: int, before_id: int | None = None) -> list[SupervisionAlert]:
    query = _alert_query(f)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return list(await query.order_by("-id").limit(limit))


async def alert_counts(f: AlertFilters) -> list[dict[str, Any]]:
    """Per department: how many alerts of each level (with the other filters)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(rules.LEVELS, 0))
    for department, level in await _alert_query(f).values_list("department_code", "level"):
        counts[str(department)][str(level)] += 1
    names = dict(await Department.filter(code__in=list(counts)).values_list("code", "name"))
    return [{"department": d, "department_name": str(names.get(d, "")), **c, "total": sum(c.values())}
            for d, c in sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))]


async def alerts_after(after_id: int, limit: int = 100) -> list[SupervisionAlert]:
    """Alerts raised after ``after_id``, oldest first (the live stream)."""
    return list(await SupervisionAlert.filter(id__gt=after_id).order_by("id").limit(limit))


async def latest_alert_id() -> int:
    found = await SupervisionAlert.all().order_by("-id").first().values_list("id", flat=True)
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class IrregularityFilters:
    kind: str | None = None
    department: str | None = None
    person: str | None = None
    case_id: int | None = None


async def irregularities(f: IrregularityFilters, *, limit: int, before_id: int | None = None) -> list[Irregularity]:
    if f.kind is not None and f.kind not in rules.IRREGULARITIES:
        raise RuleViolation("没有这种违规类型", f"unknown kind: {f.kind}", "kind")
    query = Irregularity.all()
    if f.kind:
        query = query.filter(kind=f.kind)
    if f.department:
        query = query.filter(department_code=f.department)
    if f.person:
        query = query.filter(person=f.person)
    if f.case_id is not None:
        query = query.filter(case_id=f.case_id)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return list(await query.order_by("-id").limit(limit))


# --------------------------------------------------------------------------- a case


@dataclass(frozen=True, slots=True)
class CheckedEntry:
    entry: AuditEntry
    hash_ok: bool  # the entry's hash is the hash of what it holds
    link_ok: bool  # its prev_hash is the hash of the entry before it in the chain


@dataclass(frozen=True, slots=True)
class CaseView:
    case: Case
    steps: list[SupervisedStep]
    alerts: list[SupervisionAlert]
    irregularities: list[Irregularity]
    orders: list[SupervisionOrder]
    audit: list[CheckedEntry]

    @property
    def chain_intact(self) -> bool:
        return all(e.hash_ok and e.link_ok for e in self.audit)


def _recomputed(e: AuditEntry) -> str | None:
    try:
        return entry_hash(seq=e.seq, at=e.at, actor=e.actor, role=e.role, action=e.action,
                          target_type=e.target_type, target_code=e.target_code, before=e.before, after=e.after,
                          client=e.client, prev_hash=e.prev_hash)
    except (ValueError, TypeError, OverflowError):  # a value edited in that no entry could hold
        return None


async def checked_entries(codes: list[str]) -> list[CheckedEntry]:
    """The case's audit entries, each checked: its own hash, and its link to its predecessor."""
    entries = list(await AuditEntry.filter(target_type="case", target_code__in=codes).order_by("id"))
    previous: dict[tuple[int, int], str] = {}
    for chain in {e.chain for e in entries}:  # each entry's predecessor in its own chain
        wanted = [e.seq - 1 for e in entries if e.chain == chain and e.seq > 1]
        previous.update(((chain, int(s)), str(h)) for s, h in await AuditEntry.filter(
            chain=chain, seq__in=wanted).values_list("seq", "hash"))
    out = []
    for e in entries:
        expected = "0" * 64 if e.seq == 1 else previous.get((e.chain, e.seq - 1))
        out.append(CheckedEntry(e, _recomputed(e) == e.hash, expected is not None and expected == e.prev_hash))
    return out


async def case_view(principal: Principal, case_id: int) -> CaseView:
    case = await visible_case(principal, case_id)
    codes = [c for c in (case.number, str(case.id)) if c]
    return CaseView(
        case=case,
        steps=list(await SupervisedStep.filter(case_id=case.id).order_by("id")),
        alerts=list(await SupervisionAlert.filter(case_id=case.id).order_by("id")),
        irregularities=list(await Irregularity.filter(case_id=case.id).order_by("id")),
        orders=list(await SupervisionOrder.filter(case_id=case.id).order_by("id")),
        audit=await checked_entries(codes),
    )


@dataclass(frozen=True, slots=True)
class PersonRecord:
    staff: Staff
    alerts: list[SupervisionAlert]
    irregularities: list[Irregularity]
    accountability: list[Accountability]


async def person_record(staff_id: int, limit: int = 200) -> PersonRecord:
    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise NotFound("没有找到这个工作人员", f"staff not found: {staff_id}")
    who = f"staff:{staff.id}"
    return PersonRecord(
        staff=staff,
        alerts=list(await SupervisionAlert.filter(holder=who).order_by("-id").limit(limit)),
        irregularities=list(await Irregularity.filter(person=who).order_by("-id").limit(limit)),
        accountability=list(await Accountability.filter(person=who).order_by("-id").limit(limit)),
    )


# --------------------------------------------------------------------------- exchange (GB/T 39046)

#: 业务动作 of T7: 通过 / 退回 / 其他.
_PASSING = frozenset({"submit", "accept", "deem_accepted", "start_review", "approve", "deliver", "resupply", "resume",
                      "make_up",
                      "sub_start_review", "sub_approve", "survey_closed"})
_RETURNING = frozenset({"refuse", "deny", "request_correction", "withdraw", "sub_deny", "terminate"})
_HIDDEN = frozenset({"comment", "claim", "release"})


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.astimezone(CHINA).isoformat(timespec="seconds")


def _deliver_code(events: list[CaseEvent]) -> tuple[str, str]:
    decided = next((e.action for e in reversed(events) if e.action in ("approve", "deny")), "approve")
    return ("11", "办结（通过）") if decided == "approve" else ("13", "办结（不通过）")


async def exchange(principal: Principal, case_id: int) -> dict[str, Any]:
    """A case's process steps and supervision record as JSON with GB/T 39046's element names, our
    states in the common vendor codes (domain-facts §2.1–§2.3, §5.4): a provincial platform maps it."""
    view = await case_view(principal, case_id)
    case = view.case
    events = list(await CaseEvent.filter(case_id=case.id).order_by("at", "id"))
    kind = await ServiceItemVersion.filter(id=case.item_version_id).values_list("kind", flat=True)  # type: ignore[attr-defined]
    departments = {str(c): (str(n), str(u)) for c, n, u in await Department.all().values_list("code", "name", "uscc")}
    actors = {int(a.split(":")[1]) for a in [e.actor for e in events] if a.startswith("staff:")}
    names = dict(await Staff.filter(id__in=list(actors)).values_list("id", "name")) if actors else {}

    def who(actor: str) -> str:
        if actor.startswith("staff:"):
            return str(names.get(int(actor.split(":")[1]), "")) or actor
        return {"system": "政务服务平台"}.get(actor, "申请人")

    def unit(code: str) -> tuple[str, str]:
        return departments.get(code, ("", ""))

    steps: list[dict[str, Any]] = []
    previous: dt.datetime | None = None
    for e in events:
        if e.internal or e.action in _HIDDEN:
            continue
        if e.action == "deliver":
            code, code_name = _deliver_code(events)
        else:
            code, code_name = rules.VENDOR_STATUS.get(e.action, ("", ""))
        data = e.data or {}
        department = str(data.get("department") or case.department_code)
        steps.append({
            "办件编号": case.number, "环节名称": states.ACTION_NAMES.get(e.action, e.action),
            "业务动作": "通过" if e.action in _PASSING else "退回" if e.action in _RETURNING else "其他",
            "环节处理人": who(e.actor),
            "环节处理意见": str(data.get("reason") or data.get("opinion") or data.get("findings") or e.note or ""),
            "环节开始时间": _iso(previous or e.at), "环节结束时间": _iso(e.at),
            "处理单位名称": unit(department)[0], "处理单位统一社会信用代码": unit(department)[1],
            "环节办理状态代码": "2", "办件状态代码": code, "办件状态名称": code_name,
        })
        previous = e.at
    for s in view.steps:
        if s.closed_at is None:  # what waits now: a step not done (1 待办)
            steps.append({
                "办件编号": case.number, "环节名称": rules.STEP_NAMES.get(s.step, s.step), "业务动作": "其他",
                "环节处理人": who(s.holder) if s.holder else "", "环节处理意见": "",
                "环节开始时间": _iso(s.started_at), "环节结束时间": None,
                "处理单位名称": unit(s.department_code)[0], "处理单位统一社会信用代码": unit(s.department_code)[1],
                "环节办理状态代码": "1", "办件状态代码": "", "办件状态名称": "",
            })
    item_kind = str(kind[0]) if kind else ""
    supervision: list[dict[str, Any]] = []
    for a in view.alerts:
        order = next((o for o in view.orders if o.alert_id == a.id), None)
        due = a.due_date.isoformat() if a.due_date else "—"
        supervision.append({
            "办件编号": case.number, "督办内容": order.instructions if order else "",
            "机构名称": unit(a.department_code)[0], "事项类型代码": item_kind,
            "督办发出时间": _iso(order.opened_at) if order else None, "监察编号": f"YJ{a.id:010d}",
            "监察规则编号": rules.ALERT_RULES[a.level], "监察预警类型代码": rules.ALERT_TYPE_CODES[a.level],
            "状态产生时间": _iso(a.raised_at),
            "监察结果描述": f"{rules.STEP_NAMES.get(a.step, a.step)}{rules.CAUSES[a.cause]}（期限 {due}），"
                      f"{rules.LEVEL_NAMES[a.level]}" + ("，已办结" if a.resolved_at else ""),
            "责任部门": unit(a.department_code)[0],
        })
    for i in view.irregularities:
        rule, name = rules.IRREGULARITIES[i.kind]
        supervision.append({
            "办件编号": case.number, "督办内容": "", "机构名称": unit(i.department_code)[0], "事项类型代码": item_kind,
            "督办发出时间": None, "监察编号": f"WG{i.id:010d}", "监察规则编号": rule,
            "监察预警类型代码": rules.ALERT_TYPE_CODES["irregularity"], "状态产生时间": _iso(i.at),
            "监察结果描述": name, "责任部门": unit(i.department_code)[0],
        })
    for o in view.orders:
        if o.alert_id is not None and any(a.id == o.alert_id for a in view.alerts):
            continue  # reported with its alert
        supervision.append({
            "办件编号": case.number, "督办内容": o.instructions, "机构名称": unit(o.department_code)[0],
            "事项类型代码": item_kind, "督办发出时间": _iso(o.opened_at), "监察编号": f"DB{o.id:010d}",
            "监察规则编号": "DB01", "监察预警类型代码": rules.ALERT_TYPE_CODES[rules.RED] if o.red_at else "",
            "状态产生时间": _iso(o.red_at or o.responded_at or o.opened_at),
            "监察结果描述": f"督办期限 {o.due_date.isoformat()}，" + {"open": "待答复", "responded": "已答复",
                                                                  "closed": "已办结"}[o.state],
            "责任部门": unit(o.department_code)[0],
        })
    return {
        "标准": "GB/T 39046-2020", "办件编号": case.number, "事项编码": case.item_code, "事项名称": case.item_name,
        "事项类型代码": item_kind, "行政区划代码": case.region,
        "办件状态代码": next((s["办件状态代码"] for s in reversed(steps) if s["办件状态代码"]), ""),
        "事项办理": steps, "电子监察": supervision,
    }
