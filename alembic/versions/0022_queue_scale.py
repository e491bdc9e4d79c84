"""Queues and the audit trail at scale: kept queue counts, queue indexes of waiting cases only, and
the audit trail as 64 chains.

* ``queue_count``: every queue's cases per state (split over 64 shards by case id), counted here
  from the cases there are, and kept from now on by every change of a case
  (api/workflow/queues.py).
* The workbench queue indexes cover only the cases that wait for someone (``due_date IS NOT
  NULL``): ``ix_case_window_queue`` and ``ix_case_department_queue`` are rebuilt so, and there are
  new ones per state (supervisors), per item and per claimant.
* ``audit_entry.chain``: the trail becomes 64 chains, each with its head row, so that unrelated
  writers no longer queue on one row (api/audit/chain.py). Every entry already written stays as it
  is, hash included: together they are the beginning of chain 1 (the old head row is chain 1's).
  ``seq`` is unique per chain. A downgrade links every entry into one chain again, in id order
  (new seq, previous hash and hash, as 0011 linked the entries it found).

Revision ID: 0022_queue_scale
Revises: 0021_supervision
Create Date: 2026-12-05
"""

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op
from api.audit.chain import GENESIS, entry_hash

revision: str = "0022_queue_scale"
down_revision: str | None = "0021_supervision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAINS = 64  # api.audit.chain.CHAINS when this revision was written
SHARDS = 64  # api.workflow.queues.SHARDS when this revision was written
WAITING = sa.text("due_date IS NOT NULL")
CLAIMED = sa.text("claimed_by IS NOT NULL AND due_date IS NOT NULL")
NEW_INDEXES = (
    ("ix_case_window_queue", ["window_category", "state", "due_date", "id"], WAITING),
    ("ix_case_department_queue", ["department_code", "state", "due_date", "id"], WAITING),
    ("ix_case_state_queue", ["state", "due_date", "id"], WAITING),
    ("ix_case_item_queue", ["item_code", "state", "due_date", "id"], WAITING),
    ("ix_case_claimed_queue", ["claimed_by", "state", "due_date", "id"], CLAIMED),
)
OLD_INDEXES = (
    ("ix_case_window_queue", ["window_category", "state", "due_date", "id"]),
    ("ix_case_department_queue", ["department_code", "state", "due_date", "id"]),
)
# The counts as api/workflow/queues.py keeps them (its RECOUNT_SQL, frozen here).
RECOUNT = f"""
INSERT INTO queue_count (queue, state, shard, n)
SELECT 'all', state, id % {SHARDS}, COUNT(*) FROM cases
 WHERE due_date IS NOT NULL AND state <> 'draft' GROUP BY state, id % {SHARDS}
UNION ALL
SELECT 'window:' || window_category, state, id % {SHARDS}, COUNT(*) FROM cases
 WHERE due_date IS NOT NULL AND state <> 'draft' AND window_category <> ''
 GROUP BY window_category, state, id % {SHARDS}
UNION ALL
SELECT 'department:' || department_code, state, id % {SHARDS}, COUNT(*) FROM cases
 WHERE due_date IS NOT NULL AND state <> 'draft' AND accepted_at IS NOT NULL AND department_code <> ''
 GROUP BY department_code, state, id % {SHARDS}
UNION ALL
SELECT 'department:' || s.department_code, c.state, c.id % {SHARDS}, COUNT(*) FROM sub_case s
 JOIN cases c ON c.id = s.case_id
 WHERE s.state IN ('accepted', 'in_review') AND s.department_code <> c.department_code
   AND c.due_date IS NOT NULL AND c.state <> 'draft' AND c.accepted_at IS NOT NULL
 GROUP BY s.department_code, c.state, c.id % {SHARDS}
"""
# SQLite: the audit table rebuilt with (or without) its chain column and unique constraint, since
# SQLite alters neither in place; the column types Tortoise declares; AUTOINCREMENT kept (ids are
# never reused).
_ENTRY_COLUMNS = ("id", "seq", "at", "actor", "role", "action", "target_type", "target_code", "before", "after",
                  "client", "prev_hash", "hash")
_SQLITE_TABLE = """CREATE TABLE audit_entry_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,{chain}
    seq BIGINT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor VARCHAR(40) NOT NULL,
    role VARCHAR(20) NOT NULL,
    action VARCHAR(64) NOT NULL,
    target_type VARCHAR(32) NOT NULL,
    target_code VARCHAR(64) NOT NULL,
    "before" JSON,
    "after" JSON,
    client VARCHAR(64) NOT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL,
    {unique}
)"""


def _rebuild_sqlite_audit(*, chains: bool) -> None:
    columns = ", ".join(f'"{c}"' for c in _ENTRY_COLUMNS)
    if chains:  # every entry there is so far: the beginning of chain 1
        op.execute(_SQLITE_TABLE.format(chain="\n    chain SMALLINT NOT NULL,",
                                        unique='CONSTRAINT "uid_audit_entry_chain_430d88" UNIQUE (chain, seq)'))
        op.execute(f"INSERT INTO audit_entry_new ({columns}, chain) SELECT {columns}, 1 FROM audit_entry")
    else:
        op.execute(_SQLITE_TABLE.format(chain="", unique="UNIQUE (seq)"))
        op.execute(f"INSERT INTO audit_entry_new ({columns}) SELECT {columns} FROM audit_entry")
    op.execute("DROP TABLE audit_entry")
    op.execute("ALTER TABLE audit_entry_new RENAME TO audit_entry")
    op.create_index("ix_audit_target", "audit_entry", ["target_type", "target_code"])
    op.create_index("ix_audit_at", "audit_entry", ["at"])


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "queue_count",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("queue", sa.String(48), nullable=False), sa.Column("state", sa.String(20), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False), sa.Column("n", sa.Integer(), nullable=False),
        sa.UniqueConstraint("queue", "state", "shard", name="uid_queue_count_queue_27e0ca"),
        sqlite_autoincrement=True,
    )
    op.execute(RECOUNT)
    for name, _ in OLD_INDEXES:
        op.drop_index(name, "cases")
    for name, columns, where in NEW_INDEXES:
        op.create_index(name, "cases", columns, postgresql_where=where, sqlite_where=where)

    if sqlite:
        _rebuild_sqlite_audit(chains=True)
    else:
        op.add_column("audit_entry", sa.Column("chain", sa.SmallInteger(), nullable=False, server_default="1"))
        op.alter_column("audit_entry", "chain", server_default=None, existing_type=sa.SmallInteger())
        op.drop_constraint("audit_entry_seq_key", "audit_entry", type_="unique")
        op.create_unique_constraint("uid_audit_entry_chain_430d88", "audit_entry", ["chain", "seq"])
    head = sa.table("audit_chain_head", sa.column("id", sa.Integer()), sa.column("seq", sa.BigInteger()),
                    sa.column("hash", sa.String(64)))
    op.bulk_insert(head, [{"id": chain, "seq": 0, "hash": GENESIS} for chain in range(2, CHAINS + 1)])


def _json(value: Any, sqlite: bool) -> Any:
    return json.loads(value) if sqlite and value is not None else value


def _at(value: Any) -> dt.datetime:
    at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _one_chain(bind: sa.Connection) -> tuple[int, str]:
    """Every entry linked into one chain in id order (the order they were written); (last seq, hash)."""
    sqlite = bind.dialect.name == "sqlite"
    rows = bind.execute(sa.text(
        'SELECT id, at, actor, role, action, target_type, target_code, "before", "after", client FROM audit_entry '
        "ORDER BY id")).all()
    # Out of the unique (chain, seq) range first: the new numbers may collide with the old on the way.
    bind.execute(sa.text("UPDATE audit_entry SET chain = 0, seq = -id"))
    update = sa.text("UPDATE audit_entry SET chain = 1, seq = :seq, prev_hash = :prev, hash = :hash WHERE id = :id")
    seq, prev = 0, GENESIS
    for row in rows:
        seq += 1
        digest = entry_hash(seq=seq, at=_at(row.at), actor=row.actor, role=row.role, action=row.action,
                            target_type=row.target_type, target_code=row.target_code,
                            before=_json(row.before, sqlite), after=_json(row.after, sqlite), client=row.client,
                            prev_hash=prev)
        bind.execute(update, {"id": row.id, "seq": seq, "prev": prev, "hash": digest})
        prev = digest
    return seq, prev


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    seq, last = _one_chain(bind)
    bind.execute(sa.text("DELETE FROM audit_chain_head WHERE id <> 1"))
    bind.execute(sa.text("UPDATE audit_chain_head SET seq = :seq, hash = :hash WHERE id = 1"),
                 {"seq": seq, "hash": last})
    if sqlite:
        _rebuild_sqlite_audit(chains=False)
    else:
        op.drop_constraint("uid_audit_entry_chain_430d88", "audit_entry", type_="unique")
        op.create_unique_constraint("audit_entry_seq_key", "audit_entry", ["seq"])
        op.drop_column("audit_entry", "chain")
    for name, _, _ in NEW_INDEXES:
        op.drop_index(name, "cases")
    for name, columns in OLD_INDEXES:
        op.create_index(name, "cases", columns)
    op.drop_table("queue_count")
