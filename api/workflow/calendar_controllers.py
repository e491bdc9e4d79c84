"""Administration of the working-day calendar (管理员): the built-in China calendar of a year,
and overrides of single days. Thin: parse, call one service, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from api.identity.guards import require_roles
from api.identity.principal import Principal
from api.workflow import calendar_services as services
from api.workflow.calendar_schemas import CalendarDayOut, CalendarOverrideIn, CalendarYearOut
from api.workflow.deadlines import CHINA

AdminRequest = Request[Principal, Any, State]  # the guard has set request.user


def _out(info: services.DayInfo) -> CalendarDayOut:
    o = info.override
    return CalendarDayOut(
        day=info.day, working=info.working, library_working=info.library_working, holiday=info.holiday,
        override=o is not None, note=o.note if o is not None else "",
        updated_at=o.updated_at if o is not None else None,
    )


class AdminCalendarController(Controller):
    path = "/api/v1/admin/calendar"
    opt = {"roles": ["admin"]}
    guards = [require_roles]
    tags = ["admin"]

    @get("/", summary="A year's holidays, adjusted workdays and overridden days (this year by default)")
    async def calendar_year(
        self, year: Annotated[int | None, QueryParameter(description="e.g. 2027")] = None,
    ) -> CalendarYearOut:
        year = dt.datetime.now(CHINA).year if year is None else year
        return CalendarYearOut(year=year, days=[_out(i) for i in await services.year_days(year)])

    @get("/{day:date}", summary="One day: whether the deadline clock counts it, and why")
    async def calendar_day(self, day: FromPath[dt.date]) -> CalendarDayOut:
        return _out(await services.day_info(day))

    @put("/{day:date}", summary="Override one day as working or not (replaces an earlier override)")
    async def set_calendar_day(
        self, request: AdminRequest, day: FromPath[dt.date], data: JSONBody[CalendarOverrideIn],
    ) -> CalendarDayOut:
        return _out(await services.set_override(request.user.subject, day, data.working, data.note))

    @delete("/{day:date}", status_code=200, summary="Remove a day's override (the built-in calendar counts again)")
    async def delete_calendar_day(self, request: AdminRequest, day: FromPath[dt.date]) -> CalendarDayOut:
        return _out(await services.delete_override(request.user.subject, day))
