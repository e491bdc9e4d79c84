"""Electronic certificates (电子证照): the registry, its access log, and the certificate a case
material was spared by.

Revision ID: 0010_certificates
Revises: 0009_flows
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0010_certificates"
down_revision: str | None = "0009_flows"
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


def _fk(name: str, target: str, ondelete: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey(f"{target}.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "certificate",
        _id(), _str("type_code", 64), _str("number", 64), _str("holder", 18), _str("holder_kind", 10),
        _str("issuing_department", 32), sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True), _str("status", 10),
        sa.Column("revoked_at", TIMESTAMP, nullable=True), sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=False), _str("check_code_hash", 64), _str("check_code_salt", 32),
        sa.Column("issued_at", TIMESTAMP, nullable=False),
        _fk("case_id", "cases", "SET NULL", nullable=True),
        sa.UniqueConstraint("type_code", "number", name="uid_certificate_type_co_631b07"),
        **KW,
    )
    op.create_index("ix_certificate_holder", "certificate", ["holder", "type_code"])
    op.create_table(
        "certificate_access",
        _id(), _str("actor", 40), _str("actor_label", 120), _str("department", 32, nullable=True),
        _str("purpose", 200), sa.Column("at", TIMESTAMP, nullable=False),
        _fk("case_id", "cases", "SET NULL", nullable=True),
        _fk("certificate_id", "certificate", "RESTRICT", nullable=False),
        **KW,
    )
    op.create_index("ix_certificate_access_cert", "certificate_access", ["certificate_id", "at"])
    # Certificates are fetched only for holders a trusted party confirmed (a declared number proves nothing).
    op.add_column("citizen", sa.Column("identity_checked_at", TIMESTAMP, nullable=True))
    op.add_column("enterprise_member", sa.Column("checked_at", TIMESTAMP, nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a nullable column with an inline REFERENCES clause in place, which Alembic
        # cannot say without rebuilding the table (and case_material is large).
        op.execute("ALTER TABLE case_material ADD COLUMN certificate_id BIGINT "
                   "REFERENCES certificate (id) ON DELETE SET NULL")
    else:
        op.add_column("case_material", _fk("certificate_id", "certificate", "SET NULL", nullable=True))


def downgrade() -> None:
    # SQLite drops a column only by rebuilding the table: say AUTOINCREMENT again (not reflected).
    with op.batch_alter_table("case_material", table_kwargs=KW) as batch:  # type: ignore[arg-type]
        batch.drop_column("certificate_id")
    op.drop_table("certificate_access")
    op.drop_table("certificate")
    with op.batch_alter_table("enterprise_member") as batch:
        batch.drop_column("checked_at")
    with op.batch_alter_table("citizen") as batch:
        batch.drop_column("identity_checked_at")
