"""Catalog tables. The schema itself is owned by Alembic (alembic/versions); these must match it."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Department(Model):
    """An implementing body (实施主体), city or county level."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    short_name = fields.CharField(max_length=50, default="")
    region_code = fields.CharField(max_length=12)  # 行政区划代码, 12 digits
    region_name = fields.CharField(max_length=50, default="")
    level = fields.CharField(max_length=10)  # city | county
    parent: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="children", null=True, on_delete=fields.SET_NULL
    )
    uscc = fields.CharField(max_length=18, default="")  # 统一社会信用代码
    phone = fields.CharField(max_length=40, default="")
    address = fields.CharField(max_length=200, default="")
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "department"
        indexes = (Index(fields=("region_code",), name="ix_department_region"),)


class Window(Model):
    """A central acceptance window (集中受理窗口)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    category = fields.CharField(max_length=32)  # social_affairs | economic_development | ...
    location = fields.CharField(max_length=200, default="")
    hours = fields.CharField(max_length=200, default="")
    phone = fields.CharField(max_length=40, default="")
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "window"


class CertificateType(Model):
    """A kind of electronic certificate the platform can fetch instead of asking for paper."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    issuer = fields.CharField(max_length=100, default="")
    holder = fields.CharField(max_length=20, default="natural_person")  # natural_person | legal_person

    class Meta:
        table = "certificate_type"


class ServiceItem(Model):
    """One implementation of a basic item by one body (实施清单 entry); content lives in versions."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)  # 实施编码
    basic_code = fields.CharField(max_length=32)  # 基本编码, shared by the city and county bodies
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="items", on_delete=fields.RESTRICT
    )
    region_code = fields.CharField(max_length=12)
    popularity = fields.IntField(default=0)  # ranks search ties; real usage counts feed it later
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "service_item"
        indexes = (
            Index(fields=("basic_code",), name="ix_service_item_basic"),
            Index(fields=("department_id",), name="ix_service_item_department"),
        )


class ServiceItemVersion(Model):
    """An immutable (once published) version of an item's guide. Cases point at the version.

    At most one version of an item is ``published`` (the current one); publishing marks the
    previous one ``superseded``, which stays for the cases filed under it.
    """

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[ServiceItem] = fields.ForeignKeyField(
        "models.ServiceItem", related_name="versions", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    status = fields.CharField(max_length=12, default="draft")
    name = fields.CharField(max_length=200)
    short_name = fields.CharField(max_length=100, default="")
    kind = fields.CharField(max_length=2)  # ITEM_KINDS code
    audiences = fields.JSONField(default=list)  # ["natural_person", "legal_person"]
    keywords = fields.JSONField(default=list)
    summary = fields.TextField(default="")
    exercise_level = fields.CharField(max_length=1, default="3")
    implementer_nature = fields.CharField(max_length=1, default="1")
    legal_basis = fields.TextField(default="")
    conditions = fields.TextField(default="")
    process = fields.JSONField(default=list)  # ordered steps [{name, description}]
    legal_limit = fields.IntField(default=0)
    legal_limit_unit = fields.CharField(max_length=16, default="working_day")
    legal_limit_note = fields.TextField(default="")
    promised_limit = fields.IntField(default=0)
    promised_limit_unit = fields.CharField(max_length=16, default="working_day")
    promised_limit_note = fields.TextField(default="")
    case_type = fields.CharField(max_length=1, default="2")
    charges = fields.BooleanField(default=False)
    fee_standard = fields.TextField(default="")
    fee_basis = fields.TextField(default="")
    result_name = fields.CharField(max_length=200, default="")
    result_certificate_type = fields.CharField(max_length=64, default="")
    delivery_ways = fields.JSONField(default=list)
    handling_forms = fields.JSONField(default=list)
    places = fields.JSONField(default=list)  # [{name, address, hours}]
    window: fields.ForeignKeyNullableRelation[Window] = fields.ForeignKeyField(
        "models.Window", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    consult_phone = fields.CharField(max_length=60, default="")
    complaint_phone = fields.CharField(max_length=60, default="")
    online_depth = fields.IntField(default=1)
    trips = fields.IntField(default=1)  # 到现场次数
    appointment = fields.BooleanField(default=False)
    online_payment = fields.BooleanField(default=False)
    quantity_limit = fields.TextField(default="")
    intermediary_services = fields.TextField(default="")
    special_procedures = fields.JSONField(default=list)  # [{kind, name, limit, counted, basis}]
    tolerated_missing = fields.JSONField(default=dict)  # 容缺受理 {allowed, materials, deadline}
    joint_departments = fields.JSONField(default=list)  # 并联审批: department codes
    faq = fields.JSONField(default=list)  # [{question, answer}]
    created_at = fields.DatetimeField(auto_now_add=True)
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "service_item_version"
        unique_together = (("item", "number"),)
        indexes = (Index(fields=("status", "item_id"), name="ix_item_version_status"),)


class Question(Model):
    """A situation question (Open311-style attribute)."""

    id = fields.IntField(primary_key=True)
    version: fields.ForeignKeyRelation[ServiceItemVersion] = fields.ForeignKeyField(
        "models.ServiceItemVersion", related_name="questions", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=64)
    text = fields.CharField(max_length=300)
    help = fields.TextField(default="")
    datatype = fields.CharField(max_length=10)  # single | multi | number | date | text
    required = fields.BooleanField(default=True)
    sort_order = fields.IntField(default=0)
    options = fields.JSONField(default=list)  # [{value, label}]
    ask_if = fields.JSONField(null=True)  # rule over earlier answers; null = always asked

    class Meta:
        table = "question"
        unique_together = (("version", "code"),)


class Situation(Model):
    """One variant of an item (情形), chosen by the first rule that the answers satisfy."""

    id = fields.IntField(primary_key=True)
    version: fields.ForeignKeyRelation[ServiceItemVersion] = fields.ForeignKeyField(
        "models.ServiceItemVersion", related_name="situations", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    rule = fields.JSONField(null=True)  # null = matches any answers (the default situation)
    sort_order = fields.IntField(default=0)
    promised_limit = fields.IntField(null=True)  # overrides the item's when set
    fee_standard = fields.TextField(default="")

    class Meta:
        table = "situation"
        unique_together = (("version", "code"),)


class MaterialRequirement(Model):
    """One material of a situation's exact list (一单载明)."""

    id = fields.IntField(primary_key=True)
    version: fields.ForeignKeyRelation[ServiceItemVersion] = fields.ForeignKeyField(
        "models.ServiceItemVersion", related_name="materials", on_delete=fields.CASCADE
    )
    situation: fields.ForeignKeyRelation[Situation] = fields.ForeignKeyField(
        "models.Situation", related_name="materials", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    original_count = fields.IntField(default=0)
    copy_count = fields.IntField(default=0)
    required = fields.BooleanField(default=True)
    condition = fields.JSONField(null=True)  # rule: needed only when the answers satisfy it
    electronic_accepted = fields.BooleanField(default=True)
    bring_original = fields.BooleanField(default=False)  # original checked at the hall
    issuing_body = fields.CharField(max_length=200, default="")
    source = fields.CharField(max_length=16, default="applicant")  # applicant | certificate
    certificate_type = fields.CharField(max_length=64, default="")
    template_url = fields.CharField(max_length=300, default="")
    sample_url = fields.CharField(max_length=300, default="")
    accepted_types = fields.JSONField(default=list)
    max_size_mb = fields.IntField(default=10)
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "material_requirement"
        unique_together = (("situation", "code"),)
        indexes = (Index(fields=("version_id",), name="ix_material_version"),)


class FlowStep(Model):
    """One step of a version's declared flow (办理环节), in order. A version without steps follows
    the default flow (catalog/flows.py)."""

    id = fields.IntField(primary_key=True)
    version: fields.ForeignKeyRelation[ServiceItemVersion] = fields.ForeignKeyField(
        "models.ServiceItemVersion", related_name="flow_steps", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=20)  # accept | initial_review | review | decide | deliver
    name = fields.CharField(max_length=100, default="")
    role = fields.CharField(max_length=20)  # clerk | officer | approver
    owner = fields.CharField(max_length=32, default="")  # window code (clerk) or department code
    limit = fields.IntField(default=0, source_field="time_limit")  # working days ("limit" is SQL)
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "flow_step"
        unique_together = (("version", "code"),)


class LifeEvent(Model):
    """一件事: a life event bundling items of several departments."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    audience = fields.CharField(max_length=20)  # natural_person | legal_person
    stage = fields.CharField(max_length=20, default="")  # 出生、教育 … / 准入准营 …
    description = fields.TextField(default="")
    icon = fields.CharField(max_length=40, default="")
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "life_event"


class LifeEventItem(Model):
    id = fields.IntField(primary_key=True)
    life_event: fields.ForeignKeyRelation[LifeEvent] = fields.ForeignKeyField(
        "models.LifeEvent", related_name="entries", on_delete=fields.CASCADE
    )
    basic_code = fields.CharField(max_length=32)  # region-independent: each region's body serves it
    sort_order = fields.IntField(default=0)
    note = fields.CharField(max_length=200, default="")

    class Meta:
        table = "life_event_item"
        unique_together = (("life_event", "basic_code"),)


class CatalogState(Model):
    """A single row whose version rises on every publish; caches are keyed by it."""

    id = fields.IntField(primary_key=True)
    version = fields.IntField(default=1)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "catalog_state"
