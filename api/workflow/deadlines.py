"""The working-day clock: China's calendar (public holidays and the adjusted weekend workdays,
调休) corrected by administrator overrides, and the clock of a case or step that stops while the
case is suspended or waits for a correction. Pure: no ORM, no HTTP (the overrides are loaded by
``api.workflow.calendar_services.current_calendar``).

How days are counted (行政许可法 §82 counts limits in days, so the clock counts whole days):

* Every moment is placed on its calendar day in China (``china_day``).
* **A day counts when the clock was already running as the day began.** So the day of acceptance
  does not count (counting starts the next day); the day a pause begins counts (the clock ran
  that day); the day it ends does not (like acceptance, resuming starts afresh the next day); a
  pause that begins and ends on one day stops nothing. In day terms a pause from F to T stops the
  days F < d <= T.
* A limit in ``working_day`` counts only working days; one in ``natural_day`` counts every day;
  days a pause stops are skipped in both units.
* The due date is the day the limit's last day is counted; a limit of 0 (即办件) is due on the day
  of acceptance. Legal (法定) and promised (承诺) due dates come from the same clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
UNITS = ("working_day", "natural_day")
_DAY = dt.timedelta(days=1)


def china_day(at: dt.datetime) -> dt.date:
    """The calendar day in China of a moment (a case's day, whatever the server's zone)."""
    return at.astimezone(CHINA).date()


@functools.lru_cache(maxsize=64)
def _library_year(year: int) -> Mapping[dt.date, tuple[bool, str]]:
    """The days of a year whose status is not the plain weekday rule, per python-holidays' China
    calendar: holiday → (False, name), adjusted weekend workday → (True, "")."""
    import holidays  # imported when first needed: it is slow to import and most commands never count days

    # Outside the years the library covers (1950–2100 in holidays 0.109) it knows no holidays;
    # such a year falls back to plain weekdays (Monday–Friday work) rather than raising — a city
    # that needs one corrects it with overrides. The years it covers beyond those the State
    # Council has announced are the library's rule-based estimates (again: overrides correct them).
    if not holidays.China.start_year <= year <= holidays.China.end_year:
        return MappingProxyType({})
    china = holidays.China(years=year)
    days: dict[dt.date, tuple[bool, str]] = {d: (False, name) for d, name in china.items() if d.year == year}
    for d in china.weekend_workdays:
        if d.year == year:
            days[d] = (True, "")
    return MappingProxyType(days)


def library_day(day: dt.date) -> tuple[bool, str]:
    """(working?, holiday name) of a day by the library's calendar alone (no overrides)."""
    return _library_year(day.year).get(day, (day.weekday() < 5, ""))


@dataclass(frozen=True, slots=True)
class Override:
    """An administrator's correction of one day: a year the library gets wrong, a local closure."""

    working: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Calendar:
    """China's calendar with administrator overrides per date (an override always wins)."""

    overrides: Mapping[dt.date, Override] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        # A value: nobody changes the mapping behind a calendar that services share.
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def is_working_day(self, day: dt.date) -> bool:
        override = self.overrides.get(day)
        return override.working if override is not None else library_day(day)[0]

    def with_override(self, day: dt.date, working: bool, note: str = "") -> Calendar:
        return Calendar({**self.overrides, day: Override(working, note)})

    def without_override(self, day: dt.date) -> Calendar:
        return Calendar({d: o for d, o in self.overrides.items() if d != day})


#: The library's calendar without overrides (pure callers and tests; services use current_calendar()).
LIBRARY = Calendar()


def is_working_day(day: dt.date, calendar: Calendar = LIBRARY) -> bool:
    return calendar.is_working_day(day)


def add_working_days(calendar: Calendar, start_day: dt.date, n: int) -> dt.date:
    """The n-th working day after ``start_day`` (which is not counted); ``start_day`` for n = 0."""
    if n < 0:
        raise ValueError(f"n must not be negative: {n}")
    day = start_day
    left = n
    while left:
        day += _DAY
        if calendar.is_working_day(day):
            left -= 1
    return day


def working_days_between(calendar: Calendar, a: dt.date, b: dt.date) -> int:
    """How many working days d have a < d <= b (negative when b is before a), so that
    ``working_days_between(c, a, add_working_days(c, a, n)) == n``."""
    if b < a:
        return -working_days_between(calendar, b, a)
    return sum(calendar.is_working_day(a + _DAY * i) for i in range(1, (b - a).days + 1))


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unknown time unit: {unit!r} (expected one of {UNITS})")


def _aware(at: dt.datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must carry a time zone: {at!r}")


Pause = tuple[dt.datetime, dt.datetime | None]  # (from, to); to is None while the clock is stopped


@dataclass(frozen=True, slots=True)
class Clock:
    """The clock of a case or a step: it starts at acceptance, stops during each pause
    (suspension, waiting for a correction), and resumes when the pause ends (module docstring:
    which days count). At most one pause is open (``to`` None), and it is the last one. Services
    pass ``calendar=await current_calendar()`` (the default, LIBRARY, knows no overrides)."""

    started_at: dt.datetime
    pauses: tuple[Pause, ...] = ()
    calendar: Calendar = LIBRARY

    def __post_init__(self) -> None:
        _aware(self.started_at, "started_at")
        pauses = tuple(sorted(((f, t) for f, t in self.pauses), key=lambda p: p[0]))
        for i, (begin, end) in enumerate(pauses):
            _aware(begin, "a pause's start")
            if end is None:
                if i != len(pauses) - 1:
                    raise ValueError("only the last pause may still be open")
                continue
            _aware(end, "a pause's end")
            if end < begin:
                raise ValueError(f"a pause ends before it begins: {begin.isoformat()} > {end.isoformat()}")
        object.__setattr__(self, "pauses", pauses)

    @property
    def start_day(self) -> dt.date:
        return china_day(self.started_at)

    @property
    def open(self) -> bool:
        """Whether the clock is stopped now (its last pause has not ended)."""
        return bool(self.pauses) and self.pauses[-1][1] is None

    def _stopped(self, now: dt.datetime | None) -> frozenset[dt.date]:
        """The days the pauses stop (F < d <= T), an open pause through ``now``'s day."""
        days: set[dt.date] = set()
        for begin, end in self.pauses:
            if end is None:
                if now is None:
                    raise ValueError("the clock is stopped: say when 'now' is to count the open pause")
                end = now
            first, last = china_day(begin), china_day(end)
            days.update(first + _DAY * i for i in range(1, (last - first).days + 1))
        return frozenset(d for d in days if d > self.start_day)

    def _counts(self, day: dt.date, unit: str) -> bool:
        return unit == "natural_day" or self.calendar.is_working_day(day)

    def _counted(self, days: Iterable[dt.date], unit: str, stopped: frozenset[dt.date]) -> int:
        return sum(1 for d in days if d not in stopped and self._counts(d, unit))

    def _days_until(self, now: dt.datetime) -> range:
        return range(1, (china_day(now) - self.start_day).days + 1)

    def elapsed_days(self, now: dt.datetime, unit: str = "working_day") -> int:
        """Days counted from acceptance through ``now``'s day (today counts once it has begun)."""
        _check_unit(unit)
        stopped = self._stopped(now)
        return self._counted((self.start_day + _DAY * i for i in self._days_until(now)), unit, stopped)

    def elapsed_working_days(self, now: dt.datetime) -> int:
        return self.elapsed_days(now, "working_day")

    def stopped_days(self, now: dt.datetime | None = None, unit: str = "working_day") -> int:
        """Days the pauses have stopped so far (through ``now``'s day; all recorded pauses when
        ``now`` is None, which an open pause does not allow)."""
        _check_unit(unit)
        stopped = self._stopped(now)
        if now is not None:
            stopped = frozenset(d for d in stopped if d <= china_day(now))
        return self._counted(stopped, unit, frozenset())

    def due_date(self, limit: int, unit: str = "working_day", now: dt.datetime | None = None) -> dt.date:
        """The day the limit ends, moved by every counted day the pauses stopped. While a pause is
        open it counts through ``now``'s day (required then): the date is the earliest the limit
        can end, and moves on each further day the clock stays stopped."""
        _check_unit(unit)
        if limit < 0:
            raise ValueError(f"a limit must not be negative: {limit}")
        stopped = self._stopped(now)
        day, left = self.start_day, limit
        while left:
            day += _DAY
            if day not in stopped and self._counts(day, unit):
                left -= 1
        return day

    def remaining_days(self, limit: int, now: dt.datetime, unit: str = "working_day") -> int:
        """Counted days left before the limit is exceeded (0 on the due date, negative when late)."""
        return limit - self.elapsed_days(now, unit)


def due_date(start: dt.datetime, limit: int, unit: str, calendar: Calendar = LIBRARY) -> dt.date:
    """The day a limit that starts at ``start`` ends, without pauses (see ``Clock.due_date``); a
    limit of 0 (即办件) ends the same day."""
    return Clock(start, calendar=calendar).due_date(max(limit, 0), unit)
