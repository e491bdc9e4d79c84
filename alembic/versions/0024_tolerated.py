"""容缺受理 and 即办件 on the case: the item's case type (1: 即办件, decided at the window), the
tolerated materials the applicant still owes against a signed promise, and the make-up deadline.

Revision ID: 0024_tolerated
Revises: 0023_delivery
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0024_tolerated"
down_revision: str | None = "0023_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Plain columns with defaults: SQLite adds them in place (no rebuild of the wide cases table).
    op.add_column("cases", sa.Column("case_type", sa.String(1), nullable=False, server_default="2"))
    op.add_column("cases", sa.Column("owed", JSON, nullable=False, server_default=sa.text("'[]'")))
    op.add_column("cases", sa.Column("makeup_due", sa.Date(), nullable=True))
    # Cases filed before: their item version's type (a 即办件 filed yesterday is one today too).
    op.execute("UPDATE cases SET case_type = (SELECT v.case_type FROM service_item_version v "
               "WHERE v.id = cases.item_version_id) WHERE EXISTS (SELECT 1 FROM service_item_version v "
               "WHERE v.id = cases.item_version_id AND v.case_type <> '2')")


def downgrade() -> None:
    for name in ("makeup_due", "owed", "case_type"):
        op.drop_column("cases", name)
