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


class DeliveryOut(Out):
    """送达: how the decision reached the applicant (after the deliver action)."""

    method: str  # electronic | window | express
    method_name: str  # 电子送达 / 窗口领取 / 邮寄送达
    carrier: str | None  # express mail only
    tracking_number: str | None  # express mail only
    delivered_at: dt.datetime


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
    #: The expected completion date (承诺办结日期) as it stands: moved by the stopped days and the
    #: extension, the decision day once decided; None for a draft or a withdrawn case.
    expected_date: dt.date | None
    correction: list[dict[str, Any]] | None  # the one-time notice while it waits: every material, what is wrong
    bundle_id: int | None = None  # the 一件事一次办 it was filed with
    delivery: DeliveryOut | None = None  # None before delivery
    instant: bool = False  # 即办件: decided at the window the day it is accepted
    #: 容缺受理 (drafts): the missing required materials the item lets the applicant submit without,
    #: against a signed promise to make them up within ``tolerable_deadline`` working days of acceptance.
    tolerable: list[str] = []
    tolerable_deadline: int = 0
    #: 容缺受理 (submitted cases): the materials still owed ([{code, name}]) and the day they are due
    #: by (from acceptance on); past it the case ends. Nobody approves it while they are owed.
    owed: list[dict[str, str]] = []
    makeup_due: dt.date | None = None


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
    bundle_id: int | None = None
    enterprise_uscc: str | None = None  # filed for an enterprise (enterprise mode lists these)


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
    promised_date: dt.date  # the expected completion date, as on the case (moved by the stopped days)
    clock_paused: bool
    paused_days: int  # working days the clock has stood still so far
    timeline: list[TrackEventOut]
    delivery: DeliveryOut | None = None  # method, and carrier + tracking number of express mail


class MissingMaterialOut(Out):
    field: str  # the material code
    message: str
    detail: str


# --------------------------------------------------------------------------- 一件事一次办


class BundleItemIn(In):
    item_code: str
    answers: dict[str, Any] = {}  # this item's own answers (over the shared ones)


class BundleCreate(In):
    life_event: str
    items: list[BundleItemIn]
    answers: dict[str, Any] = {}  # questions several items ask (same code), answered once
    enterprise_uscc: str | None = None


class SubmitIn(In):
    """A submission's body (optional): 容缺受理 — the tolerated materials submitted without, and the
    signed promise to make them up (required with them)."""

    tolerated: list[str] = []
    promise: bool = False


class BundleSubmit(In):
    form_data: dict[str, Any] = {}  # the one form: contact, delivery … copied to every case


class BundleCaseOut(Out):
    case_id: int
    item_code: str
    item_name: str
    department: str
    department_name: str
    situation_name: str
    state: str
    state_name: str
    number: str | None
    submitted_at: dt.datetime | None
    due_date: dt.date | None
    clock_paused: bool


class MaterialRef(Out):
    case_id: int
    code: str


class BundleMaterialUse(Out):
    case_id: int
    item_name: str
    code: str
    name: str
    status: str


class BundleMaterialOut(Out):
    """One material as the citizen provides it: once, for every item it serves."""

    key: str
    name: str
    names: list[str]  # what each item calls it, when they differ
    source: str  # applicant | certificate
    certificate_type: str
    required: bool
    status: str  # missing | attached | spared (for every item)
    filename: str
    upload_to: MaterialRef | None  # the case material a file goes to (tus metadata case_id, material_id)
    serves: list[BundleMaterialUse]


class BundleOut(Out):
    id: int
    life_event: str
    life_event_name: str
    state: str  # draft | submitted
    enterprise_uscc: str | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    form_data: dict[str, Any]
    cases: list[BundleCaseOut]
    materials: list[BundleMaterialOut]
    missing_required: list[str]  # material keys that still stop the submission
    spared_count: int  # materials the platform fetched once for every item that needs them
    allowed_actions: list[str]  # submit (while a draft)
