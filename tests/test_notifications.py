"""Notifications on real SQLite and PostgreSQL, delivered to a real (local) Web Push service: the
message centre, Web Push with VAPID and aes128gcm, SMS for citizens without push, preferences and
quiet hours, retries, dead letters, and subscriptions that must never be stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.core.settings import ConfigurationError, Settings
from api.identity.models import Citizen
from api.identity.sms import UnconfiguredSender
from api.notifications import policy, push, texts
from api.notifications.dispatcher import HANDLERS, Dispatcher, sms_text
from api.notifications.models import DEAD, DELIVERED, DROPPED, Message, NotificationPreference, Outbox, PushSubscription
from api.notifications.services import CASE_ACTIONS, case_kind, enqueue
from api.workflow.deadlines import CHINA
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens, staff_tokens
from tests.processes import ROOT
from tests.push_service import PushService
from tests.test_workflow import act, submitted_case

VAPID_PRIVATE, VAPID_PUBLIC = push.generate_keys()
#: A day after now, in China: every row written now is due, and it is day time (no quiet hours).
TOMORROW = dt.datetime.combine(dt.datetime.now(CHINA).date() + dt.timedelta(days=1), dt.time(10), tzinfo=CHINA)


@pytest.fixture(autouse=True)
async def _clean(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()
    for model in (Outbox, Message, PushSubscription, NotificationPreference):
        await model.all().delete()


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    svc = await PushService().start()
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
def settings(app: Litestar, service: PushService) -> Iterator[Settings]:
    """The app with Web Push on, and the local push service allowed (it is on 127.0.0.1, over http)."""
    before = app.state.settings
    app.state.settings = dataclasses.replace(before, vapid_private_key=VAPID_PRIVATE,
                                             vapid_subject="mailto:ops@zhengwu.example.cn",
                                             push_allow_origins=(service.origin,))
    try:
        yield app.state.settings
    finally:
        app.state.settings = before


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
async def dispatcher(app: Litestar, settings: Settings) -> AsyncIterator[tuple[Dispatcher, Clock]]:
    clock = Clock(TOMORROW)
    d = Dispatcher(settings, app.state.otp.sender, clock=clock)
    try:
        yield d, clock
    finally:
        await d.close()


async def subscribe(client: AsyncClient, who: dict, service: PushService, **behaviour: object):
    device = service.device(VAPID_PUBLIC, **behaviour)
    r = await client.post("/api/v1/me/push-subscriptions", json=device.subscription(), headers=bearer(who))
    assert r.status_code == 201, r.text
    return device, r.json()


async def citizen_id(tokens: dict) -> int:
    return (await Citizen.get(phone=tokens["phone"])).id


def test_every_outbox_kind_has_a_handler() -> None:
    """DESIGN §7: the kinds written anywhere (the workflow's, supervision's, ratings', the channels')
    each have a handler, and every handler's kind has its texts in both languages."""
    assert sorted(HANDLERS) == sorted([
        "case.submit", "case.accept", "case.deem_accepted", "case.request_correction", "case.refuse",
        "case.approve", "case.deny", "case.deliver", "case.suspend", "case.resume", "case.extend",
        "case.survey_scheduled", "case.terminate",
        "alert.warning", "alert.yellow", "alert.red", "supervision.order", "supervision.order_response",
        "rating.rectification", "rating.contested", "rating.overdue", "rating.callback",
        "push", "sms",
    ])
    written = {case_kind(a, by_applicant=False) for a in CASE_ACTIONS} | {case_kind("submit", by_applicant=False)}
    assert written <= HANDLERS.keys()
    from api.supervision import OUTBOX_KINDS

    assert set(OUTBOX_KINDS) <= HANDLERS.keys()  # every kind supervision writes
    for kind in HANDLERS.keys() - {"push", "sms"}:
        text = texts.render(kind, {"number": "511900202612070000001", "item_name": "食品经营许可"}, 7)
        assert text.title and text.body and text.title_en and text.body_en, kind


async def test_a_correction_notice_reaches_the_phone_and_the_message_centre(
    client: AsyncClient, app: Litestar, service: PushService, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, _ = dispatcher
    citizen, case = await submitted_case(client, app)
    device, sub = await subscribe(client, citizen, service)
    clerk = await staff_tokens(client, "clerk", window="W07")
    r = await act(client, clerk, case, "request-correction", materials=[{"code": "application", "problem": "缺少签名"}])
    assert r.status_code == 200, r.text

    assert await d.deliver_due() == 1
    [got] = service.to(device)
    assert got.payload["title"] == "需要补正材料"
    assert got.payload["body"].startswith("您的办件需要补正材料：") and "申请表" in got.payload["body"]
    assert got.payload["url"] == f"/cases/{case['id']}" and got.payload["tag"] == f"case-{case['id']}"
    assert (got.urgency, got.topic, got.ttl) == ("high", f"case-{case['id']}", push.TTL)
    row = await Outbox.get(kind="case.request_correction")
    assert (row.outcome, row.attempts, row.error) == (DELIVERED, 1, "") and row.done_at is not None
    assert got.payload["id"] == row.id
    assert (await PushSubscription.get(id=sub["id"])).last_success_at is not None

    r = await client.get("/api/v1/me/messages", headers=bearer(citizen))
    assert r.status_code == 200
    page = r.json()
    assert page["unread"] == 1 and page["next_cursor"] is None
    [message] = page["items"]
    assert message["title"] == "需要补正材料" and message["title_en"] == "Documents needed"
    assert message["urgent"] is True and message["read"] is False and message["case_id"] == case["id"]
    assert (await d.deliver_due()) == 0  # delivered once: nothing is due any more
    assert await Message.filter(kind="case.request_correction").count() == 1

    # Only its recipient reads or marks it.
    other = await citizen_tokens(client, app)
    assert (await client.get("/api/v1/me/messages", headers=bearer(other))).json()["items"] == []
    assert (await client.post(f"/api/v1/me/messages/{message['id']}/read", headers=bearer(other))).status_code == 404
    r = await client.post(f"/api/v1/me/messages/{message['id']}/read", headers=bearer(citizen))
    assert r.status_code == 200 and r.json()["read"] is True
    assert (await client.get("/api/v1/me/messages/unread-count", headers=bearer(citizen))).json() == {"unread": 0}


async def test_the_running_dispatcher_delivers_at_commit(
    client: AsyncClient, app: Litestar, service: PushService, settings: Settings, backend: str,
) -> None:
    """``run`` as the server (SQLite) or a worker runs it. On PostgreSQL the poll interval is 30 s
    here, so a delivery within seconds is the NOTIFY sent by the committing transaction."""
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    device, _ = await subscribe(client, citizen, service)
    r = await client.put("/api/v1/me/notification-preferences", json={"quiet_hours": False}, headers=bearer(citizen))
    assert r.status_code == 200  # the real clock may be at night
    d = Dispatcher(settings, app.state.otp.sender, poll_interval=30.0 if backend == "postgres" else 0.1)
    from tortoise.transactions import in_transaction

    async with d.running():
        for n in range(3):
            async with in_transaction() as conn:
                await enqueue(conn, "case.approve", me, case_id=n, data={"item_name": "出生登记"})
            await service.wait_until(lambda n=n: len(service.to(device)) == n + 1, 10)
    assert [r.payload["tag"] for r in service.to(device)] == ["case-0", "case-1", "case-2"]
    assert d.delivered == 3


async def test_messages_come_in_keyset_pages_and_all_can_be_marked_read(
    client: AsyncClient, app: Litestar, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, _ = dispatcher
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        for n in range(5):
            await enqueue(conn, "case.accept", me, case_id=1000 + n, data={"item_name": f"事项{n}", "number": str(n)})
    assert await d.deliver_due() == 5
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/me/messages", params=params, headers=bearer(citizen))).json()
        seen += [m["case_id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [1004, 1003, 1002, 1001, 1000]  # newest first, each once
    r = await client.get("/api/v1/me/messages", params={"cursor": "garbage!"}, headers=bearer(citizen))
    assert r.status_code == 400 and r.json()["field"] == "cursor"
    r = await client.post("/api/v1/me/messages/read-all", headers=bearer(citizen))
    assert r.json() == {"marked": 5}
    page = (await client.get("/api/v1/me/messages", params={"unread": "true"}, headers=bearer(citizen))).json()
    assert page == {"items": [], "next_cursor": None, "unread": 0}


async def test_staff_receive_supervision_alerts_in_their_own_message_centre(
    client: AsyncClient, app: Litestar, service: PushService, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, _ = dispatcher
    officer = await staff_tokens(client, "officer", department="SCJGJ")
    staff_id = app.state.tokens.verify_access(officer["access_token"]).subject
    device, _ = await subscribe(client, officer, service)  # staff may take push on their own devices too
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        for kind in ("alert.warning", "alert.yellow", "alert.red", "supervision.order"):
            await enqueue(conn, kind, staff_id, case_id=77, urgent=kind == "alert.red",
                          data={"number": "511900202612070000077", "item_name": "食品经营许可",
                                "due_date": "2026-12-09", "text": "请今日内办结"})
    assert await d.deliver_due() == 4
    r = await client.get("/api/v1/workbench/messages", headers=bearer(officer))
    assert r.status_code == 200
    titles = [m["title"] for m in r.json()["items"]]
    assert titles == ["督办通知", "红牌警告", "黄牌警告", "办件即将超期"]
    assert all(m["url"] == "/staff/cases/77" for m in r.json()["items"])
    assert "请今日内办结" in r.json()["items"][0]["body"]
    assert len(service.to(device)) == 4
    assert (await client.get("/api/v1/workbench/messages", headers=bearer(await citizen_tokens(client, app))
                             )).status_code == 403


async def test_quiet_hours_hold_the_lock_screen_but_not_urgent_news(
    client: AsyncClient, app: Litestar, service: PushService, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, clock = dispatcher
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    device, _ = await subscribe(client, citizen, service)
    night = TOMORROW.replace(hour=23, minute=30)
    clock.at = night
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        await enqueue(conn, "case.accept", me, case_id=1, data={"item_name": "出生登记"}, at=night)
        await enqueue(conn, "case.request_correction", me, case_id=2, urgent=True,
                      data={"item_name": "出生登记", "materials": [{"code": "a", "name": "出生医学证明"}]}, at=night)
    assert await d.deliver_due() == 2
    assert [r.payload["title"] for r in service.to(device)] == ["需要补正材料"]  # urgent: at once
    assert await Message.filter(recipient=me).count() == 2  # the message centre has both now
    waiting = await Outbox.get(kind="push")
    morning = dt.datetime.combine(night.date() + dt.timedelta(days=1), dt.time(7), tzinfo=CHINA)
    assert waiting.due_at == morning and waiting.done_at is None
    clock.at = morning - dt.timedelta(minutes=1)
    assert await d.deliver_due() == 0
    clock.at = morning
    assert await d.deliver_due() == 1
    assert [r.payload["title"] for r in service.to(device)] == ["需要补正材料", "办件已受理"]

    # Turned off, there are no quiet hours; a start equal to the end is none either.
    assert policy.quiet_until(night, "22:00", "22:00") is None
    assert policy.quiet_until(TOMORROW.replace(hour=6, minute=59), "22:00", "07:00") == TOMORROW.replace(hour=7)
    assert policy.quiet_until(TOMORROW.replace(hour=7), "22:00", "07:00") is None
    assert policy.quiet_until(TOMORROW.replace(hour=13), "12:00", "14:00") == TOMORROW.replace(hour=14)


async def test_preferences_mute_kinds_and_choose_the_language(
    client: AsyncClient, app: Litestar, service: PushService, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, _ = dispatcher
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    device, _ = await subscribe(client, citizen, service)
    r = await client.get("/api/v1/me/notification-preferences", headers=bearer(citizen))
    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("push", "sms", "muted", "quiet_hours", "quiet_start", "quiet_end", "language")} \
        == {"push": True, "sms": True, "muted": [], "quiet_hours": True, "quiet_start": "22:00", "quiet_end": "07:00",
            "language": "zh-CN"}
    kinds = {k["kind"]: k for k in r.json()["kinds"]}
    assert kinds["case.request_correction"]["mutable"] is False and kinds["case.accept"]["name"] == "办件已受理"
    assert "alert.red" not in kinds  # a citizen chooses about citizens' kinds

    body = {"muted": ["case.request_correction"], "language": "en"}
    r = await client.put("/api/v1/me/notification-preferences", json=body, headers=bearer(citizen))
    assert r.status_code == 422 and r.json()["field"] == "muted"
    for bad in ({"muted": ["case.nope"]}, {"quiet_start": "25:00"}, {"language": "fr"}):
        r = await client.put("/api/v1/me/notification-preferences", json=bad, headers=bearer(citizen))
        assert r.status_code == 422, bad
    r = await client.put("/api/v1/me/notification-preferences", json={"muted": ["case.accept"], "language": "en"},
                         headers=bearer(citizen))
    assert r.status_code == 200 and r.json()["muted"] == ["case.accept"]

    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        await enqueue(conn, "case.accept", me, case_id=5, data={"number": "N5", "item_name": "出生登记"})
        await enqueue(conn, "case.approve", me, case_id=6, data={"number": "N6", "item_name": "出生登记"})
    assert await d.deliver_due() == 2
    assert [(r.payload["title"], r.payload["body"]) for r in service.to(device)] == [
        ("Application approved", "Your application (N6) was approved; the result will be delivered.")]
    assert await Message.filter(recipient=me).count() == 2  # muted only off the lock screen


async def test_a_citizen_without_push_gets_an_sms_and_a_gone_device_is_forgotten(
    client: AsyncClient, app: Litestar, service: PushService, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, _ = dispatcher
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    _device, sub = await subscribe(client, citizen, service, answer=410)
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        await enqueue(conn, "case.deliver", me, case_id=9, data={"item_name": "出生登记"})
    assert await d.deliver_due() == 1
    assert not await PushSubscription.exists(id=sub["id"])  # 410: unsubscribed, so removed
    assert app.state.otp.sender.texts_to(citizen["phone"]) == [
        sms_text("办件已办结", "「出生登记」已办结。欢迎对本次服务作出评价。")]
    assert (await Outbox.get(kind="case.deliver")).outcome == DELIVERED
    assert not await Outbox.exists(kind="push")

    async with in_transaction() as conn:  # no device at all: SMS again, unless turned off
        await enqueue(conn, "case.approve", me, case_id=9, data={"item_name": "出生登记"})
    assert await d.deliver_due() == 1
    assert len(app.state.otp.sender.texts_to(citizen["phone"])) == 2
    await client.put("/api/v1/me/notification-preferences", json={"sms": False}, headers=bearer(citizen))
    async with in_transaction() as conn:
        await enqueue(conn, "case.deny", me, case_id=9, data={"item_name": "出生登记", "reason": "不符合条件"})
    assert await d.deliver_due() == 1
    assert len(app.state.otp.sender.texts_to(citizen["phone"])) == 2


async def test_an_unconfigured_sms_gateway_keeps_messages_queued_and_says_so_once(
    client: AsyncClient, app: Litestar, settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    d = Dispatcher(settings, UnconfiguredSender(), clock=Clock(TOMORROW))
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        for n in range(3):
            await enqueue(conn, "case.accept", me, case_id=n, data={"item_name": "出生登记"})
    with caplog.at_level(logging.WARNING, logger="zhengwu.notifications"):
        assert await d.deliver_due() == 3
    assert [r.message for r in caplog.records].count(
        "no SMS gateway is configured: SMS notifications stay queued until one is") == 1
    waiting = await Outbox.filter(kind="sms").order_by("id")
    assert len(waiting) == 3 and all(w.done_at is None and w.attempts == 0 for w in waiting)
    assert waiting[0].due_at == TOMORROW + dt.timedelta(seconds=policy.SMS_UNCONFIGURED_RETRY)
    assert "手机" not in str(waiting[0].data) and citizen["phone"] not in str(waiting[0].data)  # no number kept
    await d.close()


async def test_throttled_then_failing_pushes_back_off_and_end_as_dead_letters(
    client: AsyncClient, app: Litestar, service: PushService, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, clock = dispatcher
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    slow, _ = await subscribe(client, citizen, service, throttle=1, retry_after="120")
    broken, _ = await subscribe(client, citizen, service, answer=500)
    fine, _ = await subscribe(client, citizen, service)
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        await enqueue(conn, "case.approve", me, case_id=3, data={"item_name": "出生登记"})
    assert await d.deliver_due() == 1
    assert len(service.to(fine)) == 1 and service.to(slow) == [] and len(service.to(broken)) == 1
    retries = {r.data["subscription_id"]: r for r in await Outbox.filter(kind="push")}
    assert len(retries) == 2  # only the devices that did not take it are tried again
    throttled = next(r for r in retries.values() if r.error == "push service answered 429")
    assert throttled.due_at == TOMORROW + dt.timedelta(seconds=120) and throttled.attempts == 1

    clock.at = TOMORROW + dt.timedelta(seconds=120)
    assert await d.deliver_due() == 2
    assert len(service.to(slow)) == 1 and len(service.to(fine)) == 1  # the others are not sent it again
    assert (await Outbox.get(id=throttled.id)).outcome == DELIVERED
    for _ in range(policy.MAX_ATTEMPTS):
        clock.at += dt.timedelta(hours=2)
        await d.deliver_due()
    dead = await Outbox.get(kind="push", outcome=DEAD)
    assert dead.attempts == policy.MAX_ATTEMPTS and "500" in dead.error and dead.done_at is not None

    admin = await staff_tokens(client, "admin")
    r = await client.get("/api/v1/admin/notifications/dead-letters", headers=bearer(admin))
    assert r.status_code == 200
    assert [(x["id"], x["kind"], x["recipient"]) for x in r.json()["items"]] == [(dead.id, "push", me)]
    broken.answer = 201  # the push service is fixed
    r = await client.post(f"/api/v1/admin/notifications/dead-letters/{dead.id}/retry", headers=bearer(admin))
    assert r.status_code == 200 and r.json()["attempts"] == 0
    r = await client.post(f"/api/v1/admin/notifications/dead-letters/{dead.id}/retry", headers=bearer(admin))
    assert r.status_code == 409  # no longer dead
    assert await d.deliver_due() == 1
    assert (await Outbox.get(id=dead.id)).outcome == DELIVERED


async def test_a_row_for_a_removed_subscription_is_dropped_cleanly(
    client: AsyncClient, app: Litestar, service: PushService, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, clock = dispatcher
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    device, sub = await subscribe(client, citizen, service)
    clock.at = TOMORROW.replace(hour=23)
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        await enqueue(conn, "case.approve", me, case_id=3, data={"item_name": "出生登记"}, at=clock.at)
    assert await d.deliver_due() == 1  # quiet hours: the push waits for the morning
    other = await citizen_tokens(client, app)
    assert (await client.delete(f"/api/v1/me/push-subscriptions/{sub['id']}", headers=bearer(other))).status_code \
        == 404
    assert (await client.delete(f"/api/v1/me/push-subscriptions/{sub['id']}", headers=bearer(citizen))).status_code \
        == 204
    clock.at += dt.timedelta(hours=9)
    assert await d.deliver_due() == 1
    row = await Outbox.get(kind="push")
    assert (row.outcome, row.error) == (DROPPED, "") and service.to(device) == []


async def test_each_send_signs_for_its_own_push_service_and_fits_the_payload(
    client: AsyncClient, app: Litestar, service: PushService, settings: Settings,
) -> None:
    """A fresh claims dict per send: pywebpush writes the first endpoint's audience into a reused one,
    and the second push service would refuse it (403). And a long reason still fits in 4096 bytes."""
    second = await PushService().start()
    try:
        both = dataclasses.replace(settings, push_allow_origins=(service.origin, second.origin))
        app.state.settings = both
        citizen = await citizen_tokens(client, app)
        me = f"citizen:{await citizen_id(citizen)}"
        one, _ = await subscribe(client, citizen, service)
        two, _ = await subscribe(client, citizen, second)
        from tortoise.transactions import in_transaction

        async with in_transaction() as conn:
            await enqueue(conn, "case.deny", me, case_id=4, urgent=True,
                          data={"item_name": "出生登记", "reason": "理" * 2000})
        d = Dispatcher(both, app.state.otp.sender, clock=Clock(TOMORROW))
        assert await d.deliver_due() == 1
        await d.close()
        assert len(service.to(one)) == 1 and len(second.to(two)) == 1
        assert service.refused == [] and second.refused == []
        body = second.to(two)[0].payload["body"]
        assert body.startswith("「出生登记」不予批准：理") and body.endswith("…")
        assert len(push.fit_payload("需要补正材料", "理" * 5000, "/cases/4", "case-4", 1)) <= push.MAX_PAYLOAD
        message = await Message.get(recipient=me)
        assert message.body.endswith("理" * 2000)  # the message centre keeps it whole
    finally:
        await second.stop()


async def test_the_push_key_and_subscriptions(client: AsyncClient, app: Litestar, service: PushService,
                                              settings: Settings) -> None:
    r = await client.get("/api/v1/push/key")
    assert r.status_code == 200 and r.json() == {"public_key": VAPID_PUBLIC}
    citizen = await citizen_tokens(client, app)
    device, first = await subscribe(client, citizen, service)
    again = (await client.post("/api/v1/me/push-subscriptions", json=device.subscription(), headers=bearer(citizen)))
    assert again.status_code == 201 and again.json()["id"] == first["id"]  # the same browser, once
    other = await citizen_tokens(client, app)  # the phone changes hands: the device follows its new owner
    moved = await client.post("/api/v1/me/push-subscriptions", json=device.subscription(), headers=bearer(other))
    assert moved.json()["id"] == first["id"]
    assert (await client.get("/api/v1/me/push-subscriptions", headers=bearer(citizen))).json() == []
    assert [s["id"] for s in (await client.get("/api/v1/me/push-subscriptions", headers=bearer(other))).json()] \
        == [first["id"]]

    app.state.settings = dataclasses.replace(settings, vapid_private_key="")
    r = await client.get("/api/v1/push/key")
    assert r.status_code == 404 and r.json()["message"] == "本平台未开通消息推送"


@pytest.mark.parametrize(("change", "field"), [
    ({"endpoint": "http://push.example.com/x"}, "endpoint"),  # not https
    ({"endpoint": "https://10.1.2.3/push/x"}, "endpoint"),  # the operator's network
    ({"endpoint": "https://192.168.0.10:8443/x"}, "endpoint"),
    ({"endpoint": "https://127.0.0.1/x"}, "endpoint"),
    ({"endpoint": "https://[::1]/x"}, "endpoint"),
    ({"endpoint": "https://[::ffff:10.0.0.1]/x"}, "endpoint"),
    ({"endpoint": "https://169.254.169.254/latest/meta-data"}, "endpoint"),  # cloud metadata
    ({"endpoint": "https://100.64.0.1/x"}, "endpoint"),  # carrier-grade NAT
    ({"endpoint": "https://localhost/x"}, "endpoint"),  # a name that resolves inside
    ({"endpoint": "https://push.invalid/x"}, "endpoint"),  # a name that does not resolve
    ({"endpoint": "https://user:pw@push.example.com/x"}, "endpoint"),
    ({"endpoint": ""}, "endpoint"),
    ({"endpoint": "https://" + "a" * 1100 + ".com/x"}, "endpoint"),
    ({"keys": {"p256dh": "AAAA", "auth": "x" * 22}}, "keys.p256dh"),  # not a P-256 point
    ({"keys": {"p256dh": "BA" + "A" * 85, "auth": "x" * 22}}, "keys.p256dh"),  # 65 bytes, not on the curve
    ({"keys": {"auth": "x" * 22}}, "keys.p256dh"),
    ({"keys": "nope"}, "keys"),
    ({"keys": {"p256dh": None, "auth": "short"}}, "keys.p256dh"),
])
async def test_a_malformed_subscription_is_refused_and_never_stored(
    client: AsyncClient, app: Litestar, service: PushService, settings: Settings, change: dict, field: str,
) -> None:
    citizen = await citizen_tokens(client, app)
    device = service.device(VAPID_PUBLIC)
    body = {**device.subscription(), **change}
    r = await client.post("/api/v1/me/push-subscriptions", json=body, headers=bearer(citizen))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and r.json()["message"]
    assert not await PushSubscription.exists()


async def test_bad_auth_secret_is_refused(client: AsyncClient, app: Litestar, service: PushService,
                                         settings: Settings) -> None:
    citizen = await citizen_tokens(client, app)
    device = service.device(VAPID_PUBLIC)
    body = {**device.subscription(), "keys": {**device.keys, "auth": push.b64url(b"x" * 15)}}
    r = await client.post("/api/v1/me/push-subscriptions", json=body, headers=bearer(citizen))
    assert r.status_code == 422 and r.json()["field"] == "keys.auth"
    assert not await PushSubscription.exists()


def test_only_public_addresses_count_as_public() -> None:
    assert push.public_address("8.8.8.8") and push.public_address("2001:4860:4860::8888")
    for inside in ("10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "::1", "169.254.169.254", "100.64.1.1",
                   "::ffff:192.168.1.1", "fc00::1", "fe80::1%eth0", "224.0.0.1", "0.0.0.0", "not-an-ip"):
        assert not push.public_address(inside), inside
    assert push.retry_after_seconds("120") == 120.0
    now = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
    assert push.retry_after_seconds("Mon, 07 Dec 2026 08:01:00 GMT", now) == 60.0
    assert push.retry_after_seconds("soon") is None
    assert policy.backoff(1) == dt.timedelta(seconds=30) and policy.backoff(20) == dt.timedelta(hours=1)


def test_vapid_keys_prints_a_pair_that_works(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZHENGWU_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "api.cli", "vapid-keys"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    private = done.stdout.splitlines()[0].removeprefix("ZHENGWU_VAPID_PRIVATE_KEY=")
    public = done.stdout.splitlines()[1].rsplit(" ", 1)[1]
    assert push.application_server_key(private) == public and len(push.b64url_decode(public)) == 65
    assert Settings.from_env({"ZHENGWU_VAPID_PRIVATE_KEY": private, "ZHENGWU_VAR_DIR": str(tmp_path)}) \
        .vapid_private_key == private
    with pytest.raises(ConfigurationError, match="ZHENGWU_VAPID_PRIVATE_KEY"):
        Settings.from_env({"ZHENGWU_VAPID_PRIVATE_KEY": "not-a-key", "ZHENGWU_VAR_DIR": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="ZHENGWU_PUSH_ALLOW_ORIGINS"):
        Settings.from_env({"ZHENGWU_PUSH_ALLOW_ORIGINS": "127.0.0.1:80", "ZHENGWU_VAR_DIR": str(tmp_path)})
    # In development a key is made once under var/ and kept (browsers' subscriptions depend on it).
    first = Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path)}).vapid_private_key
    assert first and Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path)}).vapid_private_key == first
    prod = {"ZHENGWU_ENV": "production", "ZHENGWU_SECRET_KEY": "k" * 40, "ZHENGWU_VAR_DIR": str(tmp_path / "p")}
    assert Settings.from_env(prod).vapid_private_key == ""  # production: configured, or no Web Push


async def test_the_sender_never_reaches_inside_whatever_a_stored_row_says(
    client: AsyncClient, app: Litestar, service: PushService, dispatcher: tuple[Dispatcher, Clock],
) -> None:
    """Defence in depth: a subscription that got past the checks (or a name that resolves inside
    later) is refused by the sender itself — literal addresses before any connection, names by the
    connector's resolver — and never followed through a redirect."""
    d, _ = dispatcher
    citizen = await citizen_tokens(client, app)
    me = f"citizen:{await citizen_id(citizen)}"
    keys = service.device(VAPID_PUBLIC).keys
    for endpoint in ("https://10.0.0.1/push/x", "https://[::1]:9/push/x", "https://localhost:9/push/x",
                     "http://127.0.0.1:9/push/x"):
        await PushSubscription.create(owner=me, endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"],
                                      created_at=TOMORROW)
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        await enqueue(conn, "case.approve", me, case_id=1, data={"item_name": "出生登记"})
    assert await d.deliver_due() == 1
    errors = sorted(r.error for r in await Outbox.filter(kind="push"))
    assert errors == [
        "ClientConnectorDNSError: Cannot connect to host localhost:9 ssl:default "
        "[localhost resolves to an address that is not public]",
        "endpoint refused: endpoint must be https",
        "endpoint refused: not a public address",
        "endpoint refused: not a public address",
    ]
    assert service.refused == [] and service.received == []
