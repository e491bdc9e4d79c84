"""Back-office query benchmark: the workbench queues, a citizen's case list and ``accept`` over N cases.

    python tests/bench/bench_cases.py [--cases 10000,1000000] [--backends sqlite,postgres]
        [--materials 2] [--seconds 15] [--rounds 3] [--keep] [--postgres postgres://postgres@127.0.0.1:5432/test]

Per backend and size: a fresh database (a temp SQLite file; ``CREATE DATABASE`` on PostgreSQL),
migrated (``api.core.db.migrate``), the demo catalog imported, then N cases of N/5 citizens bulk
loaded (PostgreSQL: COPY through asyncpg ``copy_records_to_table``; SQLite: ``executemany`` in one
transaction) with ``--materials`` checklist rows each. Then it measures p50/p99/mean of

* the department queue's first page (an officer of the busiest department),
* the window queue's first page (a clerk of the busiest window category),
* a citizen's case list (random citizens),

in process (``api.workflow.queues.queue`` / ``api.cases.services.list_cases``: the ORM and the
database, no HTTP), runs EXPLAIN on the SQL those calls send (captured from Tortoise's log), and
measures ``accept`` end to end over HTTP against the real app served by uvicorn in a subprocess (as
``zhengwu serve`` does, one worker), one clerk at a time and, on PostgreSQL, 16 clerks at once
each accepting distinct submitted cases. The sizes take turns, ``--rounds`` times, so that the
drifting load of a shared host weighs on each alike. Prints a table with the ratio of the largest
size to the smallest per figure, beside the targets (every figure at 1M within 1.5× of 10k; accept
p99 < 50 ms on PostgreSQL with 16 concurrent clerks), and on PostgreSQL the shared buffers each
statement touched (EXPLAIN ANALYZE): the work, which the host's load does not move. Figures, not
assertions: it never fails on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from servers import free_port, wait_ready  # noqa: E402  (run as a script: its folder is on the path)

BIN = Path(sys.executable).parent
PASSWORD = "Bench-pass-2026"
SECRET = "b" * 48
UTC = dt.UTC
#: States of a city's history: most cases finished long ago, a backlog in every stage (fractions of N).
STATE_MIX = {
    "delivered": 0.80, "refused": 0.02, "withdrawn": 0.03, "draft": 0.02, "submitted": 0.03,
    "correction_requested": 0.01, "accepted": 0.03, "in_review": 0.04, "suspended": 0.005, "approved": 0.01,
    "denied": 0.005,
}
ACTIVE = {"submitted", "correction_requested", "accepted", "in_review", "suspended", "approved", "denied"}
ACCEPTED_ON = {"accepted", "in_review", "suspended", "approved", "denied", "delivered"}
HISTORY_DAYS = 3 * 365  # finished cases spread over three years; the backlog over the last 60 days
SEQUENTIAL_ACCEPTS = 60
CLERKS = 16
ACCEPTS_PER_CLERK = 25
WARMUP_ACCEPTS = 8
#: Submitted cases kept for accept, per round (each round accepts cases of its own).
RESERVED = SEQUENTIAL_ACCEPTS + CLERKS * ACCEPTS_PER_CLERK + WARMUP_ACCEPTS


@dataclass(frozen=True, slots=True)
class Item:
    version_id: int
    code: str
    name: str
    region: str
    situation_code: str
    situation_name: str
    category: str
    department: str
    promised_limit: int
    promised_unit: str
    legal_limit: int
    legal_unit: str
    weight: float


@dataclass(slots=True)
class Figures:
    """Latencies in ms per measured operation, and notes (plans, generation time)."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    #: PostgreSQL: shared buffers (8 KiB pages) each statement of a figure touched, from EXPLAIN
    #: (ANALYZE, BUFFERS) — the work a query does, which the load of a shared host does not move.
    buffers: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    generated_s: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- databases


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


async def create_database(backend: str, pg_admin: str, directory: Path) -> str:
    name = f"zw_bench_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        return f"sqlite:///{directory / name}.sqlite3"
    admin = await asyncpg.connect(pg_admin)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _with_database(pg_admin, name)


async def drop_database(url: str, pg_admin: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(url.removeprefix("sqlite://") + suffix).unlink, missing_ok=True)
        return
    admin = await asyncpg.connect(pg_admin)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlparse(url).path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


async def catalog_items() -> list[Item]:
    from tortoise import Tortoise

    conn = Tortoise.get_connection("default")
    rows = await conn.execute_query_dict(
        "SELECT v.id AS vid, i.code, v.name, i.region_code, COALESCE(w.category, '') AS category, d.code AS dept, "
        "v.promised_limit, v.promised_limit_unit, v.legal_limit, v.legal_limit_unit, i.popularity, "
        "(SELECT s.code FROM situation s WHERE s.version_id = v.id ORDER BY s.sort_order, s.id LIMIT 1) AS sc, "
        "(SELECT s.name FROM situation s WHERE s.version_id = v.id ORDER BY s.sort_order, s.id LIMIT 1) AS sn "
        "FROM service_item_version v JOIN service_item i ON v.item_id = i.id "
        "JOIN department d ON i.department_id = d.id LEFT JOIN \"window\" w ON v.window_id = w.id "
        "WHERE v.status = 'published' ORDER BY v.id"
    )
    return [Item(r["vid"], r["code"], r["name"], r["region_code"][:6], r["sc"] or "default", r["sn"] or "",
                 r["category"], r["dept"], r["promised_limit"], r["promised_limit_unit"], r["legal_limit"],
                 r["legal_limit_unit"], 1.0 + float(r["popularity"] or 0)) for r in rows]


# --------------------------------------------------------------------------- the generator


CASE_COLUMNS = [
    "id", "number", "query_code_hash", "query_code_salt", "applicant_id", "enterprise_id", "item_version_id",
    "item_code", "item_name", "region", "situation_code", "situation_name", "answers", "form_data", "state",
    "channel", "promised_limit", "promised_limit_unit", "idempotency_key", "created_at", "updated_at",
    "submitted_at", "expires_at", "version", "window_category", "department_code", "claimed_by", "accepted_at",
    "decided_at", "due_date", "paused_at", "paused_days", "corrections", "legal_limit", "legal_limit_unit",
    "extended_days",
]
CITIZEN_COLUMNS = ["id", "phone", "name", "id_number", "verified_at", "created_at", "identity_checked_at"]
MATERIAL_COLUMNS = [
    "id", "case_id", "code", "name", "required", "source", "certificate_type", "reason", "sort_order", "status",
    "blob_key", "filename", "size", "mime", "sha256", "attached_at", "certificate_id",
]
MATERIALS = [("application", "申请书"), ("id_card", "身份证明"), ("license", "营业执照"), ("site", "场所证明")]


@dataclass(frozen=True, slots=True)
class Plan:
    """Who is busy: the department and window category with the most weight, for the measured staff."""

    department: str
    category: str
    citizens: int
    reserved: int = RESERVED  # the first cases: submitted, of the busiest category, for accept


def busiest(items: list[Item]) -> tuple[str, str]:
    by_dept: dict[str, float] = {}
    by_cat: dict[str, float] = {}
    for it in items:
        by_dept[it.department] = by_dept.get(it.department, 0) + it.weight
        if it.category:
            by_cat[it.category] = by_cat.get(it.category, 0) + it.weight
    return max(by_dept, key=by_dept.__getitem__), max(by_cat, key=by_cat.__getitem__)


def recount_sql() -> str:
    """The queues' counts of the loaded cases, as the workflow keeps them (a bulk load bypasses it)."""
    from api.workflow.queues import RECOUNT_SQL

    return f"INSERT INTO queue_count (queue, state, shard, n) {RECOUNT_SQL}"


def generate(n: int, items: list[Item], plan: Plan, now: dt.datetime, json_text: bool) -> Iterator[tuple]:
    """Case rows, deterministic for a given N. The first ``plan.reserved`` cases are submitted cases
    of the busiest category (the accept benchmark's; at 1M there are that many anyway)."""
    rng = random.Random(n)
    states = list(STATE_MIX)
    weights = list(STATE_MIX.values())
    reserve_items = [it for it in items if it.category == plan.category]
    cum_items = list(_cumulative([it.weight for it in items]))
    empty = "{}"
    today = now.date()
    numbers: dict[str, int] = {}
    for case_id in range(1, n + 1):
        if case_id <= plan.reserved:
            item, state = rng.choice(reserve_items), "submitted"
        else:
            item = items[_pick(cum_items, rng.random())]
            state = rng.choices(states, weights)[0]
        active = state in ACTIVE or state == "draft"
        age = rng.uniform(0, 60 if active else HISTORY_DAYS)
        created = now - dt.timedelta(days=age, seconds=rng.randrange(86400))
        submitted = None if state == "draft" else created + dt.timedelta(minutes=rng.randrange(5, 600))
        if submitted is not None and submitted > now:
            submitted = now - dt.timedelta(seconds=rng.randrange(1, 3600))
        number = salt = code_hash = key = None
        if submitted is not None:
            day = f"{submitted:%Y%m%d}"
            numbers[day] = numbers.get(day, 0) + 1
            number = f"{item.region}{day}{numbers[day]:06d}"
            salt, code_hash, key = f"{case_id:032x}", f"{case_id:064x}", f"{case_id:032x}"
        accepted = submitted + dt.timedelta(days=rng.uniform(0.1, 3)) if state in ACCEPTED_ON else None
        if accepted is not None and accepted > now:
            accepted = now
        decided = accepted + dt.timedelta(days=rng.uniform(1, 15)) if state in ("approved", "denied", "delivered") \
            else None
        if state == "refused":
            decided = submitted
        if decided is not None and decided > now:
            decided = now
        # The due date of what the case waits for (api/workflow/services.py): none once finished or
        # withdrawn, or while the applicant corrects; a submitted case is never past its notice
        # period (it would be deemed accepted).
        due: dt.date | None
        if state == "submitted":
            due = today + dt.timedelta(days=rng.randrange(0, 8))
        elif state in ("accepted", "in_review", "suspended"):
            due = today + dt.timedelta(days=rng.randrange(-5, 30))
        elif state in ("approved", "denied"):
            due = today + dt.timedelta(days=rng.randrange(-2, 2))
        else:  # finished, withdrawn (``withdraw`` takes the case off every queue) or waiting for the applicant
            due = None
        version = {"draft": 1, "submitted": 2, "correction_requested": 3, "refused": 3, "withdrawn": 3,
                   "accepted": 3, "in_review": 4, "suspended": 5, "approved": 5, "denied": 5, "delivered": 6}[state]
        paused = now - dt.timedelta(days=rng.uniform(0, 10)) if state in ("suspended", "correction_requested") \
            else None
        updated = max(x for x in (created, submitted, accepted, decided, paused) if x is not None)
        yield (
            case_id, number, code_hash, salt, 1 + rng.randrange(plan.citizens), None, item.version_id, item.code,
            item.name, item.region, item.situation_code, item.situation_name, empty, empty, state,
            "online" if rng.random() < 0.7 else "window", item.promised_limit, item.promised_unit, key, created,
            updated, submitted, created + dt.timedelta(days=30) if state == "draft" else None, version,
            item.category, item.department, None, accepted, decided, due, paused, 0,
            1 if state == "correction_requested" else 0, item.legal_limit, item.legal_unit, 0,
        )


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = sum(weights)
    acc = 0.0
    for w in weights:
        acc += w / total
        yield acc


def _pick(cumulative: list[float], x: float) -> int:
    import bisect

    return min(bisect.bisect_left(cumulative, x), len(cumulative) - 1)


def citizens(count: int, now: dt.datetime) -> Iterator[tuple]:
    for i in range(1, count + 1):
        created = now - dt.timedelta(days=HISTORY_DAYS + 30 - i * HISTORY_DAYS / count)
        yield (i, f"{15000000000 + i}", "测试用户", f"511902{19700101 + i % 300000:08d}{i % 10000:04d}",
               created, created, None)


def materials(n: int, per_case: int, now: dt.datetime) -> Iterator[tuple]:
    next_id = 1
    for case_id in range(1, n + 1):
        for k in range(per_case):
            code, name = MATERIALS[k % len(MATERIALS)]
            blob = f"{case_id:056x}{k:08x}"
            yield (next_id, case_id, code if k < len(MATERIALS) else f"{code}_{k}", name, True, "applicant", "", "",
                   k, "attached", blob, f"{code}.pdf", 200_000 + k, "application/pdf", blob, now, None)
            next_id += 1


def _batches(rows: Iterator[tuple], size: int = 50_000) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def load_postgres(url: str, n: int, items: list[Item], plan: Plan, per_case: int, now: dt.datetime) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for batch in _batches(citizens(plan.citizens, now)):
                await conn.copy_records_to_table("citizen", records=batch, columns=CITIZEN_COLUMNS)
            for batch in _batches(generate(n, items, plan, now, json_text=True)):
                await conn.copy_records_to_table("cases", records=batch, columns=CASE_COLUMNS)
            for batch in _batches(materials(n, per_case, now)):
                await conn.copy_records_to_table("case_material", records=batch, columns=MATERIAL_COLUMNS)
            for table in ("citizen", "cases", "case_material"):
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT COALESCE(max(id), 1) FROM {table}))")
            await conn.execute(recount_sql())
        # What autovacuum does shortly after a bulk load (the steady state of a running city): the
        # planner's statistics, and the visibility map that index-only scans need.
        await conn.execute("VACUUM (ANALYZE) citizen, cases, case_material, queue_count")
    finally:
        await conn.close()


def load_sqlite(url: str, n: int, items: list[Item], plan: Plan, per_case: int, now: dt.datetime) -> None:
    import tortoise.backends.sqlite.executor  # noqa: F401  (registers Tortoise's datetime/date adapters)

    db = sqlite3.connect(url.removeprefix("sqlite://"), isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")  # this loading connection only
        db.execute("BEGIN")

        def insert(table: str, columns: list[str], rows: Iterator[tuple]) -> None:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for batch in _batches(rows):
                db.executemany(sql, batch)

        insert("citizen", CITIZEN_COLUMNS, citizens(plan.citizens, now))
        insert("cases", CASE_COLUMNS, generate(n, items, plan, now, json_text=True))
        insert("case_material", MATERIAL_COLUMNS, materials(n, per_case, now))
        db.execute(recount_sql())
        db.execute("COMMIT")
    finally:
        db.close()


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def timed(call: Callable[[], Awaitable[Any]], seconds: float, at_least: int = 30, at_most: int = 300,
                warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        await call()
    out: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(out) < at_most and (len(out) < at_least or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


class SqlCapture(logging.Handler):
    """The SQL Tortoise sends (its db_client logger), to EXPLAIN exactly that."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, list]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 2 and isinstance(record.args[0], str):
            sql, values = record.args
            if sql.lstrip().upper().startswith("SELECT") and re.search(r'\b"?(cases|queue_count)"?\b', sql):
                self.statements.append((sql, list(values or [])))


async def captured(call: Callable[[], Awaitable[Any]]) -> list[tuple[str, list]]:
    log = logging.getLogger("tortoise.db_client")
    handler = SqlCapture()
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        await call()
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    return handler.statements


async def explained(backend: str, label: str, call: Callable[[], Awaitable[Any]],
                    buffers: list[int] | None = None) -> list[str]:
    from tortoise import Tortoise

    conn = Tortoise.get_connection("default")
    lines: list[str] = []
    for sql, values in await captured(call):
        kind = "counts" if "queue_count" in sql or "COUNT(" in sql.upper() else "page"
        if backend == "postgres":
            rows = await conn.execute_query_dict("EXPLAIN (ANALYZE, BUFFERS) " + sql, values)
            plan = [r["QUERY PLAN"] for r in rows]
        else:
            rows = await conn.execute_query_dict("EXPLAIN QUERY PLAN " + sql, values)
            plan = [r["detail"] for r in rows]
        text = "\n".join(plan)
        if buffers is not None and backend == "postgres":  # the top node's Buffers line: the statement's total
            top = re.search(r"Buffers: shared((?: \w+=\d+)+)", text)
            buffers.append(sum(int(x) for x in re.findall(r"=(\d+)", top.group(1))) if top else 0)
        used = sorted(set(re.findall(r"(?:using|USING (?:COVERING )?INDEX) (\w+)", text)))
        verdict = f"indexes {', '.join(used) or 'none'}"
        # (SQLite: "SCAN b0" reads a union branch's own result, and the temporary B-tree after it
        # orders those few rows for the merge; neither touches the table.)
        if "Seq Scan" in text or any(p.startswith("SCAN ") and "INDEX" not in p and not re.match(r"SCAN b\d", p)
                                     for p in plan):
            verdict += "; FULL SCAN (finding)"
        sorted_rows = re.findall(r"Sort .*?actual time=[\d.]+\.\.[\d.]+ rows=(\d+)", text)
        if sorted_rows:
            verdict += f"; sorts {' + '.join(sorted_rows)} rows"
        elif any("TEMP B-TREE" in p and not (i and re.match(r"SCAN b\d", plan[i - 1])) for i, p in enumerate(plan)):
            verdict += "; sorts"
        lines.append(f"  {label} [{kind}]: {verdict}\n    SQL: {sql}  {values}\n    " + "\n    ".join(plan))
    return lines


async def measure_queries(backend: str, url: str, plan: Plan, figures: Figures, seconds: float,
                          explain: bool, plans_too: bool) -> None:
    from api.cases import services as cases
    from api.core.db import close_orm, init_orm
    from api.identity.principal import Principal
    from api.workflow import queues

    far = dt.datetime(2100, 1, 1, tzinfo=UTC)
    officer = Principal("staff", 900001, "officer", plan.department, "", "bench", far)
    await init_orm(url)
    try:
        from api.catalog.models import Window

        window = await Window.filter(category=plan.category).order_by("code").first()
        assert window is not None
        clerk = Principal("staff", 900002, "clerk", "", window.code, "bench", far)
        rng = random.Random(5)
        people = [Principal("citizen", 1 + rng.randrange(plan.citizens), "citizen", "", "", "bench", far)
                  for _ in range(400)]
        turn = iter(range(10**9))

        async def citizen_list() -> Any:
            return await cases.list_cases(people[next(turn) % len(people)])

        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "department queue": lambda: queues.queue(officer, queues.Filters()),
            "window queue": lambda: queues.queue(clerk, queues.Filters()),
            "citizen case list": citizen_list,
        }
        if explain:
            page = await queues.queue(officer, queues.Filters())
            figures.notes.append(f"  officer of {plan.department}: counts {page.counts}")
            page = await queues.queue(clerk, queues.Filters())
            figures.notes.append(f"  clerk of window {window.code} ({plan.category}): counts {page.counts}")
        for name, call in calls.items():
            figures.samples.setdefault(name, []).extend(await timed(call, seconds))
        if explain:
            for name, call in calls.items():
                lines = await explained(backend, name, call, figures.buffers.setdefault(name, []))
                if plans_too:
                    figures.notes.extend(lines)
    finally:
        await close_orm()





def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the database (the server's pool)."""
    conn = await asyncpg.connect(url)
    try:
        pids = [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()
    out = {}
    for pid in pids:
        try:
            out[pid] = cpu_seconds(pid)
        except (FileNotFoundError, PermissionError, ProcessLookupError):  # gone, or another user's
            continue
    return out


def start_server(url: str, var: Path) -> tuple[subprocess.Popen, str]:
    """The app as ``zhengwu serve`` runs it (uvicorn, one worker), without the access log or maintenance rounds."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZHENGWU_DATABASE_URL": url, "ZHENGWU_VAR_DIR": str(var),
           "ZHENGWU_PWA_DIST": str(var / "no-pwa"), "ZHENGWU_SECRET_KEY": SECRET, "ZHENGWU_MAINTENANCE_INTERVAL": "0"}
    proc = subprocess.Popen(
        [str(BIN / "python"), "-m", "uvicorn", "api.app:app_factory", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/v1/health", proc)
    except BaseException:
        proc.terminate()
        raise
    return proc, f"http://127.0.0.1:{port}"


async def reserved_cases(url: str, turn: int) -> list[int]:
    """The submitted cases kept for accept in round ``turn`` (0, 1, …)."""
    from api.cases.models import Case
    from api.core.db import close_orm, init_orm

    await init_orm(url)
    try:
        ids = await Case.filter(id__gt=turn * RESERVED, id__lte=(turn + 1) * RESERVED, state="submitted").order_by(
            "id").values_list("id", flat=True)
        return [int(i) for i in ids]  # type: ignore[arg-type]
    finally:
        await close_orm()


async def make_clerks(url: str, plan: Plan, count: int) -> list[str]:
    from api.catalog.models import Window
    from api.core.db import close_orm, init_orm
    from api.identity.services import create_staff

    await init_orm(url)
    try:
        windows = [w.code for w in await Window.filter(category=plan.category).order_by("code")]
        names = []
        for i in range(count):
            name = f"bench-clerk-{i:02d}"
            await create_staff(name, PASSWORD, "clerk", window=windows[i % len(windows)], name=f"窗口{i}")
            names.append(name)
        return names
    finally:
        await close_orm()


async def measure_accept(backend: str, url: str, clerks: list[str], figures: Figures, var: Path, turn: int) -> None:
    """``accept`` end to end: HTTP to the app served by uvicorn (one worker) in a subprocess."""
    case_ids = await reserved_cases(url, turn)
    proc, base = await asyncio.to_thread(start_server, url, var)
    try:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
            tokens = []
            for name in clerks:
                r = await http.post("/api/v1/auth/staff/token", json={"username": name, "password": PASSWORD})
                r.raise_for_status()
                tokens.append({"Authorization": f"Bearer {r.json()['access_token']}"})
            pool = iter(case_ids)
            errors = 0

            async def accept(headers: dict[str, str], case_id: int) -> float:
                nonlocal errors
                t0 = time.perf_counter()
                r = await http.post(f"/api/v1/cases/{case_id}/actions/accept", json={"version": 2}, headers=headers)
                ms = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    errors += 1
                    if errors <= 3:
                        print(f"    accept {case_id}: {r.status_code} {r.text[:200]}", flush=True)
                return ms

            for _ in range(WARMUP_ACCEPTS):
                await accept(tokens[0], next(pool))
            figures.samples.setdefault("accept (1 clerk)", []).extend(
                [await accept(tokens[0], next(pool)) for _ in range(SEQUENTIAL_ACCEPTS)])
            figures.errors["accept (1 clerk)"] = figures.errors.get("accept (1 clerk)", 0) + errors
            if backend == "postgres":
                errors = 0
                shares = [[next(pool) for _ in range(ACCEPTS_PER_CLERK)] for _ in range(CLERKS)]

                async def clerk(headers: dict[str, str], mine: list[int]) -> list[float]:
                    return [await accept(headers, case_id) for case_id in mine]

                backends0 = await backend_cpu(url)
                cpu0, mine0, t0 = cpu_seconds(proc.pid), time.process_time(), time.perf_counter()
                runs = await asyncio.gather(*(clerk(tokens[i], shares[i]) for i in range(CLERKS)))
                wall, cpu = time.perf_counter() - t0, cpu_seconds(proc.pid) - cpu0
                client = time.process_time() - mine0
                backends = sum(t - backends0.get(pid, 0.0) for pid, t in (await backend_cpu(url)).items())
                name = f"accept ({CLERKS} clerks)"
                figures.samples.setdefault(name, []).extend(ms for run in runs for ms in run)
                figures.errors[name] = figures.errors.get(name, 0) + errors
                done = CLERKS * ACCEPTS_PER_CLERK
                figures.notes.append(f"  round {turn + 1}, {CLERKS} clerks: {done} accepts in {wall:.1f}s "
                                     f"({done / wall:.0f}/s); "
                                     f"server process CPU {cpu / wall * 100:.0f} % of one core, "
                                     f"{cpu * 1000 / done:.1f} ms per accept; CPU per accept of this client "
                                     f"{client * 1000 / done:.1f} ms, of the database's backends "
                                     f"{backends * 1000 / done:.1f} ms")
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)


@dataclass(slots=True)
class Prepared:
    url: str
    plan: Plan
    clerks: list[str]


async def prepare(backend: str, n: int, args: argparse.Namespace, var: Path, figures: Figures) -> Prepared:
    """A fresh database of ``n`` cases, with the clerks that accept."""
    from api.catalog.demo import demo_document
    from api.catalog.services import import_document
    from api.core.db import close_orm, init_orm, migrate

    url = await create_database(backend, args.postgres, var)
    await asyncio.to_thread(migrate, url)
    await init_orm(url)
    try:
        await import_document(demo_document())
        items = await catalog_items()
    finally:
        await close_orm()
    department, category = busiest(items)
    plan = Plan(department, category, max(1, n // 5), RESERVED * args.rounds)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    if backend == "postgres":
        await load_postgres(url, n, items, plan, args.materials, now)
    else:
        await asyncio.to_thread(load_sqlite, url, n, items, plan, args.materials, now)
    figures.generated_s = time.perf_counter() - t0
    print(f"  generated {n:,} cases, {plan.citizens:,} citizens, {n * args.materials:,} materials "
          f"in {figures.generated_s:.1f}s", flush=True)
    clerks = await make_clerks(url, plan, CLERKS if backend == "postgres" else 1)
    return Prepared(url, plan, clerks)


def report(results: dict[tuple[str, int], Figures], sizes: list[int], backends: list[str]) -> None:
    small, large = min(sizes), max(sizes)
    names = ["department queue", "window queue", "citizen case list", "accept (1 clerk)", f"accept ({CLERKS} clerks)"]

    def label(n: int) -> str:
        return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"

    print(f"\n{'backend':<10} {'figure':<20} {'N':>5} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
          f"{'err':>4}  {label(large)}/{label(small)} p50 | p99 | mean   target")
    for backend in backends:
        for name in names:
            for n in sizes:
                f = results.get((backend, n))
                if f is None or name not in f.samples:
                    continue
                s = f.samples[name]
                row = (f"{backend:<10} {name:<20} {label(n):>5} {len(s):>4} {percentile(s, .5):>8.2f} "
                       f"{percentile(s, .99):>8.2f} {statistics.fmean(s):>8.2f} {f.errors.get(name, 0):>4}")
                if n == large and len(sizes) > 1 and name in results[(backend, small)].samples:
                    b = results[(backend, small)].samples[name]
                    ratios = [percentile(s, .5) / percentile(b, .5), percentile(s, .99) / percentile(b, .99),
                              statistics.fmean(s) / statistics.fmean(b)]
                    row += "  " + " | ".join(f"{r:.2f}" for r in ratios)
                    row += f"   ≤ 1.5× {'met' if max(ratios) <= 1.5 else 'NOT met'}"
                    if name.startswith(f"accept ({CLERKS}"):
                        row += f"; p99 < 50 ms {'met' if percentile(s, .99) < 50 else 'NOT met'}"
                print(row)
    for backend in backends:
        if backend != "postgres":
            continue
        print(f"\n{backend}: shared buffers touched per statement (EXPLAIN ANALYZE, BUFFERS)")
        for name in names:
            row = [f"{label(n)} {'+'.join(map(str, results[(backend, n)].buffers.get(name, [])))}"
                   for n in sizes if results[(backend, n)].buffers.get(name)]
            if row:
                print(f"  {name:<20} " + "   ".join(row))
    for (backend, n), f in results.items():
        print(f"\n{backend} {label(n)}: generated in {f.generated_s:.1f}s")
        for note in f.notes:
            print(note)


async def main_async(args: argparse.Namespace) -> None:
    var = Path(tempfile.mkdtemp(prefix="zhengwu-bench-cases-"))
    results: dict[tuple[str, int], Figures] = {}
    made: list[str] = []
    try:
        for backend in args.backends:
            ready: dict[int, Prepared] = {}
            for n in args.sizes:
                print(f"{backend} {n:,} cases …", flush=True)
                results[(backend, n)] = Figures()
                ready[n] = await prepare(backend, n, args, var, results[(backend, n)])
                made.append(ready[n].url)
            # The sizes take turns (the load of a shared host drifts within a run: the ratio of the
            # sizes is what the targets are about), the order reversed every other round.
            for turn in range(args.rounds):
                for n in args.sizes if turn % 2 == 0 else reversed(args.sizes):
                    print(f"  round {turn + 1}/{args.rounds}: {n:,} cases", flush=True)
                    await measure_queries(backend, ready[n].url, ready[n].plan, results[(backend, n)],
                                          args.seconds / args.rounds, explain=turn == 0,
                                          plans_too=n == max(args.sizes))
                    await measure_accept(backend, ready[n].url, ready[n].clerks, results[(backend, n)], var, turn)
            for n in args.sizes:
                if args.keep:
                    print(f"  kept {backend} {n:,} cases: {ready[n].url}", flush=True)
                else:
                    await drop_database(ready[n].url, args.postgres)
                made.remove(ready[n].url)
    finally:
        for url in made:
            await drop_database(url, args.postgres)
        if not args.keep:
            shutil.rmtree(var, ignore_errors=True)
    report(results, args.sizes, args.backends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="10000,1000000", help="comma-separated sizes (default 10000,1000000)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--materials", type=int, default=2, help="checklist rows per case (0: none)")
    parser.add_argument("--seconds", type=float, default=15,
                        help="time per measured query, over all rounds (at least 30 runs a round)")
    parser.add_argument("--rounds", type=int, default=3, help="turns the sizes take (accept: 460 cases each)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated databases (printed) for EXPLAIN and profiling; drop them yourself")
    parser.add_argument("--postgres", default=os.environ.get("ZHENGWU_TEST_POSTGRES_URL")
                        or "postgres://postgres@127.0.0.1:5432/test", help="an admin URL: a database is created")
    args = parser.parse_args()
    args.sizes = sorted(int(s.replace("_", "")) for s in args.cases.split(","))
    args.backends = [b.strip() for b in args.backends.split(",")]
    if min(args.sizes) <= 5 * RESERVED * args.rounds:
        raise SystemExit(f"sizes must exceed {5 * RESERVED * args.rounds} (the submitted cases kept for accept "
                         "are at most a fifth of them)")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
