"""HTTP structs of the workflow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class MaterialProblem(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    problem: str


class ActionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An action's body: the case version the caller saw, and the action's own fields."""

    version: int | None = None
    reason: str | None = None
    text: str | None = None
    opinion: str | None = None
    procedure: str | None = None
    findings: str | None = None
    days: int | None = None
    materials: list[MaterialProblem] | None = None
    method: str | None = None  # deliver: electronic | window | express
    carrier: str | None = None  # deliver by express mail
    tracking_number: str | None = None

    def fields(self) -> dict[str, Any]:
        out = msgspec.to_builtins(self)
        out.pop("version", None)
        return {k: v for k, v in out.items() if v is not None}


class ChoiceOut(msgspec.Struct):
    value: str
    name: str
    name_en: str


class FieldOut(msgspec.Struct):
    name: str
    kind: str  # text | integer | materials | choice
    required: bool
    choices: list[ChoiceOut] | None = None  # a choice field's options, in the order to offer them


class ActionOut(msgspec.Struct):
    action: str
    name: str
    to_state: str | None
    fields: list[FieldOut]


class QueueItem(msgspec.Struct):
    id: int
    number: str
    state: str
    state_name: str
    item_code: str
    item_name: str
    channel: str
    submitted_at: dt.datetime | None
    due_date: dt.date | None
    overdue: bool
    claimed_by: str | None
    version: int


class QueuePage(msgspec.Struct):
    items: list[QueueItem]
    next_cursor: str | None
    counts: dict[str, int]  # cases per state in my scope (the tabs of the workbench)


class VoucherOut(msgspec.Struct):
    kind: str  # acceptance | refusal | correction | approval | denial
    name: str  # 受理通知书 …
    issued_at: dt.datetime
    url: str  # the PDF


class WalkInIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A person at the window: who they are (the clerk has the ID card in hand) and what they apply for."""

    phone: str = msgspec.field(default="")
    name: str
    id_number: str
    item_code: str
    answers: dict[str, Any] = msgspec.field(default_factory=dict)


class SubActionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A department's move on its sub-case: the sub-case's version the caller saw, and the fields."""

    version: int | None = None
    reason: str | None = None
    opinion: str | None = None

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in (("reason", self.reason), ("opinion", self.opinion)) if v is not None}


class SurveyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    date: dt.date
    place: str = msgspec.field(default="")
    attendees: dict[str, list[str]] = msgspec.field(default_factory=dict)  # {department: [names]}


class FindingsIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    department: str
    findings: str


class SubCaseOut(msgspec.Struct):
    department: str
    department_name: str
    state: str
    state_name: str
    version: int
    due_date: dt.date | None
    decided_at: dt.datetime | None
    reason: str
    opinion: str
    allowed_actions: list[str]  # the caller's, on this department's sub-case


class SurveyOut(msgspec.Struct):
    date: dt.date
    place: str
    attendees: dict[str, list[str]]
    findings: dict[str, str]
    waiting: list[str]  # departments whose findings are missing
    closed_at: dt.datetime | None


class JointOut(msgspec.Struct):
    """A joint case (并联审批): the parent's state and version, its departments, its one survey."""

    case_id: int
    state: str
    version: int
    clock_paused: bool
    paused_days: int
    departments: list[SubCaseOut]
    survey: SurveyOut | None
