"""一件事一次办: a bundle (one application for a life event's items) and each case's link to it.

Revision ID: 0017_bundles
Revises: 0013_outbox
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0017_bundles"
down_revision: str | None = "0013_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
KW = {"sqlite_autoincrement": True}


def _fk(name: str, target: str, ondelete: str, nullable: bool, big: bool = False) -> sa.Column:
    # citizen and enterprise keep INT ids; bundle's are BIGINT like the case's
    kind = sa.BigInteger() if big else sa.Integer()
    return sa.Column(name, kind, sa.ForeignKey(f"{target}.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "bundle",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        _fk("applicant_id", "citizen", "RESTRICT", nullable=False),
        _fk("enterprise_id", "enterprise", "RESTRICT", nullable=True),
        sa.Column("life_event_code", sa.String(64), nullable=False),
        sa.Column("life_event_name", sa.String(100), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("form_data", JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("submit_key", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("submitted_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("applicant_id", "idempotency_key", name="uid_bundle_applica_3e8d67"),
        **KW,
    )
    op.create_index("ix_bundle_applicant_created", "bundle", ["applicant_id", "created_at"])
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a nullable column with an inline REFERENCES clause in place (cases is large).
        op.execute("ALTER TABLE cases ADD COLUMN bundle_id BIGINT REFERENCES bundle (id) ON DELETE SET NULL")
    else:
        op.add_column("cases", _fk("bundle_id", "bundle", "SET NULL", nullable=True, big=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", table_kwargs=KW) as batch:  # type: ignore[arg-type]
        batch.drop_column("bundle_id")
    op.drop_table("bundle")
