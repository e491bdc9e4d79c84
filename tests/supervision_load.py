"""Bulk rows for supervision's multi-process tests and its benchmark: cases in review, each with its
open review step, written straight into a migrated database that holds the demo catalog (``zhengwu
seed --demo``). PostgreSQL: COPY through asyncpg; SQLite: executemany in one transaction."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

CASE_COLUMNS = [
    "id", "number", "applicant_id", "item_version_id", "item_code", "item_name", "region", "situation_code",
    "situation_name", "answers", "form_data", "state", "channel", "promised_limit", "promised_limit_unit",
    "created_at", "updated_at", "submitted_at", "version", "window_category", "department_code", "accepted_at",
    "due_date", "paused_days", "corrections", "legal_limit", "legal_limit_unit", "extended_days",
]
STEP_COLUMNS = [
    "id", "case_id", "step", "case_number", "item_code", "item_name", "department_code", "window_category",
    "holder", "started_at", "limit_days", "due_date", "legal_due_date", "paused_at", "pause_limit", "warning_at",
    "yellow_at", "red_at", "overlong_at", "next_check_at", "closed_at", "updated_at",
]


@dataclass(frozen=True, slots=True)
class DemoItem:
    version_id: int
    code: str
    name: str
    region: str
    department: str
    category: str
    citizen_id: int


async def demo_item(url: str) -> DemoItem:
    """A published city item of SCJGJ and a demo citizen (the applicant of every bulk case)."""
    sql = ("SELECT v.id, i.code, v.name, d.code AS dept, COALESCE(w.category, '') AS category "
           "FROM service_item_version v JOIN service_item i ON v.item_id = i.id "
           "JOIN department d ON i.department_id = d.id LEFT JOIN \"window\" w ON v.window_id = w.id "
           "WHERE v.status = 'published' AND d.code = 'SCJGJ' ORDER BY v.id LIMIT 1")
    if url.startswith("sqlite:///"):
        db = sqlite3.connect(url.removeprefix("sqlite://"))
        try:
            vid, code, name, dept, category = db.execute(sql).fetchone()
            citizen = db.execute("SELECT min(id) FROM citizen").fetchone()[0]
        finally:
            db.close()
    else:
        conn = await asyncpg.connect(url)
        try:
            row = await conn.fetchrow(sql)
            vid, code, name, dept, category = row["id"], row["code"], row["name"], row["dept"], row["category"]
            citizen = await conn.fetchval("SELECT min(id) FROM citizen")
        finally:
            await conn.close()
    return DemoItem(int(vid), str(code), str(name), "511900", str(dept), str(category), int(citizen))


@dataclass(frozen=True, slots=True)
class Steps:
    """Rows to load: parallel sequences of cases and their open steps."""

    cases: list[tuple[Any, ...]]
    steps: list[tuple[Any, ...]]


def in_review(item: DemoItem, first_id: int, n: int, *, now: dt.datetime, due: dt.date, legal_due: dt.date,
              next_check: Iterable[dt.datetime | None], limit: int = 10) -> Steps:
    """``n`` cases in review from id ``first_id`` on, each with an open review step due on ``due``."""
    cases, steps = [], []
    for k, check in zip(range(n), next_check, strict=False):
        case_id = first_id + k
        number = f"9{case_id:019d}"  # unique at any count, and never a real number (those start with a region)
        cases.append((case_id, number, item.citizen_id, item.version_id, item.code, item.name, item.region,
                      "default", "", "{}", "{}", "in_review", "online", limit, "working_day", now, now, now, 4,
                      item.category, item.department, now, due, 0, 0, limit * 2, "working_day", 0))
        steps.append((case_id, case_id, "review", number, item.code, item.name, item.department, item.category,
                      None, now, limit, due, legal_due, None, None, None, None, None, None, check, None, now))
    return Steps(cases, steps)


def _chunks(rows: Sequence[tuple[Any, ...]], size: int = 50_000) -> Iterator[Sequence[tuple[Any, ...]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


async def load(url: str, rows: Steps) -> None:
    if url.startswith("sqlite:///"):
        import tortoise.backends.sqlite.executor  # noqa: F401  (Tortoise's date and datetime adapters)

        db = sqlite3.connect(url.removeprefix("sqlite://"), isolation_level=None)
        try:
            db.execute("BEGIN")
            for table, columns, data in (("cases", CASE_COLUMNS, rows.cases),
                                         ("supervised_step", STEP_COLUMNS, rows.steps)):
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                for chunk in _chunks(data):
                    db.executemany(sql, chunk)
            db.execute("COMMIT")
        finally:
            db.close()
        return
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for chunk in _chunks(rows.cases):
                await conn.copy_records_to_table("cases", records=chunk, columns=CASE_COLUMNS)
            for chunk in _chunks(rows.steps):
                await conn.copy_records_to_table("supervised_step", records=chunk, columns=STEP_COLUMNS)
            for table in ("cases", "supervised_step"):
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT COALESCE(max(id), 1) FROM {table}))")
        await conn.execute("VACUUM (ANALYZE) cases, supervised_step")
    finally:
        await conn.close()
