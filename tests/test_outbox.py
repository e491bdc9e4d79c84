"""The notification outbox on real SQLite and PostgreSQL: every move of a case its applicant is
told of writes one row for them in the move's own transaction; internal work, the applicant's own
moves and refused actions write none."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.cases import services as case_services
from api.cases.models import Case
from api.notifications.models import Outbox
from api.notifications.services import case_kind
from tests.databases import remove_cases
from tests.identity_helpers import staff_tokens
from tests.test_cases import principal_of, put_blob
from tests.test_workflow import act, submitted_case


@pytest.fixture(autouse=True)
async def _remove_rows(client: AsyncClient) -> AsyncIterator[None]:
    await Outbox.all().delete()  # other tests' rows (the database is shared per backend)
    yield
    await remove_cases()
    await Outbox.all().delete()


async def rows() -> list[tuple[str, str, bool]]:
    return [(o.kind, o.recipient, o.urgent) for o in await Outbox.all().order_by("id")]


async def test_the_applicant_hears_of_each_decision_and_nothing_internal(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await submitted_case(client, app)
    me = f"citizen:{(await Case.get(id=case['id'])).applicant_id}"  # type: ignore[attr-defined]
    assert await rows() == []  # their own submission is no news to them
    clerk = await staff_tokens(client, "clerk", window="W07")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    approver = await staff_tokens(client, "approver", department="SCJGJ")

    assert (await act(client, clerk, case, "comment", text="先看一下")).status_code == 200
    assert (await act(client, clerk, case, "claim")).status_code == 200
    assert await rows() == []  # internal work
    r = await act(client, clerk, case, "request-correction", materials=[{"code": "application", "problem": "缺少签名"}])
    assert r.status_code == 200, r.text
    assert await rows() == [("case.request_correction", me, True)]
    notice = (await Outbox.get(kind="case.request_correction")).data
    assert notice["number"] == case["number"] and notice["materials"][0]["problem"] == "缺少签名"
    assert notice["materials"][0]["name"]  # named as on the checklist, for the lock screen

    await Outbox.all().delete()
    await case_services.attach_material(principal_of(app, citizen), case["id"], "application",
                                        await put_blob(app, b"signed now"), "signed.pdf", "application/pdf")
    assert (await act(client, citizen, case, "resupply")).status_code == 200
    assert (await act(client, clerk, case, "accept")).status_code == 200
    assert (await act(client, officer, case, "start-review")).status_code == 200
    assert (await act(client, approver, case, "deny")).status_code == 422  # no reason: refused, nothing written
    assert (await act(client, approver, case, "approve", opinion="同意")).status_code == 200
    assert (await act(client, officer, case, "deliver", method="electronic")).status_code == 200
    assert await rows() == [("case.accept", me, False), ("case.approve", me, False), ("case.deliver", me, False)]
    accepted = (await Outbox.get(kind="case.accept")).data
    assert accepted["due_date"] and accepted["state"] == "accepted" and accepted["item_name"]
    assert all(o.case_id == case["id"] and o.done_at is None for o in await Outbox.all())


def test_which_actions_write_a_row() -> None:
    assert case_kind("submit", by_applicant=True) is None
    assert case_kind("submit", by_applicant=False) == "case.submit"  # a walk-in case entered for them
    assert [a for a in ("comment", "claim", "release", "start_review", "resupply", "withdraw")
            if case_kind(a, by_applicant=False)] == []
    assert case_kind("refuse", by_applicant=False) == "case.refuse"


async def test_many_rows_at_once_are_written_as_one_by_one_and_only_with_their_transaction(
        client: AsyncClient) -> None:
    """``enqueue_many`` (a supervision tick's alerts): the rows ``enqueue`` would write, in the caller's
    transaction — none if it rolls back."""
    import datetime as dt

    from tortoise.transactions import in_transaction

    from api.notifications.services import enqueue, enqueue_many

    at = dt.datetime(2026, 12, 5, 1, 2, 3, tzinfo=dt.UTC)
    many = [("alert.warning", f"staff:{n}", None, {"n": n}, n % 2 == 0) for n in range(30)]
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await enqueue_many(conn, many, at=at)
            raise RuntimeError("the tick failed")
    assert await Outbox.all().count() == 0
    async with in_transaction() as conn:
        await enqueue_many(conn, many, at=at)
        await enqueue(conn, "alert.warning", "staff:99", data={"n": 99}, urgent=False, at=at)
        await enqueue_many(conn, [], at=at)  # nothing to say: nothing written
    written = [(o.kind, o.recipient, o.case_id, o.data, o.urgent, o.created_at, o.due_at)
               for o in await Outbox.all().order_by("id")]
    assert written == [(k, r, c, d, u, at, at) for k, r, c, d, u in [*many, ("alert.warning", "staff:99", None,
                                                                           {"n": 99}, False)]]
