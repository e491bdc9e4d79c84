"""64-bit ids for every table that grows with use or whose id the API accepts.

Cases, their events and materials, audit entries and the sign-in tables (one-time codes, refresh
tokens — one row per rotation — and revoked access tokens) gain rows with every use of the
platform, and a PostgreSQL sequence also burns a value on each rolled-back insert: over the years
of a national platform they pass 2^31. Staff ids are few, but the API accepts them in paths like
case ids, and one bound for every id the API accepts (api/core/bounds.py, 2^63 - 1) is simpler
to hold than one per table. The catalog and organisation tables (edited by administrators, their
ids never taken from clients) stay 32-bit.

PostgreSQL: the id columns, the foreign keys naming cases, *and the sequences* become bigint — a
SERIAL's sequence is ``AS integer`` and would still stop at 2^31 - 1 behind a bigint column.
SQLite: INTEGER is already 64-bit, and a primary key stays ``INTEGER PRIMARY KEY AUTOINCREMENT``
(Tortoise's DDL for a BigIntField key too); only the declared type of the foreign key columns
changes to BIGINT, as Tortoise declares them, which SQLite can do only by rebuilding the table.

Downgrading fails on PostgreSQL once an id above 2^31 - 1 exists (the values would not fit).

Revision ID: 0006_bigint_ids
Revises: 0005_uploads
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006_bigint_ids"
down_revision: str | None = "0005_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Tables whose own ``id`` becomes bigint.
ID_TABLES = ("cases", "case_event", "case_material", "audit_entry", "staff", "otp_code", "refresh_token",
             "revoked_access_token")
#: Tables whose ``case_id`` (→ cases.id) must hold every case id.
CASE_CHILDREN = ("case_event", "case_material", "upload")


def _convert(old: type[sa.types.TypeEngine], new: type[sa.types.TypeEngine], sequence_type: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for table in ID_TABLES:
            op.alter_column(table, "id", type_=new(), existing_type=old(), existing_nullable=False)
            op.execute(f"ALTER SEQUENCE {table}_id_seq AS {sequence_type}")
    for table in CASE_CHILDREN:
        # On SQLite a rebuild: AUTOINCREMENT is not reflected, so say it again (without it SQLite
        # may hand a deleted row's id to a new one).
        kwargs = {} if postgres or table == "upload" else {"table_kwargs": {"sqlite_autoincrement": True}}
        with op.batch_alter_table(table, **kwargs) as batch:  # type: ignore[arg-type]
            batch.alter_column("case_id", type_=new(), existing_type=old(), existing_nullable=False)


def upgrade() -> None:
    _convert(sa.Integer, sa.BigInteger, "bigint")


def downgrade() -> None:
    _convert(sa.BigInteger, sa.Integer, "integer")
