"""Cases (办件): cases, their checklist materials, timeline events, and the per-region/day counter.

Revision ID: 0004_cases
Revises: 0003_admin_audit
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0004_cases"
down_revision: str | None = "0003_admin_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
KW = {"sqlite_autoincrement": True}


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _str(name: str, length: int, nullable: bool = False, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable, **kw)


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, TIMESTAMP, nullable=nullable)


def _fk(name: str, target: str, ondelete: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{target}.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        _id(), _str("number", 20, nullable=True, unique=True), _str("query_code_hash", 64, nullable=True),
        _str("query_code_salt", 32, nullable=True), _str("item_code", 64), _str("item_name", 200),
        _str("region", 6), _str("situation_code", 64), _str("situation_name", 200),
        sa.Column("answers", JSON, nullable=False), sa.Column("form_data", JSON, nullable=False),
        _str("state", 20), _str("channel", 10), _int("promised_limit"), _str("promised_limit_unit", 16),
        _str("idempotency_key", 64, nullable=True), _ts("created_at"), _ts("updated_at"),
        _ts("submitted_at", nullable=True), _ts("expires_at", nullable=True),
        _fk("applicant_id", "citizen", "RESTRICT"),
        _fk("enterprise_id", "enterprise", "RESTRICT", nullable=True),
        _fk("item_version_id", "service_item_version", "RESTRICT"),
        sa.UniqueConstraint("applicant_id", "idempotency_key", name="uid_cases_applica_050707"),
        **KW,
    )
    op.create_index("ix_case_applicant_created", "cases", ["applicant_id", "created_at"])
    op.create_index("ix_case_state", "cases", ["state", "expires_at"])
    op.create_table(
        "case_counter",
        _id(), _str("region", 6), _str("day", 8), _int("seq"),
        sa.UniqueConstraint("region", "day", name="uid_case_counte_region_cb134c"),
        **KW,
    )
    op.create_table(
        "case_event",
        _id(), _ts("at"), _str("action", 32), _str("actor", 40), _str("from_state", 20, nullable=True),
        _str("to_state", 20), sa.Column("note", sa.Text(), nullable=False),
        _fk("case_id", "cases", "CASCADE"),
        **KW,
    )
    op.create_index("ix_case_event_case", "case_event", ["case_id", "at"])
    op.create_table(
        "case_material",
        _id(), _str("code", 64), _str("name", 200), sa.Column("required", BOOL, nullable=False),
        _str("source", 16), _str("certificate_type", 64), sa.Column("reason", sa.Text(), nullable=False),
        _int("sort_order"), _str("status", 10), _str("blob_key", 100, nullable=True), _str("filename", 200),
        sa.Column("size", sa.BigInteger(), nullable=True), _str("mime", 100), _str("sha256", 64),
        _ts("attached_at", nullable=True),
        _fk("case_id", "cases", "CASCADE"),
        sa.UniqueConstraint("case_id", "code", name="uid_case_materi_case_id_a6d25d"),
        **KW,
    )
    op.create_index("ix_case_material_blob", "case_material", ["blob_key"])


def downgrade() -> None:
    for table in ("case_material", "case_event", "case_counter", "cases"):
        op.drop_table(table)
