"""Statistics (统计分析): daily rollups, and the figures over a date range per department, item,
window category or region, with CSV and XLSX exports.

``roll_up`` (the worker's ``statistics`` loop, once at a time in the cluster) counts each China day's
case events into ``DailyFigures`` rows, one per department, item, window category, region and channel;
a day is counted again until it is over (today, and yesterday once more for moves committed just
after midnight). ``figures`` then sums a range of those rows — a year is a few thousand rows, however
many cases it saw. Definitions (none is a national standard; domain-facts §5.5):

* received — submissions; online share — of them, online; accepted — accepted (a deemed acceptance
  included); refused — 不予受理; completed — delivered (办结).
* on time — completed within the promised limit (the working days of the clock from acceptance to
  delivery, stopped days left out, against the promised limit plus an extension); early — within
  fewer days than promised; average working days used against promised — of the completed cases.
* corrections per case — correction notices ÷ received; suspensions — suspensions and joint surveys.
* materials spared — checklist entries the platform fetched from a certificate instead of asking
  for them (免提交), of the cases received.
* trips saved — per completed case, the on-site trips its guide says (到现场次数) less the trips made
  (a window application: one; online: none), never below 0.
* ratings — null until the ratings (好差评) exist.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from api.cases.models import Case, CaseEvent, CaseMaterial
from api.catalog import codes
from api.catalog.models import Department, ServiceItemVersion
from api.core.errors import InvalidInput
from api.core.jobs import JobRun
from api.supervision.models import DailyFigures
from api.workflow import deadlines
from api.workflow.calendar_services import current_calendar

JOB = "supervision.statistics"
MAX_DAYS_PER_RUN = 62
MAX_RANGE_DAYS = 3660
COUNTED = ("submit", "accept", "deem_accepted", "refuse", "deliver", "request_correction", "suspend",
           "survey_scheduled")
KEY_FIELDS = ("department_code", "item_code", "window_category", "region", "channel")
COUNTERS = ("received", "online", "accepted", "refused", "completed", "on_time", "early", "days_used",
            "days_promised", "corrections", "suspensions", "spared", "trips_needed", "trips_made", "trips_saved")
DIMENSIONS = {"department": "department_code", "item": "item_code", "window": "window_category", "region": "region",
              "channel": "channel", "day": "day"}
_CHUNK = 500


def _window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    # In UTC: SQLite compares the stored (UTC) text, so a bound in another zone would not compare right.
    start = dt.datetime.combine(day, dt.time(), tzinfo=deadlines.CHINA).astimezone(dt.UTC)
    return start, start + dt.timedelta(days=1)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def used_days(accepted_at: dt.datetime, done_at: dt.datetime, unit: str, paused_days: int,
              calendar: deadlines.Calendar) -> int:
    """Days of the limit's unit a case used from acceptance to completion, stopped days left out."""
    unit = unit if unit in deadlines.UNITS else "working_day"
    return max(deadlines.Clock(accepted_at, calendar=calendar).elapsed_days(done_at, unit) - paused_days, 0)


async def day_figures(day: dt.date, calendar: deadlines.Calendar) -> list[DailyFigures]:
    """One day's rows, counted from its case events."""
    start, end = _window(day)
    events = await CaseEvent.filter(at__gte=start, at__lt=end, action__in=COUNTED).values("case_id", "action", "at")
    ids = sorted({int(e["case_id"]) for e in events})
    facts: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        for c in await Case.filter(id__in=chunk).values(
                "id", *KEY_FIELDS[:-1], "channel", "accepted_at", "promised_limit", "promised_limit_unit",
                "extended_days", "paused_days", "item_version_id"):
            facts[int(c["id"])] = c
    versions = {int(c["item_version_id"]) for c in facts.values()}
    trips: dict[int, int] = {}
    for chunk in _chunks(sorted(versions)):
        trips.update({int(v): int(t) for v, t in await ServiceItemVersion.filter(id__in=chunk)
                      .values_list("id", "trips")})
    received = [int(e["case_id"]) for e in events if e["action"] == "submit"]
    spared: dict[int, int] = defaultdict(int)
    for chunk in _chunks(sorted(set(received))):
        for case_id in await CaseMaterial.filter(case_id__in=chunk, status="spared").values_list("case_id", flat=True):
            spared[int(case_id)] += 1
    rows: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for e in events:
        c = facts.get(int(e["case_id"]))
        if c is None:
            continue
        n = rows[tuple(str(c[k] or "") for k in KEY_FIELDS)]
        action = e["action"]
        if action == "submit":
            n["received"] += 1
            n["online"] += c["channel"] == "online"
            n["spared"] += spared.get(int(c["id"]), 0)
        elif action in ("accept", "deem_accepted"):
            n["accepted"] += 1
        elif action == "refuse":
            n["refused"] += 1
        elif action == "request_correction":
            n["corrections"] += 1
        elif action in ("suspend", "survey_scheduled"):
            n["suspensions"] += 1
        elif action == "deliver":
            n["completed"] += 1
            promised = int(c["promised_limit"]) + int(c["extended_days"])
            if c["accepted_at"] is not None:
                used = used_days(c["accepted_at"], e["at"], c["promised_limit_unit"], int(c["paused_days"]), calendar)
                n["days_used"] += used
                n["days_promised"] += promised
                n["on_time"] += used <= promised
                n["early"] += used < promised
            needed, made = trips.get(int(c["item_version_id"]), 0), int(c["channel"] == "window")
            n["trips_needed"] += needed
            n["trips_made"] += made
            n["trips_saved"] += max(needed - made, 0)
    return [DailyFigures(day=day, **dict(zip(KEY_FIELDS, key, strict=True)), **counts) for key, counts in rows.items()]


async def roll_up(now: dt.datetime | None = None, *, since: dt.date | None = None) -> int:
    """Count the days not counted for good yet (at most ``MAX_DAYS_PER_RUN`` a run), today included;
    returns how many days were counted. Run under the cluster lock (the worker's statistics loop)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    today = deadlines.china_day(now)
    state = await JobRun.filter(name=JOB).values_list("state", flat=True)
    through = (state[0] or {}).get("through") if state else None
    if since is not None:
        start = since
    elif through:
        start = dt.date.fromisoformat(through)  # counted once more: moves committed just after midnight
    else:
        first = await CaseEvent.all().order_by("at").first().values_list("at", flat=True)
        start = deadlines.china_day(first) if first else today
    start = min(start, today)
    last = min(today, start + dt.timedelta(days=MAX_DAYS_PER_RUN - 1))
    calendar = await current_calendar()
    day, counted = start, 0
    while day <= last:
        rows = await day_figures(day, calendar)
        async with in_transaction() as conn:
            await DailyFigures.filter(day=day).using_db(conn).delete()
            if rows:
                await DailyFigures.bulk_create(rows, batch_size=500, using_db=conn)
        counted += 1
        day += dt.timedelta(days=1)
    done = min(last, today - dt.timedelta(days=1))
    values: dict[str, Any] = {"state": {"through": max(done, start).isoformat()}, "last_done_at": now}
    if not await JobRun.filter(name=JOB).update(**values):
        await JobRun.create(name=JOB, **values)
    return counted


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Query:
    start: dt.date
    end: dt.date
    by: str = "department"
    department: str | None = None
    item: str | None = None
    window: str | None = None
    region: str | None = None


def check_query(q: Query) -> None:
    if q.by not in DIMENSIONS:
        raise InvalidInput(f"统计维度只能是 {'、'.join(DIMENSIONS)}", f"by must be one of {', '.join(DIMENSIONS)}",
                           "by")
    if q.end < q.start:
        raise InvalidInput("结束日期不能早于开始日期", "to is before from", "to")
    if (q.end - q.start).days > MAX_RANGE_DAYS:
        raise InvalidInput("统计区间最长十年", f"the range may span at most {MAX_RANGE_DAYS} days", "to")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


async def _names(by: str, keys: list[str]) -> dict[str, str]:
    if by == "department":
        return {str(c): str(n) for c, n in await Department.filter(code__in=keys).values_list("code", "name")}
    if by == "window":
        return {k: codes.WINDOW_CATEGORIES.get(k, (k, ""))[0] for k in keys}
    if by == "region":
        out: dict[str, str] = {}
        for code, name in await Department.all().order_by("level", "id").values_list("region_code", "region_name"):
            out.setdefault(str(code)[:6], str(name or ""))
        return {k: out.get(k, "") for k in keys}
    if by == "item":
        names: dict[str, str] = {}
        for code, name in await Case.filter(item_code__in=keys).distinct().values_list("item_code", "item_name"):
            names.setdefault(str(code), str(name))
        return names
    if by == "channel":
        return {"online": "网上办理", "window": "窗口办理"}
    return {k: "" for k in keys}


async def figures(q: Query) -> list[dict[str, Any]]:
    """The figures of the range, one row per value of the dimension ``by`` (largest received first)."""
    check_query(q)
    column = DIMENSIONS[q.by]
    query = DailyFigures.filter(day__gte=q.start, day__lte=q.end)
    for value, name in ((q.department, "department_code"), (q.item, "item_code"), (q.window, "window_category"),
                        (q.region, "region")):
        if value:
            query = query.filter(**{name: value})
    sums = await query.annotate(**{f"s_{c}": Sum(c) for c in COUNTERS}).group_by(column) \
        .values(column, *(f"s_{c}" for c in COUNTERS))
    keys = [str(r[column]) for r in sums]
    names = await _names(q.by, keys)
    out = []
    for r in sums:
        n = {c: int(r[f"s_{c}"] or 0) for c in COUNTERS}
        key = r[column].isoformat() if isinstance(r[column], dt.date) else str(r[column])
        out.append({
            "key": key, "name": names.get(key, ""), **n,
            "on_time_rate": _rate(n["on_time"], n["completed"]), "early_rate": _rate(n["early"], n["completed"]),
            "average_days_used": _mean(n["days_used"], n["completed"]),
            "average_days_promised": _mean(n["days_promised"], n["completed"]),
            "corrections_per_case": _mean(n["corrections"], n["received"]),
            "online_share": _rate(n["online"], n["received"]),
            "rating_distribution": None, "bad_rating_rectification_rate": None,  # once ratings (好差评) exist
        })
    out.sort(key=lambda r: (r["key"] if q.by == "day" else "", -r["received"], r["key"]))
    return out


#: The export's columns: (key, Chinese header, English header).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("key", "代码", "key"), ("name", "名称", "name"), ("received", "收件数", "received"),
    ("online_share", "网上申请占比", "online share"), ("accepted", "受理数", "accepted"),
    ("refused", "不予受理数", "refused"), ("completed", "办结数", "completed"),
    ("on_time", "按时办结数", "on time"), ("on_time_rate", "按时办结率", "on-time rate"),
    ("early", "提前办结数", "early"), ("early_rate", "提前办结率", "early rate"),
    ("average_days_used", "平均用时（工作日）", "average working days used"),
    ("average_days_promised", "平均承诺时限（工作日）", "average working days promised"),
    ("corrections", "补正次数", "corrections"), ("corrections_per_case", "件均补正次数", "corrections per case"),
    ("suspensions", "特别程序次数", "suspensions"), ("spared", "免提交材料数", "materials spared"),
    ("trips_needed", "应到现场次数", "trips needed"), ("trips_made", "实到现场次数", "trips made"),
    ("trips_saved", "少跑次数", "trips saved"),
)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a name is never a formula in the reader's spreadsheet
    return value


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"{zh} {en}" for _, zh, en in COLUMNS])
    for r in rows:
        writer.writerow([_cell(r[k]) for k, _, _ in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode()  # the BOM makes Excel read UTF-8


def to_xlsx(rows: list[dict[str, Any]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("统计")
    bold = Font(bold=True)
    ws.append([title])
    header = []
    for _, zh, en in COLUMNS:
        cell = WriteOnlyCell(ws, f"{zh} {en}")
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for r in rows:
        ws.append([_cell(r[k]) for k, _, _ in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
