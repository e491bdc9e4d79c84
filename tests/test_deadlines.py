"""The working-day clock (api/workflow/deadlines.py): literal dates around 国庆 2026 and 春节
2026/2027 as python-holidays' China calendar has them, and properties over any calendar."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.workflow.deadlines import (
    CHINA,
    LIBRARY,
    Calendar,
    Clock,
    Override,
    add_working_days,
    due_date,
    library_day,
    working_days_between,
)

d = dt.date


def cst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA)  # type: ignore[misc]


# --------------------------------------------------------------------------- literal calendar facts


def test_national_day_2026() -> None:
    # 2026: 25 September (Fri) 中秋; 1–7 October off; Sunday 20 September and Saturday 10 October
    # are adjusted workdays (调休).
    assert not LIBRARY.is_working_day(d(2026, 9, 25))
    assert [LIBRARY.is_working_day(d(2026, 10, day)) for day in range(1, 13)] == [
        False, False, False, False, False, False, False, True, True, True, False, True,
    ]
    assert LIBRARY.is_working_day(d(2026, 9, 20))  # a Sunday
    assert add_working_days(LIBRARY, d(2026, 9, 18), 1) == d(2026, 9, 20)  # Fri → the working Sunday
    assert add_working_days(LIBRARY, d(2026, 9, 24), 1) == d(2026, 9, 28)  # over 中秋 and the weekend
    assert add_working_days(LIBRARY, d(2026, 9, 30), 1) == d(2026, 10, 8)
    assert add_working_days(LIBRARY, d(2026, 9, 30), 3) == d(2026, 10, 10)  # the working Saturday
    assert add_working_days(LIBRARY, d(2026, 9, 30), 4) == d(2026, 10, 12)
    assert working_days_between(LIBRARY, d(2026, 9, 18), d(2026, 10, 12)) == 12
    assert working_days_between(LIBRARY, d(2026, 10, 12), d(2026, 9, 18)) == -12
    assert library_day(d(2026, 10, 1)) == (False, "National Day")


def test_spring_festival_2026_and_2027() -> None:
    # 2026: 15–23 February off; Saturdays 14 and 28 February are adjusted workdays.
    assert add_working_days(LIBRARY, d(2026, 2, 13), 1) == d(2026, 2, 14)
    assert add_working_days(LIBRARY, d(2026, 2, 14), 1) == d(2026, 2, 24)
    assert add_working_days(LIBRARY, d(2026, 2, 24), 4) == d(2026, 2, 28)
    # 2027: the library's estimate is 5–10 February off (Eve on Friday 5th) and no adjusted
    # workday — the State Council's arrangement is what an administrator's override adds.
    assert [LIBRARY.is_working_day(d(2027, 2, day)) for day in range(4, 16)] == [
        True, False, False, False, False, False, False, True, True, False, False, True,
    ]
    assert [add_working_days(LIBRARY, d(2027, 2, 4), n) for n in (1, 2, 3)] == [
        d(2027, 2, 11), d(2027, 2, 12), d(2027, 2, 15),
    ]
    # An override (hypothetical here) making Sunday 14 February a workday moves the third day.
    city = LIBRARY.with_override(d(2027, 2, 14), True, "调休上班")
    assert add_working_days(city, d(2027, 2, 4), 3) == d(2027, 2, 14)
    assert city.without_override(d(2027, 2, 14)) == LIBRARY
    # A local closure on a weekday.
    closed = LIBRARY.with_override(d(2027, 2, 11), False, "local closure")
    assert add_working_days(closed, d(2027, 2, 4), 1) == d(2027, 2, 12)


def test_a_year_the_library_does_not_know_falls_back_to_weekdays() -> None:
    # Beyond the library's years (1950–2100): plain Monday–Friday, no error.
    for year in (1940, 2150):
        january = [d(year, 1, day) for day in range(1, 32)]
        assert [LIBRARY.is_working_day(day) for day in january] == [day.weekday() < 5 for day in january]
    assert add_working_days(LIBRARY, d(2150, 1, 2), 5) == d(2150, 1, 9)  # Fri 2 January 2150 + a week
    # 2050 and 1990 are years the library estimates or knows: counting works there too.
    assert not LIBRARY.is_working_day(d(2050, 10, 3))
    assert due_date(cst(2050, 9, 30, 9), 3, "working_day") > d(2050, 10, 3)
    assert due_date(cst(1990, 1, 2, 9), 10, "working_day") == add_working_days(LIBRARY, d(1990, 1, 2), 10)


# --------------------------------------------------------------------------- the clock, literally


def test_the_clock_stops_for_a_correction_over_national_day() -> None:
    accepted = cst(2026, 9, 28, 10)  # Monday
    plain = Clock(accepted)
    assert plain.due_date(5) == d(2026, 10, 10)  # 29, 30 Sep, 8, 9, 10 Oct
    # Waiting for a correction from Tuesday 29 Sep 15:00 to Friday 9 Oct 11:00: the days 30 Sep
    # … 9 Oct stop (the 29th counts: the clock ran as it began; the 9th does not).
    clock = Clock(accepted, [(cst(2026, 9, 29, 15), cst(2026, 10, 9, 11))])
    assert clock.stopped_days() == 3  # working days: 30 Sep, 8 and 9 Oct
    assert clock.stopped_days(unit="natural_day") == 10
    assert clock.due_date(5) == d(2026, 10, 14)  # 29 Sep, then 10, 12, 13, 14 Oct
    assert clock.elapsed_working_days(cst(2026, 10, 12, 9)) == 3  # 29 Sep, 10 and 12 Oct
    assert clock.remaining_days(5, cst(2026, 10, 12, 9)) == 2
    assert clock.remaining_days(5, cst(2026, 10, 15, 9)) == -1  # late
    # Legal and promised limits from the same clock.
    assert (clock.due_date(20), clock.due_date(5)) == (d(2026, 11, 4), d(2026, 10, 14))
    assert plain.due_date(20) == d(2026, 10, 30)
    # Natural days: 5 from Monday would be Saturday 3 October; the 10 stopped days move it.
    assert plain.due_date(5, "natural_day") == d(2026, 10, 3)
    assert clock.due_date(5, "natural_day") == d(2026, 10, 13)


def test_a_pause_within_one_day_stops_nothing_and_an_open_pause_counts_until_now() -> None:
    accepted = cst(2026, 9, 28, 10)
    same_day = Clock(accepted, [(cst(2026, 9, 29, 9), cst(2026, 9, 29, 17))])
    assert same_day.stopped_days() == 0 and same_day.due_date(5) == d(2026, 10, 10)
    # Suspended since Tuesday 15:00 and still suspended: the due date is the earliest possible,
    # counting the stop through today, and it moves on every further working day stopped.
    suspended = Clock(accepted, [(cst(2026, 9, 29, 15), None)])
    assert suspended.open
    assert suspended.stopped_days(cst(2026, 10, 8, 12)) == 2  # 30 Sep and 8 Oct
    assert suspended.elapsed_working_days(cst(2026, 10, 8, 12)) == 1
    assert suspended.due_date(5, now=cst(2026, 10, 8, 12)) == d(2026, 10, 13)
    assert suspended.due_date(5, now=cst(2026, 10, 9, 12)) == d(2026, 10, 14)
    with pytest.raises(ValueError):
        suspended.due_date(5)  # an open pause needs "now"
    # The day in China decides: 16:30 UTC on 29 September is already the 30th there.
    late = Clock(dt.datetime(2026, 9, 29, 16, 30, tzinfo=dt.UTC))
    assert late.start_day == d(2026, 9, 30) and late.due_date(1) == d(2026, 10, 8)


def test_clock_refuses_impossible_pauses() -> None:
    with pytest.raises(ValueError):
        Clock(cst(2026, 1, 5, 9), [(cst(2026, 1, 6, 9), cst(2026, 1, 5, 9))])
    with pytest.raises(ValueError):
        Clock(cst(2026, 1, 5, 9), [(cst(2026, 1, 6, 9), None), (cst(2026, 1, 7, 9), cst(2026, 1, 8, 9))])
    with pytest.raises(ValueError):
        Clock(dt.datetime(2026, 1, 5, 9))  # no time zone: which day would it be?
    with pytest.raises(ValueError):
        Clock(cst(2026, 1, 5, 9)).due_date(3, "fortnight")
    with pytest.raises(ValueError):
        add_working_days(LIBRARY, d(2026, 1, 5), -1)


# --------------------------------------------------------------------------- properties

DAYS = st.dates(min_value=d(2025, 1, 1), max_value=d(2028, 6, 30))
CALENDARS = st.dictionaries(DAYS, st.booleans(), max_size=6).map(
    lambda o: Calendar({day: Override(working) for day, working in o.items()})
)
LIMITS = st.integers(min_value=0, max_value=45)
MOMENTS = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 6, 30),
                       timezones=st.just(CHINA))
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(CALENDARS, DAYS, LIMITS)
def test_adding_n_working_days_then_counting_back_gives_n(calendar: Calendar, start: dt.date, n: int) -> None:
    end = add_working_days(calendar, start, n)
    assert working_days_between(calendar, start, end) == n
    assert n == 0 or calendar.is_working_day(end)


@st.composite
def clocks(draw: st.DrawFn) -> tuple[Clock, dt.datetime]:
    """A clock with closed pauses after acceptance, and a moment after them all."""
    calendar = draw(CALENDARS)
    started = draw(MOMENTS)
    pauses, at = [], started
    for _ in range(draw(st.integers(0, 3))):
        begin = at + dt.timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        at = begin + dt.timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        pauses.append((begin, at))
    return Clock(started, pauses, calendar), at


@PROPERTY
@given(clocks(), LIMITS, st.sampled_from(["working_day", "natural_day"]))
def test_a_pause_never_shortens_a_deadline(clock_now: tuple[Clock, dt.datetime], limit: int, unit: str) -> None:
    clock, now = clock_now
    without = Clock(clock.started_at, calendar=clock.calendar)
    due = clock.due_date(limit, unit)
    assert due >= without.due_date(limit, unit)
    # The due date is the day the limit's last day is counted.
    noon = dt.datetime.combine(due, dt.time(12), CHINA)
    assert clock.elapsed_days(noon, unit) == limit
    # Counted and stopped days share out the days since acceptance.
    if unit == "natural_day":
        assert clock.elapsed_days(now, unit) + clock.stopped_days(now, unit) == (now.date() - clock.start_day).days


@PROPERTY
@given(clocks(), LIMITS, st.data())
def test_an_open_pause_moves_the_due_date_with_now(clock_now: tuple[Clock, dt.datetime], limit: int,
                                                   data: st.DataObject) -> None:
    clock, at = clock_now
    begin = at + dt.timedelta(hours=data.draw(st.integers(0, 200)))
    stopped = Clock(clock.started_at, [*clock.pauses, (begin, None)], clock.calendar)
    now = begin + dt.timedelta(hours=data.draw(st.integers(0, 400)))
    later = now + dt.timedelta(days=data.draw(st.integers(0, 30)))
    assert stopped.due_date(limit, now=now) >= clock.due_date(limit)
    assert stopped.due_date(limit, now=later) >= stopped.due_date(limit, now=now)
    # Ending the pause now gives the due date the open pause promised.
    assert Clock(clock.started_at, [*clock.pauses, (begin, now)], clock.calendar).due_date(limit) == \
        stopped.due_date(limit, now=now)


@PROPERTY
@given(CALENDARS, DAYS, st.integers(min_value=1, max_value=45), st.data())
def test_an_override_moves_exactly_the_days_it_covers(calendar: Calendar, start: dt.date, n: int,
                                                      data: st.DataObject) -> None:
    due = add_working_days(calendar, start, n)
    # A working day inside the span made non-working: exactly one working day later.
    inside = add_working_days(calendar, start, data.draw(st.integers(1, n)))
    closed = calendar.with_override(inside, False)
    moved = add_working_days(closed, start, n)
    assert moved == add_working_days(closed, due, 1)
    assert working_days_between(closed, due, moved) == 1
    # A non-working day inside the span made working: exactly one working day earlier.
    free = [due - dt.timedelta(days=i) for i in range(1, (due - start).days)]
    free = [day for day in free if not calendar.is_working_day(day)]
    if free:
        opened = calendar.with_override(data.draw(st.sampled_from(free)), True)
        earlier = add_working_days(opened, start, n)
        assert earlier < due and working_days_between(opened, earlier, due) == 1
    # Any override outside the span (on or before the start, after the due date): no change.
    outside = data.draw(st.one_of(
        st.dates(min_value=start - dt.timedelta(days=60), max_value=start),
        st.dates(min_value=due + dt.timedelta(days=1), max_value=due + dt.timedelta(days=60)),
    ))
    for working in (False, True):
        assert add_working_days(calendar.with_override(outside, working), start, n) == due


@PROPERTY
@given(CALENDARS, MOMENTS, LIMITS)
def test_due_date_is_the_clock_without_pauses(calendar: Calendar, start: dt.datetime, limit: int) -> None:
    assert due_date(start, limit, "working_day", calendar) == add_working_days(calendar, start.date(), limit)
    assert due_date(start, limit, "natural_day", calendar) == start.date() + dt.timedelta(days=limit)
