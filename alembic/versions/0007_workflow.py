"""The back office's case columns: version, owners (window category, department), claim, acceptance
and decision times, the due date the queues order by, the paused clock, correction count; and the
timeline event's own data, internal flag and idempotency key.

Revision ID: 0007_workflow
Revises: 0006_bigint_ids
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0007_workflow"
down_revision: str | None = "0006_bigint_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
# On SQLite a batch is a rebuild: AUTOINCREMENT is not reflected, so say it again (without it SQLite
# may hand a deleted row's id to a new one).
KEEP = {"table_kwargs": {"sqlite_autoincrement": True}}


def upgrade() -> None:
    with op.batch_alter_table("cases", **KEEP) as batch:  # type: ignore[arg-type]
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("window_category", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("department_code", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("claimed_by", sa.String(40), nullable=True))
        batch.add_column(sa.Column("accepted_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("decided_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("paused_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("paused_days", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("corrections", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("legal_limit", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("legal_limit_unit", sa.String(16), nullable=False, server_default="working_day"))
        batch.add_column(sa.Column("extended_days", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_case_window_queue", "cases", ["window_category", "state", "due_date", "id"])
    op.create_index("ix_case_department_queue", "cases", ["department_code", "state", "due_date", "id"])
    with op.batch_alter_table("case_event", **KEEP) as batch:  # type: ignore[arg-type]
        batch.add_column(sa.Column("data", JSON, nullable=True))
        batch.add_column(sa.Column("internal", BOOL, nullable=False, server_default="0"))
        batch.add_column(sa.Column("idempotency_key", sa.String(64), nullable=True))
        batch.create_unique_constraint("uid_case_event_case_id_54cfbd", ["case_id", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("case_event", **KEEP) as batch:  # type: ignore[arg-type]
        batch.drop_constraint("uid_case_event_case_id_54cfbd", type_="unique")
        for column in ("idempotency_key", "internal", "data"):
            batch.drop_column(column)
    op.drop_index("ix_case_department_queue", "cases")
    op.drop_index("ix_case_window_queue", "cases")
    with op.batch_alter_table("cases", **KEEP) as batch:  # type: ignore[arg-type]
        for column in ("extended_days", "legal_limit_unit", "legal_limit", "corrections", "paused_days", "paused_at", "due_date", "decided_at", "accepted_at",
                       "claimed_by", "department_code", "window_category", "version"):
            batch.drop_column(column)
