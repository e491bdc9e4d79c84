"""Code tables (GB/T 39046-2020 Appendix A and local practice). Store codes, show names."""

from __future__ import annotations

# A.1 事项类型 — the "10+1".
ITEM_KINDS: dict[str, tuple[str, str]] = {
    "01": ("行政许可", "Administrative licensing"),
    "02": ("行政处罚", "Administrative penalty"),
    "03": ("行政强制", "Administrative enforcement"),
    "04": ("行政征收", "Administrative levy"),
    "05": ("行政给付", "Administrative benefit"),
    "06": ("行政检查", "Administrative inspection"),
    "07": ("行政确认", "Administrative confirmation"),
    "08": ("行政奖励", "Administrative reward"),
    "09": ("行政裁决", "Administrative adjudication"),
    "10": ("其他行政权力", "Other administrative power"),
    "20": ("公共服务", "Public service"),
}

# Who an item serves. GB/T 39046 A.4 has six objects; citizens think in two.
AUDIENCES: dict[str, tuple[str, str]] = {
    "natural_person": ("自然人", "Individuals"),
    "legal_person": ("法人", "Enterprises and organisations"),
}

# A.2 行使层级
EXERCISE_LEVELS: dict[str, str] = {
    "1": "国家级", "2": "省级", "3": "市级", "4": "县级", "5": "镇（乡、街道）级", "6": "村（社区）级",
    "7": "分级管理",
}

# A.3 实施主体性质
IMPLEMENTER_NATURES: dict[str, str] = {"1": "法定机关", "2": "授权组织", "3": "受委托组织", "9": "其他"}

# A.6 办件类型
CASE_TYPES: dict[str, tuple[str, str]] = {
    "1": ("即办件", "Handled on the spot"),
    "2": ("承诺件", "Handled within the promised time limit"),
}

# A.5 办理形式
HANDLING_FORMS: dict[str, str] = {
    "1": "窗口办理", "2": "电脑端网上办理", "3": "移动端网上申请", "4": "快递申请", "9": "其他",
}

# 网上办理深度 (online service depth, national practice)
ONLINE_DEPTHS: dict[int, tuple[str, str]] = {
    1: ("信息发布", "Information only"),
    2: ("在线预审", "Online pre-check"),
    3: ("在线办理，现场核验", "Online application, verified at the hall"),
    4: ("全程网办", "Fully online"),
}

DELIVERY_WAYS: dict[str, tuple[str, str]] = {
    "window": ("窗口领取", "Collect at the window"),
    "express": ("快递送达", "Express mail"),
    "electronic": ("电子证照", "Electronic certificate"),
}

TIME_UNITS: dict[str, tuple[str, str]] = {
    "working_day": ("工作日", "working days"),
    "natural_day": ("自然日", "calendar days"),
}

DEPARTMENT_LEVELS: dict[str, str] = {"city": "市级", "county": "县级"}

WINDOW_CATEGORIES: dict[str, tuple[str, str]] = {
    "social_affairs": ("社会事务", "Social affairs"),
    "economic_development": ("经济发展", "Economic development"),
    "engineering_construction": ("工程建设", "Engineering construction"),
}

QUESTION_TYPES: tuple[str, ...] = ("single", "multi", "number", "date", "text")

MATERIAL_SOURCES: dict[str, tuple[str, str]] = {
    "applicant": ("申请人提交", "Provided by the applicant"),
    "certificate": ("电子证照免提交", "Fetched from an electronic certificate"),
}

# MIME types a material may be uploaded as (sniffed from bytes on upload).
UPLOAD_TYPES: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")

VERSION_STATUSES: tuple[str, ...] = ("draft", "published", "superseded", "retired")

# 办理环节: the steps of an item's flow, in the only order they may come (each at most once).
FLOW_STEPS: dict[str, tuple[str, str]] = {
    "accept": ("受理", "Acceptance"),
    "initial_review": ("初审", "Initial review"),
    "review": ("审查", "Review"),
    "decide": ("决定", "Decision"),
    "deliver": ("送达", "Delivery"),
}

# The staff roles that act in a step (identity.models.Staff.role).
STEP_ROLES: dict[str, tuple[str, str]] = {
    "clerk": ("窗口人员", "Window clerk"),
    "officer": ("承办人员", "Case officer"),
    "approver": ("审批人员", "Approver"),
}

# Who may act in each step. A 即办件's decision may also be taken by the clerk, at the window.
STEP_ALLOWED_ROLES: dict[str, tuple[str, ...]] = {
    "accept": ("clerk",),
    "initial_review": ("officer",),
    "review": ("officer",),
    "decide": ("approver",),
    "deliver": ("clerk", "officer"),
}

# A.7 特别程序种类 (1 延长审批, 2 其他) refined into the kinds guides name; the third value is the
# A.7 code each is reported under.
SPECIAL_PROCEDURE_KINDS: dict[str, tuple[str, str, str]] = {
    "extension": ("延长审批", "Extension of the limit", "1"),
    "site_survey": ("现场踏勘", "Site survey", "2"),
    "expert_review": ("专家评审", "Expert review", "2"),
    "hearing": ("听证", "Hearing", "2"),
    "inspection": ("检验检测", "Inspection and testing", "2"),
    "publicity": ("公示", "Public notice", "2"),
    "other": ("其他", "Other", "2"),
}
