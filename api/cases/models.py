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
    "Bundle",
    "Case",
    "CaseCounter",
    "CaseEvent",
    "CaseMaterial",
]

#: Our state → the vendor code used by provincial exchange platforms (None: not exchanged).
VENDOR_CODES: dict[str, str | None] = {DRAFT: None, SUBMITTED: "已接件", WITHDRAWN: "撤回"}

MISSING, ATTACHED, SPARED = "missing", "attached", "spared"
#: The condition of the queue indexes: the case waits for someone (api/workflow/queues.py says it too).
WAITING = "due_date IS NOT NULL"


class PartialIndex(Index):
    """An index of the rows that meet ``where`` (plain SQL, the same on SQLite and PostgreSQL;
    Tortoise's own PartialIndex knows only equalities). A query uses it when its WHERE implies
    ``where`` — on SQLite only when it contains the very same terms."""

    def __init__(self, *, fields: tuple[str, ...], name: str, where: str) -> None:
        super().__init__(fields=fields, name=name)
        self.extra = f" WHERE {where}"


class Bundle(Model):
    """一件事一次办: one application for a life event's items, filed as one linked case per item
    (each in its own department). Created with one Idempotency-Key (all its draft cases or none),
    submitted with one (every case numbered, or none)."""

    id = fields.BigIntField(primary_key=True)
    applicant: fields.ForeignKeyRelation[Citizen] = fields.ForeignKeyField(
        "models.Citizen", related_name="bundles", on_delete=fields.RESTRICT
    )
    enterprise: fields.ForeignKeyNullableRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name="bundles", null=True, on_delete=fields.RESTRICT
    )
    life_event_code = fields.CharField(max_length=64)
    life_event_name = fields.CharField(max_length=100)
    state = fields.CharField(max_length=10, default=DRAFT)  # draft | submitted
    form_data = fields.JSONField(default=dict)  # the one form, copied to every case at submission
    idempotency_key = fields.CharField(max_length=64)  # of the creation
    submit_key = fields.CharField(max_length=64, null=True)  # of the submission
    created_at = fields.DatetimeField(auto_now_add=True)
    submitted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "bundle"
        unique_together = (("applicant", "idempotency_key"),)
        indexes = (Index(fields=("applicant_id", "created_at"), name="ix_bundle_applicant_created"),)


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
    # The back office (0007_workflow). ``version`` rises with every move: a staff action names the
    # version its author saw, so two people acting on one case never both win.
    version = fields.IntField(default=1)
    window_category = fields.CharField(max_length=32, default="")  # the central windows that accept it
    department_code = fields.CharField(max_length=32, default="")  # the implementing department
    claimed_by = fields.CharField(max_length=40, null=True)  # "staff:3" while someone works on it
    accepted_at = fields.DatetimeField(null=True)
    decided_at = fields.DatetimeField(null=True)
    due_date = fields.DateField(null=True)  # the deadline of what the case waits for now (queue order)
    paused_at = fields.DatetimeField(null=True)  # the clock stopped (suspended, waiting for a correction)
    paused_days = fields.IntField(default=0)  # working days the clock has been stopped so far
    corrections = fields.IntField(default=0)  # one-time correction notices sent (a second needs a reason)
    legal_limit = fields.IntField(default=0)  # 法定期限 of the item version: an extension never goes past it
    legal_limit_unit = fields.CharField(max_length=16, default="working_day")
    extended_days = fields.IntField(default=0)  # the one extension granted (working days)
    # 送达 (0023_delivery): how the decision reached the applicant; carrier and number for express mail.
    delivery_method = fields.CharField(max_length=12, null=True)  # electronic | window | express
    delivery_carrier = fields.CharField(max_length=40, null=True)
    delivery_tracking_number = fields.CharField(max_length=40, null=True)
    delivered_at = fields.DatetimeField(null=True)
    # 即办件 and 容缺受理 (0024_tolerated): the item version's case type ("1": decided at the window);
    # the tolerated materials still owed against the applicant's promise ([{code, name}]) and the
    # day they are due by (set at acceptance; past it, the case ends).
    case_type = fields.CharField(max_length=1, default="2")
    owed = fields.JSONField(default=list)
    makeup_due = fields.DateField(null=True)
    # 一件事一次办 (0017_bundles): the life-event application this case was filed with, if any.
    bundle: fields.ForeignKeyNullableRelation[Bundle] = fields.ForeignKeyField(
        "models.Bundle", related_name="cases", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "cases"
        unique_together = (("applicant", "idempotency_key"),)
        indexes = (
            Index(fields=("applicant_id", "created_at"), name="ix_case_applicant_created"),
            Index(fields=("state", "expires_at"), name="ix_case_state"),
            # The workbench queues (api/workflow/queues.py): per scope and state, due first, of the
            # cases that wait for someone (a due date) only — a small part of all cases ever filed.
            PartialIndex(fields=("window_category", "state", "due_date", "id"), name="ix_case_window_queue",
                         where=WAITING),
            PartialIndex(fields=("department_code", "state", "due_date", "id"), name="ix_case_department_queue",
                         where=WAITING),
            PartialIndex(fields=("state", "due_date", "id"), name="ix_case_state_queue", where=WAITING),
            PartialIndex(fields=("item_code", "state", "due_date", "id"), name="ix_case_item_queue", where=WAITING),
            PartialIndex(fields=("claimed_by", "state", "due_date", "id"), name="ix_case_claimed_queue",
                         where=f"claimed_by IS NOT NULL AND {WAITING}"),
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
    data = fields.JSONField(null=True)  # the step's own fields: reason, materials and their problems, …
    internal = fields.BooleanField(default=False)  # staff only (a comment): never shown to the applicant
    idempotency_key = fields.CharField(max_length=64, null=True)  # a retry with it returns the first answer

    class Meta:
        table = "case_event"
        unique_together = (("case", "idempotency_key"),)
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
