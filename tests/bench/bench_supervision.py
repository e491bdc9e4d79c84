"""Electronic supervision benchmark: the worker's tick over a million open steps, four workers at once,
and two simulated years of cases checked against an independent oracle.

    python tests/bench/bench_supervision.py [--open 1000000] [--cases 1000000] [--workers 4]
        [--skip-open] [--skip-simulation] [--postgres postgres://postgres@127.0.0.1:5432/test]

On PostgreSQL (a fresh database each part, migrated, the demo catalog and one head of the department):

1. **Open steps.** ``--open`` cases in review, each with its open review step (limits of 3–20 working
   days, due over the next 60 days, legal limit twice the promised), bulk loaded with COPY, each
   step's next check computed by ``rules.next_check_day`` as ``track`` does. Then the tick
   (``supervision.services.tick``, as the worker calls it, outbox rows included): idle (nothing due:
   what every tick between two days costs), the first day (the backlog: every step whose warning
   day has come), the next day with ``--workers`` worker processes at once (each its own process and
   connections: the step ids each did are compared — none may be done twice, none left), and the
   day after with one worker, for comparison. EXPLAIN of the claim shows the index it uses.
2. **Simulation.** ``--cases`` cases submitted over two simulated years (2025–2026), with the real China
   calendar plus random administrator overrides declared as time goes (closures, extra workdays),
   corrections (the window's step stopped, then a new §32 period), suspensions (the review stopped,
   its due dates moved when it resumes), and completion early, late or past the legal limit. Each
   simulated day: the overrides declared that day, the worker's round at 00:05 (``follow_calendar``,
   ``tick``), then the day's moves written to the step rows as ``track`` writes them. An oracle
   computes from the same timelines — with its own working-day counting (prefix sums over the
   ``holidays`` calendar and the overrides), not ``workflow.deadlines`` or ``supervision.rules`` —
   which alert each step must raise and on which day, and which suspensions outlast their limit. It
   prints missed, extra, late and duplicate alerts and irregularities (the expectation: 0 of each),
   and the time per tick.

Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from tests.supervision_load import CASE_COLUMNS, STEP_COLUMNS, DemoItem, demo_item  # noqa: E402

UTC = dt.UTC
CHINA = dt.timezone(dt.timedelta(hours=8))
LIMITS = (3, 5, 5, 10, 10, 15, 20)
SIM_LIMITS = (1, 2, 3, 5, 10, 15, 20)
SIM_START = dt.date(2025, 1, 1)
SIM_DAYS = 730
PAUSE_LIMIT = 10  # working days a simulated suspension may last
NOTICE = 5


def moment(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHINA).astimezone(UTC)


# --------------------------------------------------------------------------- databases


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


async def fresh(admin_url: str) -> str:
    from api.core.db import migrate

    name = f"zw_bench_sup_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _with_database(admin_url, name)
    await asyncio.to_thread(migrate, url)
    return url


async def drop(admin_url: str, url: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlparse(url).path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


async def prepare(url: str) -> DemoItem:
    """The demo catalog, one applicant, and one head (approver) of the department the cases are of."""
    from api.catalog.demo import demo_document
    from api.catalog.services import import_document
    from api.core.db import close_orm, init_orm
    from api.identity.models import Citizen
    from api.identity.services import create_staff

    await init_orm(url)
    try:
        await import_document(demo_document())
        await Citizen.create(phone="15000000001", name="测试")
        await create_staff("bench-head", "Bench-pass-2026", "approver", "SCJGJ")
    finally:
        await close_orm()
    return await demo_item(url)


def _case_row(item: DemoItem, case_id: int, at: dt.datetime, due: dt.date | None, limit: int) -> tuple[Any, ...]:
    return (case_id, f"9{case_id:019d}", item.citizen_id, item.version_id, item.code, item.name, item.region,
            "default", "", "{}", "{}", "in_review", "online", limit, "working_day", at, at, at, 4, item.category,
            item.department, at, due, 0, 0, limit * 2, "working_day", 0)


async def copy(url: str, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]], size: int = 50_000) -> int:
    conn = await asyncpg.connect(url)
    count = 0
    try:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                await conn.copy_records_to_table(table, records=batch, columns=columns)
                count += len(batch)
                batch = []
        if batch:
            await conn.copy_records_to_table(table, records=batch, columns=columns)
            count += len(batch)
        await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT COALESCE(max(id), 1) FROM {table}))")
    finally:
        await conn.close()
    return count


async def vacuum(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE) cases, supervised_step, supervision_alert, outbox")
    finally:
        await conn.close()


# --------------------------------------------------------------------------- part 1: open steps


def open_rows(item: DemoItem, n: int, today: dt.date) -> tuple[Iterator[tuple[Any, ...]], Iterator[tuple[Any, ...]]]:
    from api.supervision import rules
    from api.workflow.deadlines import LIBRARY, add_working_days

    rng = random.Random(n)
    plan = []
    for case_id in range(1, n + 1):
        limit = rng.choice(LIMITS)
        due = today + dt.timedelta(days=rng.randrange(1, 61))
        legal = add_working_days(LIBRARY, due, limit)
        step = rules.Step("review", limit, due, legal)
        check = rules.check_moment(rules.next_check_day(step, rules.DEFAULTS, LIBRARY, today))
        started = moment(due - dt.timedelta(days=limit + 3), 10)
        plan.append((case_id, limit, due, legal, check, started))

    def cases() -> Iterator[tuple[Any, ...]]:
        for case_id, limit, due, _, _, started in plan:
            yield _case_row(item, case_id, started, due, limit)

    def steps() -> Iterator[tuple[Any, ...]]:
        for case_id, limit, due, legal, check, started in plan:
            yield (case_id, case_id, "review", f"9{case_id:019d}", item.code, item.name, item.department,
                   item.category, None, started, limit, due, legal, None, None, None, None, None, None, check, None,
                   started)

    return cases(), steps()


async def tick_in_process(url: str, now: dt.datetime, *, batch: int = 500) -> Any:
    from api.core.db import close_orm, init_orm
    from api.supervision import services

    await init_orm(url)
    try:
        return await services.tick(now, batch=batch, record_ids=True)
    finally:
        await close_orm()


def child_tick(url: str, now: str, out: str) -> None:
    """One worker process's tick (``--child-tick``): says "ready" once connected, ticks when told "go"
    on stdin (so that all of them start together), then its report on stdout and the step ids it did
    in ``out``."""
    from api.core.db import close_orm, init_orm
    from api.supervision import services

    async def run() -> Any:
        await init_orm(url)
        try:
            await services.thresholds()  # connected, the pool warm
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            return await services.tick(dt.datetime.fromisoformat(now), record_ids=True)
        finally:
            await close_orm()

    report = asyncio.run(run())
    Path(out).write_text(json.dumps(report.step_ids))
    print(json.dumps({"claimed": report.claimed, "alerts": report.alerts, "notifications": report.notifications,
                      "seconds": report.seconds}), flush=True)


async def ticks_at_once(url: str, now: dt.datetime, outs: list[Path]) -> tuple[list[dict[str, Any]], float]:
    """``len(outs)`` worker processes ticking at the same moment; (their reports, the wall time)."""
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child-tick", url, now.isoformat(), str(out), cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE) for out in outs]
    for p in procs:
        assert p.stdout is not None
        assert (await p.stdout.readline()).strip() == b"ready"
    started = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        await p.stdin.drain()
    outputs = await asyncio.gather(*(p.communicate() for p in procs))
    wall = time.perf_counter() - started
    return [json.loads(o[0].decode().strip().splitlines()[-1]) for o in outputs], wall


async def explain_claim(url: str, now: dt.datetime) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM supervised_step WHERE next_check_at <= $1 "
            "ORDER BY next_check_at, id LIMIT 500 FOR UPDATE SKIP LOCKED", now)
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def count(url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def part_open(args: argparse.Namespace) -> None:
    url = await fresh(args.postgres)
    try:
        item = await prepare(url)
        today = dt.date(2026, 3, 2)  # a Monday
        t0 = time.perf_counter()
        cases, steps = open_rows(item, args.open, today)
        await copy(url, "cases", CASE_COLUMNS, cases)
        await copy(url, "supervised_step", STEP_COLUMNS, steps)
        await vacuum(url)
        print(f"loaded {args.open:,} open steps in {time.perf_counter() - t0:.1f} s", flush=True)

        idle = []
        for _ in range(5):
            report = await tick_in_process(url, moment(today) - dt.timedelta(seconds=1))
            idle.append(report.seconds)
        print(f"idle tick (nothing due, {args.open:,} open): median {statistics.median(idle) * 1000:.1f} ms, "
              f"min {min(idle) * 1000:.1f} ms (includes reading the calendar and the thresholds)")
        for line in await explain_claim(url, moment(today) - dt.timedelta(seconds=1)):
            print("   ", line)

        first = moment(today, 0, 5)
        due = await count(url, "SELECT count(*) FROM supervised_step WHERE next_check_at <= $1", first)
        report = await tick_in_process(url, first)
        print(f"day 1 (the backlog), 1 worker: {report.claimed:,} of {due:,} due steps, {report.alerts:,} alerts, "
              f"{report.notifications:,} outbox rows in {report.seconds:.2f} s "
              f"({report.claimed / max(report.seconds, 1e-9):,.0f} steps/s)", flush=True)

        day2 = moment(today + dt.timedelta(days=1), 0, 5)
        due = await count(url, "SELECT count(*) FROM supervised_step WHERE next_check_at <= $1", day2)
        alerts_before = await count(url, "SELECT count(*) FROM supervision_alert")
        var = Path(tempfile.mkdtemp(prefix="zw-bench-sup-"))
        outs = [var / f"ids-{k}.json" for k in range(args.workers)]
        results, wall = await ticks_at_once(url, day2, outs)
        ids = [json.loads(out.read_text()) for out in outs]
        done = [i for part in ids for i in part]
        alerts = await count(url, "SELECT count(*) FROM supervision_alert") - alerts_before
        twice = await count(url, "SELECT count(*) FROM (SELECT step_id, level FROM supervision_alert GROUP BY "
                                 "step_id, level HAVING count(*) > 1) t")
        print(f"day 2, {args.workers} worker processes at once: {due:,} due steps, done {len(done):,} "
              f"({len(set(done)):,} distinct: {len(done) - len(set(done))} done twice), "
              f"{due - len(set(done))} left, {alerts:,} alerts ({twice} raised twice); wall {wall:.2f} s "
              f"from the common start; each worker: "
              + ", ".join(f"{r['claimed']:,} in {r['seconds']:.2f} s" for r in results), flush=True)
        day3 = moment(today + dt.timedelta(days=2), 0, 5)
        due = await count(url, "SELECT count(*) FROM supervised_step WHERE next_check_at <= $1", day3)
        report = await tick_in_process(url, day3)
        print(f"day 3, 1 worker: {report.claimed:,} of {due:,} due, {report.alerts:,} alerts in "
              f"{report.seconds:.2f} s ({report.claimed / max(report.seconds, 1e-9):,.0f} steps/s)")
        idle = []
        for _ in range(5):
            report = await tick_in_process(url, day3)
            idle.append(report.seconds)
        print(f"idle tick again (after the day's work, {args.open:,} open): median "
              f"{statistics.median(idle) * 1000:.1f} ms")
    finally:
        await drop(args.postgres, url)


# --------------------------------------------------------------------------- part 2: the simulation


@dataclass(frozen=True, slots=True)
class Declaration:
    declared_on: dt.date  # applied before that day's tick
    day: dt.date
    working: bool


@dataclass(slots=True)
class SimCase:
    id: int
    submitted: dt.date
    correction: dt.date | None
    resupplied: dt.date | None
    accepted: dt.date
    limit: int
    suspended: dt.date | None
    resumed: dt.date | None
    completed: dt.date | None  # None: still open at the end


def declarations(rng: random.Random) -> list[Declaration]:
    out = []
    day = SIM_START
    while day < SIM_START + dt.timedelta(days=SIM_DAYS):
        day += dt.timedelta(days=rng.randrange(10, 30))
        target = day + dt.timedelta(days=rng.randrange(1, 45))
        working = target.weekday() >= 5  # a weekend made a workday, or a weekday closed
        out.append(Declaration(day, target, working))
    return out


class Calendars:
    """The calendar as the platform knows it on each day (``workflow.deadlines``: the code under test)."""

    def __init__(self, decls: list[Declaration]) -> None:
        from api.workflow.deadlines import LIBRARY

        self.days = [d.declared_on for d in decls]
        self.calendars = [LIBRARY]
        for d in decls:
            self.calendars.append(self.calendars[-1].with_override(d.day, d.working))

    def at(self, day: dt.date) -> Any:
        return self.calendars[bisect.bisect_right(self.days, day)]


def timelines(n: int, cals: Calendars, rng: random.Random) -> list[SimCase]:
    from api.workflow.deadlines import add_working_days

    end = SIM_START + dt.timedelta(days=SIM_DAYS)
    out = []
    for case_id in range(1, n + 1):
        s = SIM_START + dt.timedelta(days=rng.randrange(0, SIM_DAYS - 30))
        accept_due = add_working_days(cals.at(s), s, NOTICE)
        correction = resupplied = None
        base = s
        if rng.random() < 0.10:
            correction = s + dt.timedelta(days=rng.randrange(0, 3))
            resupplied = correction + dt.timedelta(days=rng.randrange(1, 11))
            accept_due = add_working_days(cals.at(resupplied), resupplied, NOTICE)
            base = resupplied
        if rng.random() < 0.85:
            accepted = base + dt.timedelta(days=rng.randrange(0, (accept_due - base).days + 1))
        else:
            accepted = accept_due + dt.timedelta(days=rng.randrange(1, 5))
        limit = rng.choice(SIM_LIMITS)
        due = add_working_days(cals.at(accepted), accepted, limit)
        suspended = resumed = None
        if rng.random() < 0.15:
            suspended = accepted + dt.timedelta(days=rng.randrange(0, max(1, (due - accepted).days)))
            resumed = suspended + dt.timedelta(days=rng.randrange(1, 25))
            due += dt.timedelta(days=(resumed - suspended).days)  # roughly: completion is drawn around it
        r = rng.random()
        if r < 0.7:
            completed = accepted + dt.timedelta(days=rng.randrange(0, (due - accepted).days + 1))
        elif r < 0.92:
            completed = due + dt.timedelta(days=rng.randrange(1, 10))
        else:
            completed = due + dt.timedelta(days=rng.randrange(limit + 1, limit + 25))
        if resumed is not None and completed < resumed:
            completed = resumed
        if suspended is not None and completed <= suspended:
            suspended = resumed = None
        out.append(SimCase(case_id, s, correction, resupplied, accepted, limit, suspended, resumed,
                           completed if completed < end else None))
    return out


# -- the oracle: its own calendar arithmetic --------------------------------------------------------------


class OracleCalendar:
    """Working days by prefix sums, per generation of the overrides: count(a, b] in O(1)."""

    def __init__(self, decls: list[Declaration]) -> None:
        import holidays

        self.base = SIM_START - dt.timedelta(days=30)
        span = SIM_DAYS + 400
        china = holidays.China(years=range(self.base.year, self.base.year + 4))
        extra_work = {d for d in china.weekend_workdays}
        plain = [((self.base + dt.timedelta(days=k)) not in china
                  and ((self.base + dt.timedelta(days=k)).weekday() < 5
                       or (self.base + dt.timedelta(days=k)) in extra_work)) for k in range(span)]
        self.days = [d.declared_on for d in decls]
        self.prefix: list[list[int]] = []
        overrides: dict[dt.date, bool] = {}
        for generation in range(len(decls) + 1):
            if generation:
                overrides[decls[generation - 1].day] = decls[generation - 1].working
            work = [overrides.get(self.base + dt.timedelta(days=k), plain[k]) for k in range(span)]
            acc, sums = 0, []
            for w in work:
                acc += w
                sums.append(acc)
            self.prefix.append(sums)

    def generation(self, day: dt.date) -> int:
        return bisect.bisect_right(self.days, day)

    def _i(self, day: dt.date) -> int:
        return (day - self.base).days

    def count(self, g: int, a: dt.date, b: dt.date) -> int:
        """Working days d with a < d <= b (negative when b is before a)."""
        p = self.prefix[g]
        return p[self._i(b)] - p[self._i(a)]

    def add(self, g: int, start: dt.date, n: int) -> dt.date:
        """The day the n-th working day after ``start`` falls on (``start`` for 0)."""
        if n == 0:
            return start
        p = self.prefix[g]
        k = bisect.bisect_left(p, p[self._i(start)] + n)
        return self.base + dt.timedelta(days=k)


@dataclass(slots=True)
class Expected:
    alerts: dict[tuple[int, str], dt.date] = field(default_factory=dict)  # (step id, level) → first day
    overlong: dict[int, dt.date] = field(default_factory=dict)  # step id → first day


def oracle(cases: list[SimCase], cal: OracleCalendar) -> Expected:
    """Which alert each step must raise, on which day: the tick at the start of a day sees the moves of
    the days before; a stopped clock raises nothing."""
    out = Expected()
    last = SIM_START + dt.timedelta(days=SIM_DAYS - 1)

    def walk(step_id: int, opened: dt.date, closed: dt.date | None, limit: int, state_at: Any, legal: bool) -> None:
        window = max(1, limit * 20 // 100)
        for k in range((min(closed or last, last) - opened).days):
            day = opened + dt.timedelta(days=k + 1)
            paused, due, legal_due, stop = state_at(day)
            g = cal.generation(day)
            if paused:
                if stop is not None and step_id not in out.overlong and cal.count(g, stop, day) > PAUSE_LIMIT:
                    out.overlong[step_id] = day
                continue
            left = cal.count(g, day, due)
            for level, reached in (("warning", left <= window), ("yellow", -left >= 1),
                                   ("red", legal and cal.count(g, legal_due, day) >= 1)):
                if reached and (step_id, level) not in out.alerts:
                    out.alerts[(step_id, level)] = day

    for c in cases:
        first_due = cal.add(cal.generation(c.submitted), c.submitted, NOTICE)
        later_due = cal.add(cal.generation(c.resupplied), c.resupplied, NOTICE) if c.resupplied else first_due

        def accept_state(day: dt.date, c: SimCase = c, first: dt.date = first_due, later: dt.date = later_due) -> Any:
            seen = day - dt.timedelta(days=1)  # the moves the tick has seen
            if c.correction is not None and c.correction <= seen < c.resupplied:  # type: ignore[operator]
                return True, None, None, None
            return False, (later if c.resupplied is not None and c.resupplied <= seen else first), None, None

        walk(2 * c.id, c.submitted, c.accepted, NOTICE, accept_state, False)
        ga = cal.generation(c.accepted)
        due0 = cal.add(ga, c.accepted, c.limit)
        legal0 = cal.add(ga, c.accepted, 2 * c.limit)
        if c.suspended is not None:
            gs = cal.generation(c.suspended)
            legal_s = cal.add(gs, c.accepted, 2 * c.limit)  # recomputed when the suspension is recorded
            gr = cal.generation(c.resumed)  # type: ignore[arg-type]
            stopped = max(0, cal.count(gr, c.suspended, c.resumed))  # type: ignore[arg-type]
            due1 = cal.add(gr, due0, stopped)
            legal1 = cal.add(gr, cal.add(gr, c.accepted, 2 * c.limit), stopped) if stopped else \
                cal.add(gr, c.accepted, 2 * c.limit)
        else:
            legal_s = due1 = legal1 = None

        def review_state(day: dt.date, c: SimCase = c, due0: dt.date = due0, legal0: dt.date = legal0,
                         legal_s: Any = legal_s, due1: Any = due1, legal1: Any = legal1) -> Any:
            seen = day - dt.timedelta(days=1)
            if c.suspended is None or seen < c.suspended:
                return False, due0, legal0, None
            if seen < c.resumed:  # type: ignore[operator]
                return True, due0, legal_s, c.suspended
            return False, due1, legal1, None

        walk(2 * c.id + 1, c.accepted, c.completed, c.limit, review_state, True)
    return out


# -- the writer: the step rows as track() keeps them -------------------------------------------------------


class Writer:
    """Applies a day's moves to the step rows as ``supervision.services.track`` would, through the
    same pure rules (next checks) and the platform's calendar of that day."""

    def __init__(self, conn: asyncpg.Connection, item: DemoItem, cals: Calendars) -> None:
        self.conn, self.item, self.cals = conn, item, cals

    async def flags(self, ids: list[int]) -> dict[int, frozenset[str]]:
        rows = await self.conn.fetch("SELECT id, warning_at, yellow_at, red_at FROM supervised_step "
                                     "WHERE id = ANY($1::bigint[])", ids)
        return {r["id"]: frozenset(level for level in ("warning", "yellow", "red") if r[f"{level}_at"] is not None)
                for r in rows}

    def check(self, kind: str, limit: int, due: dt.date | None, legal: dt.date | None, paused: dt.datetime | None,
              pause_limit: int | None, raised: frozenset[str], day: dt.date) -> dt.datetime | None:
        from api.supervision import rules

        step = rules.Step(kind, limit, due, legal, paused, pause_limit, raised)
        return rules.check_moment(rules.next_check_day(step, rules.DEFAULTS, self.cals.at(day), day))

    async def day(self, day: dt.date, moves: dict[str, list[SimCase]]) -> int:
        from api.workflow.deadlines import add_working_days, working_days_between

        cal = self.cals.at(day)
        it = self.item
        written = 0
        async with self.conn.transaction():
            inserts: list[tuple[Any, ...]] = []
            for c in moves.get("submit", []):
                due = add_working_days(cal, day, NOTICE)
                at = moment(day, 10)
                inserts.append((2 * c.id, c.id, "accept", f"9{c.id:019d}", it.code, it.name, it.department,
                                it.category, None, at, NOTICE, due, None, None, None, None, None, None, None,
                                self.check("accept", NOTICE, due, None, None, None, frozenset(), day), None, at))
            if inserts:
                await self.conn.copy_records_to_table("supervised_step", records=inserts, columns=STEP_COLUMNS)
            for c in moves.get("correct", []):
                await self.conn.execute("UPDATE supervised_step SET paused_at = $2, due_date = NULL, "
                                        "next_check_at = NULL, updated_at = $2 WHERE id = $1", 2 * c.id,
                                        moment(day, 11))
            resupplied = moves.get("resupply", [])
            raised = await self.flags([2 * c.id for c in resupplied]) if resupplied else {}
            for c in resupplied:
                due = add_working_days(cal, day, NOTICE)
                await self.conn.execute(
                    "UPDATE supervised_step SET paused_at = NULL, due_date = $2, next_check_at = $3, updated_at = $4 "
                    "WHERE id = $1", 2 * c.id, due,
                    self.check("accept", NOTICE, due, None, None, None, raised.get(2 * c.id, frozenset()), day),
                    moment(day, 12))
            accepted = moves.get("accept", [])
            if accepted:
                await self.close([2 * c.id for c in accepted], moment(day, 14))
                rows = []
                for c in accepted:
                    due = add_working_days(cal, day, c.limit)
                    legal = add_working_days(cal, day, 2 * c.limit)
                    at = moment(day, 14)
                    rows.append((2 * c.id + 1, c.id, "review", f"9{c.id:019d}", it.code, it.name, it.department,
                                 it.category, None, at, c.limit, due, legal, None, None, None, None, None, None,
                                 self.check("review", c.limit, due, legal, None, None, frozenset(), day), None, at))
                await self.conn.copy_records_to_table("supervised_step", records=rows, columns=STEP_COLUMNS)
            for c in moves.get("suspend", []):
                at = moment(day, 15)
                legal = add_working_days(cal, c.accepted, 2 * c.limit)
                await self.conn.execute(
                    "UPDATE supervised_step SET paused_at = $2, pause_limit = $3, legal_due_date = $4, "
                    "next_check_at = $5, updated_at = $2 WHERE id = $1", 2 * c.id + 1, at, PAUSE_LIMIT, legal,
                    self.check("review", c.limit, None, legal, at, PAUSE_LIMIT, frozenset(), day))
            resumed = moves.get("resume", [])
            raised = await self.flags([2 * c.id + 1 for c in resumed]) if resumed else {}
            for c in resumed:
                row = await self.conn.fetchrow("SELECT due_date FROM supervised_step WHERE id = $1", 2 * c.id + 1)
                stopped = max(0, working_days_between(cal, c.suspended, day))  # type: ignore[arg-type]
                due = add_working_days(cal, row["due_date"], stopped)
                legal = add_working_days(cal, add_working_days(cal, c.accepted, 2 * c.limit), stopped)
                await self.conn.execute(
                    "UPDATE supervised_step SET paused_at = NULL, pause_limit = NULL, overlong_at = NULL, "
                    "due_date = $2, legal_due_date = $3, next_check_at = $4, updated_at = $5 WHERE id = $1",
                    2 * c.id + 1, due, legal,
                    self.check("review", c.limit, due, legal, None, None, raised.get(2 * c.id + 1, frozenset()), day),
                    moment(day, 16))
            done = moves.get("complete", [])
            if done:
                await self.close([2 * c.id + 1 for c in done], moment(day, 17))
            written = sum(len(v) for v in moves.values())
        return written

    async def close(self, ids: list[int], at: dt.datetime) -> None:
        await self.conn.execute("UPDATE supervised_step SET closed_at = $2, next_check_at = NULL, updated_at = $2 "
                                "WHERE id = ANY($1::bigint[])", ids, at)
        await self.conn.execute("UPDATE supervision_alert SET resolved_at = $2 WHERE step_id = ANY($1::bigint[]) "
                                "AND resolved_at IS NULL", ids, at)


def moves_by_day(cases: list[SimCase]) -> dict[dt.date, dict[str, list[SimCase]]]:
    days: dict[dt.date, dict[str, list[SimCase]]] = defaultdict(lambda: defaultdict(list))
    for c in cases:
        days[c.submitted]["submit"].append(c)
        if c.correction is not None:
            days[c.correction]["correct"].append(c)
            days[c.resupplied]["resupply"].append(c)  # type: ignore[index]
        days[c.accepted]["accept"].append(c)
        if c.suspended is not None:
            days[c.suspended]["suspend"].append(c)
            days[c.resumed]["resume"].append(c)  # type: ignore[index]
        if c.completed is not None:
            days[c.completed]["complete"].append(c)
    return days


async def declare(conn: asyncpg.Connection, decls: list[Declaration]) -> None:
    for d in decls:
        await conn.execute("INSERT INTO calendar_override (day, working, note, updated_at) VALUES ($1, $2, '', now()) "
                           "ON CONFLICT (day) DO UPDATE SET working = excluded.working", d.day, d.working)
    await conn.execute("UPDATE calendar_revision SET stamp = $1 WHERE id = 1", uuid.uuid4().hex)


async def part_simulation(args: argparse.Namespace) -> None:
    from api.core.db import close_orm, init_orm
    from api.supervision import services

    rng = random.Random(20250101)
    decls = declarations(rng)
    cals = Calendars(decls)
    t0 = time.perf_counter()
    cases = timelines(args.cases, cals, rng)
    by_day = moves_by_day(cases)
    print(f"simulation: {len(cases):,} cases over {SIM_DAYS} days, {len(decls)} calendar overrides declared on "
          f"the way; {sum(c.correction is not None for c in cases):,} corrections, "
          f"{sum(c.suspended is not None for c in cases):,} suspensions; generated in {time.perf_counter() - t0:.1f} s",
          flush=True)
    t0 = time.perf_counter()
    expected = oracle(cases, OracleCalendar(decls))
    print(f"oracle: {len(expected.alerts):,} alerts and {len(expected.overlong):,} overlong suspensions expected "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    url = await fresh(args.postgres)
    try:
        item = await prepare(url)
        await copy(url, "cases", CASE_COLUMNS,
                   (_case_row(item, c.id, moment(c.submitted, 10), None, c.limit) for c in cases))
        await vacuum(url)
        conn = await asyncpg.connect(url)
        writer = Writer(conn, item, cals)
        declared = defaultdict(list)
        for d in decls:
            declared[d.declared_on].append(d)
        ticks: list[float] = []
        claimed: list[int] = []
        open_counts: list[int] = []
        await init_orm(url)
        try:
            started = time.perf_counter()
            for k in range(SIM_DAYS):
                day = SIM_START + dt.timedelta(days=k)
                if day in declared:
                    await declare(conn, declared[day])
                now = moment(day, 0, 5)
                await services.follow_calendar(now)
                report = await services.tick(now)
                ticks.append(report.seconds)
                claimed.append(report.claimed)
                await writer.day(day, by_day.get(day, {}))
                if k % 30 == 0:
                    open_counts.append(await conn.fetchval("SELECT count(*) FROM supervised_step "
                                                           "WHERE closed_at IS NULL"))
                if k % 73 == 0:
                    print(f"  day {k}: {time.perf_counter() - started:.0f} s so far, open steps {open_counts[-1]:,}",
                          flush=True)
        finally:
            await close_orm()
        got: dict[tuple[int, str], list[dt.date]] = defaultdict(list)
        for r in await conn.fetch("SELECT step_id, level, raised_at FROM supervision_alert"):
            got[(r["step_id"], r["level"])].append(r["raised_at"].astimezone(CHINA).date())
        overlong = {r["id"]: r["overlong_at"].astimezone(CHINA).date() for r in await conn.fetch(
            "SELECT id, overlong_at FROM supervised_step WHERE overlong_at IS NOT NULL")}
        # An overlong suspension that ended is no longer marked on its row (a new stop is judged afresh): its
        # irregularity is the record.
        irregular = {int(r["detail_step"]) if r["detail_step"] else None: r["found_at"].astimezone(CHINA).date()
                     for r in await conn.fetch("SELECT split_part(key, ':', 3) AS detail_step, found_at "
                                               "FROM supervision_irregularity")}
        await conn.close()
        missed = [k for k in expected.alerts if k not in got]
        extra = [k for k in got if k not in expected.alerts]
        twice = [k for k, days in got.items() if len(days) > 1]
        late = [k for k, days in got.items() if k in expected.alerts and days[0] != expected.alerts[k]]
        irregular_missed = [s for s in expected.overlong if s not in irregular]
        irregular_extra = [s for s in irregular if s not in expected.overlong]
        irregular_late = [s for s, d in expected.overlong.items() if s in irregular and irregular[s] != d]
        print(f"alerts: {sum(len(v) for v in got.values()):,} raised, {len(expected.alerts):,} expected — "
              f"missed {len(missed)}, extra {len(extra)}, duplicates {len(twice)}, on another day {len(late)}")
        print(f"overlong suspensions: {len(irregular):,} recorded ({len(overlong):,} still marked), "
              f"{len(expected.overlong):,} expected — missed {len(irregular_missed)}, extra {len(irregular_extra)}, "
              f"on another day {len(irregular_late)}")
        for name, sample in (("missed", missed), ("extra", extra), ("late", late)):
            if sample:
                print(f"  e.g. {name}: {sample[:5]}")
        busy = [t for t, c in zip(ticks, claimed, strict=True) if c]
        print(f"ticks: {len(ticks)} (one a simulated day), median {statistics.median(ticks) * 1000:.1f} ms, "
              f"p99 {sorted(ticks)[int(len(ticks) * .99)] * 1000:.1f} ms, max {max(ticks) * 1000:.1f} ms; "
              f"steps looked at per tick: median {statistics.median(claimed):.0f}, max {max(claimed):,}; "
              f"open steps (every 30 days): median {statistics.median(open_counts):,.0f}, max {max(open_counts):,}")
        if busy:
            print(f"  of which with work: {len(busy)}, median {statistics.median(busy) * 1000:.1f} ms")
    finally:
        await drop(args.postgres, url)


async def main_async(args: argparse.Namespace) -> None:
    if not args.skip_open:
        await part_open(args)
    if not args.skip_simulation:
        await part_simulation(args)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child-tick":
        child_tick(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=1_000_000, help="open steps for the tick (default 1,000,000)")
    parser.add_argument("--cases", type=int, default=1_000_000, help="simulated cases (default 1,000,000)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--skip-open", action="store_true")
    parser.add_argument("--skip-simulation", action="store_true")
    parser.add_argument("--postgres", default=os.environ.get("ZHENGWU_TEST_POSTGRES_URL")
                        or "postgres://postgres@127.0.0.1:5432/test", help="an admin URL: databases are created")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
