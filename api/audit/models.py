"""Audit tables. Schema owned by Alembic (alembic/versions/0003_admin_audit.py)."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class AuditEntry(Model):
    """One action. Append-only: rows are inserted by ``api.audit.services.record`` and never
    updated or deleted, so the trail can be trusted as evidence of what changed."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=40)  # "staff:3" | "citizen:12" | "system"
    action = fields.CharField(max_length=64)  # "item.publish", "department.update", …
    target_type = fields.CharField(max_length=32)  # "item" | "department" | "window" | …
    target_code = fields.CharField(max_length=64)
    before = fields.JSONField(null=True)  # null: the target did not exist before
    after = fields.JSONField(null=True)  # null: the target no longer exists

    class Meta:
        table = "audit_entry"
        indexes = (
            Index(fields=("target_type", "target_code"), name="ix_audit_target"),
            Index(fields=("at",), name="ix_audit_at"),
        )
