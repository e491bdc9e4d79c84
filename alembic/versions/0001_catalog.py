"""Service catalog: departments, windows, certificate types, items, versions, situations,
questions, materials, life events, catalog state.

Revision ID: 0001_catalog
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001_catalog"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The column types Tortoise emits, per dialect (checked by tests/test_migrations.py).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.TIMESTAMP(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def _str(name: str, length: int, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, **kw)


def _int(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _fk(name: str, target: str, ondelete: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{target}.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    kw = {"sqlite_autoincrement": True}
    op.create_table(
        "catalog_state",
        _id(), _int("version"), sa.Column("updated_at", TIMESTAMP, nullable=False),
        **kw,
    )
    op.create_table(
        "certificate_type",
        _id(), _str("code", 64, unique=True), _str("name", 100), _str("issuer", 100), _str("holder", 20),
        **kw,
    )
    op.create_table(
        "department",
        _id(), _str("code", 32, unique=True), _str("name", 100), _str("short_name", 50),
        _str("region_code", 12), _str("region_name", 50), _str("level", 10), _str("uscc", 18),
        _str("phone", 40), _str("address", 200), _int("sort_order"),
        _fk("parent_id", "department", "SET NULL", nullable=True),
        **kw,
    )
    op.create_index("ix_department_region", "department", ["region_code"])
    op.create_table(
        "life_event",
        _id(), _str("code", 64, unique=True), _str("name", 100), _str("audience", 20), _str("stage", 20),
        _text("description"), _str("icon", 40), _int("sort_order"),
        **kw,
    )
    op.create_table(
        "life_event_item",
        _id(), _str("basic_code", 32), _int("sort_order"), _str("note", 200),
        _fk("life_event_id", "life_event", "CASCADE"),
        sa.UniqueConstraint("life_event_id", "basic_code", name="uid_life_event__life_ev_4f18b1"),
        **kw,
    )
    op.create_table(
        "service_item",
        _id(), _str("code", 64, unique=True), _str("basic_code", 32), _str("region_code", 12),
        _int("popularity"), sa.Column("created_at", TIMESTAMP, nullable=False),
        _fk("department_id", "department", "RESTRICT"),
        **kw,
    )
    op.create_index("ix_service_item_basic", "service_item", ["basic_code"])
    op.create_index("ix_service_item_department", "service_item", ["department_id"])
    op.create_table(
        "window",
        _id(), _str("code", 32, unique=True), _str("name", 100), _str("category", 32), _str("location", 200),
        _str("hours", 200), _str("phone", 40), _int("sort_order"),
        **kw,
    )
    op.create_table(
        "service_item_version",
        _id(), _int("number"), _str("status", 12), _str("name", 200), _str("short_name", 100),
        _str("kind", 2), sa.Column("audiences", JSON, nullable=False), sa.Column("keywords", JSON, nullable=False),
        _text("summary"), _str("exercise_level", 1), _str("implementer_nature", 1), _text("legal_basis"),
        _text("conditions"), sa.Column("process", JSON, nullable=False),
        _int("legal_limit"), _str("legal_limit_unit", 16), _text("legal_limit_note"),
        _int("promised_limit"), _str("promised_limit_unit", 16), _text("promised_limit_note"),
        _str("case_type", 1), sa.Column("charges", BOOL, nullable=False), _text("fee_standard"),
        _text("fee_basis"), _str("result_name", 200), _str("result_certificate_type", 64),
        sa.Column("delivery_ways", JSON, nullable=False), sa.Column("handling_forms", JSON, nullable=False),
        sa.Column("places", JSON, nullable=False), _str("consult_phone", 60), _str("complaint_phone", 60),
        _int("online_depth"), _int("trips"), sa.Column("appointment", BOOL, nullable=False),
        sa.Column("online_payment", BOOL, nullable=False), _text("quantity_limit"),
        _text("intermediary_services"), sa.Column("special_procedures", JSON, nullable=False),
        sa.Column("faq", JSON, nullable=False), sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=True),
        _fk("item_id", "service_item", "CASCADE"),
        _fk("window_id", "window", "SET NULL", nullable=True),
        sa.UniqueConstraint("item_id", "number", name="uid_service_ite_item_id_67f547"),
        **kw,
    )
    op.create_index("ix_item_version_status", "service_item_version", ["status", "item_id"])
    op.create_table(
        "question",
        _id(), _str("code", 64), _str("text", 300), _text("help"), _str("datatype", 10),
        sa.Column("required", BOOL, nullable=False), _int("sort_order"),
        sa.Column("options", JSON, nullable=False), sa.Column("ask_if", JSON, nullable=True),
        _fk("version_id", "service_item_version", "CASCADE"),
        sa.UniqueConstraint("version_id", "code", name="uid_question_version_a2ba59"),
        **kw,
    )
    op.create_table(
        "situation",
        _id(), _str("code", 64), _str("name", 200), _text("description"),
        sa.Column("rule", JSON, nullable=True), _int("sort_order"), _int("promised_limit", nullable=True),
        _text("fee_standard"),
        _fk("version_id", "service_item_version", "CASCADE"),
        sa.UniqueConstraint("version_id", "code", name="uid_situation_version_20f9df"),
        **kw,
    )
    op.create_table(
        "material_requirement",
        _id(), _str("code", 64), _str("name", 200), _text("description"), _int("original_count"),
        _int("copy_count"), sa.Column("required", BOOL, nullable=False),
        sa.Column("condition", JSON, nullable=True), sa.Column("electronic_accepted", BOOL, nullable=False),
        sa.Column("bring_original", BOOL, nullable=False), _str("issuing_body", 200), _str("source", 16),
        _str("certificate_type", 64), _str("template_url", 300), _str("sample_url", 300),
        sa.Column("accepted_types", JSON, nullable=False), _int("max_size_mb"), _int("sort_order"),
        _fk("situation_id", "situation", "CASCADE"),
        _fk("version_id", "service_item_version", "CASCADE"),
        sa.UniqueConstraint("situation_id", "code", name="uid_material_re_situati_433f56"),
        **kw,
    )
    op.create_index("ix_material_version", "material_requirement", ["version_id"])


def downgrade() -> None:
    for table in (
        "material_requirement", "situation", "question", "service_item_version", "window", "service_item",
        "life_event_item", "life_event", "department", "certificate_type", "catalog_state",
    ):
        op.drop_table(table)
