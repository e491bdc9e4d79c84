"""Notification delivery: the outbox's outcome (delivered / dropped / dead letter), the message centre
(message), Web Push subscriptions (push_subscription) and lock-screen preferences
(notification_preference).

Revision ID: 0019_notifications
Revises: 0018_prod
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0019_notifications"
down_revision: str | None = "0018_prod"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")  # Tortoise writes INT on SQLite
KEEP = {"table_kwargs": {"sqlite_autoincrement": True}}


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox", **KEEP) as batch:  # type: ignore[arg-type]
        batch.add_column(sa.Column("outcome", sa.String(10), nullable=False, server_default=""))
    # Rows already done were delivered (0013 wrote no dead letters).
    op.execute("UPDATE outbox SET outcome = 'delivered' WHERE done_at IS NOT NULL")
    op.create_index("ix_outbox_outcome", "outbox", ["outcome", "id"])
    op.create_table(
        "message",
        _id(),
        sa.Column("recipient", sa.String(40), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(100), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("url", sa.String(200), nullable=False),
        sa.Column("urgent", BOOL, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("read_at", TIMESTAMP, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_message_recipient", "message", ["recipient", "id"])
    op.create_index("ix_message_unread", "message", ["recipient", "read_at"])
    op.create_table(
        "push_subscription",
        _id(),
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("endpoint", sa.String(1024), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(100), nullable=False),
        sa.Column("auth", sa.String(32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_success_at", TIMESTAMP, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_push_subscription_owner", "push_subscription", ["owner", "id"])
    op.create_table(
        "notification_preference",
        _id(),
        sa.Column("subject", sa.String(40), nullable=False, unique=True),
        sa.Column("push", BOOL, nullable=False),
        sa.Column("sms", BOOL, nullable=False),
        sa.Column("muted", JSON, nullable=False),
        sa.Column("quiet_hours", BOOL, nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=False),
        sa.Column("quiet_end", sa.String(5), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("notification_preference")
    op.drop_table("push_subscription")
    op.drop_table("message")
    op.drop_index("ix_outbox_outcome", "outbox")
    with op.batch_alter_table("outbox", **KEEP) as batch:  # type: ignore[arg-type]
        batch.drop_column("outcome")
