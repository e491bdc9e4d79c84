"""并联审批: a joint case's departments (sub_case), and its one joint site survey (site_survey).

Revision ID: 0012_parallel
Revises: 0011_audit_chain
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0012_parallel"
down_revision: str | None = "0011_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
KW = {"sqlite_autoincrement": True}


def _id() -> sa.Column:
    # BIGSERIAL on PostgreSQL; SQLite's INTEGER PRIMARY KEY AUTOINCREMENT is 64-bit already.
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                     autoincrement=True)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _case(unique: bool = False) -> sa.Column:
    return sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False,
                     unique=unique)


def upgrade() -> None:
    op.create_table(
        "sub_case",
        _id(), _str("department_code", 32), _str("state", 20), sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True), _str("claimed_by", 40, nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True), sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False), _case(),
        sa.UniqueConstraint("case_id", "department_code", name="uid_sub_case_case_id_427a0a"),
        **KW,
    )
    op.create_index("ix_sub_case_department", "sub_case", ["department_code", "state"])
    op.create_table(
        "site_survey",
        _id(), sa.Column("scheduled_on", sa.Date(), nullable=False), _str("place", 200),
        sa.Column("attendees", JSON, nullable=False), sa.Column("findings", JSON, nullable=False),
        _str("scheduled_by", 40), sa.Column("scheduled_at", TIMESTAMP, nullable=False),
        sa.Column("closed_at", TIMESTAMP, nullable=True), _case(unique=True),
        **KW,
    )


def downgrade() -> None:
    op.drop_table("site_survey")
    op.drop_index("ix_sub_case_department", "sub_case")
    op.drop_table("sub_case")
