"""The back office on real SQLite and PostgreSQL: a case from submission to delivery through the one
action endpoint, the one-time correction notice, concurrent clerks, scopes, the stopped clock, queues."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.audit.models import AuditEntry
from api.cases.models import Case, CaseEvent
from api.core.errors import Conflict
from api.workflow import deadlines
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens, staff_tokens
from tests.test_cases import attach_all, draft, principal_of, put_blob

CASES = "/api/v1/cases"


@pytest.fixture(autouse=True)
async def _remove_cases(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()


async def submitted_case(client: AsyncClient, app: Litestar) -> tuple[dict, dict]:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    await attach_all(app, tokens, case)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = await client.post(f"{CASES}/{case['id']}/submit", headers={**bearer(tokens), **key})
    assert r.status_code == 200, r.text
    return tokens, r.json()["case"]


async def act(client: AsyncClient, who: dict, case: dict | int, action: str, **body: Any) -> Any:
    case_id = case if isinstance(case, int) else case["id"]
    if "version" not in body:
        body["version"] = (await client.get(f"{CASES}/{case_id}", headers=bearer(who))).json()["version"]
    return await client.post(f"{CASES}/{case_id}/actions/{action}", json=body, headers=bearer(who))


async def test_a_case_from_submission_to_delivery(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await submitted_case(client, app)
    assert case["allowed_actions"] == ["withdraw"] and case["due_date"] and case["version"] == 2
    clerk = await staff_tokens(client, "clerk", window="W08")  # another window of the same category
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    approver = await staff_tokens(client, "approver", department="SCJGJ")

    # The department does not see it before acceptance; the window does, with what it may do.
    assert (await client.get(f"{CASES}/{case['id']}", headers=bearer(officer))).status_code == 404
    r = await client.get(f"{CASES}/{case['id']}/actions", headers=bearer(clerk))
    assert [a["action"] for a in r.json()] == ["accept", "refuse", "request_correction", "comment", "claim",
                                              "release"]
    assert {f["name"]: f["required"] for f in r.json()[1]["fields"]} == {"reason": True}

    # An internal comment stays inside.
    assert (await act(client, clerk, case, "comment", text="材料齐全，待受理")).status_code == 200
    mine = (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()
    assert "comment" not in [e["action"] for e in mine["timeline"]]
    theirs = (await client.get(f"{CASES}/{case['id']}", headers=bearer(clerk))).json()
    assert next(e for e in theirs["timeline"] if e["action"] == "comment")["internal"] is True

    # The window reads the applicant's materials, and the read is recorded.
    url = next(m["download_url"] for m in theirs["materials"] if m["download_url"])
    r = await client.get(url, headers=bearer(clerk))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert await AuditEntry.filter(action="case.material_read", target_code=case["number"]).count() == 1
    assert (await client.get(url, headers=bearer(officer))).status_code == 404  # not in its hands yet

    r = await act(client, clerk, case, "accept")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted" and r.json()["state_name"] == "已受理"
    r = await act(client, officer, case, "start-review")
    assert r.status_code == 200 and r.json()["state"] == "in_review"
    due = r.json()["due_date"]

    r = await act(client, officer, case, "suspend", procedure="现场踏勘", reason="需现场核查经营场所")
    assert r.status_code == 200 and r.json()["clock_paused"] is True
    mine = (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()
    assert mine["state"] == "suspended" and mine["clock_paused"] is True
    assert mine["expected_date"] >= due  # the stopped clock never brings the promise forward
    r = await act(client, officer, case, "resume", findings="场所与登记一致")
    assert r.status_code == 200 and r.json()["clock_paused"] is False and r.json()["due_date"] >= due

    assert (await act(client, officer, case, "approve")).status_code == 403  # an approver decides
    r = await act(client, approver, case, "deny")
    assert r.status_code == 422 and r.json()["field"] == "reason" and r.json()["message"] == "请填写「理由」"
    r = await act(client, approver, case, "approve", opinion="同意")
    assert r.status_code == 200 and r.json()["state"] == "approved"
    # 送达: express mail needs its carrier and a waybill number; nothing is half-recorded when refused.
    r = await act(client, officer, case, "deliver")
    assert r.status_code == 422 and r.json()["field"] == "method" and "邮寄送达" in r.json()["message"]
    r = await act(client, officer, case, "deliver", method="pigeon")
    assert r.status_code == 422 and r.json()["field"] == "method"
    r = await act(client, officer, case, "deliver", method="express", carrier="顺丰速运")
    assert r.status_code == 422 and r.json()["field"] == "tracking_number"
    assert (r.json()["message"], r.json()["detail"]) == (
        "邮寄送达请填写运单号", "express delivery needs the tracking number")
    r = await act(client, officer, case, "deliver", method="express", carrier="顺丰速运", tracking_number="SF 12")
    assert r.status_code == 422 and r.json()["field"] == "tracking_number"
    r = await act(client, officer, case, "deliver", method="window", tracking_number="SF1234567890")
    assert r.status_code == 422 and r.json()["field"] == "tracking_number" and "只有邮寄送达" in r.json()["message"]
    shown = (await client.get(f"{CASES}/{case['id']}", headers=bearer(officer))).json()
    assert shown["state"] == "approved" and shown["delivery"] is None
    r = await act(client, officer, case, "deliver", method="express", carrier=" 顺丰速运 ",
                  tracking_number="sf1234567890")
    assert r.status_code == 200 and r.json()["state"] == "delivered" and r.json()["allowed_actions"] == []
    sent = r.json()["delivery"]
    assert {k: sent[k] for k in ("method", "method_name", "carrier", "tracking_number")} == {
        "method": "express", "method_name": "邮寄送达", "carrier": "顺丰速运", "tracking_number": "SF1234567890"}
    mine = (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()
    assert mine["delivery"] == sent  # the applicant sees how it was sent and can follow the parcel
    assert [e["action"] for e in r.json()["timeline"]] == [
        "submit", "comment", "accept", "start_review", "suspend", "resume", "approve", "deliver"]
    number = r.json()["number"]
    trail = await AuditEntry.filter(target_type="case", target_code=number).order_by("id").values_list(
        "action", flat=True)
    # The denial without a reason was refused, and kept as an attempted irregularity (电子监察).
    assert trail == ["case.submit", "case.comment", "case.material_read", "case.accept", "case.start_review",
                     "case.suspend", "case.resume", "case.irregular_refusal", "case.approve", "case.deliver"]
    async with httpx_client(app, client) as anyone:  # public tracking shows no internal entry
        code = (await client.get(f"{CASES}/{case['id']}/receipt", headers=bearer(citizen))).json()["query_code"]
        tracked = (await anyone.get("/api/v1/track", params={"number": number, "code": code})).json()
        assert "comment" not in [e["action"] for e in tracked["timeline"]] and tracked["state"] == "delivered"
        assert tracked["delivery"]["tracking_number"] == "SF1234567890"
        # Tracking promises what the case does: decided, the day of the decision.
        decided = deadlines.china_day(dt.datetime.fromisoformat(r.json()["timeline"][-2]["at"])).isoformat()
        assert tracked["promised_date"] == r.json()["expected_date"] == decided
        assert tracked["paused_days"] == r.json()["paused_days"] and tracked["clock_paused"] is False


def httpx_client(app: Litestar, client: AsyncClient) -> Any:
    from tests.test_cases import own_address_client

    return own_address_client(app, client)


async def test_the_one_time_correction_notice(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await submitted_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W07")

    # Nothing outside the checklist may be asked for: refused, and recorded as an attempt.
    r = await act(client, clerk, case, "request-correction",
                  materials=[{"code": "application", "problem": "缺少签名"},
                             {"code": "house_deed", "problem": "需房产证"}])
    assert r.status_code == 422 and r.json()["field"] == "materials" and "house_deed" in r.json()["message"]
    assert await AuditEntry.filter(action="case.irregular_correction", target_code=case["number"]).count() == 1
    assert (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()["state"] == "submitted"

    r = await act(client, clerk, case, "request-correction", materials=[{"code": "application", "problem": "缺少签名"}])
    assert r.status_code == 200, r.text
    mine = (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()
    assert mine["state"] == "correction_requested" and mine["clock_paused"] is True
    assert mine["correction"] == [{"code": "application", "problem": "缺少签名", "name": mine["correction"][0]["name"]}]
    assert mine["allowed_actions"] == ["resupply", "withdraw"]

    # Resupplying before the listed material is uploaded again is refused, naming it.
    r = await act(client, citizen, case, "resupply")
    assert r.status_code == 422 and r.json()["field"] == "application"
    assert r.json()["problems"][0]["detail"] == "缺少签名"
    # Only the listed materials may change now.
    from api.cases import services as case_services

    who = principal_of(app, citizen)
    with pytest.raises(Conflict, match="not on the correction notice"):
        await case_services.attach_material(who, case["id"], "void_notice", await put_blob(app, b"x"), "x.pdf",
                                            "application/pdf")
    await case_services.attach_material(who, case["id"], "application", await put_blob(app, b"signed now"),
                                        "signed.pdf", "application/pdf")
    r = await act(client, citizen, case, "resupply")
    assert r.status_code == 200 and r.json()["state"] == "submitted" and r.json()["clock_paused"] is False

    # A second notice needs its reason.
    r = await act(client, clerk, case, "request-correction", materials=[{"code": "application", "problem": "仍不清晰"}])
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = await act(client, clerk, case, "request-correction", materials=[{"code": "application", "problem": "仍不清晰"}],
                  reason="扫描件模糊，无法辨认签名")
    assert r.status_code == 200


async def test_two_clerks_accept_at_once_one_wins(client: AsyncClient, app: Litestar) -> None:
    _, case = await submitted_case(client, app)
    a = await staff_tokens(client, "clerk", window="W07")
    b = await staff_tokens(client, "clerk", window="W08")
    version = case["version"]
    answers = await asyncio.gather(act(client, a, case, "accept", version=version),
                                   act(client, b, case, "accept", version=version))
    assert sorted(r.status_code for r in answers) == [200, 409]
    lost = next(r for r in answers if r.status_code == 409).json()
    assert lost["message"] in ("办件已被他人处理，请刷新",) or lost["message"].startswith("办件当前为「已受理」")
    # A stale version is refused in Chinese; a retry with the same Idempotency-Key answers the first result.
    r = await act(client, a, case, "comment", text="x", version=version)
    assert r.status_code == 409 and r.json()["message"] == "办件已被他人处理，请刷新"
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"text": "已电话联系申请人", "version": version + 1}
    first = await client.post(f"{CASES}/{case['id']}/actions/comment", json=body, headers={**bearer(a), **key})
    again = await client.post(f"{CASES}/{case['id']}/actions/comment", json=body, headers={**bearer(a), **key})
    assert first.status_code == again.status_code == 200
    assert [e["action"] for e in again.json()["timeline"]].count("comment") == 1


async def test_many_clerks_at_once_keep_the_queue_counts_and_the_audit_chains(client: AsyncClient,
                                                                              app: Litestar) -> None:
    """Each acceptance moves its case's counts and appends to its audit chain in its own transaction;
    done concurrently (several PostgreSQL connections), the counts still equal the cases' and no
    chain forks."""
    from api.audit.services import verify
    from api.workflow import queues

    cases = [c for _, c in [await submitted_case(client, app) for _ in range(10)]]
    clerks = [await staff_tokens(client, "clerk", window=w) for w in ("W07", "W08", "W09")]
    answers = await asyncio.gather(*(act(client, clerks[i % 3], c, "accept", version=c["version"])
                                     for i, c in enumerate(cases)),
                                   *(act(client, clerks[(i + 1) % 3], c, "accept", version=c["version"])
                                     for i, c in enumerate(cases[:4])))  # four of them twice: one wins
    assert sorted(r.status_code for r in answers) == [200] * 10 + [409] * 4
    assert await queues.kept() == await queues.recounted()
    r = await client.get("/api/v1/workbench/queue", params={"state": "accepted"}, headers=bearer(clerks[0]))
    assert r.json()["counts"]["accepted"] == 10 and "submitted" not in r.json()["counts"]
    assert (await verify()).broken is None


async def test_scopes_and_refusals(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await submitted_case(client, app)
    other_window = await staff_tokens(client, "clerk", window="W01")  # social affairs
    other_department = await staff_tokens(client, "officer", department="MZJ")
    clerk = await staff_tokens(client, "clerk", window="W07")
    assert (await client.get(f"{CASES}/{case['id']}", headers=bearer(other_window))).status_code == 404
    assert (await act(client, other_window, case["id"], "accept", version=2)).status_code == 404
    r = await act(client, clerk, case, "refuse")
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = await act(client, clerk, case, "approve")
    assert r.status_code == 409 and r.json()["field"] == "state" and "现在可以" in r.json()["message"]
    assert (await act(client, citizen, case, "accept")).status_code == 403
    assert (await act(client, clerk, case, "accept")).status_code == 200
    assert (await client.get(f"{CASES}/{case['id']}", headers=bearer(other_department))).status_code == 404
    another_citizen = await citizen_tokens(client, app)
    assert (await client.get(f"{CASES}/{case['id']}/actions", headers=bearer(another_citizen))).status_code == 404
    r = await act(client, clerk, case, "refuse", reason="不符合条件", version=3)
    assert r.status_code == 409  # accepted already: a window refuses only what it has not accepted


async def test_the_workbench_queues(client: AsyncClient, app: Litestar) -> None:
    citizen, first = await submitted_case(client, app)
    second_citizen, second = await submitted_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W09")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    r = await client.get("/api/v1/workbench/queue", params={"limit": 1}, headers=bearer(clerk))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["counts"] == {"submitted": 2} and len(page["items"]) == 1 and page["next_cursor"]
    rest = (await client.get("/api/v1/workbench/queue", params={"limit": 1, "cursor": page["next_cursor"]},
                             headers=bearer(clerk))).json()
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {first["id"], second["id"]}
    assert rest["next_cursor"] is None
    assert (await client.get("/api/v1/workbench/queue", headers=bearer(officer))).json()["items"] == []
    assert (await act(client, clerk, first, "accept")).status_code == 200
    queued = (await client.get("/api/v1/workbench/queue", headers=bearer(officer))).json()
    assert [c["id"] for c in queued["items"]] == [first["id"]] and queued["counts"] == {"accepted": 1}
    assert (await client.get("/api/v1/workbench/queue", headers=bearer(citizen))).status_code == 403
    # A withdrawn case waits for nobody: it leaves the queues and their counts.
    withdrawn = await client.post(f"{CASES}/{second['id']}/withdraw", headers=bearer(second_citizen))
    assert withdrawn.status_code == 200 and withdrawn.json()["due_date"] is None
    assert (await client.get("/api/v1/workbench/queue", headers=bearer(clerk))).json()["counts"] == {"accepted": 1}
    r = await client.get("/api/v1/workbench/queue", params={"cursor": "nope"}, headers=bearer(clerk))
    assert r.status_code == 400 and r.json()["field"] == "cursor"


async def test_every_queue_page_is_the_waiting_cases_in_due_order_under_every_filter(
    client: AsyncClient, app: Litestar,
) -> None:
    """The workbench queue against what it must show, computed the plain way from the cases: walked
    a page of 2 at a time, for a clerk, an officer and a supervisor, with each filter and without."""
    import datetime as dt

    from api.catalog.models import Window
    from api.identity.models import Staff

    made = [await submitted_case(client, app) for _ in range(7)]
    ids = [c["id"] for _, c in made]
    clerk = await staff_tokens(client, "clerk", window="W09")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    approver = await staff_tokens(client, "approver", department="SCJGJ")
    supervisor = await staff_tokens(client, "supervisor")
    for case_id in ids[:4]:
        assert (await act(client, clerk, case_id, "accept")).status_code == 200
    assert (await act(client, officer, ids[0], "start-review")).status_code == 200
    assert (await act(client, approver, ids[0], "approve")).status_code == 200
    assert (await act(client, clerk, ids[4], "claim")).status_code == 200
    assert (await act(client, officer, ids[1], "claim")).status_code == 200
    assert (await client.post(f"{CASES}/{ids[6]}/withdraw", headers=bearer(made[6][0]))).status_code == 200
    today = dt.date.today()
    for case_id, days in zip(ids[:6], [3, -1, 3, 0, -1, 3], strict=True):  # ties: the id decides
        await Case.filter(id=case_id).update(due_date=today + dt.timedelta(days=days))
    category = (await Window.get(code="W09")).category
    item = made[0][1]["item_code"]
    who = {name: (await Staff.get(username=t["username"])).id for name, t in
           {"clerk": clerk, "officer": officer, "supervisor": supervisor}.items()}
    scopes = {
        "clerk": (clerk, Case.filter(window_category=category), ("submitted", "approved", "denied")),
        "officer": (officer, Case.filter(department_code="SCJGJ", accepted_at__isnull=False),
                    ("accepted", "in_review", "suspended", "approved", "denied")),
        "supervisor": (supervisor, Case.all(), ("submitted", "accepted", "in_review", "suspended", "approved",
                                                "denied")),
    }
    filters: list[dict[str, Any]] = [{}, {"state": "accepted"}, {"state": "approved"}, {"item": item},
                                     {"due_before": (today + dt.timedelta(days=1)).isoformat()}, {"overdue": "true"},
                                     {"mine": "true"}, {"item": item, "mine": "true"}]
    walked: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for role, (tokens, scope, working) in scopes.items():
        for f in filters:
            waiting = scope.filter(due_date__isnull=False).exclude(state="draft")
            if "item" in f:
                waiting = waiting.filter(item_code=item)
            if "mine" in f:
                waiting = waiting.filter(claimed_by=f"staff:{who[role]}")
            rows = await waiting
            counts: dict[str, int] = {}
            for c in rows:
                counts[c.state] = counts.get(c.state, 0) + 1
            wanted = [c for c in rows if c.state in ((f["state"],) if "state" in f else working)
                      and ("due_before" not in f or c.due_date < today + dt.timedelta(days=1))
                      and ("overdue" not in f or c.due_date < today)]
            expected = [c.id for c in sorted(wanted, key=lambda c: (c.due_date, c.id))]
            seen, cursor = [], None
            while True:
                params = {**f, "limit": 2, **({"cursor": cursor} if cursor else {})}
                r = await client.get("/api/v1/workbench/queue", params=params, headers=bearer(tokens))
                assert r.status_code == 200, r.text
                page = r.json()
                assert page["counts"] == counts, (role, f)
                seen += [c["id"] for c in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == expected, (role, f)
            walked[(role, tuple(f))] = seen
    # Not all filtered away: the clerk's default queue, due first, the id deciding a tie.
    assert walked[("clerk", ())] == [ids[4], ids[0], ids[5]]
    assert walked[("officer", ("mine",))] == [ids[1]] and walked[("supervisor", ("overdue",))] == [ids[1], ids[4]]


async def test_a_case_no_window_answered_in_time_counts_as_accepted(client: AsyncClient, app: Litestar) -> None:
    """行政许可法 §32: no correction notice within 5 working days, and the case is accepted that day."""
    import datetime as dt

    from api.workflow import deadlines
    from api.workflow.services import deem_overdue_accepted

    citizen, case = await submitted_case(client, app)
    _, fresh = await submitted_case(client, app)
    notice_by = dt.date.fromisoformat(case["due_date"])
    await Case.filter(id=case["id"]).update(due_date=notice_by - dt.timedelta(days=10))  # as if submitted long ago
    assert await deem_overdue_accepted() == 1
    assert await deem_overdue_accepted() == 0  # a second round changes nothing
    mine = (await client.get(f"{CASES}/{case['id']}", headers=bearer(citizen))).json()
    assert mine["state"] == "accepted" and mine["timeline"][-1]["action"] == "deem_accepted"
    assert mine["timeline"][-1]["action_name"] == "逾期未告知补正，依法视为受理"
    stored = await Case.get(id=case["id"])
    assert deadlines.china_day(stored.accepted_at) == notice_by - dt.timedelta(days=10)
    assert (await Case.get(id=fresh["id"])).state == "submitted"  # still within its period


async def test_an_extension_once_within_the_legal_limit(client: AsyncClient, app: Litestar) -> None:
    _, case = await submitted_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W07")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    approver = await staff_tokens(client, "approver", department="SCJGJ")
    assert (await act(client, clerk, case, "accept")).status_code == 200
    assert (await act(client, officer, case, "start-review")).status_code == 200
    # 营业执照补领: legal limit = promised limit, so there is no room to extend.
    r = await act(client, approver, case, "extend", days=5, reason="需补充核查")
    assert r.status_code == 422 and r.json()["field"] == "days" and "最多还能延长 0 个工作日" in r.json()["message"]
    await Case.filter(id=case["id"]).update(legal_limit=20)  # as for an item whose legal limit is 20 days
    assert (await act(client, officer, case, "extend", days=5, reason="x")).status_code == 403  # approvers only
    assert (await act(client, approver, case, "extend", days=0, reason="x")).json()["field"] == "days"
    shown = (await client.get(f"{CASES}/{case['id']}", headers=bearer(approver))).json()
    before = shown["due_date"]
    assert "extend" in shown["allowed_actions"]
    r = await act(client, approver, case, "extend", days=5, reason="需补充核查")
    assert r.status_code == 200 and r.json()["due_date"] > before and r.json()["state"] == "in_review"
    # Once extended, the approver is no longer offered another extension (only the decision and the rest).
    assert "extend" not in r.json()["allowed_actions"] and "approve" in r.json()["allowed_actions"]
    offered = (await client.get(f"{CASES}/{case['id']}/actions", headers=bearer(approver)))
    assert offered.status_code == 200 and "extend" not in {a["action"] for a in offered.json()}
    r = await act(client, approver, case, "extend", days=1, reason="再延长")
    assert r.status_code == 409 and "已经延长过一次" in r.json()["message"]


async def test_vouchers_follow_the_timeline(client: AsyncClient, app: Litestar) -> None:
    """The dated documents of 行政许可法 §32: the correction notice lists what the clerk asked for,
    the acceptance notice follows acceptance; the applicant and the window download them, others cannot."""
    import subprocess
    import tempfile

    citizen, case = await submitted_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W07")
    assert (await client.get(f"{CASES}/{case['id']}/vouchers", headers=bearer(citizen))).json() == []
    assert (await act(client, clerk, case, "request-correction",
                      materials=[{"code": "application", "problem": "申请书缺少法定代表人签字"}])).status_code == 200
    listed = (await client.get(f"{CASES}/{case['id']}/vouchers", headers=bearer(citizen))).json()
    assert [(v["kind"], v["name"]) for v in listed] == [("correction", "补正材料通知书")]
    r = await client.get(listed[0]["url"], headers=bearer(citizen))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(r.content)
        f.flush()
        done = await asyncio.create_subprocess_exec("pdftotext", f.name, "-", stdout=subprocess.PIPE)
        text = (await done.communicate())[0].decode()
    assert "补正材料通知书" in text and case["number"] in text and "申请书缺少法定代表人签字" in text
    assert (await client.get(listed[0]["url"], headers=bearer(clerk))).status_code == 200
    other = await citizen_tokens(client, app)
    assert (await client.get(listed[0]["url"], headers=bearer(other))).status_code == 404
    r = await client.get(f"{CASES}/{case['id']}/vouchers/approval.pdf", headers=bearer(citizen))
    assert r.status_code == 404 and r.json()["field"] == "kind"


async def test_a_walk_in_application_entered_at_the_window(client: AsyncClient, app: Litestar) -> None:
    """A person without the app: the clerk finds or creates them by phone and resident ID, scans the
    materials (checked as uploads are), submits, and the case then follows the same flow."""
    from tests.tus_helpers import pdf_bytes

    clerk = await staff_tokens(client, "clerk", window="W07")
    person = {"phone": "13700001234", "name": "张窗口", "id_number": "511902199001011232",
              "item_code": "511Z5001050000-511900000000-000-11511900MB00102256-1-00",
              "answers": {"reason": "lost", "agent": "no"}}
    r = await client.post("/api/v1/workbench/walk-ins", json=person, headers=bearer(clerk))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["channel"] == "window" and case["state"] == "draft"
    social = await staff_tokens(client, "clerk", window="W01")  # another category does not take this item
    r = await client.post("/api/v1/workbench/walk-ins", json=person, headers=bearer(social))
    assert r.status_code == 403 and r.json()["field"] == "item_code"
    r = await client.post("/api/v1/workbench/walk-ins", json={**person, "id_number": "11010519491231002X"},
                          headers=bearer(clerk))
    assert r.status_code == 409 and r.json()["field"] == "id_number"  # that phone is someone else's

    base = f"/api/v1/workbench/walk-ins/{case['id']}"
    r = await client.put(f"{base}/materials/application", params={"filename": "申请书.pdf"}, content=b"not a pdf",
                         headers=bearer(clerk))
    assert r.status_code in (415, 422) and r.json()["field"] == "file"
    for code in ("application", "void_notice"):
        r = await client.put(f"{base}/materials/{code}", params={"filename": f"{code}.pdf"},
                             content=pdf_bytes(20_000), headers=bearer(clerk))
        assert r.status_code == 200, r.text
    assert r.json()["missing_required"] == []
    r = await client.post(f"{base}/submit", headers={**bearer(clerk), "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 200 and r.json()["state"] == "submitted" and r.json()["number"]
    assert r.json()["timeline"][0]["action"] == "submit"
    event = await CaseEvent.get(case_id=case["id"], action="submit")
    assert event.actor.startswith("staff:")  # the clerk's act, not the citizen's
    from api.notifications.models import Outbox

    told = await Outbox.filter(case_id=case["id"]).values_list("kind", flat=True)
    assert told == ["case.submit"]  # news to the person: someone else submitted it for them
    assert (await act(client, clerk, case, "accept")).status_code == 200  # and the same flow from here
    # The person can later sign in with that phone and sees their case.
    citizen = await citizen_tokens(client, app, phone="13700001234")
    mine = (await client.get(CASES, headers=bearer(citizen))).json()["items"]
    assert [c["id"] for c in mine] == [case["id"]]
