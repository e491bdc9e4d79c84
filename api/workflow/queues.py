"""The workbench queues: what waits for a window or a department, due first (keyset, indexed).

A clerk sees every case of their window category, whatever the department (受办分离); an officer or
approver their department's, from acceptance on, and the joint cases (并联审批) whose part of theirs
is undecided (in the parent's due order); a supervisor every department's. Only work that
waits for staff is queued (a case waiting for the applicant's correction has no due date of theirs).

Why the queries look the way they do (the first page must cost the same at 10 thousand and at a
million cases, tests/bench/README.md):

* **The page** is one ``UNION ALL`` of ordered index range scans, each stopping after ``limit + 1``
  rows, merged in (due date, id) order: one branch per state wanted, on the index whose leading
  columns are the scope, the state and the due date (``ix_case_window_queue``,
  ``ix_case_department_queue``, ``ix_case_state_queue``; with an item or "mine" filter
  ``ix_case_item_queue`` / ``ix_case_claimed_queue``), and for a department one more branch, the
  joint cases reached through their undecided sub-cases (``ix_sub_case_department``). A single
  ``state IN (…)`` over one index would read every backlog case of those states and sort them.
  The keyset condition is a row comparison ``(due_date, id) > (…)``, which both databases use as
  the start of the index range, so that a later page costs what the first does.
* **The counts per state** come from ``queue_count``, kept in the same transaction as every change
  of a case (``recount``, called by ``workflow.services.apply`` and ``workflow.joint``): counting
  the backlog itself walks all of it. With an item or "mine" filter they are counted from that
  item's (or my) waiting cases instead, through the same indexes. ``rebuild_counts`` recomputes the
  table from the cases (after a bulk load; ``recounted`` is what the tests compare it with).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from api.cases import services as cases
from api.cases.models import Case
from api.core import cursors
from api.identity.principal import Principal
from api.workflow import parallel, states
from api.workflow.models import QueueCount


@dataclass(frozen=True, slots=True)
class Filters:
    state: str | None = None
    item_code: str | None = None
    due_before: dt.date | None = None
    overdue: bool = False
    mine: bool = False


@dataclass(frozen=True, slots=True)
class Queue:
    cases: list[Case]
    next_cursor: str | None
    counts: dict[str, int]


#: The states each kind of staff works on, when no state is asked for.
DEFAULT_STATES = {
    "clerk": (states.SUBMITTED, states.APPROVED, states.DENIED),
    "officer": (states.ACCEPTED, states.IN_REVIEW, states.SUSPENDED, states.APPROVED, states.DENIED),
    "approver": (states.IN_REVIEW, states.ACCEPTED, states.SUSPENDED),
    "supervisor": (states.SUBMITTED, states.ACCEPTED, states.IN_REVIEW, states.SUSPENDED, states.APPROVED,
                   states.DENIED),
}
#: A sub-case still waiting for its department.
SUB_WAITING = tuple(sorted(set(s for s, _ in parallel.SUB_RULES) - parallel.SUB_DECIDED))
#: ``queue_count`` rows per (queue, state): a case counts in shard ``id % SHARDS``, so that writers
#: of different cases rarely update the same row (each holds it until its commit).
SHARDS = 64

Key = tuple[str, str]  # (queue, state): "all" | "window:<category>" | "department:<code>"


# --------------------------------------------------------------------------- the counts, kept


def memberships(case: Case, waiting: Iterable[str] = ()) -> frozenset[Key]:
    """The queues the case is in now, with its state: what ``queue_count`` counts it under.
    ``waiting``: the departments whose sub-case of this (joint) case is undecided. Mirrors the
    scopes of ``queue`` exactly."""
    if case.due_date is None or case.state == states.DRAFT:
        return frozenset()
    keys = {("all", case.state)}
    if case.window_category:
        keys.add((f"window:{case.window_category}", case.state))
    if case.accepted_at is not None:
        keys.update((f"department:{d}", case.state) for d in {case.department_code, *waiting} if d)
    return frozenset(keys)


async def recount(conn: BaseDBAsyncClient, case_id: int, before: frozenset[Key], after: frozenset[Key]) -> None:
    """Move the case's counts from the queues it was in to those it is in now, in the caller's
    transaction (one statement; none when nothing moved). Call it before ``audit.record``: every
    writer locks its rows in one order — the case, then these (sorted), then the audit chain's
    head — so no two writers ever wait for each other."""
    deltas = sorted([(*k, -1) for k in before - after] + [(*k, 1) for k in after - before])
    if not deltas:
        return
    p = _Params(conn)
    shard = case_id % SHARDS
    rows = ", ".join(f"({p.add(q)}, {p.add(s)}, {p.add(shard)}, {p.add(d)})" for q, s, d in deltas)
    await conn.execute_query(
        f"INSERT INTO queue_count (queue, state, shard, n) VALUES {rows} "
        "ON CONFLICT (queue, state, shard) DO UPDATE SET n = queue_count.n + excluded.n", p.values)


async def counted(queue: str, conn: BaseDBAsyncClient | None = None) -> dict[str, int]:
    """One queue's counts per state, as kept (states with no case left out)."""
    rows = await (QueueCount.filter(queue=queue).using_db(conn).annotate(total=Sum("n")).group_by("state")
                  .values("state", "total"))
    return {r["state"]: int(r["total"]) for r in rows if r["total"]}


#: Every queue's counts per state and shard, from the cases themselves (what ``queue_count`` must hold).
RECOUNT_SQL = f"""
SELECT 'all' AS queue, state, id % {SHARDS} AS shard, COUNT(*) AS n FROM cases
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
 WHERE s.state IN ({", ".join(f"'{s}'" for s in SUB_WAITING)}) AND s.department_code <> c.department_code
   AND c.due_date IS NOT NULL AND c.state <> 'draft' AND c.accepted_at IS NOT NULL
 GROUP BY s.department_code, c.state, c.id % {SHARDS}
"""


async def recounted(conn: BaseDBAsyncClient | None = None) -> dict[str, dict[str, int]]:
    """Every queue's counts per state counted from the cases (a full scan: for checks, not pages)."""
    conn = conn or Tortoise.get_connection("default")
    out: dict[str, dict[str, int]] = {}
    for r in await conn.execute_query_dict(RECOUNT_SQL):
        by_state = out.setdefault(r["queue"], {})
        by_state[r["state"]] = by_state.get(r["state"], 0) + int(r["n"])
    return out


async def kept(conn: BaseDBAsyncClient | None = None) -> dict[str, dict[str, int]]:
    """Every queue's counts per state as ``queue_count`` holds them (zeros left out)."""
    out: dict[str, dict[str, int]] = {}
    rows = await (QueueCount.all().using_db(conn).annotate(total=Sum("n")).group_by("queue", "state")
                  .values("queue", "state", "total"))
    for r in rows:
        if r["total"]:
            out.setdefault(r["queue"], {})[r["state"]] = int(r["total"])
    return out


async def rebuild_counts(conn: BaseDBAsyncClient | None = None) -> None:
    """Recompute ``queue_count`` from the cases (after a bulk load that bypassed ``apply``). Run it
    while nothing else writes cases, or changes made meanwhile may be counted twice."""
    async with in_transaction() if conn is None else nullcontext(conn) as tx:
        await tx.execute_script("DELETE FROM queue_count")
        await tx.execute_query(f"INSERT INTO queue_count (queue, state, shard, n) {RECOUNT_SQL}")


# --------------------------------------------------------------------------- the page


class _Params:
    """Placeholders in the connection's style ($1 … on PostgreSQL, ? on SQLite) and their values."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.postgres = conn.capabilities.dialect == "postgres"
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.postgres else "?"


@dataclass(slots=True)
class _Scope:
    """Whose cases: the rows one walk reads and its conditions, besides the state and the filters."""

    where: list[tuple[str, tuple[Any, ...]]]  # (SQL with a "{}" per value, values)
    source: str = "cases c"


def _department(code: str) -> list[_Scope]:
    """A department's cases from acceptance on, and the joint cases whose sub-case of it is undecided.
    The second walk starts from those sub-cases (few), then each one's case by its key: CROSS JOIN
    keeps that order on SQLite, whose planner would otherwise walk every waiting case of the
    state and look each one up among the sub-cases."""
    waiting = ", ".join("{}" for _ in SUB_WAITING)
    return [
        _Scope([("c.department_code = {}", (code,)), ("c.accepted_at IS NOT NULL", ())]),
        _Scope([("s.department_code = {}", (code,)), (f"s.state IN ({waiting})", SUB_WAITING),
                ("c.id = s.case_id", ()), ("c.accepted_at IS NOT NULL", ()),
                ("c.department_code <> {}", (code,))],  # its own cases are the other walk's
               source="sub_case s CROSS JOIN cases c"),
    ]


def _conditions(p: _Params, scope: _Scope, filters: Filters, today: dt.date,
                after: tuple[dt.date, int] | None) -> list[str]:
    # Placeholders are added in the order they appear in the statement (SQLite's are all "?").
    where = ["c.due_date IS NOT NULL"]  # also what makes the partial indexes usable (SQLite needs it said)
    where += [sql.format(*(p.add(v) for v in values)) for sql, values in scope.where]
    if filters.item_code:
        where.append(f"c.item_code = {p.add(filters.item_code)}")
    if filters.due_before:
        where.append(f"c.due_date < {p.add(filters.due_before)}")
    if filters.overdue:
        where.append(f"c.due_date < {p.add(today)}")
    if after is not None:
        where.append(f"(c.due_date, c.id) > ({p.add(after[0])}, {p.add(after[1])})")
    return where


async def queue(principal: Principal, filters: Filters, *, limit: int = 20, cursor: str | None = None,
                today: dt.date | None = None) -> Queue:
    """The first ``limit`` cases after ``cursor`` that wait for the caller, due first, and the
    caller's counts per state (with the item and "mine" filters applied, not the others)."""
    role = principal.role
    after = cursors.decode_day(cursor) if cursor else None
    if role not in DEFAULT_STATES:
        return Queue([], None, {})
    today = today or dt.date.today()
    mine = principal.subject if filters.mine else None
    scopes: list[_Scope]
    if role == "clerk":
        category = await cases.window_category(principal)
        if not category:  # a clerk without a window sees nothing
            return Queue([], None, {})
        counts_of = f"window:{category}"
        scopes = [_Scope([("c.window_category = {}", (category,))])]
    elif role in ("officer", "approver"):
        if not principal.department:
            return Queue([], None, {})
        counts_of = f"department:{principal.department}"
        scopes = _department(principal.department)
    else:
        counts_of = "all"
        scopes = [_Scope([])]
    if mine is not None:
        for s in scopes:
            s.where.append(("c.claimed_by = {}", (mine,)))
    conn = Case._meta.db
    wanted = (filters.state,) if filters.state else DEFAULT_STATES[role]
    if filters.item_code or mine is not None:
        counts = await _count(conn, scopes, filters, today)
    else:
        counts = await counted(counts_of)
    rows = await _page(conn, scopes, wanted, filters, today, after, limit + 1)
    if len(rows) > limit:
        last = rows[limit - 1]
        return Queue(rows[:limit], cursors.encode(last.due_date, last.id), counts)  # type: ignore[arg-type]
    return Queue(rows, None, counts)


async def _page(conn: BaseDBAsyncClient, scopes: list[_Scope], wanted: Iterable[str], filters: Filters,
                today: dt.date, after: tuple[dt.date, int] | None, take: int) -> list[Case]:
    p = _Params(conn)
    branches = []
    for scope in scopes:
        # One ordered range scan per state (the index's second column); the joint cases of a
        # department are few, and walked once for all the states wanted.
        for group in ([(s,) for s in wanted] if scope.source == "cases c" else [tuple(wanted)]):
            where = _conditions(p, scope, filters, today, after)
            where.append(f"c.state IN ({', '.join(p.add(s) for s in group)})")
            branches.append(f"SELECT * FROM (SELECT c.* FROM {scope.source} WHERE {' AND '.join(where)} "
                            f"ORDER BY c.due_date, c.id LIMIT {p.add(take)}) AS b{len(branches)}")
    sql = " UNION ALL ".join(branches) + f" ORDER BY due_date, id LIMIT {p.add(take)}"
    # Whole rows made into cases as Tortoise's own queries make them (its query builder writes
    # neither a union of limited subqueries nor a row comparison).
    return [Case._init_from_db(**dict(row)) for row in await conn.execute_query_dict(sql, p.values)]


async def _count(conn: BaseDBAsyncClient, scopes: list[_Scope], filters: Filters, today: dt.date) -> dict[str, int]:
    """Counts per state of an item's (or my) waiting cases, from the cases: they are few."""
    counts: dict[str, int] = {}
    for scope in scopes:
        p = _Params(conn)
        where = _conditions(p, scope, Filters(item_code=filters.item_code), today, None)
        sql = (f"SELECT c.state AS state, COUNT(*) AS n FROM {scope.source} WHERE {' AND '.join(where)} "
               f"AND c.state <> {p.add(states.DRAFT)} GROUP BY c.state")
        for r in await conn.execute_query_dict(sql, p.values):
            counts[r["state"]] = counts.get(r["state"], 0) + int(r["n"])
    return counts
