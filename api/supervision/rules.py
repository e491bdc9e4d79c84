"""The supervision rules, pure (no ORM, no HTTP): one named function per rule, thresholds from
configuration (``Thresholds``, stored by ``services``; DESIGN §5 gives the defaults).

Alerts, on one step's clock (the workflow's: ``workflow.deadlines``; working days counted as it
counts them, and a stopped clock never raises anything):

* ``warning_reached`` (预警): at most ``warning_days_left`` working days, or at most
  ``warning_percent_left`` % of the step's limit, are left.
* ``yellow_reached`` (黄牌): the step is ``yellow_days_late`` working days past its limit.
* ``red_reached`` (红牌): ``red_days_late`` working days past the legal limit (the review), or past
  a supervision order's own deadline (an order's step).
* ``overlong_suspension``: a suspension has lasted longer than the item allows.

``next_check_day`` is the first day any threshold not yet raised can be reached: the worker looks
at a step again on that day, and not before. Irregularities (违规) are read from audit entries
(``Entry``): each rule names the entries that prove it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from api.workflow import deadlines
from api.workflow.deadlines import Calendar, add_working_days, china_day, working_days_between

# --------------------------------------------------------------------------- thresholds

ACCEPT, REVIEW, DEPARTMENT_REVIEW, DELIVER, ORDER = "accept", "review", "department_review", "deliver", "order"
STEP_NAMES = {ACCEPT: "受理", REVIEW: "审查决定", DEPARTMENT_REVIEW: "部门并联审查", DELIVER: "送达",
              ORDER: "督办答复"}
WARNING, YELLOW, RED = "warning", "yellow", "red"
LEVELS = (WARNING, YELLOW, RED)
LEVEL_NAMES = {WARNING: "预警", YELLOW: "黄牌", RED: "红牌"}
#: Why an alert was raised.
CAUSES = {"approaching": "临近时限", "step_limit": "超过环节时限", "legal_limit": "超过法定时限",
          "order_deadline": "超过督办期限"}

#: Days of the §32 notice period of the window's acceptance (workflow.services.NOTICE_DAYS).
NOTICE_DAYS = 5
DELIVER_DAYS = 1
MAX_DAYS = 365
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class Thresholds(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Every number the rules use (working days unless named otherwise)."""

    warning_days_left: int = 1
    warning_percent_left: int = 20
    yellow_days_late: int = 1  # 1: the first working day past the step's limit
    red_days_late: int = 1  # the same, past the legal limit or an order's deadline
    order_days: int = 5  # a supervision order's deadline when the supervisor names none
    order_warning_days_left: int = 1
    suspension_days: int = 20  # how long a suspension may last when the item names no limit
    claim_release_limit: int = 3  # releases of one case that make "claimed and released repeatedly"
    working_hours: str = ""  # "08:30-17:30": staff actions on a held case outside it are irregular; "" off


DEFAULTS = Thresholds()
FIELD_NAMES = {
    "warning_days_left": "预警剩余工作日", "warning_percent_left": "预警剩余时限百分比",
    "yellow_days_late": "黄牌超期工作日", "red_days_late": "红牌超期工作日", "order_days": "督办期限",
    "order_warning_days_left": "督办预警剩余工作日", "suspension_days": "特别程序默认时限",
    "claim_release_limit": "反复认领退回次数", "working_hours": "工作时间",
}


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str
    detail: str


def threshold_problems(t: Thresholds) -> list[Problem]:
    """Everything that makes no sense in ``t`` (an empty list: it may be saved)."""
    out: list[Problem] = []
    numbers = {f: getattr(t, f) for f in t.__struct_fields__ if f != "working_hours"}
    for name, value in numbers.items():
        if value < 0:
            out.append(Problem(name, f"「{FIELD_NAMES[name]}」不能为负数", f"{name} must not be negative"))
        elif value > MAX_DAYS:
            out.append(Problem(name, f"「{FIELD_NAMES[name]}」不能超过 {MAX_DAYS}",
                               f"{name} must be at most {MAX_DAYS}"))
    if t.warning_percent_left > 100:
        out.append(Problem("warning_percent_left", "「预警剩余时限百分比」不能超过 100",
                           "warning_percent_left must be at most 100"))
    # An alarm "0 days late" would come on the limit's last day, with or before the warning.
    for name in ("yellow_days_late", "red_days_late"):
        if numbers[name] == 0:
            out.append(Problem(name, f"「{FIELD_NAMES[name]}」至少为 1：报警在时限届满之后，不能早于或等于预警",
                               f"{name} must be at least 1: a warning after the alarm makes no sense"))
    if t.order_days == 0:
        out.append(Problem("order_days", "「督办期限」至少为 1 个工作日", "order_days must be at least 1"))
    if t.order_days > 0 and t.order_warning_days_left >= t.order_days:
        out.append(Problem("order_warning_days_left", "「督办预警剩余工作日」须小于「督办期限」，否则督办一发出就预警",
                           "order_warning_days_left must be less than order_days"))
    if t.claim_release_limit in (0, 1):
        out.append(Problem("claim_release_limit", "「反复认领退回次数」至少为 2",
                           "claim_release_limit must be at least 2"))
    if t.working_hours and not _hours(t.working_hours):
        out.append(Problem("working_hours", "「工作时间」应写作 08:30-17:30（开始早于结束），或留空表示不检查",
                           "working_hours must be HH:MM-HH:MM with start before end, or empty"))
    return out


def _hours(text: str) -> tuple[dt.time, dt.time] | None:
    m = _HOURS.match(text)
    if m is None:
        return None
    start, end = dt.time(int(m[1]), int(m[2])), dt.time(int(m[3]), int(m[4]))
    return (start, end) if start < end else None


# --------------------------------------------------------------------------- a step and its clock


@dataclass(frozen=True, slots=True)
class Step:
    """What the rules know of one step: its kind, limit and due dates, a stopped clock, and which
    thresholds it has raised already."""

    kind: str
    limit_days: int
    due_date: dt.date | None
    legal_due_date: dt.date | None = None
    paused_at: dt.datetime | None = None
    pause_limit: int | None = None
    raised: frozenset[str] = frozenset()  # levels raised, and "overlong"


def days_left(calendar: Calendar, today: dt.date, due: dt.date) -> int:
    """Working days left before ``due`` ends (0 on the due date; negative: working days late)."""
    return working_days_between(calendar, today, due)


def _warning_window(step: Step, t: Thresholds) -> int:
    days = t.order_warning_days_left if step.kind == ORDER else t.warning_days_left
    return max(days, step.limit_days * t.warning_percent_left // 100)


def warning_reached(step: Step, t: Thresholds, calendar: Calendar, today: dt.date) -> bool:
    """预警: few working days left (or a small share of the limit), and the clock running."""
    if step.paused_at is not None or step.due_date is None:
        return False
    return days_left(calendar, today, step.due_date) <= _warning_window(step, t)


def yellow_reached(step: Step, t: Thresholds, calendar: Calendar, today: dt.date) -> bool:
    """黄牌: past the step's limit (an order's step has no yellow: it turns red)."""
    if step.kind == ORDER or step.paused_at is not None or step.due_date is None:
        return False
    return -days_left(calendar, today, step.due_date) >= t.yellow_days_late


def red_reached(step: Step, t: Thresholds, calendar: Calendar, today: dt.date) -> str | None:
    """红牌: past the legal limit, or past a supervision order's deadline; the cause, or None."""
    if step.paused_at is not None:
        return None
    if step.kind == ORDER:
        if step.due_date is not None and -days_left(calendar, today, step.due_date) >= t.red_days_late:
            return "order_deadline"
        return None
    if step.legal_due_date is not None and -days_left(calendar, today, step.legal_due_date) >= t.red_days_late:
        return "legal_limit"
    return None


def overlong_suspension(step: Step, calendar: Calendar, today: dt.date) -> bool:
    """A suspension that has stopped the clock for more working days than the item allows."""
    if step.paused_at is None or step.pause_limit is None:
        return False
    return working_days_between(calendar, china_day(step.paused_at), today) > step.pause_limit


def due_levels(step: Step, t: Thresholds, calendar: Calendar, today: dt.date) -> list[tuple[str, str]]:
    """(level, cause) of every threshold reached today and not raised before, in order."""
    out: list[tuple[str, str]] = []
    if WARNING not in step.raised and warning_reached(step, t, calendar, today):
        out.append((WARNING, "approaching"))
    if YELLOW not in step.raised and yellow_reached(step, t, calendar, today):
        out.append((YELLOW, "step_limit"))
    if RED not in step.raised and (cause := red_reached(step, t, calendar, today)) is not None:
        out.append((RED, cause))
    return out


def _nth_working_day_back(calendar: Calendar, due: dt.date, n: int) -> dt.date:
    """The n-th working day counting back from ``due`` (``due`` itself first when it is one)."""
    day, found = due, 0
    for _ in range(20 * MAX_DAYS):  # bounded: a calendar of holidays only would loop for ever
        if calendar.is_working_day(day):
            found += 1
            if found == n:
                return day
        day -= dt.timedelta(days=1)
    return day


def next_check_day(step: Step, t: Thresholds, calendar: Calendar, today: dt.date) -> dt.date | None:
    """The first day from ``today`` on when a threshold not raised yet is reached (None: none can be
    before the case moves again). A reached one that was not raised yet gives ``today``."""
    days: list[dt.date] = []
    if step.paused_at is not None:
        if step.pause_limit is not None and "overlong" not in step.raised:
            days.append(add_working_days(calendar, china_day(step.paused_at), step.pause_limit + 1))
        return max(min(days), today) if days else None
    if step.due_date is not None:
        if WARNING not in step.raised:
            # days_left(t) <= w from the (w+1)-th working day back from the due date on.
            days.append(_nth_working_day_back(calendar, step.due_date, _warning_window(step, t) + 1))
        if step.kind == ORDER and RED not in step.raised:
            days.append(add_working_days(calendar, step.due_date, t.red_days_late))
        elif step.kind != ORDER and YELLOW not in step.raised:
            days.append(add_working_days(calendar, step.due_date, t.yellow_days_late))
    if step.kind != ORDER and step.legal_due_date is not None and RED not in step.raised:
        days.append(add_working_days(calendar, step.legal_due_date, t.red_days_late))
    return max(min(days), today) if days else None


def check_moment(day: dt.date | None) -> dt.datetime | None:
    """The moment a step is due for a look: the start of that day in China (in UTC, as every moment
    is stored: SQLite compares them as text)."""
    return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=deadlines.CHINA).astimezone(dt.UTC)


# --------------------------------------------------------------------------- which steps are open


@dataclass(frozen=True, slots=True)
class CaseFacts:
    state: str
    department_code: str
    claimed_by: str | None
    submitted_at: dt.datetime | None
    accepted_at: dt.datetime | None
    decided_at: dt.datetime | None
    due_date: dt.date | None
    paused_at: dt.datetime | None
    paused_days: int
    promised_limit: int
    extended_days: int
    legal_limit: int
    legal_limit_unit: str


@dataclass(frozen=True, slots=True)
class SubFacts:
    id: int
    department_code: str
    state: str
    due_date: dt.date | None
    claimed_by: str | None
    days: int  # the department's working days (its flow steps' limits)


@dataclass(frozen=True, slots=True)
class StepSpec:
    """An open step as the case's facts say it is now."""

    kind: str
    sub_case_id: int | None
    department_code: str
    holder: str | None
    started_at: dt.datetime
    limit_days: int
    due_date: dt.date | None
    legal_due_date: dt.date | None = None
    paused_at: dt.datetime | None = None


def legal_due(case: CaseFacts, calendar: Calendar) -> dt.date | None:
    """The legal limit's last day: from acceptance, moved by every working day the clock stood still."""
    if case.accepted_at is None or case.legal_limit <= 0 or case.legal_limit_unit not in deadlines.UNITS:
        return None
    due = deadlines.due_date(case.accepted_at, case.legal_limit, case.legal_limit_unit, calendar)
    return add_working_days(calendar, due, case.paused_days) if case.paused_days > 0 else due


def open_steps(case: CaseFacts, subs: Sequence[SubFacts], calendar: Calendar, at: dt.datetime) -> list[StepSpec]:
    """The steps open now: the window's acceptance while submitted (its clock stopped while a
    correction is awaited), the department's review from acceptance to the decision (stopped while
    suspended or surveyed) and each undecided joint department's, then delivery. A finished case has none."""
    s = case.state
    if s in ("submitted", "correction_requested"):
        paused = case.paused_at if s == "correction_requested" else None
        return [StepSpec(ACCEPT, None, case.department_code, case.claimed_by, case.submitted_at or at, NOTICE_DAYS,
                         None if paused else case.due_date, paused_at=paused)]
    if s in ("accepted", "in_review", "suspended"):
        started = case.accepted_at or at
        out = [StepSpec(REVIEW, None, case.department_code, case.claimed_by, started,
                        case.promised_limit + case.extended_days, case.due_date, legal_due(case, calendar),
                        case.paused_at)]
        out += [StepSpec(DEPARTMENT_REVIEW, sub.id, sub.department_code, sub.claimed_by, started, sub.days,
                         sub.due_date, paused_at=case.paused_at)
                for sub in subs if sub.state not in ("approved", "denied")]
        return out
    if s in ("approved", "denied"):
        return [StepSpec(DELIVER, None, case.department_code, case.claimed_by, case.decided_at or at, DELIVER_DAYS,
                         case.due_date)]
    return []


def allowed_suspension(procedure: str, special_procedures: Iterable[Mapping[str, Any]], default: int,
                       kind_names: Mapping[str, str]) -> int:
    """How many working days a suspension may last: the item's special procedure of that name (or
    kind), else the longest the item allows, else the configured default."""
    wanted = procedure.strip()
    limits: list[int] = []
    for p in special_procedures:
        limit = int(p.get("limit") or 0)
        if limit <= 0 or p.get("kind") == "extension":
            continue
        names = {str(p.get("name") or ""), kind_names.get(str(p.get("kind") or ""), ""), str(p.get("kind") or "")}
        if wanted and wanted in names - {""}:
            return limit
        limits.append(limit)
    return max(limits) if limits else default


# --------------------------------------------------------------------------- irregularities

IRREGULARITIES = {
    "correction_outside_list": ("JC01", "超出材料清单要求补正（已拦截）"),
    "repeated_correction": ("JC02", "同一办件多次要求补正"),
    "accepted_incomplete": ("JC03", "必需材料缺失仍予受理"),
    "overlong_suspension": ("JC04", "特别程序超过事项允许的时限"),
    "skipped_step": ("JC05", "未经规定环节作出决定"),
    "refusal_without_reason": ("JC06", "不予受理或不予批准未说明理由（已拦截）"),
    "deemed_acceptance": ("JC07", "五日内未告知补正，依法视为受理"),
    "repeated_claims": ("JC08", "反复认领、退回同一办件"),
    "outside_hours": ("JC09", "非工作时间办理在手办件"),
}
#: The alerts' rule numbers (监察规则编号) in the exchange.
ALERT_RULES = {WARNING: "YJ01", YELLOW: "BJ01", RED: "BJ02"}


@dataclass(frozen=True, slots=True)
class Entry:
    """An audit entry as the rules read it."""

    id: int
    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    target_code: str
    after: Mapping[str, Any] = field(default_factory=dict)
    hash: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    key: str  # what makes it one irregularity (with the kind and the case)
    person: str | None
    evidence: tuple[Entry, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)


def _staff(actor: str) -> str | None:
    return actor if actor.startswith("staff:") else None


def correction_outside_list(entry: Entry) -> Finding | None:
    """A correction notice demanding a material outside the case's checklist (refused, recorded)."""
    if entry.action != "case.irregular_correction":
        return None
    return Finding("correction_outside_list", str(entry.id), _staff(entry.actor), (entry,),
                   {"materials": list(entry.after.get("materials") or [])})


def repeated_correction(entry: Entry, earlier: Sequence[Entry]) -> Finding | None:
    """A second (or later) correction notice on one case; ``earlier`` are the notices before it."""
    if entry.action != "case.request_correction" or int(entry.after.get("notice") or 0) < 2:
        return None
    return Finding("repeated_correction", str(entry.after.get("notice")), _staff(entry.actor), (*earlier, entry),
                   {"notice": entry.after.get("notice")})


def accepted_incomplete(entry: Entry, missing: Sequence[str]) -> Finding | None:
    """Acceptance while a required material (one the applicant must bring) is missing."""
    if entry.action != "case.accept" or not missing:
        return None
    return Finding("accepted_incomplete", "1", _staff(entry.actor), (entry,), {"missing": list(missing)})


def overlong_stop(entry: Entry, started: Entry | None, allowed: int) -> Finding | None:
    """A suspension (or the joint survey) that ended after more working days than allowed."""
    if entry.action not in ("case.resume", "case.survey_closed"):
        return None
    stopped = int(entry.after.get("stopped_days") or 0)
    if stopped <= allowed:
        return None
    evidence = (started, entry) if started is not None else (entry,)
    person = _staff(started.actor) if started is not None else None
    return Finding("overlong_suspension", str(started.id if started is not None else entry.id), person, evidence,
                   {"stopped_days": stopped, "allowed_days": allowed})


def skipped_step(entry: Entry, earlier_actions: Iterable[str]) -> Finding | None:
    """A decision without the review it requires (the officer's start of review; on a joint case
    every department's)."""
    if entry.action not in ("case.approve", "case.deny"):
        return None
    actions = list(earlier_actions)
    if entry.after.get("joint"):
        started = actions.count("case.sub_start_review")
        decided = actions.count("case.sub_approve") + actions.count("case.sub_deny")
        if started >= decided > 0:
            return None
    elif "case.start_review" in actions:
        return None
    return Finding("skipped_step", "1", _staff(entry.actor), (entry,), {"decision": entry.action})


def refusal_without_reason(entry: Entry) -> Finding | None:
    """A refusal or denial attempted without a reason (refused, recorded)."""
    if entry.action != "case.irregular_refusal":
        return None
    return Finding("refusal_without_reason", str(entry.id), _staff(entry.actor), (entry,),
                   {"action": entry.after.get("action")})


def deemed_acceptance(entry: Entry) -> Finding | None:
    """No correction notice within the §32 period: the platform accepted the case."""
    if entry.action != "case.deem_accepted":
        return None
    return Finding("deemed_acceptance", "1", None, (entry,), {"deemed_on": entry.after.get("deemed_on")})


def repeated_claims(entry: Entry, trail: Sequence[Entry], limit: int) -> Finding | None:
    """A case released for the ``limit``-th time (``trail``: its claims and releases before this one)."""
    if entry.action != "case.release":
        return None
    releases = [e for e in trail if e.action == "case.release"]
    if len(releases) + 1 != limit:
        return None
    return Finding("repeated_claims", "1", _staff(entry.actor), (*trail, entry), {"releases": limit})


def outside_hours(entry: Entry, hours: str, calendar: Calendar, held: bool) -> Finding | None:
    """A staff action on a case the actor holds, outside the configured working hours (or on a
    non-working day); off while ``hours`` is empty."""
    span = _hours(hours) if hours else None
    if span is None or not held or entry.role not in ("clerk", "officer", "approver"):
        return None
    local = entry.at.astimezone(deadlines.CHINA)
    if calendar.is_working_day(local.date()) and span[0] <= local.time() < span[1]:
        return None
    return Finding("outside_hours", str(entry.id), _staff(entry.actor), (entry,),
                   {"at": local.isoformat(timespec="minutes"), "working_hours": hours})


# --------------------------------------------------------------------------- exchange codes

#: Our moves → the common vendor status codes of provincial exchanges (domain-facts §2.3, AgCloud's).
VENDOR_STATUS = {
    "submit": ("1", "已接件"), "withdraw": ("14", "撤回"), "accept": ("3", "窗口受理"),
    "deem_accepted": ("3", "窗口受理"), "refuse": ("5", "不予受理"), "request_correction": ("6", "补正开始"),
    "resupply": ("7", "补正结束"), "start_review": ("8", "部门受理"), "suspend": ("9", "特别程序开始"),
    "survey_scheduled": ("9", "特别程序开始"), "resume": ("10", "特别程序结束"),
    "survey_closed": ("10", "特别程序结束"),
}
#: 监察预警类型代码 (T11; the standard gives no list): ours.
ALERT_TYPE_CODES = {WARNING: "1", YELLOW: "2", RED: "3", "irregularity": "4"}
