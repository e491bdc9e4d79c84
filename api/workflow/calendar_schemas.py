"""HTTP shapes of the working-day calendar's administration."""

from __future__ import annotations

import datetime as dt

import msgspec


class CalendarOverrideIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    working: bool  # true: a working day (e.g. an adjusted weekend workday); false: closed
    note: str = ""  # why, e.g. 国务院办公厅通知 or a local closure


class CalendarDayOut(msgspec.Struct, kw_only=True):
    day: dt.date
    working: bool  # what the deadline clock counts
    library_working: bool  # what the built-in China calendar says
    holiday: str  # the built-in calendar's holiday name, "" if none
    override: bool  # whether an administrator set this day
    note: str
    updated_at: dt.datetime | None


class CalendarYearOut(msgspec.Struct, kw_only=True):
    year: int
    days: list[CalendarDayOut]  # holidays, adjusted workdays and overridden days, in date order
