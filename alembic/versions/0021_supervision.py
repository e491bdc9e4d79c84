"""Electronic supervision (电子监察) and the background worker: each open step's row with its next check
(supervised_step), alerts, irregularities, supervision orders, accountability, the statistics' daily
rollups, the thresholds; the workers' heartbeats and the periodic jobs' runs.

Revision ID: 0021_supervision
Revises: 0020_ratings
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0021_supervision"
down_revision: str | None = "0020_ratings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.TIMESTAMP(timezone=True)
KW = {"sqlite_autoincrement": True}


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                     autoincrement=True)


def _str(name: str, length: int, nullable: bool = False, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable, **kw)


def _int(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _big(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, TIMESTAMP, nullable=nullable)


def _day(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Date(), nullable=nullable)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def _json(name: str) -> sa.Column:
    return sa.Column(name, JSON, nullable=False)


def _case() -> sa.Column:
    return sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)


COUNTERS = ("received", "online", "accepted", "refused", "completed", "on_time", "early", "days_used",
            "days_promised", "corrections", "suspensions", "spared", "trips_needed", "trips_made", "trips_saved")


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        _id(), _str("name", 100, unique=True), _str("host", 64), _int("pid"), _at("started_at"), _at("beat_at"),
        _at("last_tick_at", True), _json("loops"), _at("stopped_at", True),
        **KW,
    )
    op.create_table(
        "job_run",
        sa.Column("name", sa.String(64), primary_key=True), _at("last_done_at", True), _json("state"),
    )
    op.create_table(
        "supervision_config",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True), _json("values"), _at("updated_at"),
        _str("updated_by", 40),
        **KW,
    )
    op.create_table(
        "supervised_step",
        _id(), _big("sub_case_id", True), _big("order_id", True), _str("step", 24), _str("case_number", 20),
        _str("item_code", 64), _str("item_name", 200), _str("department_code", 32), _str("window_category", 32),
        _str("holder", 40, True), _at("started_at"), _int("limit_days"), _day("due_date", True),
        _day("legal_due_date", True), _at("paused_at", True), _int("pause_limit", True), _at("warning_at", True),
        _at("yellow_at", True), _at("red_at", True), _at("overlong_at", True), _at("next_check_at", True),
        _at("closed_at", True), _at("updated_at"), _case(),
        **KW,
    )
    op.create_index("ix_step_next_check", "supervised_step", ["next_check_at", "id"])
    op.create_index("ix_step_case", "supervised_step", ["case_id", "closed_at"])
    op.create_table(
        "supervision_alert",
        _id(), _str("key", 64, unique=True), _str("level", 8), _str("cause", 16), _str("case_number", 20),
        _str("item_code", 64), _str("item_name", 200), _big("step_id"), _str("step", 24), _big("order_id", True),
        _str("department_code", 32), _str("holder", 40, True), _day("due_date", True), _at("raised_at"),
        _at("resolved_at", True), _case(),
        **KW,
    )
    op.create_index("ix_alert_open", "supervision_alert", ["resolved_at", "level", "department_code"])
    op.create_index("ix_alert_department", "supervision_alert", ["department_code", "id"])
    op.create_index("ix_alert_case", "supervision_alert", ["case_id"])
    op.create_index("ix_alert_holder", "supervision_alert", ["holder", "id"])
    op.create_index("ix_alert_step", "supervision_alert", ["step_id"])
    op.create_table(
        "supervision_irregularity",
        _id(), _str("key", 100, unique=True), _str("kind", 32), _str("case_number", 20), _str("item_code", 64),
        _str("department_code", 32), _str("person", 40, True), _at("at"), _json("evidence"), _json("detail"),
        _at("found_at"), _case(),
        **KW,
    )
    op.create_index("ix_irregularity_department", "supervision_irregularity", ["department_code", "id"])
    op.create_index("ix_irregularity_person", "supervision_irregularity", ["person", "id"])
    op.create_index("ix_irregularity_case", "supervision_irregularity", ["case_id"])
    op.create_table(
        "supervision_order",
        _id(), _big("alert_id", True), _str("department_code", 32), _text("instructions"), _int("days"),
        _day("due_date"), _str("state", 12), _str("opened_by", 40), _at("opened_at"), _text("explanation"),
        _text("action_taken"), _str("responded_by", 40, True), _at("responded_at", True), _text("conclusion"),
        _str("closed_by", 40, True), _at("closed_at", True), _at("red_at", True), _int("version"), _case(),
        **KW,
    )
    op.create_index("ix_order_department", "supervision_order", ["department_code", "state", "id"])
    op.create_index("ix_order_case", "supervision_order", ["case_id"])
    op.create_table(
        "supervision_accountability",
        _id(), _str("person", 40), _str("person_name", 50), _str("department_code", 32), _text("finding"),
        _str("measure", 16), _day("decided_on"), _big("case_id", True), _big("order_id", True), _json("alerts"),
        _json("irregularities"), _json("evidence"), _str("recorded_by", 40), _at("recorded_at"),
        **KW,
    )
    op.create_index("ix_accountability_person", "supervision_accountability", ["person", "id"])
    op.create_table(
        "supervision_daily",
        _id(), _day("day"), _str("department_code", 32), _str("item_code", 64), _str("window_category", 32),
        _str("region", 6), _str("channel", 10), *(_int(c) for c in COUNTERS),
        **KW,
    )
    op.create_index("ix_daily_day", "supervision_daily", ["day", "department_code"])


def downgrade() -> None:
    for table in ("supervision_daily", "supervision_accountability", "supervision_order", "supervision_irregularity",
                  "supervision_alert", "supervised_step", "supervision_config", "job_run", "worker_heartbeat"):
        op.drop_table(table)
