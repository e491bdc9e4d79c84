"""好差评: ratings (rating), the rectification of bad ones (rectification) and its steps
(rectification_step).

Revision ID: 0020_ratings
Revises: 0019_notifications
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0020_ratings"
down_revision: str | None = "0019_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")  # Tortoise writes INT on SQLite
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column:
    return sa.Column("id", BIGINT_ID, primary_key=True, autoincrement=True)


def _str(name: str, length: int, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=kw.pop("nullable", False), **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "rating",
        _id(), _str("mode", 8), _str("channel", 10),
        sa.Column("case_id", sa.BigInteger(), nullable=True, unique=True),
        _str("rater", 40), _str("item_code", 64), _str("item_name", 200), _str("department_code", 32),
        _str("window_code", 32),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("followup_level", sa.Integer(), nullable=True),
        sa.Column("followup_reasons", JSON, nullable=False),
        sa.Column("followup_text", sa.Text(), nullable=False),
        sa.Column("followup_at", TIMESTAMP, nullable=True),
        sa.Column("effective_level", sa.Integer(), nullable=False),
        _str("token_jti", 32, nullable=True, unique=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_rating_item", "rating", ["item_code", "created_at"])
    op.create_index("ix_rating_department", "rating", ["department_code", "created_at"])
    op.create_index("ix_rating_window", "rating", ["window_code", "created_at"])
    op.create_index("ix_rating_rater", "rating", ["rater", "id"])
    op.create_table(
        "rectification",
        _id(),
        sa.Column("rating_id", sa.BigInteger(), sa.ForeignKey("rating.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        _str("owner_kind", 10), _str("owner_code", 32), _str("state", 16),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("verify_due", sa.Date(), nullable=False),
        sa.Column("rectify_due", sa.Date(), nullable=True),
        sa.Column("answer_due", sa.Date(), nullable=True),
        sa.Column("founded", BOOL, nullable=True),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("callback", sa.Text(), nullable=False),
        sa.Column("contested", BOOL, nullable=False),
        _str("closed_reason", 16), _str("flagged", 16),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_rectification_owner", "rectification", ["owner_kind", "owner_code", "state", "id"])
    op.create_index("ix_rectification_state", "rectification", ["state", "id"])
    op.create_table(
        "rectification_step",
        _id(),
        sa.Column("rectification_id", sa.BigInteger(), sa.ForeignKey("rectification.id", ondelete="CASCADE"),
                  nullable=False),
        _str("step", 16), _str("actor", 40),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("rectification_step")
    op.drop_table("rectification")
    op.drop_table("rating")
