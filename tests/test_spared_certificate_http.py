"""The staff console's read of the certificate a material was spared by
(GET /cases/{id}/materials/{code}/certificate): staff in the case's scope see it (holder masked)
for a stated purpose, and the read is in the holder's access log; a material that was not spared,
a draft, another department's staff, a missing purpose and citizens get nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from litestar import Litestar

from tests.databases import remove_cases
from tests.identity_helpers import bearer, staff_tokens
from tests.test_certificates import CASES, accesses, draft, issue, submit, verified_citizen


@pytest.fixture(autouse=True)
async def _remove_cases(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()


def url(case_id: int, code: str) -> str:
    return f"{CASES}/{case_id}/materials/{code}/certificate"


async def test_staff_in_scope_read_a_spared_certificate_and_the_holder_sees_it(client: AsyncClient,
                                                                               app: Litestar) -> None:
    tokens, id_number = await verified_citizen(client, app)
    household, _ = await issue(app, id_number)
    case = await draft(client, tokens)
    officer = bearer(await staff_tokens(client, "officer", department="GAJ"))
    purpose = {"purpose": "受理审查：核验免提交材料「户口簿」"}
    r = await client.get(url(case["id"], "parent_household"), params=purpose, headers=officer)
    assert r.status_code == 404, r.text  # a draft is the applicant's business only
    await submit(client, tokens, case)

    clerk = bearer(await staff_tokens(client, "clerk", window="W01"))
    r = await client.get(url(case["id"], "parent_household"), params=purpose, headers=clerk)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["type_code"], body["type_name"], body["number"]) == ("household_register", "居民户口簿",
                                                                       household.number)
    assert body["holder"] == id_number[:6] + "********" + id_number[-4:]
    assert body["state"] == "valid" and body["data"]["户主姓名"] == "测试户主"
    assert id_number not in r.text
    log = (await accesses(client, tokens))["items"]
    assert (log[0]["who"], log[0]["purpose"]) == ("社会事务综合受理 1 号窗口工作人员", purpose["purpose"])

    # Not spared, no purpose, out of scope, a citizen: nothing.
    r = await client.get(url(case["id"], "marriage_cert"), params=purpose, headers=clerk)
    assert r.status_code == 404 and r.json()["message"] == "这项材料没有调取电子证照"
    r = await client.get(url(case["id"], "parent_household"), params={"purpose": " "}, headers=clerk)
    assert r.status_code == 400 and r.json()["field"] == "purpose"
    r = await client.get(url(case["id"], "parent_household"), headers=clerk)
    assert r.status_code == 400
    other_window = bearer(await staff_tokens(client, "clerk", window="W07"))  # economic development
    r = await client.get(url(case["id"], "parent_household"), params=purpose, headers=other_window)
    assert r.status_code == 404
    r = await client.get(url(case["id"], "parent_household"), params=purpose, headers=bearer(tokens))
    assert r.status_code == 403
    assert len((await accesses(client, tokens))["items"]) == 2  # the draft's fetch and the one read
