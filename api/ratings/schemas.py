"""HTTP shapes of ratings, visit tokens, rectifications and the public satisfaction figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Out(msgspec.Struct, kw_only=True):
    pass


# Values are checked by the rules (422 naming the field), not by the decoder, whatever their shape.
class RatingIn(In):
    level: Any = None
    reasons: Any = msgspec.field(default_factory=list)
    text: Any = ""


class VisitRatingIn(RatingIn):
    token: Any = ""


class AnswerIn(In):
    accept: Any = None
    reason: Any = ""


class StepIn(In):
    text: Any = ""
    founded: Any = None  # verify: whether the complaint holds
    version: Any = None


class VisitTokenIn(In):
    item_code: str = ""


class ReasonOut(Out):
    code: str
    name: str
    name_en: str


class LevelOut(Out):
    level: int
    name: str
    name_en: str
    bad: bool  # 差评: reasons and a few words required, and a rectification follows
    reasons: list[ReasonOut]


class OptionsOut(Out):
    levels: list[LevelOut]
    followup_days: int


class RectificationBrief(Out):
    state: str
    state_name: str
    callback: str
    answer_due: dt.date | None
    contested: bool
    closed_reason: str


class RatingOut(Out):
    id: int
    mode: str
    case_id: int | None
    item_name: str
    level: int
    level_name: str
    reasons: list[str]
    text: str
    followup_level: int | None
    followup_reasons: list[str]
    followup_text: str
    followup_at: dt.datetime | None
    created_at: dt.datetime
    rectification: RectificationBrief | None


class MyRatingPage(Out):
    items: list[RatingOut]
    next_cursor: str | None


class StaffRatingOut(Out):
    """A rating as staff see it: who rated only as 申请人 张* or 现场评价人; the case only for supervisors."""

    id: int
    mode: str
    rater: str
    item_code: str
    item_name: str
    department_code: str
    window_code: str
    level: int
    level_name: str
    reasons: list[str]
    text: str
    followup_level: int | None
    followup_text: str
    created_at: dt.datetime
    case_id: int | None = None
    case_number: str | None = None


class StaffRatingPage(Out):
    items: list[StaffRatingOut]
    next_cursor: str | None


class StepOut(Out):
    step: str
    name: str
    by: str  # 工作人员 | 评价人 | 系统
    text: str
    at: dt.datetime


class RectificationOut(Out):
    id: int
    state: str
    state_name: str
    owner_kind: str
    owner_code: str
    version: int
    verify_due: dt.date
    rectify_due: dt.date | None
    answer_due: dt.date | None
    founded: bool | None
    finding: str
    measures: str
    callback: str
    contested: bool
    closed_reason: str
    may_act: bool
    rating: StaffRatingOut
    steps: list[StepOut]


class VisitTokenOut(Out):
    token: str
    url: str  # what the window's QR encodes
    window_code: str
    window_name: str
    item_code: str
    expires_at: dt.datetime


class VisitInfoOut(Out):
    window_code: str
    window_name: str
    item_code: str
    expires_at: dt.datetime
    used: bool


class SatisfactionOut(Out):
    code: str
    name: str
    since: dt.date  # the figures cover the ratings since this day (12 months)
    count: int
    satisfied_share: float | None  # 非常满意 + 满意 + 基本满意, of all; None without ratings
    by_level: dict[str, int]
