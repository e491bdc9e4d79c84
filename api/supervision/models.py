"""Electronic supervision (电子监察) tables. Schema owned by Alembic (alembic/versions/0021_supervision.py).

``SupervisedStep`` is what the worker's tick reads: one row per step of a case that is (or was)
open — the window's acceptance, the department's review, each joint department's review, delivery,
and each supervision order's response — with its limit, its due dates, whether its clock is
stopped, which alerts it has raised, and ``next_check_at``: the moment the next threshold can be
reached. The tick claims only rows whose ``next_check_at`` has come (an indexed range), never every
open case. The rows are kept in the same transaction as the change of the case
(``services.track``, called by ``workflow.services.apply`` and ``workflow.joint``).
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class SupervisionConfig(Model):
    """The thresholds (one row, id 1): configuration, not code (DESIGN §5); ``rules.Thresholds``."""

    id = fields.IntField(primary_key=True)
    values = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField()
    updated_by = fields.CharField(max_length=40, default="")

    class Meta:
        table = "supervision_config"


class SupervisedStep(Model):
    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Case", related_name=False, on_delete=fields.CASCADE)
    sub_case_id = fields.BigIntField(null=True)  # a joint department's review (并联审批)
    order_id = fields.BigIntField(null=True)  # a supervision order's response
    step = fields.CharField(max_length=24)  # accept | review | department_review | deliver | order
    case_number = fields.CharField(max_length=20, default="")
    item_code = fields.CharField(max_length=64, default="")
    item_name = fields.CharField(max_length=200, default="")
    department_code = fields.CharField(max_length=32, default="")
    window_category = fields.CharField(max_length=32, default="")
    holder = fields.CharField(max_length=40, null=True)  # "staff:3" while someone holds it
    started_at = fields.DatetimeField()
    limit_days = fields.IntField(default=0)  # the step's limit (working days)
    due_date = fields.DateField(null=True)  # the limit's last day
    legal_due_date = fields.DateField(null=True)  # the legal limit's last day (review only)
    paused_at = fields.DatetimeField(null=True)  # the clock stopped: no alert is raised
    pause_limit = fields.IntField(null=True)  # working days the stop may last (special procedures)
    warning_at = fields.DatetimeField(null=True)
    yellow_at = fields.DatetimeField(null=True)
    red_at = fields.DatetimeField(null=True)
    overlong_at = fields.DatetimeField(null=True)  # the stop outlasted pause_limit (an irregularity)
    next_check_at = fields.DatetimeField(null=True)  # null: nothing can happen until the case moves
    closed_at = fields.DatetimeField(null=True)  # the step completed: its alerts are resolved
    updated_at = fields.DatetimeField()

    class Meta:
        table = "supervised_step"
        indexes = (
            Index(fields=("next_check_at", "id"), name="ix_step_next_check"),  # the claim's order
            Index(fields=("case_id", "closed_at"), name="ix_step_case"),
        )


class SupervisionAlert(Model):
    """A warning (预警), a yellow alarm (黄牌) or a red alarm (红牌), raised once per threshold of a
    step (``key`` is unique), resolved when the step completes, kept for history."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)  # "step:12:yellow"
    level = fields.CharField(max_length=8)  # warning | yellow | red
    cause = fields.CharField(max_length=16)  # approaching | step_limit | legal_limit | order_deadline
    case: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Case", related_name=False, on_delete=fields.CASCADE)
    case_number = fields.CharField(max_length=20, default="")
    item_code = fields.CharField(max_length=64, default="")
    item_name = fields.CharField(max_length=200, default="")
    step_id = fields.BigIntField()
    step = fields.CharField(max_length=24)
    order_id = fields.BigIntField(null=True)
    department_code = fields.CharField(max_length=32, default="")
    holder = fields.CharField(max_length=40, null=True)
    due_date = fields.DateField(null=True)  # the limit this alert is about
    raised_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "supervision_alert"
        indexes = (
            Index(fields=("resolved_at", "level", "department_code"), name="ix_alert_open"),
            Index(fields=("department_code", "id"), name="ix_alert_department"),
            Index(fields=("case_id",), name="ix_alert_case"),
            Index(fields=("holder", "id"), name="ix_alert_holder"),
            Index(fields=("step_id",), name="ix_alert_step"),
        )


class Irregularity(Model):
    """An irregularity (违规) found in the audit trail, with the entries that prove it (``evidence``)."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=100, unique=True)  # found once: "repeated_correction:12"
    kind = fields.CharField(max_length=32)  # rules.IRREGULARITIES
    case: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Case", related_name=False, on_delete=fields.CASCADE)
    case_number = fields.CharField(max_length=20, default="")
    item_code = fields.CharField(max_length=64, default="")
    department_code = fields.CharField(max_length=32, default="")
    person = fields.CharField(max_length=40, null=True)  # who acted ("staff:3"); null: nobody did
    at = fields.DatetimeField()  # when it happened (the deciding audit entry's time)
    evidence = fields.JSONField(default=list)  # [{id, seq, at, actor, action, hash}] of audit entries
    detail = fields.JSONField(default=dict)
    found_at = fields.DatetimeField()

    class Meta:
        table = "supervision_irregularity"
        indexes = (
            Index(fields=("department_code", "id"), name="ix_irregularity_department"),
            Index(fields=("person", "id"), name="ix_irregularity_person"),
            Index(fields=("case_id",), name="ix_irregularity_case"),
        )


class SupervisionOrder(Model):
    """A supervision order (督办) on a case (or one of its alerts): instructions, the department's own
    deadline in working days, its response; red when still open past the deadline."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Case", related_name=False, on_delete=fields.CASCADE)
    alert_id = fields.BigIntField(null=True)
    department_code = fields.CharField(max_length=32)
    instructions = fields.TextField()
    days = fields.IntField()
    due_date = fields.DateField()
    state = fields.CharField(max_length=12, default="open")  # open | responded | closed
    opened_by = fields.CharField(max_length=40)
    opened_at = fields.DatetimeField()
    explanation = fields.TextField(default="")
    action_taken = fields.TextField(default="")
    responded_by = fields.CharField(max_length=40, null=True)
    responded_at = fields.DatetimeField(null=True)
    conclusion = fields.TextField(default="")
    closed_by = fields.CharField(max_length=40, null=True)
    closed_at = fields.DatetimeField(null=True)
    red_at = fields.DatetimeField(null=True)  # turned red: still open past its deadline
    version = fields.IntField(default=1)

    class Meta:
        table = "supervision_order"
        indexes = (
            Index(fields=("department_code", "state", "id"), name="ix_order_department"),
            Index(fields=("case_id",), name="ix_order_case"),
        )


class Accountability(Model):
    """An accountability record (问责): who, what was found, the measure taken, linked alerts and
    irregularities, and the audit entries that are its evidence. Seen by supervisors only."""

    id = fields.BigIntField(primary_key=True)
    person = fields.CharField(max_length=40)  # "staff:3"
    person_name = fields.CharField(max_length=50, default="")
    department_code = fields.CharField(max_length=32, default="")
    finding = fields.TextField()
    measure = fields.CharField(max_length=16)  # rules.MEASURES
    decided_on = fields.DateField()
    case_id = fields.BigIntField(null=True)
    order_id = fields.BigIntField(null=True)
    alerts = fields.JSONField(default=list)  # alert ids
    irregularities = fields.JSONField(default=list)  # irregularity ids
    evidence = fields.JSONField(default=list)  # audit entry ids
    recorded_by = fields.CharField(max_length=40)
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "supervision_accountability"
        indexes = (Index(fields=("person", "id"), name="ix_accountability_person"),)


class DailyFigures(Model):
    """One day's counts per department, item, window category, region and channel (the rollup the
    statistics read: a year's figures are a few thousand rows, not a million cases)."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    department_code = fields.CharField(max_length=32)
    item_code = fields.CharField(max_length=64)
    window_category = fields.CharField(max_length=32)
    region = fields.CharField(max_length=6)
    channel = fields.CharField(max_length=10)
    received = fields.IntField(default=0)
    online = fields.IntField(default=0)  # received online (the rest at a window)
    accepted = fields.IntField(default=0)
    refused = fields.IntField(default=0)
    completed = fields.IntField(default=0)
    on_time = fields.IntField(default=0)
    early = fields.IntField(default=0)
    days_used = fields.IntField(default=0)  # working days used by the completed cases
    days_promised = fields.IntField(default=0)  # their promised working days
    corrections = fields.IntField(default=0)
    suspensions = fields.IntField(default=0)
    spared = fields.IntField(default=0)  # materials spared by certificate reuse (received cases)
    trips_needed = fields.IntField(default=0)  # the guides' on-site trips of the completed cases
    trips_made = fields.IntField(default=0)
    trips_saved = fields.IntField(default=0)  # per case: the guide's trips less those made, never below 0

    class Meta:
        table = "supervision_daily"
        indexes = (Index(fields=("day", "department_code"), name="ix_daily_day"),)
