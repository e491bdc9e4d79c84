"""Administering the working-day calendar: overrides per day through the admin API, audited,
and counted by every process's ``current_calendar()`` after the change."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import textwrap

from httpx import AsyncClient
from litestar import Litestar

from api.workflow.calendar_services import current_calendar
from api.workflow.deadlines import add_working_days
from tests.identity_helpers import bearer, staff_tokens
from tests.processes import ROOT

d = dt.date
URL = "/api/v1/admin/calendar"


async def _admin(client: AsyncClient) -> dict[str, str]:
    return bearer(await staff_tokens(client, "admin"))


async def test_an_override_is_set_shown_counted_audited_and_removed(client: AsyncClient, app: Litestar) -> None:
    admin = await _admin(client)
    # Before: the built-in estimate for 2027 has no adjusted workday around 春节.
    r = await client.get(f"{URL}/2027-02-14", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"day": "2027-02-14", "working": False, "library_working": False, "holiday": "",
                        "override": False, "note": "", "updated_at": None}
    assert add_working_days(await current_calendar(), d(2027, 2, 4), 3) == d(2027, 2, 15)

    r = await client.put(f"{URL}/2027-02-14", headers=admin, json={"working": True, "note": "调休上班"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["working"], body["library_working"], body["override"], body["note"]) == (True, False, True, "调休上班")
    assert body["updated_at"]
    assert (await client.get(f"{URL}/2027-02-14", headers=admin)).json()["working"] is True
    # The clock counts it: the third working day after 4 February is now Sunday the 14th.
    assert add_working_days(await current_calendar(), d(2027, 2, 4), 3) == d(2027, 2, 14)

    # The year's listing shows the library's holidays and the override, in date order.
    r = await client.get(URL, headers=admin, params={"year": 2027})
    assert r.status_code == 200, r.text
    days = {x["day"]: x for x in r.json()["days"]}
    assert r.json()["year"] == 2027
    assert [x["day"] for x in r.json()["days"]] == sorted(days)
    assert days["2027-02-06"]["holiday"] == "Chinese New Year (Spring Festival)"
    assert days["2027-02-06"]["working"] is False
    assert days["2027-02-14"]["override"] is True and days["2027-02-14"]["working"] is True
    assert "2027-02-13" not in days  # a plain Saturday

    # Replacing it (a local closure instead, say) and removing it.
    r = await client.put(f"{URL}/2027-02-14", headers=admin, json={"working": False, "note": ""})
    assert r.status_code == 200 and r.json()["override"] is True and r.json()["working"] is False
    r = await client.delete(f"{URL}/2027-02-14", headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["override"], r.json()["working"]) == (False, False)
    assert add_working_days(await current_calendar(), d(2027, 2, 4), 3) == d(2027, 2, 15)
    r = await client.delete(f"{URL}/2027-02-14", headers=admin)
    assert r.status_code == 404 and r.json()["field"] == "day"

    # Each change has its audit entry, with the admin, before and after.
    r = await client.get("/api/v1/admin/audit", headers=admin,
                         params={"target_type": "calendar", "target_code": "2027-02-14"})
    entries = r.json()["items"]
    assert [e["action"] for e in entries] == [
        "calendar.override.delete", "calendar.override.set", "calendar.override.set",
    ]
    assert entries[2]["before"] is None and entries[2]["after"] == {"working": True, "note": "调休上班"}
    assert entries[1]["before"] == {"working": True, "note": "调休上班"}
    assert entries[0]["after"] is None
    assert all(e["actor"].startswith("staff:") for e in entries)


async def test_wrong_requests_say_what_is_wrong(client: AsyncClient) -> None:
    admin = await _admin(client)
    r = await client.put(f"{URL}/1990-10-01", headers=admin, json={"working": True})
    assert r.status_code == 400 and r.json()["field"] == "day" and "2000" in r.json()["message"]
    r = await client.put(f"{URL}/2027-03-01", headers=admin, json={"working": False, "note": "长" * 201})
    assert r.status_code == 400 and r.json()["field"] == "note"
    r = await client.put(f"{URL}/2027-03-01", headers=admin, json={"working": False, "note": "a\x00b"})
    assert r.status_code == 400 and r.json()["field"] == "note"
    r = await client.put(f"{URL}/2027-03-01", headers=admin, json={"note": "no status"})
    assert r.status_code == 400
    r = await client.get(URL, headers=admin, params={"year": 1800})
    assert r.status_code == 400 and r.json()["field"] == "year"
    for bad in ("2027-02-30", "tomorrow"):
        r = await client.get(f"{URL}/{bad}", headers=admin)
        assert r.status_code == 404, r.text  # not a day: no such route, as for an id that is not a number
    assert set(r.json()) >= {"status_code", "message", "detail"}
    # Nothing was stored by any of them.
    assert (await client.get(f"{URL}/2027-03-01", headers=admin)).json()["override"] is False


async def test_another_process_s_change_is_seen_on_the_next_count(client: AsyncClient, database_url: str) -> None:
    """Process-local caching is never stale: the other process's change moves the stamp."""
    admin = await _admin(client)
    start = d(2031, 6, 2)  # a Monday with no holiday near
    assert add_working_days(await current_calendar(), start, 1) == d(2031, 6, 3)  # cached here now
    script = textwrap.dedent(f"""
        import asyncio, datetime as dt
        from api.core.db import close_orm, init_orm
        from api.workflow.calendar_services import set_override

        async def main():
            await init_orm({database_url!r})
            try:
                await set_override("staff:other-process", dt.date(2031, 6, 3), False, "停电闭厅")
            finally:
                await close_orm()

        asyncio.run(main())
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script, env=env, cwd=ROOT,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    try:
        assert add_working_days(await current_calendar(), start, 1) == d(2031, 6, 4)
    finally:
        assert (await client.delete(f"{URL}/2031-06-03", headers=admin)).status_code == 200
    assert add_working_days(await current_calendar(), start, 1) == d(2031, 6, 3)
