"""HTTP structs of supervision and statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class ThresholdsOut(msgspec.Struct):
    warning_days_left: int
    warning_percent_left: int
    yellow_days_late: int
    red_days_late: int
    order_days: int
    order_warning_days_left: int
    suspension_days: int
    claim_release_limit: int
    working_hours: str
    names: dict[str, str]


class AlertOut(msgspec.Struct):
    id: int
    level: str
    level_name: str
    cause: str
    cause_name: str
    case_id: int
    case_number: str
    item_code: str
    item_name: str
    step: str
    step_name: str
    order_id: int | None
    department: str
    holder: str | None
    due_date: dt.date | None
    raised_at: dt.datetime
    resolved_at: dt.datetime | None


class AlertPage(msgspec.Struct):
    items: list[AlertOut]
    next_cursor: str | None


class AlertCount(msgspec.Struct):
    department: str
    department_name: str
    warning: int
    yellow: int
    red: int
    total: int


class EvidenceOut(msgspec.Struct):
    id: int
    seq: int
    at: str
    actor: str
    action: str
    hash: str


class IrregularityOut(msgspec.Struct):
    id: int
    kind: str
    name: str
    rule: str
    case_id: int
    case_number: str
    item_code: str
    department: str
    person: str | None
    at: dt.datetime
    evidence: list[EvidenceOut]
    detail: dict[str, Any]
    found_at: dt.datetime


class IrregularityPage(msgspec.Struct):
    items: list[IrregularityOut]
    next_cursor: str | None


class OrderIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    instructions: str = ""
    case_id: int | None = None
    alert_id: int | None = None
    days: int | None = None


class OrderResponseIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    explanation: str = ""
    action_taken: str = ""


class OrderCloseIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    conclusion: str = ""


class OrderOut(msgspec.Struct):
    id: int
    case_id: int
    alert_id: int | None
    department: str
    instructions: str
    days: int
    due_date: dt.date
    state: str
    state_name: str
    red: bool
    opened_by: str
    opened_at: dt.datetime
    explanation: str
    action_taken: str
    responded_by: str | None
    responded_at: dt.datetime | None
    conclusion: str
    closed_at: dt.datetime | None


class OrderPage(msgspec.Struct):
    items: list[OrderOut]
    next_cursor: str | None


class AccountabilityIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    person: int = 0
    finding: str = ""
    measure: str = ""
    decided_on: dt.date | None = None
    alerts: list[int] = []
    irregularities: list[int] = []
    evidence: list[int] = []
    case_id: int | None = None
    order_id: int | None = None


class AccountabilityOut(msgspec.Struct):
    id: int
    person: str
    person_name: str
    department: str
    finding: str
    measure: str
    measure_name: str
    decided_on: dt.date
    case_id: int | None
    order_id: int | None
    alerts: list[int]
    irregularities: list[int]
    evidence: list[int]
    recorded_by: str
    recorded_at: dt.datetime


class AccountabilityPage(msgspec.Struct):
    items: list[AccountabilityOut]
    next_cursor: str | None


class StepOut(msgspec.Struct):
    id: int
    step: str
    step_name: str
    department: str
    holder: str | None
    started_at: dt.datetime
    limit_days: int
    due_date: dt.date | None
    legal_due_date: dt.date | None
    clock_paused: bool
    warning_at: dt.datetime | None
    yellow_at: dt.datetime | None
    red_at: dt.datetime | None
    next_check_at: dt.datetime | None
    closed_at: dt.datetime | None


class AuditEntryOut(msgspec.Struct):
    id: int
    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    before: Any
    after: Any
    hash: str
    prev_hash: str
    hash_ok: bool
    link_ok: bool


class CaseSupervisionOut(msgspec.Struct):
    case_id: int
    number: str | None
    item_code: str
    item_name: str
    state: str
    state_name: str
    department: str
    due_date: dt.date | None
    clock_paused: bool
    steps: list[StepOut]
    alerts: list[AlertOut]
    irregularities: list[IrregularityOut]
    orders: list[OrderOut]
    audit: list[AuditEntryOut]
    audit_chain_intact: bool


class PersonOut(msgspec.Struct):
    id: int
    username: str
    name: str
    role: str
    department: str
    alerts: list[AlertOut]
    irregularities: list[IrregularityOut]
    accountability: list[AccountabilityOut]


class FiguresRow(msgspec.Struct):
    key: str
    name: str
    received: int
    online: int
    online_share: float | None
    accepted: int
    refused: int
    completed: int
    on_time: int
    on_time_rate: float | None
    early: int
    early_rate: float | None
    days_used: int
    days_promised: int
    average_days_used: float | None
    average_days_promised: float | None
    corrections: int
    corrections_per_case: float | None
    suspensions: int
    spared: int
    trips_needed: int
    trips_made: int
    trips_saved: int
    rating_distribution: dict[str, int] | None
    bad_rating_rectification_rate: float | None


class FiguresOut(msgspec.Struct):
    start: dt.date
    end: dt.date
    by: str
    rows: list[FiguresRow]
