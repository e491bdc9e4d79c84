"""The catalog interchange document: what Excel import/export, the demo catalog and the
synthetic generator all produce and consume. One ``ItemDoc`` is one implementation (实施清单
entry) with the content of its current version.
"""

from __future__ import annotations

import itertools
from typing import Any

import msgspec

from api.catalog import codes, rules
from api.catalog.flows import FlowStepDoc, flow_problems, owner_is_window, working_day_budget

DEFAULT_ACCEPTED_TYPES = ["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"]


class Struct(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class OptionDoc(Struct):
    value: str
    label: str


class QuestionDoc(Struct):
    code: str
    text: str
    datatype: str = "single"
    required: bool = True
    help: str = ""
    options: list[OptionDoc] = []
    ask_if: dict[str, Any] | None = None


class MaterialDoc(Struct):
    code: str
    name: str
    description: str = ""
    original_count: int = 0
    copy_count: int = 0
    required: bool = True
    condition: dict[str, Any] | None = None
    electronic_accepted: bool = True
    bring_original: bool = False
    issuing_body: str = ""
    source: str = "applicant"
    certificate_type: str = ""
    template_url: str = ""
    sample_url: str = ""
    accepted_types: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ACCEPTED_TYPES))
    max_size_mb: int = 10


class SituationDoc(Struct):
    code: str
    name: str
    description: str = ""
    rule: dict[str, Any] | None = None
    promised_limit: int | None = None
    fee_standard: str = ""
    materials: list[MaterialDoc] = []


class StepDoc(Struct):
    name: str
    description: str = ""


class PlaceDoc(Struct):
    name: str
    address: str = ""
    hours: str = ""


class FaqDoc(Struct):
    question: str
    answer: str


class SpecialProcedureDoc(Struct):
    """A special procedure the item allows (特别程序): its kind, its longest duration (``limit``, in
    the promised limit's unit) and whether its time counts toward the promised limit."""

    kind: str = "other"  # codes.SPECIAL_PROCEDURE_KINDS
    name: str = ""  # required for "other"; otherwise empty means the kind's name
    limit: int = 0
    counted: bool = False
    basis: str = ""


class ToleratedMissingDoc(Struct):
    """容缺受理: the case may be accepted with some secondary materials missing, against a signed
    promise to make them up within ``deadline`` working days (never past the promised limit)."""

    allowed: bool = False
    materials: list[str] = []  # material codes of the item's lists that may be missing
    deadline: int = 0  # working days to make them up


class ItemDoc(Struct):
    code: str
    basic_code: str
    department: str
    name: str
    kind: str
    audiences: list[str]
    short_name: str = ""
    keywords: list[str] = []
    summary: str = ""
    exercise_level: str = "3"
    implementer_nature: str = "1"
    legal_basis: str = ""
    conditions: str = ""
    process: list[StepDoc] = []
    legal_limit: int = 0
    legal_limit_unit: str = "working_day"
    legal_limit_note: str = ""
    promised_limit: int = 0
    promised_limit_unit: str = "working_day"
    promised_limit_note: str = ""
    case_type: str = "2"
    charges: bool = False
    fee_standard: str = ""
    fee_basis: str = ""
    result_name: str = ""
    result_certificate_type: str = ""
    delivery_ways: list[str] = []
    handling_forms: list[str] = []
    places: list[PlaceDoc] = []
    window: str = ""
    consult_phone: str = ""
    complaint_phone: str = ""
    online_depth: int = 1
    trips: int = 1
    appointment: bool = False
    online_payment: bool = False
    quantity_limit: str = ""
    intermediary_services: str = ""
    special_procedures: list[SpecialProcedureDoc] = []
    tolerated_missing: ToleratedMissingDoc = msgspec.field(default_factory=ToleratedMissingDoc)
    joint_departments: list[str] = []  # 并联审批: the other departments that approve in parallel
    faq: list[FaqDoc] = []
    popularity: int = 0
    questions: list[QuestionDoc] = []
    situations: list[SituationDoc] = []
    flow: list[FlowStepDoc] = []  # empty: flows.default_flow


class DepartmentDoc(Struct):
    code: str
    name: str
    region_code: str
    level: str
    short_name: str = ""
    region_name: str = ""
    parent: str = ""
    uscc: str = ""
    phone: str = ""
    address: str = ""
    sort_order: int = 0


class WindowDoc(Struct):
    code: str
    name: str
    category: str
    location: str = ""
    hours: str = ""
    phone: str = ""
    sort_order: int = 0


class CertificateTypeDoc(Struct):
    code: str
    name: str
    issuer: str = ""
    holder: str = "natural_person"


class LifeEventDoc(Struct):
    code: str
    name: str
    audience: str
    stage: str = ""
    description: str = ""
    icon: str = ""
    sort_order: int = 0
    items: list[str] = []  # basic codes, in the order a citizen does them


class CatalogDocument(Struct):
    departments: list[DepartmentDoc] = []
    windows: list[WindowDoc] = []
    certificate_types: list[CertificateTypeDoc] = []
    life_events: list[LifeEventDoc] = []
    items: list[ItemDoc] = []


# --------------------------------------------------------------------------- validation


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with a catalog, located precisely enough to fix it."""

    where: str  # "items[511A…]/situations[new]/materials[id_card]"
    field: str
    message: str  # Chinese, for administrators


def validate_item(item: ItemDoc, certificate_types: set[str] | None = None) -> list[Problem]:
    """Every rule the catalog must satisfy before an item version may be published."""
    out: list[Problem] = []
    where = f"items[{item.code}]"

    def bad(field: str, message: str, at: str = where) -> None:
        out.append(Problem(at, field, message))

    if not item.name.strip():
        bad("name", "事项名称不能为空")
    if item.kind not in codes.ITEM_KINDS:
        bad("kind", f"事项类型代码无效：{item.kind}（应为 01–10 或 20）")
    if not item.audiences or any(a not in codes.AUDIENCES for a in item.audiences):
        bad("audiences", "服务对象必须是 natural_person 和/或 legal_person")
    if item.case_type not in codes.CASE_TYPES:
        bad("case_type", f"办件类型代码无效：{item.case_type}")
    for unit_field in ("legal_limit_unit", "promised_limit_unit"):
        if getattr(item, unit_field) not in codes.TIME_UNITS:
            bad(unit_field, f"时限单位无效：{getattr(item, unit_field)}")
    if item.legal_limit < 0 or item.promised_limit < 0:
        bad("promised_limit", "办结时限不能为负数")
    if item.legal_limit and item.promised_limit > item.legal_limit:
        bad("promised_limit", f"承诺时限（{item.promised_limit}）不能超过法定时限（{item.legal_limit}）")
    if item.case_type == "2" and item.promised_limit == 0:
        bad("promised_limit", "承诺件必须有承诺办结时限")
    if item.online_depth not in codes.ONLINE_DEPTHS:
        bad("online_depth", "网办深度应为 1–4")
    if item.trips < 0:
        bad("trips", "到现场次数不能为负数")
    if any(w not in codes.DELIVERY_WAYS for w in item.delivery_ways):
        bad("delivery_ways", "结果送达方式只能是 window / express / electronic")
    if len(item.code) < 10:
        bad("code", "实施编码太短")
    if not item.situations:
        bad("situations", "至少需要一个办理情形")

    qcodes = [q.code for q in item.questions]
    if len(set(qcodes)) != len(qcodes):
        bad("questions", "问题编码重复")
    known = set(qcodes)
    for q in item.questions:
        at = f"{where}/questions[{q.code}]"
        if q.datatype not in codes.QUESTION_TYPES:
            bad("datatype", f"问题类型无效：{q.datatype}", at)
        if q.datatype in ("single", "multi") and len(q.options) < 2:
            bad("options", "单选/多选问题至少需要两个选项", at)
        values = [o.value for o in q.options]
        if len(set(values)) != len(values):
            bad("options", "选项值重复", at)
        for p in rules.check(q.ask_if, known - {q.code}):
            bad("ask_if", p, at)

    scodes = [s.code for s in item.situations]
    if len(set(scodes)) != len(scodes):
        bad("situations", "情形编码重复")
    for s in item.situations:
        at = f"{where}/situations[{s.code}]"
        for p in rules.check(s.rule, known):
            bad("rule", p, at)
        if not s.materials:
            bad("materials", "每个情形都必须有材料清单", at)
        mcodes = [m.code for m in s.materials]
        if len(set(mcodes)) != len(mcodes):
            bad("materials", "材料编码重复", at)
        if s.promised_limit is not None and item.legal_limit and s.promised_limit > item.legal_limit:
            bad("promised_limit", "情形承诺时限不能超过法定时限", at)
        for m in s.materials:
            mat = f"{at}/materials[{m.code}]"
            if m.source not in codes.MATERIAL_SOURCES:
                bad("source", f"材料来源无效：{m.source}", mat)
            if m.source == "certificate":
                if not m.certificate_type:
                    bad("certificate_type", "来源为电子证照的材料必须指明证照类型", mat)
                elif certificate_types is not None and m.certificate_type not in certificate_types:
                    bad("certificate_type", f"未知的证照类型：{m.certificate_type}", mat)
            if m.original_count < 0 or m.copy_count < 0:
                bad("copy_count", "份数不能为负数", mat)
            if any(t not in codes.UPLOAD_TYPES for t in m.accepted_types):
                bad("accepted_types", f"可上传格式只能是 {', '.join(codes.UPLOAD_TYPES)}", mat)
            if not 1 <= m.max_size_mb <= 200:
                bad("max_size_mb", "材料大小上限应在 1–200 MB 之间", mat)
            for p in rules.check(m.condition, known):
                bad("condition", p, mat)
    for at, field, message in flow_problems(item):
        bad(field, message, at)
    _special_problems(item, bad)
    _tolerated_problems(item, bad)
    _original_problems(item, bad)
    if len(set(item.joint_departments)) != len(item.joint_departments):
        bad("joint_departments", "并联审批部门重复")
    if item.department in item.joint_departments:
        bad("joint_departments", "并联审批部门不能包含实施部门本身")
    if not out:
        for answers in unreachable_answer_paths(item):
            readable = "，".join(f"{k}={v}" for k, v in answers.items()) or "（不回答任何问题）"
            bad("situations", f"以下回答找不到对应的办理情形：{readable}")
            break
    return out


def _special_problems(item: ItemDoc, bad: Any) -> None:
    kinds = " / ".join(codes.SPECIAL_PROCEDURE_KINDS)
    for n, p in enumerate(item.special_procedures):
        at = f"items[{item.code}]/special_procedures[{n + 1}]"
        if p.kind not in codes.SPECIAL_PROCEDURE_KINDS:
            bad("kind", f"特别程序种类无效：{p.kind}（应为 {kinds}）", at)
        if p.kind == "other" and not p.name.strip():
            bad("name", "种类为「其他」的特别程序必须填写名称", at)
        if p.limit < 0:
            bad("limit", "特别程序时限不能为负数", at)


def _original_problems(item: ItemDoc, bad: Any) -> None:
    """One instruction per material (issue: a zero-trip item told citizens "免提交" and "需带原件"
    for one document). Checking an original means someone sees the paper, so it needs a visit:
    an item that promises 0 trips (零跑腿) may not ask for any original. A material the platform
    fetches from the certificate library (免提交) asks for its original only when the item says
    when and where it is checked: a visit (trips ≥ 1, by the rule above) to a named place."""
    for s in item.situations:
        for m in s.materials:
            if not m.bring_original:
                continue
            at = f"items[{item.code}]/situations[{s.code}]/materials[{m.code}]"
            if item.trips == 0:
                bad("bring_original", f"事项承诺到现场 0 次（零跑腿），材料「{m.name}」却要求带原件核验："
                    "核验原件需要到现场。请取消该材料的「须带原件核验」，或把到现场次数改为至少 1 次", at)
            elif m.source == "certificate" and not item.places:
                bad("bring_original", f"材料「{m.name}」由电子证照库获取（免提交），又要求带原件核验，"
                    "但事项没有写明到哪里核验：请取消「须带原件核验」，或填写办理地点", at)


def _tolerated_problems(item: ItemDoc, bad: Any) -> None:
    """容缺受理: only secondary materials may be missing. A tolerated material must be on some
    situation's list, be one the applicant provides and needs to (not optional, not fetched as an
    electronic certificate), and every situation keeps at least one required material that is
    not tolerated — the main materials are complete at acceptance."""
    t = item.tolerated_missing
    field = "tolerated_missing"
    if not t.allowed:
        if t.materials or t.deadline:
            bad(field, "未允许容缺受理，不应填写容缺材料或补正时限")
        return
    if not t.materials:
        bad(field, "允许容缺受理时必须列出可容缺的材料")
    if len(set(t.materials)) != len(t.materials):
        bad(field, "容缺材料重复")
    listed: dict[str, list[MaterialDoc]] = {}
    for s in item.situations:
        for m in s.materials:
            listed.setdefault(m.code, []).append(m)
    for code in dict.fromkeys(t.materials):
        found = listed.get(code)
        if not found:
            bad(field, f"容缺材料不在任何情形的材料清单中：{code}")
        elif all(m.source == "certificate" for m in found):
            bad(field, f"材料 {code} 可通过电子证照获取，无需容缺")
        elif not any(m.required for m in found):
            bad(field, f"材料 {code} 并非必须提交的材料，无需容缺")
    tolerated = set(t.materials)
    for s in item.situations:
        required = [m for m in s.materials if m.required]
        if required and all(m.code in tolerated for m in required):
            bad(field, f"情形「{s.name}」的必须提交材料全部列为容缺：主要材料齐全才能容缺受理",
                f"items[{item.code}]/situations[{s.code}]")
    budget = working_day_budget(item.promised_limit, item.promised_limit_unit)
    if t.deadline < 1:
        bad(field, "容缺补正时限至少为 1 个工作日")
    elif t.deadline > budget:
        bad(field, f"容缺补正时限（{t.deadline} 个工作日）不能超过承诺时限（可用 {budget} 个工作日）")


def _samples(q: QuestionDoc, item: ItemDoc) -> list[Any]:
    if q.datatype == "single":
        return [o.value for o in q.options]
    if q.datatype == "multi":
        return [[]] + [[o.value] for o in q.options] + [[o.value for o in q.options]]
    refs: list[Any] = []
    for r in [s.rule for s in item.situations] + [q2.ask_if for q2 in item.questions]:
        refs.extend(rules.referenced_values(r, q.code))
    if q.datatype == "number":
        nums = {0}
        for v in refs:
            if isinstance(v, int | float):
                nums.update({v - 1, v, v + 1})
        return sorted(nums)
    if q.datatype == "date":
        return sorted({"2000-01-01", "2099-12-31", *[v for v in refs if isinstance(v, str)]})
    return ["示例"]


def unreachable_answer_paths(item: ItemDoc, limit: int = 20000) -> list[dict[str, Any]]:
    """Answer combinations (sampled where infinite) for which no situation rule holds."""
    questions = item.questions
    pools = [_samples(q, item) + ([None] if not q.required or q.ask_if else []) for q in questions]
    bad: list[dict[str, Any]] = []
    for n, combo in enumerate(itertools.product(*pools)):
        if n >= limit:
            break
        answers: dict[str, Any] = {}
        consistent = True
        for q, value in zip(questions, combo, strict=True):
            asked = rules.evaluate(q.ask_if, answers)
            if not asked:
                if value is not None:
                    consistent = False
                    break
                continue
            if value is None and q.required:
                consistent = False
                break
            if value is not None:
                answers[q.code] = value
        if not consistent:
            continue
        if not any(rules.evaluate(s.rule, answers) for s in item.situations):
            bad.append(answers)
    return bad


class KnownCodes(msgspec.Struct, frozen=True):
    """Codes already in the database, which a partial document may refer to."""

    departments: frozenset[str] = frozenset()
    windows: frozenset[str] = frozenset()
    certificate_types: frozenset[str] = frozenset()
    basic_codes: frozenset[str] = frozenset()


def validate_document(doc: CatalogDocument, known: KnownCodes | None = None) -> list[Problem]:
    known = known or KnownCodes()
    out: list[Problem] = []

    def dupes(kind: str, keys: list[str]) -> None:
        seen: set[str] = set()
        for k in keys:
            if k in seen:
                out.append(Problem(f"{kind}[{k}]", "code", f"编码重复：{k}"))
            seen.add(k)

    dupes("departments", [d.code for d in doc.departments])
    dupes("windows", [w.code for w in doc.windows])
    dupes("certificate_types", [c.code for c in doc.certificate_types])
    dupes("life_events", [e.code for e in doc.life_events])
    dupes("items", [i.code for i in doc.items])
    departments = {d.code for d in doc.departments} | known.departments
    windows = {w.code for w in doc.windows} | known.windows
    cert_types = {c.code for c in doc.certificate_types} | known.certificate_types
    for d in doc.departments:
        at = f"departments[{d.code}]"
        if d.level not in codes.DEPARTMENT_LEVELS:
            out.append(Problem(at, "level", "部门层级只能是 city 或 county"))
        if not (len(d.region_code) == 12 and d.region_code.isdigit()):
            out.append(Problem(at, "region_code", "行政区划代码应为 12 位数字"))
        if d.parent and d.parent not in departments:
            out.append(Problem(at, "parent", f"上级部门不存在：{d.parent}"))
    for w in doc.windows:
        if w.category not in codes.WINDOW_CATEGORIES:
            out.append(Problem(f"windows[{w.code}]", "category", f"窗口类别无效：{w.category}"))
    basic_codes = {i.basic_code for i in doc.items} | known.basic_codes
    for e in doc.life_events:
        at = f"life_events[{e.code}]"
        if e.audience not in codes.AUDIENCES:
            out.append(Problem(at, "audience", "一件事的对象只能是 natural_person 或 legal_person"))
        for code in e.items:
            if code not in basic_codes:
                out.append(Problem(at, "items", f"一件事包含了不存在的事项基本编码：{code}"))
    for item in doc.items:
        at = f"items[{item.code}]"
        if item.department not in departments:
            out.append(Problem(at, "department", f"实施部门不存在：{item.department}"))
        if item.window and item.window not in windows:
            out.append(Problem(at, "window", f"受理窗口不存在：{item.window}"))
        for code in item.joint_departments:
            if code not in departments:
                out.append(Problem(at, "joint_departments", f"并联审批部门不存在：{code}"))
        for step in item.flow:
            if not step.owner:
                continue
            if owner_is_window(step.role):
                if step.owner not in windows:
                    out.append(Problem(f"{at}/flow[{step.code}]", "owner", f"承办窗口不存在：{step.owner}"))
            elif step.owner not in departments:
                out.append(Problem(f"{at}/flow[{step.code}]", "owner", f"承办部门不存在：{step.owner}"))
        out.extend(validate_item(item, cert_types))
    return out
