"""The administrator's overrides of the working-day calendar, and the ``Calendar`` that services
count deadlines with (``current_calendar``).

Every change replaces the stamp of the single ``calendar_revision`` row in the change's own
transaction (with its audit entry). ``current_calendar`` reads that stamp on each call — one
primary-key read — and re-reads the overrides only when it moved, so every process follows a
change made by any other on its next count, without a timer.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.core.errors import Conflict, InvalidInput, NotFound
from api.workflow.deadlines import Calendar, Override, library_day
from api.workflow.models import CalendarOverride, CalendarRevision

#: The years an administrator may correct or list: a case never predates the platform, and the
#: library's calendar ends in 2100.
YEARS = range(2000, 2101)
NOTE_MAX = 200

# (stamp, calendar) as last loaded by this process.
_loaded: tuple[str | None, Calendar] | None = None


async def _stamp(conn: BaseDBAsyncClient | None = None) -> str | None:
    stamps = await CalendarRevision.filter(id=1).using_db(conn).values_list("stamp", flat=True)
    return stamps[0] if stamps else None  # no row: the overrides were never changed


async def current_calendar() -> Calendar:
    """The calendar with the overrides as stored now (re-read when another process changed them)."""
    global _loaded
    stamp = await _stamp()
    loaded = _loaded
    if loaded is not None and loaded[0] == stamp:
        return loaded[1]
    # The stamp is read first: overrides changed in between are newer than the stamp kept with
    # them, and the next call sees the stamp move and reads them again.
    rows = await CalendarOverride.all().values("day", "working", "note")
    calendar = Calendar({r["day"]: Override(bool(r["working"]), r["note"]) for r in rows})
    _loaded = (stamp, calendar)
    return calendar


def _invalidate() -> None:
    global _loaded
    _loaded = None


@dataclass(frozen=True, slots=True)
class DayInfo:
    """A day as the clock counts it, and why."""

    day: dt.date
    working: bool  # what the clock counts
    library_working: bool  # what the library's calendar says
    holiday: str  # the library's name of the holiday, "" if none
    override: CalendarOverride | None


def _info(day: dt.date, override: CalendarOverride | None) -> DayInfo:
    library_working, holiday = library_day(day)
    working = bool(override.working) if override is not None else library_working
    return DayInfo(day, working, library_working, holiday, override)


def _check_day(day: dt.date) -> None:
    if day.year not in YEARS:
        raise InvalidInput(f"日期须在 {YEARS.start}–{YEARS.stop - 1} 年之间：{day.isoformat()}",
                           f"the day must fall in {YEARS.start}-{YEARS.stop - 1}", "day")


def _check_year(year: int) -> None:
    if year not in YEARS:
        raise InvalidInput(f"年份须在 {YEARS.start}–{YEARS.stop - 1} 之间：{year}",
                           f"the year must be in {YEARS.start}-{YEARS.stop - 1}", "year")


async def year_days(year: int) -> list[DayInfo]:
    """Every day of the year that is not a plain weekday or weekend: the library's holidays and
    adjusted workdays (调休), and every overridden day; in date order."""
    _check_year(year)
    overrides = {
        o.day: o for o in await CalendarOverride.filter(day__gte=dt.date(year, 1, 1), day__lte=dt.date(year, 12, 31))
    }
    days = set(overrides)
    day = dt.date(year, 1, 1)
    while day.year == year:
        if library_day(day) != (day.weekday() < 5, ""):
            days.add(day)
        day += dt.timedelta(days=1)
    return [_info(d, overrides.get(d)) for d in sorted(days)]


async def day_info(day: dt.date) -> DayInfo:
    _check_day(day)
    return _info(day, await CalendarOverride.get_or_none(day=day))


def _audited(o: CalendarOverride | None) -> dict[str, object] | None:
    return None if o is None else {"working": bool(o.working), "note": o.note}


async def _bump(conn: BaseDBAsyncClient) -> None:
    """A new stamp, first in the change's transaction: on PostgreSQL the row lock also makes
    concurrent changes of the calendar wait for each other (no lost update, no duplicate day)."""
    stamp = uuid.uuid4().hex
    if not await CalendarRevision.filter(id=1).using_db(conn).update(stamp=stamp):
        await CalendarRevision.create(id=1, stamp=stamp, using_db=conn)  # a database not seeded by Alembic


async def set_override(actor: str, day: dt.date, working: bool, note: str) -> DayInfo:
    """Declare ``day`` working or not, whatever the library says (replacing an earlier override)."""
    _check_day(day)
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"说明不能超过 {NOTE_MAX} 个字", f"the note exceeds {NOTE_MAX} characters", "note")
    if any(unicodedata.category(c) == "Cc" for c in note):  # PostgreSQL refuses NUL; a note is one line
        raise InvalidInput("说明不能包含控制字符", "the note contains control characters", "note")
    try:
        async with in_transaction() as conn:
            await _bump(conn)
            override = await CalendarOverride.filter(day=day).using_db(conn).first()
            before = _audited(override)
            if override is None:
                override = await CalendarOverride.create(day=day, working=working, note=note, using_db=conn)
            else:
                override.working, override.note = working, note
                await override.save(using_db=conn)
            await record(conn, actor, "calendar.override.set", "calendar", day.isoformat(), before,
                         _audited(override))
    except IntegrityError:  # only when the revision row was missing and two first changes raced
        raise Conflict("日历正被同时修改，请重试", "the calendar changed concurrently; retry", "day") from None
    finally:
        _invalidate()
    return _info(day, override)


async def delete_override(actor: str, day: dt.date) -> DayInfo:
    """Remove the override of ``day``: the library's calendar counts again."""
    _check_day(day)
    try:
        async with in_transaction() as conn:
            await _bump(conn)
            override = await CalendarOverride.filter(day=day).using_db(conn).first()
            if override is None:
                raise NotFound(f"{day.isoformat()} 没有调整记录", f"no override for {day.isoformat()}", "day")
            await override.delete(using_db=conn)
            await record(conn, actor, "calendar.override.delete", "calendar", day.isoformat(), _audited(override),
                         None)
    except IntegrityError:
        raise Conflict("日历正被同时修改，请重试", "the calendar changed concurrently; retry", "day") from None
    finally:
        _invalidate()
    return _info(day, None)
