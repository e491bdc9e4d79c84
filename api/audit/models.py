"""Audit tables. Schema owned by Alembic (alembic/versions/0003_admin_audit.py,
0011_audit_chain.py, 0022_queue_scale.py)."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class AuditEntry(Model):
    """One action. Append-only: rows are inserted by ``api.audit.services.record`` and never
    updated or deleted, so the trail can be trusted as evidence of what changed. Each entry is
    chained to the one before it in its chain (``prev_hash``) and hashed (``hash``, see
    ``api/audit/chain.py``): ``zhengwu audit-verify`` finds an entry changed, removed or inserted
    afterwards."""

    id = fields.BigIntField(primary_key=True)
    chain = fields.SmallIntField()  # which of the chains (1 … chain.CHAINS) it belongs to
    # Position in its chain, 1, 2, 3 … without gaps (ids may skip: a rolled-back insert burns one).
    seq = fields.BigIntField()
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
        unique_together = (("chain", "seq"),)  # also the verifier's walk along each chain
        indexes = (
            Index(fields=("target_type", "target_code"), name="ix_audit_target"),
            Index(fields=("at",), name="ix_audit_at"),
        )


class AuditChainHead(Model):
    """One row per chain (``id`` = the chain's number, 1 … chain.CHAINS): its last entry's ``seq``
    and ``hash`` (0 and 64 zeros while the chain is empty).

    A writer updates its chain's row first (``services.record``), which makes concurrent writers
    of one chain queue behind one another (PostgreSQL's row lock; SQLite's single writer), so
    each reads the head its predecessor committed and no chain ever forks; writers of the other
    chains do not wait for them. It also lets the verifier notice entries removed from a chain's
    end, which leave no gap behind them."""

    id = fields.IntField(primary_key=True)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_chain_head"
