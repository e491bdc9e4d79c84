"""HTTP shapes of the catalog API, public and administration (msgspec structs; ORM models never
leak out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from api.catalog.document import ItemDoc, Problem
from api.catalog.flows import FlowStepDoc


class Out(msgspec.Struct, kw_only=True):
    pass


class DepartmentRef(Out):
    code: str
    name: str
    short_name: str


class DepartmentOut(Out):
    code: str
    name: str
    short_name: str
    region_code: str
    region_name: str
    level: str
    parent: str | None
    phone: str
    address: str
    item_count: int


class DepartmentList(Out):
    items: list[DepartmentOut]


class RegionOut(Out):
    code: str
    name: str
    level: str


class RegionList(Out):
    items: list[RegionOut]


class ItemHead(Out):
    """What names an item, first in both its list entry and its guide."""

    code: str
    basic_code: str
    name: str
    short_name: str
    kind: str
    kind_name: str
    audiences: list[str]


class ItemSummary(ItemHead):
    department: DepartmentRef
    region_code: str
    region_name: str
    online_depth: int
    trips: int
    promised_limit: int
    promised_limit_unit: str
    case_type: str
    summary: str


class ItemPage(Out):
    items: list[ItemSummary]
    total: int
    next_cursor: str | None


class LifeEventHead(Out):
    """What describes a life event, first in both its list entry and its detail."""

    code: str
    name: str
    audience: str
    stage: str
    description: str
    icon: str


class LifeEventSummary(LifeEventHead):
    item_count: int


class LifeEventList(Out):
    items: list[LifeEventSummary]


class LifeEventDetail(LifeEventHead):
    region_code: str
    items: list[ItemSummary]


class OptionOut(Out):
    value: str
    label: str


class QuestionOut(Out):
    code: str
    text: str
    help: str
    datatype: str
    required: bool
    options: list[OptionOut]
    ask_if: dict[str, Any] | None


class MaterialOut(Out):
    code: str
    name: str
    description: str
    original_count: int
    copy_count: int
    required: bool
    conditional: bool
    condition: dict[str, Any] | None  # the answer rule that makes a conditional material needed
    electronic_accepted: bool
    bring_original: bool
    issuing_body: str
    source: str  # applicant | certificate
    source_name: str
    certificate_type: str
    certificate_type_name: str
    template_url: str
    sample_url: str
    accepted_types: list[str]
    max_size_mb: int


class SituationOut(Out):
    code: str
    name: str
    description: str
    rule: dict[str, Any] | None  # chosen when the answers satisfy it (first match wins)
    promised_limit: int
    fee_standard: str
    materials: list[MaterialOut]


class StepOut(Out):
    name: str
    description: str


class PlaceOut(Out):
    name: str
    address: str
    hours: str


class FaqOut(Out):
    question: str
    answer: str


class SpecialProcedureOut(Out):
    kind: str
    kind_name: str
    name: str
    limit: int
    counted: bool
    basis: str


class FlowStepOut(Out):
    """One step a case goes through (办理环节), with its time limit in working days."""

    code: str
    name: str
    role_name: str  # who acts, in Chinese (窗口人员 / 承办人员 / 审批人员)
    owner_name: str  # the window or department that acts; empty when no window is named
    limit: int  # working days; 0 = the same day


class ToleratedMissingOut(Out):
    """容缺受理: these materials may be made up within ``deadline`` working days after acceptance."""

    materials: list[str]  # material codes, as in the situations' lists
    deadline: int


class WindowOut(Out):
    code: str
    name: str
    category: str
    category_name: str
    location: str
    hours: str
    phone: str


class ImplementationOut(Out):
    code: str
    region_code: str
    region_name: str
    department: DepartmentRef


class LifeEventRef(Out):
    code: str
    name: str


class VersionOut(Out):
    number: int
    published_at: str | None


class ItemGuide(ItemHead):
    """The complete 办事指南 of the current published version."""

    keywords: list[str]
    summary: str
    department: DepartmentRef
    region_code: str
    region_name: str
    exercise_level: str
    exercise_level_name: str
    implementer_nature: str
    legal_basis: str
    conditions: str
    process: list[StepOut]
    legal_limit: int
    legal_limit_unit: str
    legal_limit_note: str
    promised_limit: int
    promised_limit_unit: str
    promised_limit_note: str
    case_type: str
    case_type_name: str
    charges: bool
    fee_standard: str
    fee_basis: str
    result_name: str
    result_certificate_type: str
    delivery_ways: list[str]
    handling_forms: list[str]
    places: list[PlaceOut]
    window: WindowOut | None
    consult_phone: str
    complaint_phone: str
    online_depth: int
    online_depth_name: str
    trips: int
    appointment: bool
    online_payment: bool
    quantity_limit: str
    intermediary_services: str
    special_procedures: list[SpecialProcedureOut]
    flow: list[FlowStepOut]  # declared, or the default flow
    tolerated_missing: ToleratedMissingOut | None  # null: 容缺受理 not allowed
    joint_departments: list[DepartmentRef]  # 并联审批
    faq: list[FaqOut]
    questions: list[QuestionOut]
    situations: list[SituationOut]
    implementations: list[ImplementationOut]
    life_events: list[LifeEventRef]
    version: VersionOut
    pwa_path: str


class MaterialListRequest(msgspec.Struct, forbid_unknown_fields=True):
    answers: dict[str, Any] = {}


class AnsweredQuestion(Out):
    code: str
    question: str
    answer: Any
    answer_label: str


class ListedMaterial(MaterialOut):
    reason: str  # why this material is on the list ("因为您回答了 …")


class MaterialListOut(Out):
    item_code: str
    situation: SituationRef
    promised_limit: int
    promised_limit_unit: str
    answers: list[AnsweredQuestion]
    materials: list[ListedMaterial]
    spared_count: int  # materials the platform can fetch as electronic certificates (免提交)


class SituationRef(Out):
    code: str
    name: str
    description: str
    reason: str


class HealthOut(Out):
    status: str
    database: str


# --------------------------------------------------------------------------- administration


class AdminVersionOut(msgspec.Struct):
    number: int
    status: str  # draft | published | superseded | retired
    created_at: dt.datetime
    published_at: dt.datetime | None


class AdminItemOut(msgspec.Struct):
    code: str
    basic_code: str
    department: str
    region_code: str
    published: ItemDoc | None  # the current published content; null when none (new or retired)
    versions: list[AdminVersionOut]  # oldest first
    has_draft: bool


class DraftOut(msgspec.Struct):
    number: int
    created_at: dt.datetime
    item: ItemDoc  # item.flow: the steps the draft declares (none: the default flow)
    flow: list[FlowStepDoc]  # the steps a case would go through: declared or default, owners filled in


class ValidationOut(msgspec.Struct):
    valid: bool
    problems: list[Problem]


class ProblemsOut(msgspec.Struct):
    """The 422 body: the usual error fields plus every problem found."""

    status_code: int
    message: str
    detail: str
    problems: list[Problem]
    field: str | None = None


class PublishedOut(msgspec.Struct):
    code: str
    number: int
    published_at: dt.datetime
    superseded: int | None
    catalog_version: int


class RetiredOut(msgspec.Struct):
    code: str
    number: int
    status: str
    catalog_version: int
