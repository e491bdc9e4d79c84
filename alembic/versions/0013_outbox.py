"""The notification outbox (outbox): one row per event and recipient, written in the change's transaction.

Revision ID: 0013_outbox
Revises: 0012_parallel
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0013_outbox"
down_revision: str | None = "0012_parallel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")  # Tortoise writes INT on SQLite


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("recipient", sa.String(40), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("urgent", BOOL, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_due", "outbox", ["done_at", "due_at"])
    op.create_index("ix_outbox_recipient", "outbox", ["recipient", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
