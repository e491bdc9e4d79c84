"""Compare the Alembic-migrated schema with the one the Tortoise models generate.

Alembic's own comparison engine does the work (tables, columns, types, nullability, indexes,
unique constraints). SQLAlchemy's SQLite reflection does not read ON DELETE from the inline
``REFERENCES`` clauses Tortoise writes, so foreign keys are compared separately from the
database's own catalog (PRAGMA / information_schema), actions included. On PostgreSQL the
sequences behind SERIAL/BIGSERIAL keys are compared too: a key column widened to bigint whose
sequence is still ``AS integer`` stops at 2^31 - 1 all the same. So are the conditions of
partial indexes, which Alembic does not compare.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from api.core.db import sqlalchemy_url


async def _generate(url: str) -> None:
    from tortoise import Tortoise

    from api.core.db import tortoise_config

    await Tortoise.init(config=tortoise_config(url))
    try:
        await Tortoise.generate_schemas(safe=False)
    finally:
        await Tortoise.close_connections()


async def generate_reference(url: str) -> None:
    """Tortoise's own DDL in a scratch database. In a child process: Tortoise keeps one global
    context per process, which the app under test already holds."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.schema_drift", url, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"generating the reference schema failed:\n{output.decode()}")


ForeignKey = tuple[str, str, str, str, str]  # table, column, referred table, referred column, on delete


def _foreign_keys(conn: sa.Connection) -> set[ForeignKey]:
    out: set[ForeignKey] = set()
    if conn.dialect.name == "sqlite":
        for table in sa.inspect(conn).get_table_names():
            for row in conn.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")'):
                out.add((table, row[3], row[2], row[4], row[6].upper()))
        return out
    rows = conn.exec_driver_sql(
        """
        SELECT kcu.table_name, kcu.column_name, ccu.table_name, ccu.column_name, rc.delete_rule
        FROM information_schema.referential_constraints rc
        JOIN information_schema.key_column_usage kcu
          ON kcu.constraint_name = rc.constraint_name AND kcu.constraint_schema = rc.constraint_schema
        JOIN information_schema.constraint_column_usage ccu
          ON ccu.constraint_name = rc.constraint_name AND ccu.constraint_schema = rc.constraint_schema
        WHERE rc.constraint_schema = current_schema()
        """
    )
    for row in rows:
        out.add((row[0], row[1], row[2], row[3], row[4].upper()))
    return out


def _sequences(conn: sa.Connection) -> set[tuple[str, str]]:
    if conn.dialect.name != "postgresql":
        return set()  # SQLite keys are rowids: no sequence objects
    rows = conn.exec_driver_sql(
        "SELECT sequencename, data_type::text FROM pg_sequences WHERE schemaname = current_schema()"
    )
    return {(row[0], row[1]) for row in rows}


def _predicates(conn: sa.Connection) -> set[tuple[str, str, str]]:
    """(table, index, WHERE) of every partial index, the condition normalised (Alembic's comparison
    sees an index's columns, not its condition)."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        found = [(r[0], r[1], re.split(r"\bWHERE\b", r[2], maxsplit=1, flags=re.IGNORECASE)) for r in rows]
        pairs = [(t, n, parts[1]) for t, n, parts in found if len(parts) == 2]
    else:
        rows = conn.exec_driver_sql(
            "SELECT t.relname, i.relname, pg_get_expr(x.indpred, x.indrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace ns ON ns.oid = t.relnamespace "
            "WHERE x.indpred IS NOT NULL AND ns.nspname = current_schema()")
        pairs = [(r[0], r[1], r[2]) for r in rows]
    return {(t, n, re.sub(r"[\s()\"`;]+", " ", where).strip().lower()) for t, n, where in pairs}


async def schema_diff(migrated_url: str, reference_url: str) -> list[Any]:
    """Differences between the migrated database and the Tortoise-generated reference database."""
    ref_engine = create_async_engine(sqlalchemy_url(reference_url))
    async with ref_engine.connect() as conn:
        reference = sa.MetaData()
        await conn.run_sync(lambda c: reference.reflect(bind=c))
        ref_fks = await conn.run_sync(_foreign_keys)
        ref_sequences = await conn.run_sync(_sequences)
        ref_predicates = await conn.run_sync(_predicates)
    await ref_engine.dispose()

    engine = create_async_engine(sqlalchemy_url(migrated_url))
    async with engine.connect() as conn:

        def compare(c: sa.Connection) -> list[Any]:
            ctx = MigrationContext.configure(c, opts={"compare_type": True})
            return compare_metadata(ctx, reference)

        diff = await conn.run_sync(compare)
        fks = await conn.run_sync(_foreign_keys)
        sequences = await conn.run_sync(_sequences)
        predicates = await conn.run_sync(_predicates)
    await engine.dispose()
    diff = [
        d
        for d in diff
        if not (d[0] == "remove_table" and d[1].name == "alembic_version")
        # FKs are compared below; comments (Tortoise copies model docstrings) carry no behaviour.
        and d[0] not in ("add_fk", "remove_fk", "add_table_comment", "remove_table_comment")
    ]
    diff += [("missing_fk", fk) for fk in sorted(ref_fks - fks)]
    diff += [("unexpected_fk", fk) for fk in sorted(fks - ref_fks)]
    diff += [("missing_sequence", seq) for seq in sorted(ref_sequences - sequences)]
    diff += [("unexpected_sequence", seq) for seq in sorted(sequences - ref_sequences)]
    diff += [("missing_index_condition", p) for p in sorted(ref_predicates - predicates)]
    diff += [("unexpected_index_condition", p) for p in sorted(predicates - ref_predicates)]
    return diff


if __name__ == "__main__":
    asyncio.run(_generate(sys.argv[1]))
