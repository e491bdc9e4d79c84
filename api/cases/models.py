"""Case tables. Schema owned by Alembic (alembic/versions/0004_cases.py); these must match it.

States and the common vendor codes of GB/T 39046-style exchanges (DESIGN §4b); the workflow issue
adds the rest (受理, 不受理, 补正开始/结束, 特别程序开始/结束, 办结)::

    draft      —        (not yet a case for the exchange: never sent)
    submitted  已接件    (received online, waiting for a clerk)
    withdrawn  撤回
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from api.catalog.models import ServiceItemVersion
from api.identity.models import Citizen, Enterprise
from api.workflow.states import DRAFT, STATE_NAMES, STATES, SUBMITTED, WITHDRAWN

__all__ = [
    "DRAFT",
    "STATES",
    "STATE_NAMES",
    "SUBMITTED",
    "VENDOR_CODES",
    "WITHDRAWN",
    "Case",
    "CaseCounter",
    "CaseEvent",
    "CaseMaterial",
]

#: Our state → the vendor code used by provincial exchange platforms (None: not exchanged).
VENDOR_CODES: dict[str, str | None] = {DRAFT: None, SUBMITTED: "已接件", WITHDRAWN: "撤回"}

MISSING, ATTACHED, SPARED = "missing", "attached", "spared"


class Case(Model):
    """One application (办件). ``number`` and the query code exist from submission on."""

    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=20, unique=True, null=True)  # region(6) + YYYYMMDD + sequence(6)
    query_code_hash = fields.CharField(max_length=64, null=True)  # keyed hash of number + code
    query_code_salt = fields.CharField(max_length=32, null=True)  # random; the code is derived from it
    applicant: fields.ForeignKeyRelation[Citizen] = fields.ForeignKeyField(
        "models.Citizen", related_name="cases", on_delete=fields.RESTRICT
    )
    enterprise: fields.ForeignKeyNullableRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name="cases", null=True, on_delete=fields.RESTRICT
    )
    item_version: fields.ForeignKeyRelation[ServiceItemVersion] = fields.ForeignKeyField(
        "models.ServiceItemVersion", related_name="cases", on_delete=fields.RESTRICT
    )
    item_code = fields.CharField(max_length=64)
    item_name = fields.CharField(max_length=200)
    region = fields.CharField(max_length=6)  # first 6 digits of the implementing body's region code
    situation_code = fields.CharField(max_length=64)
    situation_name = fields.CharField(max_length=200, default="")
    answers = fields.JSONField(default=dict)
    form_data = fields.JSONField(default=dict)
    state = fields.CharField(max_length=20, default=DRAFT)
    channel = fields.CharField(max_length=10, default="online")  # online | window
    promised_limit = fields.IntField(default=0)
    promised_limit_unit = fields.CharField(max_length=16, default="working_day")
    idempotency_key = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    submitted_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)  # drafts only

    class Meta:
        table = "cases"
        unique_together = (("applicant", "idempotency_key"),)
        indexes = (
            Index(fields=("applicant_id", "created_at"), name="ix_case_applicant_created"),
            Index(fields=("state", "expires_at"), name="ix_case_state"),
        )


class CaseMaterial(Model):
    """One entry of the case's checklist (一单载明), and the file attached to it."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="materials", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    required = fields.BooleanField(default=True)
    source = fields.CharField(max_length=16, default="applicant")  # applicant | certificate
    certificate_type = fields.CharField(max_length=64, default="")
    reason = fields.TextField(default="")
    sort_order = fields.IntField(default=0)
    status = fields.CharField(max_length=10, default=MISSING)  # missing | attached | spared
    blob_key = fields.CharField(max_length=100, null=True)
    filename = fields.CharField(max_length=200, default="")
    size = fields.BigIntField(null=True)
    mime = fields.CharField(max_length=100, default="")
    sha256 = fields.CharField(max_length=64, default="")
    attached_at = fields.DatetimeField(null=True)
    # the certificate the platform fetched instead (status spared, see api.certificates.services)
    certificate = fields.ForeignKeyField(
        "models.Certificate", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "case_material"
        unique_together = (("case", "code"),)
        indexes = (Index(fields=("blob_key",), name="ix_case_material_blob"),)


class CaseEvent(Model):
    """One entry of the case's timeline (what tracking shows)."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    action = fields.CharField(max_length=32)  # submit | withdraw | …
    actor = fields.CharField(max_length=40)  # "citizen:12" | "staff:3" | "system"
    from_state = fields.CharField(max_length=20, null=True)
    to_state = fields.CharField(max_length=20)
    note = fields.TextField(default="")

    class Meta:
        table = "case_event"
        indexes = (Index(fields=("case_id", "at"), name="ix_case_event_case"),)


class CaseCounter(Model):
    """The last sequence number handed out per region and day (incremented atomically)."""

    id = fields.IntField(primary_key=True)
    region = fields.CharField(max_length=6)
    day = fields.CharField(max_length=8)  # YYYYMMDD (Asia/Shanghai)
    seq = fields.IntField(default=0)

    class Meta:
        table = "case_counter"
        unique_together = (("region", "day"),)
