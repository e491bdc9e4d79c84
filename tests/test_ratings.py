"""好差评 on real SQLite and PostgreSQL: 一事一评 once a case is decided (and one 追评), 一次一评 with a
window's single-use QR token, the bad-rating rectification loop with its working-day deadlines and
overdue alerts, what staff may and may not see of the rater, and the public figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.audit.models import AuditEntry
from api.core.errors import Conflict, Gone
from api.identity.models import Citizen
from api.identity.principal import Principal
from api.notifications.models import Outbox
from api.ratings import services
from api.ratings.models import Rating, Rectification
from api.workflow import deadlines
from api.workflow.calendar_services import current_calendar
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens, staff_tokens
from tests.test_cases import LICENCE, own_address_client, principal_of
from tests.test_workflow import act, submitted_case


@pytest.fixture(autouse=True)
async def _clean(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await Rating.all().delete()
    await remove_cases()
    await Outbox.all().delete()


async def decided(client: AsyncClient, app: Litestar, *, deliver: bool = True) -> tuple[dict, dict]:
    """A case of 营业执照遗失补领 accepted at window W07 and approved by 市场监管局 (SCJGJ)."""
    citizen, case = await submitted_case(client, app)
    clerk = await staff_tokens(client, "clerk", window="W07")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    approver = await staff_tokens(client, "approver", department="SCJGJ")
    for who, action, body in ((clerk, "accept", {}), (officer, "start-review", {}),
                              (approver, "approve", {"opinion": "同意"}),
                              (officer, "deliver", {"method": "electronic"})):
        if action == "deliver" and not deliver:
            break
        r = await act(client, who, case, action, **body)
        assert r.status_code == 200, r.text
    await Citizen.filter(phone=citizen["phone"]).update(name="张三丰")
    return citizen, case


def rating_url(case: dict) -> str:
    return f"/api/v1/cases/{case['id']}/rating"


BAD = {"level": 5, "reasons": ["time", "repeat"], "text": "跑了三次还没办好"}


async def test_a_decided_case_is_rated_once_and_followed_up_once(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await decided(client, app, deliver=False)
    r = await client.post(rating_url(case), json={"level": 1}, headers=bearer(citizen))
    assert r.status_code == 409 and r.json()["field"] == "state"  # approved, not yet delivered
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    assert (await act(client, officer, case, "deliver", method="window")).status_code == 200

    other = await citizen_tokens(client, app)
    assert (await client.post(rating_url(case), json={"level": 1}, headers=bearer(other))).status_code == 404
    for body, field in (({"level": 6}, "level"), ({"level": "1"}, "level"), ({"level": True}, "level"),
                        ({"level": 4, "text": "太慢"}, "reasons"), ({"level": 4, "reasons": ["time"]}, "text"),
                        ({"level": 2, "reasons": ["time"]}, "reasons"), ({"level": 1, "text": "好" * 501}, "text"),
                        ({"level": 1, "reasons": "fast"}, "reasons")):
        r = await client.post(rating_url(case), json=body, headers=bearer(citizen))
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
        assert r.json()["message"]  # in Chinese, for the person
    assert (await client.get(rating_url(case), headers=bearer(citizen))).status_code == 404

    r = await client.post(rating_url(case), json={"level": 2, "reasons": ["fast", "once"], "text": "很快"},
                          headers=bearer(citizen))
    assert r.status_code == 201, r.text
    assert (r.json()["level"], r.json()["level_name"], r.json()["rectification"]) == (2, "满意", None)
    r = await client.post(rating_url(case), json={"level": 1}, headers=bearer(citizen))
    assert r.status_code == 409 and "追评" in r.json()["message"]
    rating = await Rating.get(case_id=case["id"])
    assert (rating.item_code, rating.department_code, rating.window_code) == (LICENCE, "SCJGJ", "W07")

    follow = f"{rating_url(case)}/follow-up"
    r = await client.post(follow, json=BAD, headers=bearer(citizen))
    assert r.status_code == 200 and r.json()["followup_level"] == 5
    assert r.json()["rectification"]["state"] == "verifying"  # the follow-up made it a bad rating
    assert (await client.post(follow, json={"level": 1}, headers=bearer(citizen))).status_code == 409
    assert (await Rating.get(id=rating.id)).effective_level == 5
    mine = (await client.get("/api/v1/me/ratings", headers=bearer(citizen))).json()
    assert [x["id"] for x in mine["items"]] == [rating.id]


async def test_the_follow_up_has_its_time(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await decided(client, app)
    who = principal_of(app, citizen)
    settings = app.state.settings
    rating = await services.rate_case(who, case["id"], 3, [], "", settings)
    late = rating.created_at + dt.timedelta(days=settings.rating_followup_days, minutes=1)
    with pytest.raises(Conflict, match="follow-up period"):
        await services.follow_up(who, case["id"], 2, [], "", settings, now=late)
    shorter = dataclasses.replace(settings, rating_followup_days=30)
    assert (await services.follow_up(who, case["id"], 2, [], "", shorter, now=late)).followup_level == 2


async def test_a_bad_rating_is_verified_rectified_and_called_back(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await decided(client, app)
    r = await client.post(rating_url(case), json=BAD, headers=bearer(citizen))
    assert r.status_code == 201 and r.json()["rectification"]["state"] == "verifying"
    rect = await Rectification.get(rating__case_id=case["id"])
    assert (rect.owner_kind, rect.owner_code) == ("department", "SCJGJ")  # 谁办理、谁负责
    calendar = await current_calendar()
    assert rect.verify_due == deadlines.add_working_days(calendar, deadlines.china_day(rect.created_at),
                                                        app.state.settings.rectify_verify_days)
    told = await Outbox.filter(kind="rating.rectification")
    assert told and all(o.recipient.startswith("staff:") and o.case_id is None for o in told)
    assert all("number" not in o.data and citizen["phone"] not in str(o.data) for o in told)

    officer = await staff_tokens(client, "officer", department="SCJGJ")
    base = f"/api/v1/workbench/rectifications/{rect.id}"
    seen = (await client.get(base, headers=bearer(officer))).json()
    assert seen["rating"]["rater"] == "申请人 张**" and seen["rating"]["case_id"] is None
    assert seen["rating"]["case_number"] is None and seen["may_act"] is True
    assert citizen["phone"] not in str(seen) and str(case["number"]) not in str(seen)
    listed = (await client.get("/api/v1/workbench/ratings", headers=bearer(officer))).json()["items"]
    assert [x["rater"] for x in listed] == ["申请人 张**"] and listed[0]["case_id"] is None
    supervisor = await staff_tokens(client, "supervisor")
    watched = (await client.get(base, headers=bearer(supervisor))).json()
    assert watched["rating"]["case_number"] == case["number"] and watched["may_act"] is False
    assert (await client.post(f"{base}/verify", json={"founded": True, "text": "x"},
                              headers=bearer(supervisor))).status_code == 403
    elsewhere = await staff_tokens(client, "officer", department="MZJ")
    assert (await client.get(base, headers=bearer(elsewhere))).status_code == 404
    assert (await client.post(f"{base}/verify", json={"founded": True, "text": "x"},
                              headers=bearer(elsewhere))).status_code == 404

    assert (await client.post(f"{base}/callback", json={"text": "已处理"}, headers=bearer(officer))).status_code == 409
    r = await client.post(f"{base}/verify", json={"text": "情况属实"}, headers=bearer(officer))
    assert r.status_code == 422 and r.json()["field"] == "founded"
    finding = {"founded": True, "text": "情况属实，窗口多次要求补交同一材料"}
    r = await client.post(f"{base}/verify", json={**finding, "version": 99}, headers=bearer(officer))
    assert r.status_code == 409 and r.json()["field"] == "version"
    r = await client.post(f"{base}/verify", json={"founded": True, "text": "情况属实，窗口多次要求补交同一材料"},
                          headers=bearer(officer))
    assert r.status_code == 200 and r.json()["state"] == "rectifying"
    today = deadlines.china_day(dt.datetime.now(dt.UTC))
    assert r.json()["rectify_due"] == deadlines.add_working_days(calendar, today, 15).isoformat()  # default 15
    assert (await client.post(f"{base}/callback", json={"text": "已回访"}, headers=bearer(officer))).status_code == 409
    r = await client.post(f"{base}/rectify", json={"text": "一次性告知制度重新培训"}, headers=bearer(officer))
    assert r.status_code == 200
    r = await client.post(f"{base}/callback", json={"text": "已电话回访，说明整改情况"}, headers=bearer(officer))
    assert r.status_code == 200 and r.json()["state"] == "awaiting_rater"
    callback = await Outbox.get(kind="rating.callback")
    assert callback.recipient == f"citizen:{(await Citizen.get(phone=citizen['phone'])).id}"

    rating_id = rect.rating_id  # type: ignore[attr-defined]
    answer = f"/api/v1/me/ratings/{rating_id}/answer"
    assert (await client.post(answer, json={"accept": True}, headers=bearer(await citizen_tokens(client, app)))
            ).status_code == 404  # only the rater answers
    r = await client.post(answer, json={"accept": False}, headers=bearer(citizen))
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = await client.post(answer, json={"accept": False, "reason": "还是要跑两次"}, headers=bearer(citizen))
    assert r.status_code == 200 and r.json()["rectification"]["state"] == "rectifying"
    assert r.json()["rectification"]["contested"] is True
    assert await Outbox.filter(kind="rating.contested").exists()
    await client.post(f"{base}/rectify", json={"text": "材料清单上墙，当场一次告知"}, headers=bearer(officer))
    await client.post(f"{base}/callback", json={"text": "再次回访"}, headers=bearer(officer))
    r = await client.post(answer, json={"accept": False, "reason": "仍不满意"}, headers=bearer(citizen))
    assert r.status_code == 409  # contested once already
    r = await client.post(answer, json={"accept": True}, headers=bearer(citizen))
    assert r.status_code == 200 and r.json()["rectification"]["state"] == "closed"
    assert r.json()["rectification"]["closed_reason"] == "accepted"
    steps = [s["step"] for s in (await client.get(base, headers=bearer(officer))).json()["steps"]]
    assert steps == ["open", "verify", "rectify", "callback", "contest", "rectify", "callback", "accept"]
    audited = await AuditEntry.filter(target_type="rectification", target_code=str(rect.id)).order_by("seq") \
        .values_list("action", flat=True)
    assert audited == ["rectification.verify", "rectification.rectify", "rectification.callback",
                       "rectification.contest", "rectification.rectify", "rectification.callback",
                       "rectification.accept"]


async def test_overdue_steps_tell_supervision_once_and_silence_closes(client: AsyncClient, app: Litestar) -> None:
    citizen, case = await decided(client, app)
    await staff_tokens(client, "supervisor")
    who = principal_of(app, citizen)
    settings = app.state.settings
    rating = await services.rate_case(who, case["id"], 4, ["attitude"], "态度不好", settings)
    rect = await Rectification.get(rating_id=rating.id)
    on_due = dt.datetime.combine(rect.verify_due, dt.time(12), tzinfo=deadlines.CHINA)
    assert await services.sweep(on_due) == 0  # due today is not late
    late = on_due + dt.timedelta(days=1)
    assert await services.sweep(late) == 1
    alerts = await Outbox.filter(kind="rating.overdue")
    assert alerts and {a.data["step"] for a in alerts} == {"verify"} and alerts[0].data["number"] == case["number"]
    assert await services.sweep(late) == 0  # told once per step
    assert await Outbox.filter(kind="rating.overdue").count() == len(alerts)

    officer = await staff_tokens(client, "officer", department="SCJGJ")
    base = f"/api/v1/workbench/rectifications/{rect.id}"
    for step, body in (("verify", {"founded": False, "text": "经核实，材料要求有法定依据，已解释说明"}),
                       ("callback", {"text": "已回访解释"})):
        assert (await client.post(f"{base}/{step}", json=body, headers=bearer(officer))).status_code == 200
    rect = await Rectification.get(id=rect.id)
    assert rect.state == "awaiting_rater" and rect.answer_due is not None
    silent = dt.datetime.combine(rect.answer_due + dt.timedelta(days=1), dt.time(9), tzinfo=deadlines.CHINA)
    assert await services.sweep(silent) == 1
    rect = await Rectification.get(id=rect.id)
    assert (rect.state, rect.closed_reason) == ("closed", "no_answer")


async def test_a_visit_is_rated_once_with_the_windows_token(client: AsyncClient, app: Litestar) -> None:
    clerk = await staff_tokens(client, "clerk", window="W07")
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    assert (await client.post("/api/v1/workbench/visit-tokens", json={}, headers=bearer(officer))).status_code == 403
    r = await client.post("/api/v1/workbench/visit-tokens", json={"item_code": LICENCE}, headers=bearer(clerk))
    assert r.status_code == 201, r.text
    minted = r.json()
    assert minted["url"].startswith(f"{app.state.settings.public_url}/rate?t=") and minted["window_code"] == "W07"
    async with own_address_client(app, client) as visitor:
        r = await visitor.get("/api/v1/ratings/visit", params={"token": minted["token"]})
        assert r.status_code == 200 and r.json()["used"] is False and r.json()["window_name"]
        body = {"token": minted["token"], "level": 4, "reasons": ["attitude"], "text": "等了很久没人理"}
        r = await visitor.post("/api/v1/ratings/visit", json=body)
        assert r.status_code == 201 and r.json()["mode"] == "visit" and r.json()["rectification"] is None
        assert (await visitor.post("/api/v1/ratings/visit", json=body)).status_code == 409  # single use
        assert (await visitor.get("/api/v1/ratings/visit", params={"token": minted["token"]})).json()["used"] is True
        r = await visitor.post("/api/v1/ratings/visit", json={**body, "token": minted["token"][:-3] + "abc"})
        assert r.status_code == 400 and r.json()["field"] == "token"
    rating = await Rating.get(mode="visit")
    assert (rating.rater, rating.window_code, rating.item_code) == ("", "W07", LICENCE)
    rect = await Rectification.get(rating_id=rating.id)
    assert (rect.owner_kind, rect.owner_code) == ("window", "W07")
    seen = (await client.get(f"/api/v1/workbench/rectifications/{rect.id}", headers=bearer(clerk))).json()
    assert seen["rating"]["rater"] == "现场评价人"
    base = f"/api/v1/workbench/rectifications/{rect.id}"
    for step, text in (("verify", "属实"), ("rectify", "增设引导员"), ("callback", "匿名评价，无法回访")):
        extra = {"founded": True} if step == "verify" else {}
        assert (await client.post(f"{base}/{step}", json={"text": text, **extra}, headers=bearer(clerk))
                ).status_code == 200
    rect = await Rectification.get(id=rect.id)
    assert (rect.state, rect.closed_reason) == ("closed", "anonymous")

    old = await services.mint_visit_token(principal_of_clerk(app, clerk), "", app.state.settings,
                                          now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    with pytest.raises(Gone):
        await services.rate_visit(old.token, 1, [], "", app.state.settings)


def principal_of_clerk(app: Litestar, tokens: dict) -> Principal:
    claims = app.state.tokens.verify_access(tokens["access_token"])
    return Principal("staff", int(claims.subject.split(":")[1]), "clerk", "", "W07", claims.jti, claims.expires_at)


async def test_visit_ratings_are_rate_limited_per_address(client: AsyncClient, app: Litestar) -> None:
    async with own_address_client(app, client) as visitor:
        answers = [(await visitor.post("/api/v1/ratings/visit", json={"token": "x", "level": 1})).status_code
                   for _ in range(11)]
    assert answers[:10] == [400] * 10 and answers[10] == 429


async def test_public_satisfaction_per_item_department_and_window(client: AsyncClient, app: Litestar) -> None:
    r = await client.get(f"/api/v1/satisfaction/items/{LICENCE}")
    assert r.status_code == 200
    before = r.json()
    for level in (1, 2, 4):
        citizen, case = await decided(client, app)
        body = {"level": level, **({"reasons": ["time"], "text": "太慢了"} if level == 4 else {})}
        assert (await client.post(rating_url(case), json=body, headers=bearer(citizen))).status_code == 201
    after = (await client.get(f"/api/v1/satisfaction/items/{LICENCE}")).json()
    assert after["count"] == before["count"] + 3 and after["name"]
    assert after["by_level"]["4"] == before["by_level"]["4"] + 1
    dept = (await client.get("/api/v1/satisfaction/departments/SCJGJ")).json()
    window = (await client.get("/api/v1/satisfaction/windows/W07")).json()
    assert dept["count"] == window["count"] == 3 and dept["satisfied_share"] == round(2 / 3, 4)
    assert dept["since"] == (deadlines.china_day(dt.datetime.now(dt.UTC) - dt.timedelta(days=365))).isoformat()
    empty = (await client.get("/api/v1/satisfaction/windows/W01")).json()
    assert (empty["count"], empty["satisfied_share"]) == (0, None)
    for path in ("items/NOPE", "departments/NOPE", "windows/NOPE"):
        r = await client.get(f"/api/v1/satisfaction/{path}")
        assert r.status_code == 404 and r.json()["message"].startswith("没有找到")
    options = (await client.get("/api/v1/ratings/options")).json()
    assert [lv["name"] for lv in options["levels"]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert [lv["bad"] for lv in options["levels"]] == [False, False, False, True, True]
    assert "repeat" in [x["code"] for x in options["levels"][4]["reasons"]]
