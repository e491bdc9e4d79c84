"""Statistics on real SQLite and PostgreSQL: a day's case events rolled up per department, item, window
category, region and channel; the figures over a range; CSV and XLSX exports."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from litestar import Litestar
from openpyxl import load_workbook

from api.core.jobs import JobRun
from api.supervision import statistics
from api.supervision.models import DailyFigures
from api.workflow.deadlines import CHINA
from tests.databases import remove_cases
from tests.identity_helpers import bearer, staff_tokens
from tests.test_workflow import act, submitted_case

URL = "/api/v1/statistics"


@pytest.fixture(autouse=True)
async def _clean(client: AsyncClient) -> AsyncIterator[None]:
    await remove_cases()
    await DailyFigures.all().delete()
    await JobRun.filter(name=statistics.JOB).delete()
    yield
    await remove_cases()
    await DailyFigures.all().delete()


async def test_a_days_figures_from_its_case_events(client: AsyncClient, app: Litestar) -> None:
    clerk = await staff_tokens(client, "clerk", window="W07")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    approver = await staff_tokens(client, "approver", department="SCJGJ")
    _, done = await submitted_case(client, app)
    for action, body in (("accept", {}), ("start-review", {}), ("approve", {}), ("deliver", {"method": "window"})):
        who = {"accept": clerk, "start-review": officer, "approve": approver, "deliver": officer}[action]
        assert (await act(client, who, done, action, **body)).status_code == 200
    _, refused = await submitted_case(client, app)
    assert (await act(client, clerk, refused, "refuse", reason="不属于本事项")).status_code == 200
    _, corrected = await submitted_case(client, app)
    assert (await act(client, clerk, corrected, "request-correction",
                      materials=[{"code": "application", "problem": "缺少签名"}])).status_code == 200

    today = dt.datetime.now(CHINA).date()
    assert await statistics.roll_up() == 1  # the first day with events is today
    supervisor = await staff_tokens(client, "supervisor")
    r = await client.get(f"{URL}/figures", params={"from": today.isoformat(), "to": today.isoformat()},
                         headers=bearer(supervisor))
    assert r.status_code == 200, r.text
    [row] = r.json()["rows"]
    assert {k: row[k] for k in ("key", "name", "received", "online", "online_share", "accepted", "refused",
                                "completed", "on_time", "on_time_rate", "early", "corrections",
                                "corrections_per_case", "suspensions", "trips_needed", "trips_made",
                                "trips_saved", "rating_distribution")} == {
        "key": "SCJGJ", "name": "巴中市市场监督管理局", "received": 3, "online": 3, "online_share": 1.0,
        "accepted": 1, "refused": 1, "completed": 1, "on_time": 1, "on_time_rate": 1.0, "early": 1,
        "corrections": 1, "corrections_per_case": 0.33, "suspensions": 0, "trips_needed": 0, "trips_made": 0,
        "trips_saved": 0, "rating_distribution": None}
    assert (row["average_days_used"], row["average_days_promised"]) == (0.0, 1.0)  # accepted and done today

    by_window = (await client.get(f"{URL}/figures", params={"from": today.isoformat(), "by": "window"},
                                  headers=bearer(supervisor))).json()["rows"]
    assert [(w["key"], w["name"], w["received"]) for w in by_window] == [("economic_development", "经济发展", 3)]
    # Counting a day again replaces its rows: nothing is counted twice.
    await statistics.roll_up(since=today)
    again = (await client.get(f"{URL}/figures", headers=bearer(supervisor))).json()["rows"]
    assert again[0]["received"] == 3

    admin = await staff_tokens(client, "admin")
    csv = await client.get(f"{URL}/export.csv", params={"from": today.isoformat()}, headers=bearer(admin))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("代码 key,名称 name,收件数 received,网上申请占比 online share")
    assert lines[1].startswith("SCJGJ,巴中市市场监督管理局,3,1.0,1,1,1,1,1.0,1,1.0")
    xlsx = await client.get(f"{URL}/export.xlsx", params={"from": today.isoformat()}, headers=bearer(admin))
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True)["统计"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("代码 key", "名称 name", "收件数 received")
    assert rows[2][:3] == ("SCJGJ", "巴中市市场监督管理局", 3)


async def test_bad_ranges_and_dimensions_are_refused(client: AsyncClient) -> None:
    supervisor = await staff_tokens(client, "supervisor")
    r = await client.get(f"{URL}/figures", params={"by": "colour"}, headers=bearer(supervisor))
    assert r.status_code == 400 and r.json()["field"] == "by"
    r = await client.get(f"{URL}/figures", params={"from": "2026-05-02", "to": "2026-05-01"},
                         headers=bearer(supervisor))
    assert r.status_code == 400 and r.json()["field"] == "to"
    r = await client.get(f"{URL}/figures", params={"from": "2026-13-01"}, headers=bearer(supervisor))
    assert r.status_code == 400
