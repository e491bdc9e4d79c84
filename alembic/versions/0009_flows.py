"""Flows as data: an item version's steps (flow_step), its 容缺受理 option and its 并联审批
departments.

A version without flow steps follows the default flow (api/catalog/flows.py), so the versions
already published keep their meaning. The two new version columns get a server default so the
existing rows are filled ({} = 容缺 not allowed, [] = no joint departments); Tortoise always writes
them itself.

Revision ID: 0009_flows
Revises: 0008_calendar
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0009_flows"
down_revision: str | None = "0008_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("service_item_version",
                  sa.Column("tolerated_missing", JSON, nullable=False, server_default=sa.text("'{}'")))
    op.add_column("service_item_version",
                  sa.Column("joint_departments", JSON, nullable=False, server_default=sa.text("'[]'")))
    op.create_table(
        "flow_step",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("time_limit", sa.Integer(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("service_item_version.id", ondelete="CASCADE"),
                  nullable=False),
        sa.UniqueConstraint("version_id", "code", name="uid_flow_step_version_e85898"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("flow_step")
    with op.batch_alter_table("service_item_version") as batch:
        batch.drop_column("joint_departments")
        batch.drop_column("tolerated_missing")
