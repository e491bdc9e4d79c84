"""Production: rate limits counted in the database, shared by every process (api/core/ratelimit.py).

Revision ID: 0018_prod
Revises: 0017_bundles
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0018_prod"
down_revision: str | None = "0017_bundles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_window",
        sa.Column("bucket", sa.String(160), primary_key=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_rate_limit_expires", "rate_limit_window", ["expires_at"])


def downgrade() -> None:
    op.drop_table("rate_limit_window")
