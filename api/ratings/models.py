"""Ratings (好差评) and their rectifications. Schema owned by Alembic (0020_ratings).

A rating names what was rated (the case, its item, the department that decided it, the window that
accepted it; or, for 一次一评, the window visited) and who rated only as ``rater`` — read by the
services for the rater themself and for the supervisors, never shown to the staff who served."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Rating(Model):
    id = fields.BigIntField(primary_key=True)
    mode = fields.CharField(max_length=8)  # case (一事一评) | visit (一次一评)
    channel = fields.CharField(max_length=10)  # online (the app) | qr (a window's QR)
    case_id = fields.BigIntField(null=True, unique=True)  # one rating a case (no foreign key: history)
    rater = fields.CharField(max_length=40, default="")  # "citizen:12"; "" for an anonymous visit
    item_code = fields.CharField(max_length=64, default="")
    item_name = fields.CharField(max_length=200, default="")
    department_code = fields.CharField(max_length=32, default="")
    window_code = fields.CharField(max_length=32, default="")
    level = fields.IntField()  # 1 非常满意 … 5 非常不满意
    reasons = fields.JSONField(default=list)
    text = fields.TextField(default="")
    followup_level = fields.IntField(null=True)  # the one 追评
    followup_reasons = fields.JSONField(default=list)
    followup_text = fields.TextField(default="")
    followup_at = fields.DatetimeField(null=True)
    effective_level = fields.IntField()  # the follow-up's level once there is one: what the figures count
    token_jti = fields.CharField(max_length=32, null=True, unique=True)  # a visit's single-use token
    created_at = fields.DatetimeField()

    class Meta:
        table = "rating"
        indexes = (
            Index(fields=("item_code", "created_at"), name="ix_rating_item"),
            Index(fields=("department_code", "created_at"), name="ix_rating_department"),
            Index(fields=("window_code", "created_at"), name="ix_rating_window"),
            Index(fields=("rater", "id"), name="ix_rating_rater"),
        )


class Rectification(Model):
    """The loop a bad rating opens: verify (核实), rectify (整改), call back (回访), the rater's answer."""

    id = fields.BigIntField(primary_key=True)
    rating: fields.OneToOneRelation[Rating] = fields.OneToOneField(
        "models.Rating", related_name="rectification", on_delete=fields.CASCADE)
    owner_kind = fields.CharField(max_length=10)  # department | window
    owner_code = fields.CharField(max_length=32)
    state = fields.CharField(max_length=16)  # verifying | rectifying | awaiting_rater | closed
    version = fields.IntField(default=1)
    verify_due = fields.DateField()
    rectify_due = fields.DateField(null=True)
    answer_due = fields.DateField(null=True)  # the rater's answer to the callback
    founded = fields.BooleanField(null=True)  # the verification's finding: the complaint holds
    finding = fields.TextField(default="")
    measures = fields.TextField(default="")
    callback = fields.TextField(default="")
    contested = fields.BooleanField(default=False)  # the rater may contest once
    closed_reason = fields.CharField(max_length=16, default="")  # accepted | no_answer | anonymous | final
    flagged = fields.CharField(max_length=16, default="")  # the overdue step supervision was told of
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "rectification"
        indexes = (
            Index(fields=("owner_kind", "owner_code", "state", "id"), name="ix_rectification_owner"),
            Index(fields=("state", "id"), name="ix_rectification_state"),
        )


class RectificationStep(Model):
    id = fields.BigIntField(primary_key=True)
    rectification: fields.ForeignKeyRelation[Rectification] = fields.ForeignKeyField(
        "models.Rectification", related_name="steps", on_delete=fields.CASCADE)
    step = fields.CharField(max_length=16)  # open | verify | rectify | callback | accept | contest | close | overdue
    actor = fields.CharField(max_length=40)  # "staff:3" | "citizen:12" | "system"
    text = fields.TextField(default="")
    at = fields.DatetimeField()

    class Meta:
        table = "rectification_step"
