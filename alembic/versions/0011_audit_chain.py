"""The audit trail becomes a hash chain: role, client, seq, prev_hash, hash; the chain's head row.

Entries already in the table join the chain, in id order (the order they were written): each
gets seq 1, 2, 3 …, its role (system / citizen / the staff account's role now: the role it had
then was not recorded), client "" (not recorded), and its hash over what is stored. The chain
cannot prove those entries were untouched *before* this migration, nothing can; from here on
any change to them is found like a change to a new one. The alternative, starting the chain
after them, would leave them editable without a trace for ever.

The hash (api/audit/chain.py) is computed from the values as the ORM reads them back, so the
values are read here the same way: ``at`` as the timestamp stored (SQLite: Tortoise's ISO text),
``before`` / ``after`` as JSON.

Revision ID: 0011_audit_chain
Revises: 0010_certificates
Create Date: 2026-12-04
"""

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op
from api.audit.chain import GENESIS, entry_hash

revision: str = "0011_audit_chain"
down_revision: str | None = "0010_certificates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = (("role", 20), ("client", 64), ("prev_hash", 64), ("hash", 64))


def _json(value: Any, sqlite: bool) -> Any:
    # SQLite gives the stored JSON text; SQLAlchemy's asyncpg dialect decodes JSONB itself (a
    # JSON string arrives as a str then, which must not be decoded again).
    return json.loads(value) if sqlite and value is not None else value


def _at(value: Any) -> dt.datetime:
    at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)  # Tortoise writes UTC (use_tz)


def _role(actor: str, staff_roles: dict[int, str]) -> str:
    kind, _, raw = actor.partition(":")
    if actor == "system" or kind == "citizen":
        return kind
    if kind == "staff" and raw.isdigit():
        return staff_roles.get(int(raw), "")
    return ""


def _chain_existing(bind: sa.Connection) -> tuple[int, str]:
    staff_roles = {row.id: row.role for row in bind.execute(sa.text("SELECT id, role FROM staff"))}
    # Raw text, not typed columns: SQLite's timestamps are Tortoise's ISO text, which
    # SQLAlchemy's SQLite DATETIME would not parse.
    rows = bind.execute(sa.text(
        "SELECT id, at, actor, action, target_type, target_code, before, after FROM audit_entry ORDER BY id"
    )).all()
    update = sa.text("UPDATE audit_entry SET seq = :seq, role = :role, client = '', prev_hash = :prev, "
                     "hash = :hash WHERE id = :id")
    sqlite = bind.dialect.name == "sqlite"
    seq, prev = 0, GENESIS
    for row in rows:
        seq += 1
        before, after = _json(row.before, sqlite), _json(row.after, sqlite)
        role = _role(row.actor, staff_roles)
        digest = entry_hash(seq=seq, at=_at(row.at), actor=row.actor, role=role, action=row.action,
                            target_type=row.target_type, target_code=row.target_code, before=before,
                            after=after, client="", prev_hash=prev)
        bind.execute(update, {"id": row.id, "seq": seq, "role": role, "prev": prev, "hash": digest})
        prev = digest
    return seq, prev


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.add_column("audit_entry", sa.Column("seq", sa.BigInteger(), nullable=True))
    for name, length in NEW_COLUMNS:
        op.add_column("audit_entry", sa.Column(name, sa.String(length), nullable=True))
    seq, last_hash = _chain_existing(bind)

    if postgres:
        op.alter_column("audit_entry", "seq", nullable=False, existing_type=sa.BigInteger())
        for name, length in NEW_COLUMNS:
            op.alter_column("audit_entry", name, nullable=False, existing_type=sa.String(length))
        op.create_unique_constraint("audit_entry_seq_key", "audit_entry", ["seq"])  # Tortoise's inline UNIQUE
    else:
        # SQLite changes NOT NULL only by rebuilding the table; AUTOINCREMENT is not reflected,
        # so say it again (without it SQLite may hand a deleted row's id to a new one).
        # The unnamed table constraint is what Tortoise's inline ``UNIQUE`` reflects as.
        with op.batch_alter_table("audit_entry", table_kwargs={"sqlite_autoincrement": True},
                                  table_args=(sa.UniqueConstraint("seq"),)) as batch:
            batch.alter_column("seq", nullable=False, existing_type=sa.BigInteger())
            for name, length in NEW_COLUMNS:
                batch.alter_column(name, nullable=False, existing_type=sa.String(length))

    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sqlite_autoincrement=True,
    )
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": last_hash}])


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("audit_entry_seq_key", "audit_entry", type_="unique")
        for name in ("seq", *(n for n, _ in NEW_COLUMNS)):
            op.drop_column("audit_entry", name)
        return
    with op.batch_alter_table("audit_entry", table_kwargs={"sqlite_autoincrement": True}) as batch:
        for name in ("seq", *(n for n, _ in NEW_COLUMNS)):
            batch.drop_column(name)
