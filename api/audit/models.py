"""Audit tables. Schema owned by Alembic (alembic/versions/0003_admin_audit.py,
0007_audit_chain.py)."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class AuditEntry(Model):
    """One action. Append-only: rows are inserted by ``api.audit.services.record`` and never
    updated or deleted, so the trail can be trusted as evidence of what changed. Each entry is
    chained to the one before it (``prev_hash``) and hashed (``hash``, see ``api/audit/chain.py``):
    ``zhengwu audit-verify`` finds an entry changed, removed or inserted afterwards."""

    id = fields.BigIntField(primary_key=True)
    # Position in the chain, 1, 2, 3 … without gaps (ids may skip: a rolled-back insert burns one).
    seq = fields.BigIntField(unique=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=40)  # "staff:3" | "citizen:12" | "system"
    role = fields.CharField(max_length=20)  # the actor's role then: "clerk" … "admin", "citizen", "system"
    action = fields.CharField(max_length=64)  # "item.publish", "department.update", …
    target_type = fields.CharField(max_length=32)  # "item" | "department" | "window" | "case" | …
    target_code = fields.CharField(max_length=64)
    before = fields.JSONField(null=True)  # null: the target did not exist before
    after = fields.JSONField(null=True)  # null: the target no longer exists
    client = fields.CharField(max_length=64)  # the client's address; "" when no request (CLI, worker)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_entry"
        indexes = (
            Index(fields=("target_type", "target_code"), name="ix_audit_target"),
            Index(fields=("at",), name="ix_audit_at"),
        )


class AuditChainHead(Model):
    """The chain's end, one row (id 1): the last entry's ``seq`` and ``hash``.

    A writer updates this row *first* in its transaction, which makes concurrent writers queue
    behind one another (PostgreSQL's row lock; SQLite's single writer), so each reads the head
    its predecessor committed and the chain never forks. It also lets the verifier notice entries
    removed from the end, which leave no gap behind them."""

    id = fields.IntField(primary_key=True)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_chain_head"
