"""Delivery (送达) of a decision: how it reached the applicant (electronic, window pick-up, express
mail), the carrier and tracking number of an express delivery, and when.

Revision ID: 0023_delivery
Revises: 0022_queue_scale
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0023_delivery"
down_revision: str | None = "0022_queue_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("delivery_method", sa.String(12)),
    ("delivery_carrier", sa.String(40)),
    ("delivery_tracking_number", sa.String(40)),
    ("delivered_at", sa.TIMESTAMP(timezone=True)),
)


def upgrade() -> None:
    # Nullable columns: SQLite adds them in place (no rebuild of the wide, much-indexed cases table).
    for name, kind in COLUMNS:
        op.add_column("cases", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("cases", name)  # SQLite ≥ 3.35 drops a plain column in place
