"""Who acted on each step of a case, for staff (the console's "someone else acted first: who and
what"): a staff member by name, the applicant as 申请人; the applicant never sees staff names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.identity.models import Staff
from tests.databases import remove_cases
from tests.identity_helpers import bearer, staff_tokens
from tests.test_cases import CASES, submitted


@pytest.fixture(autouse=True)
async def _remove_cases(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()


async def test_staff_see_who_acted_and_the_applicant_does_not(client: AsyncClient, app: Litestar) -> None:
    citizen, done = await submitted(client, app)
    case = done["case"]
    clerk = await staff_tokens(client, "clerk", window="W07")
    await Staff.filter(username=clerk["username"]).update(name="周受理")
    note = {"version": case["version"], "text": "已电话核实"}
    r = await client.post(f"{CASES}/{case['id']}/actions/comment", json=note, headers=bearer(clerk))
    assert r.status_code == 200, r.text
    r = await client.post(f"{CASES}/{case['id']}/actions/accept", json={"version": r.json()["version"]},
                          headers=bearer(clerk))
    assert r.status_code == 200, r.text
    assert [(e["action"], e["actor_name"]) for e in r.json()["timeline"]] == [
        ("submit", "申请人"), ("comment", "周受理"), ("accept", "周受理")]
    mine = (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()
    assert [(e["action"], e["actor_name"]) for e in mine["timeline"]] == [("submit", ""), ("accept", "")]
    assert "周受理" not in str(mine)
