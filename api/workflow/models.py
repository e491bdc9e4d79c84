"""The workflow's tables: the administrator's corrections of the working-day calendar, the parts
of joint cases, and the workbench queues' counts (the case tables themselves live in api.cases)."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class CalendarOverride(Model):
    """One day whose working status an administrator set: the library's calendar gets a year
    wrong (its future years are estimates), or the city declares a local closure or workday."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    working = fields.BooleanField()
    note = fields.CharField(max_length=200, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calendar_override"


class CalendarRevision(Model):
    """One row (id 1) whose stamp every change of the overrides replaces, in the change's own
    transaction: a process re-reads the overrides when the stamp differs from the one it loaded.
    A fresh random stamp rather than a counter, so that two databases (tests switch between
    SQLite and PostgreSQL in one process) never share a stamp once either has been changed."""

    id = fields.IntField(primary_key=True)
    stamp = fields.CharField(max_length=32)

    class Meta:
        table = "calendar_revision"


class SubCase(Model):
    """One department's part of a joint case (并联审批): the implementing department and each joint
    department review and decide in parallel, each with its own state, version and due date; the
    parent case waits in review until the last of them is decided (workflow/parallel.py joins them)."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Case", related_name="sub_cases", on_delete=fields.CASCADE
    )
    department_code = fields.CharField(max_length=32)
    state = fields.CharField(max_length=20)  # accepted | in_review | approved | denied
    version = fields.IntField(default=1)
    due_date = fields.DateField(null=True)  # null once decided
    claimed_by = fields.CharField(max_length=40, null=True)
    decided_at = fields.DatetimeField(null=True)
    reason = fields.TextField(default="")  # a denial's reason
    opinion = fields.TextField(default="")  # an approval's opinion

    class Meta:
        table = "sub_case"
        unique_together = (("case", "department_code"),)
        indexes = (Index(fields=("department_code", "state"), name="ix_sub_case_department"),)


class SiteSurvey(Model):
    """The one joint site survey (一次踏勘) of a joint case: scheduled once for every involved
    department, the parent's clock stopped once until every department has recorded its findings."""

    id = fields.BigIntField(primary_key=True)
    case: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.Case", related_name="site_survey", on_delete=fields.CASCADE
    )
    scheduled_on = fields.DateField()
    place = fields.CharField(max_length=200)
    attendees = fields.JSONField(default=dict)  # {department: [names]}
    findings = fields.JSONField(default=dict)  # {department: findings}
    scheduled_by = fields.CharField(max_length=40)
    scheduled_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "site_survey"


class QueueCount(Model):
    """How many cases wait in one workbench queue in one state (the queue's counts per state),
    kept in the transaction of every change of a case (``api.workflow.queues.recount``) rather than
    counted from the backlog on every read. Each (queue, state) is split over ``queues.SHARDS``
    rows by case id, so that concurrent writers rarely hold the same row; its count is their sum.
    ``queue`` is ``all`` (supervisors), ``window:<category>`` or ``department:<code>``."""

    id = fields.BigIntField(primary_key=True)
    queue = fields.CharField(max_length=48)
    state = fields.CharField(max_length=20)
    shard = fields.SmallIntField()
    n = fields.IntField(default=0)

    class Meta:
        table = "queue_count"
        unique_together = (("queue", "state", "shard"),)
