"""Notifications over HTTP: the message centre (citizens under /me, staff under /workbench), push
subscriptions and preferences, the VAPID public key, and the administrators' dead letters."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.core.errors import NotFound
from api.core.settings import Settings
from api.identity.guards import require_roles
from api.identity.principal import Principal
from api.notifications import services, texts
from api.notifications.models import Message, NotificationPreference, Outbox, PushSubscription
from api.notifications.push import application_server_key
from api.notifications.schemas import (
    DeadLetterOut,
    DeadLetterPage,
    KindOut,
    MarkedOut,
    MessageOut,
    MessagePage,
    PreferenceIn,
    PreferenceOut,
    PushKeyOut,
    SubscriptionIn,
    SubscriptionOut,
    UnreadOut,
)

PUBLIC = {"public": True}
SIGNED_IN = {"roles": ["authenticated"]}
CITIZEN = {"roles": ["citizen"]}
STAFF = {"roles": ["staff"]}
ADMIN = {"roles": ["admin"]}
Req = Request[Principal, Any, State]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]


def _message(m: Message) -> MessageOut:
    return MessageOut(id=m.id, kind=m.kind, case_id=m.case_id, title=m.title, body=m.body, title_en=m.title_en,
                      body_en=m.body_en, url=m.url, urgent=m.urgent, created_at=m.created_at,
                      read=m.read_at is not None)


async def _page(subject: str, limit: int, cursor: str | None, unread: bool) -> MessagePage:
    page = await services.message_page(subject, limit, cursor, unread)
    return MessagePage(items=[_message(m) for m in page.items], next_cursor=page.next_cursor, unread=page.unread)


def _subscription(s: PushSubscription) -> SubscriptionOut:
    return SubscriptionOut(id=s.id, endpoint=s.endpoint, created_at=s.created_at, last_success_at=s.last_success_at)


def _preference(p: NotificationPreference) -> PreferenceOut:
    kinds = [KindOut(kind=k, name=texts.render(k, {}, None).title, mutable=k not in services.UNMUTABLE)
             for k in services.kinds_for(p.subject)]
    return PreferenceOut(push=p.push, sms=p.sms, muted=list(p.muted or []), quiet_hours=p.quiet_hours,
                         quiet_start=p.quiet_start, quiet_end=p.quiet_end, language=p.language, kinds=kinds)


class _MessageCentre(Controller):
    """The same four routes for citizens and staff; each reads only its caller's messages."""

    guards = [require_roles]
    tags = ["notifications"]

    @get("", summary="My messages, newest first (keyset pages), with the unread count")
    async def messages(self, request: Req, limit: Limit = 20, cursor: Cursor = None,
                       unread: FromQuery[bool] = False) -> MessagePage:
        return await _page(request.user.subject, limit, cursor, unread)

    @get("/unread-count", summary="How many of my messages are unread")
    async def unread(self, request: Req) -> UnreadOut:
        return UnreadOut(unread=await services.unread_count(request.user.subject))

    @post("/{id:int}/read", status_code=200, summary="Mark one of my messages read")
    async def read(self, request: Req, id: FromPath[int]) -> MessageOut:
        return _message(await services.mark_read(request.user.subject, id))

    @post("/read-all", status_code=200, summary="Mark all my messages read")
    async def read_all(self, request: Req) -> MarkedOut:
        return MarkedOut(marked=await services.mark_all_read(request.user.subject))


class CitizenMessageController(_MessageCentre):
    path = "/api/v1/me/messages"
    opt = CITIZEN


class StaffMessageController(_MessageCentre):
    path = "/api/v1/workbench/messages"
    opt = STAFF


class NotificationSettingsController(Controller):
    """Push subscriptions and lock-screen preferences of whoever is signed in."""

    path = "/api/v1/me"
    guards = [require_roles]
    opt = SIGNED_IN
    tags = ["notifications"]

    @get("/push-subscriptions", summary="My devices that take Web Push")
    async def devices(self, request: Req) -> list[SubscriptionOut]:
        return [_subscription(s) for s in await services.subscriptions_of(request.user.subject)]

    @post("/push-subscriptions", status_code=201,
          summary="Subscribe this browser to Web Push (its PushSubscription.toJSON())")
    async def subscribe(self, state: State, request: Req, data: JSONBody[SubscriptionIn]) -> SubscriptionOut:
        settings: Settings = state.settings
        sub = await services.subscribe(request.user.subject, data.endpoint, data.keys, settings.push_allow_origins)
        return _subscription(sub)

    @delete("/push-subscriptions/{id:int}", status_code=204, summary="Unsubscribe one of my devices")
    async def unsubscribe(self, request: Req, id: FromPath[int]) -> None:
        await services.unsubscribe(request.user.subject, id)

    @get("/notification-preferences", summary="What reaches my lock screen, and when")
    async def preferences(self, request: Req) -> PreferenceOut:
        return _preference(await services.preference_of(request.user.subject))

    @put("/notification-preferences", summary="Choose what reaches my lock screen, and when")
    async def set_preferences(self, request: Req, data: JSONBody[PreferenceIn]) -> PreferenceOut:
        pref = await services.set_preference(
            request.user.subject, push_on=data.push, sms_on=data.sms, muted=data.muted, quiet_hours=data.quiet_hours,
            quiet_start=data.quiet_start, quiet_end=data.quiet_end, language=data.language)
        return _preference(pref)


class PushKeyController(Controller):
    path = "/api/v1/push"
    tags = ["notifications"]

    @get("/key", opt=PUBLIC, summary="The VAPID public key browsers subscribe with")
    async def key(self, state: State) -> PushKeyOut:
        settings: Settings = state.settings
        if not settings.vapid_private_key:
            raise NotFound("本平台未开通消息推送", "Web Push is not configured (ZHENGWU_VAPID_PRIVATE_KEY)")
        return PushKeyOut(public_key=application_server_key(settings.vapid_private_key))


def _dead(o: Outbox) -> DeadLetterOut:
    return DeadLetterOut(id=o.id, kind=o.kind, recipient=o.recipient, case_id=o.case_id, attempts=o.attempts,
                         error=o.error, created_at=o.created_at, done_at=o.done_at)


class AdminNotificationController(Controller):
    path = "/api/v1/admin/notifications"
    guards = [require_roles]
    opt = ADMIN
    tags = ["admin"]

    @get("/dead-letters", summary="Notifications given up on, newest first, with why")
    async def dead_letters(self, limit: Limit = 50, cursor: Cursor = None) -> DeadLetterPage:
        page = await services.dead_letters(limit, cursor)
        return DeadLetterPage(items=[_dead(o) for o in page.items], next_cursor=page.next_cursor)

    @post("/dead-letters/{id:int}/retry", status_code=200, summary="Deliver a dead letter again (audited)")
    async def retry(self, request: Req, id: FromPath[int]) -> DeadLetterOut:
        return _dead(await services.retry_dead_letter(request.user.subject, id))
