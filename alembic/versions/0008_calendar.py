"""The working-day calendar's administrator overrides (one row per corrected day) and the
single-row revision stamp every process compares to know when to re-read them.

Revision ID: 0008_calendar
Revises: 0007_workflow
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008_calendar"
down_revision: str | None = "0007_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
KW = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "calendar_override",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False, unique=True),
        sa.Column("working", BOOL, nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        **KW,
    )
    revision_table = op.create_table(
        "calendar_revision",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("stamp", sa.String(32), nullable=False),
        **KW,
    )
    # The row every change updates (the services create it too if a database lacks it).
    op.bulk_insert(revision_table, [{"id": 1, "stamp": "initial"}])


def downgrade() -> None:
    op.drop_table("calendar_revision")
    op.drop_table("calendar_override")
