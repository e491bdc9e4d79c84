"""Audit trail of administrative actions (who, what, before/after).

Revision ID: 0003_admin_audit
Revises: 0002_identity
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0003_admin_audit"
down_revision: str | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.TIMESTAMP(timezone=True)


def _str(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False)


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", TIMESTAMP, nullable=False), _str("actor", 40), _str("action", 64),
        _str("target_type", 32), _str("target_code", 64),
        sa.Column("before", JSON, nullable=True), sa.Column("after", JSON, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_target", "audit_entry", ["target_type", "target_code"])
    op.create_index("ix_audit_at", "audit_entry", ["at"])


def downgrade() -> None:
    op.drop_table("audit_entry")
