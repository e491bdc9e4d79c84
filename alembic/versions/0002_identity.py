"""Identity: citizens, enterprises and their members, staff, one-time codes, refresh tokens,
revoked access tokens.

Revision ID: 0002_identity
Revises: 0001_catalog
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002_identity"
down_revision: str | None = "0001_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
KW = {"sqlite_autoincrement": True}


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _str(name: str, length: int, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, **kw)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, TIMESTAMP, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "citizen",
        _id(), _str("phone", 11, unique=True), _str("name", 50), _str("id_number", 18),
        _ts("verified_at", nullable=True), _ts("created_at"),
        **KW,
    )
    op.create_table(
        "enterprise",
        _id(), _str("uscc", 18, unique=True), _str("name", 200), _str("legal_representative", 50),
        _ts("created_at"),
        **KW,
    )
    op.create_table(
        "enterprise_member",
        _id(), _str("role", 20), _ts("created_at"),
        sa.Column("citizen_id", sa.Integer(), sa.ForeignKey("citizen.id", ondelete="CASCADE"), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprise.id", ondelete="CASCADE"), nullable=False),
        sa.UniqueConstraint("enterprise_id", "citizen_id", name="uid_enterprise__enterpr_1e0054"),
        **KW,
    )
    op.create_table(
        "staff",
        _id(), _str("username", 50, unique=True), _str("password_hash", 200), _str("name", 50), _str("role", 20),
        _str("department", 32), _str("window", 32), sa.Column("active", BOOL, nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False), _ts("locked_until", nullable=True),
        _ts("created_at"),
        **KW,
    )
    op.create_table(
        "otp_code",
        _id(), _str("phone", 11), _str("code_hash", 64), _str("client", 64), _ts("created_at"), _ts("expires_at"),
        sa.Column("attempts", sa.Integer(), nullable=False), _ts("consumed_at", nullable=True),
        **KW,
    )
    op.create_index("ix_otp_phone_created", "otp_code", ["phone", "created_at"])
    op.create_index("ix_otp_client_created", "otp_code", ["client", "created_at"])
    op.create_table(
        "refresh_token",
        _id(), _str("token_hash", 64, unique=True), _str("family", 32), _str("subject", 40), _ts("issued_at"),
        _ts("expires_at"), _ts("used_at", nullable=True), _ts("revoked_at", nullable=True),
        **KW,
    )
    op.create_index("ix_refresh_family", "refresh_token", ["family"])
    op.create_table(
        "revoked_access_token",
        _id(), _str("jti", 32, unique=True), _ts("expires_at"),
        **KW,
    )


def downgrade() -> None:
    for table in ("revoked_access_token", "refresh_token", "otp_code", "staff", "enterprise_member", "enterprise",
                  "citizen"):
        op.drop_table(table)
