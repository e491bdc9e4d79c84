"""The working-day clock: China's calendar (public holidays and the adjusted weekend workdays,
调休) and the due dates of limits counted in working or natural days. Pure: no ORM, no HTTP.

The workflow issue grows this into the clock that pauses (suspensions, corrections) and per-city
overrides of the calendar.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import holidays

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991


def china_day(at: dt.datetime) -> dt.date:
    """The calendar day in China of a moment (a case's day, whatever the server's zone)."""
    return at.astimezone(CHINA).date()


@functools.lru_cache(maxsize=1)
def _china_calendar() -> holidays.HolidayBase:
    import holidays  # imported when first needed: it is slow to import and most commands never count days

    # Public holidays and the adjusted weekend workdays (调休) the State Council announces.
    return holidays.China(years=range(2020, 2040))


def is_working_day(day: dt.date) -> bool:
    return bool(_china_calendar().is_working_day(day))


def due_date(start: dt.datetime, limit: int, unit: str) -> dt.date:
    """The day a limit that starts at ``start`` ends. The start day itself is not counted (行政许可法
    §82 style counting); ``working_day`` skips weekends and Chinese public holidays and counts
    adjusted weekend workdays; a limit of 0 (即办件) ends the same day."""
    day = china_day(start)
    if limit <= 0:
        return day
    if unit == "natural_day":
        return day + dt.timedelta(days=limit)
    left = limit
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """How many working days lie after ``start`` up to and including ``end`` (0 when end ≤ start):
    the days a stopped clock gives back when it resumes."""
    days, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            days += 1
    return days


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The working day ``n`` working days after ``day`` (``day`` itself for n ≤ 0)."""
    while n > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day
