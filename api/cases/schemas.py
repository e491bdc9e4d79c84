"""HTTP shapes of applications (msgspec structs; Tortoise models never leak out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Out(msgspec.Struct, kw_only=True):
    pass


class CaseCreate(In):
    item_code: str = msgspec.field()
    answers: dict[str, Any] = {}
    enterprise_uscc: str | None = None


class CaseUpdate(In):
    form_data: dict[str, Any] | None = None
    answers: dict[str, Any] | None = None


class CaseMaterialOut(Out):
    code: str
    name: str
    required: bool  # must be attached (or spared) before submission
    source: str  # applicant | certificate
    certificate_type: str  # set when the platform can fetch it as an electronic certificate
    reason: str  # why it is on the list ("因为您回答了 …")
    status: str  # missing | attached | spared
    filename: str
    size: int | None
    mime: str
    sha256: str
    attached_at: dt.datetime | None
    download_url: str | None


class CaseEventOut(Out):
    at: dt.datetime
    action: str
    action_name: str
    from_state: str | None
    to_state: str
    state_name: str
    data: dict[str, Any] | None = None  # the step's fields: reason, the materials to fix and what is wrong …
    internal: bool = False  # staff only (never sent to the applicant)
    actor_name: str = ""  # who acted, for staff only (a staff member's name, 申请人, 系统); "" for the applicant


class CaseOut(Out):
    id: int
    number: str | None
    state: str
    state_name: str
    item_code: str
    item_name: str
    item_version: int
    region: str
    situation_code: str
    situation_name: str
    enterprise_uscc: str | None
    answers: dict[str, Any]
    form_data: dict[str, Any]
    channel: str
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
    expires_at: dt.datetime | None
    materials: list[CaseMaterialOut]
    missing_required: list[str]  # codes that still block submission
    spared_possible: int  # materials the platform can fetch as certificates (免提交), once wired
    timeline: list[CaseEventOut]
    #: What the caller may do now: update (answers, form, materials), submit, discard, withdraw; the
    #: workflow adds more. Clients draw their buttons from it and ignore actions they do not know.
    allowed_actions: list[str]
    version: int  # send it back with an action: a case someone else moved meanwhile answers 409
    due_date: dt.date | None  # when what the case waits for now is due (stops while the clock is stopped)
    clock_paused: bool  # waiting for the applicant (correction) or a special procedure: the clock stands still
    paused_days: int  # working days the clock has stood still so far
    correction: list[dict[str, Any]] | None  # the one-time notice while it waits: every material, what is wrong


class CaseSummary(Out):
    id: int
    number: str | None
    state: str
    state_name: str
    item_code: str
    item_name: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    allowed_actions: list[str]


class CasePage(Out):
    items: list[CaseSummary]
    next_cursor: str | None


class SubmitOut(Out):
    number: str
    query_code: str  # shown to the applicant only here and on the receipt
    submitted_at: dt.datetime
    receipt_url: str
    case: CaseOut


class ReceiptOut(Out):
    number: str
    query_code: str
    item_code: str
    item_name: str
    situation_name: str
    submitted_at: dt.datetime
    promised_limit: int
    promised_limit_unit: str
    promised_date: dt.date
    tracking_url: str
    qr_svg_url: str
    qr_png_url: str


class TrackEventOut(Out):
    at: dt.datetime
    action: str
    action_name: str
    state: str
    state_name: str


class TrackOut(Out):
    """What anyone holding the number and query code may see: no personal data."""

    number: str
    item_name: str
    state: str
    state_name: str
    submitted_at: dt.datetime
    promised_date: dt.date
    timeline: list[TrackEventOut]


class MissingMaterialOut(Out):
    field: str  # the material code
    message: str
    detail: str
