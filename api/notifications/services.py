"""Writing to the outbox: ``enqueue`` inside the caller's transaction, and ``case_changed``, the
rule for which moves of a case the applicant hears of (called by ``workflow.services.apply`` only);
and what people do with their notifications: the message centre, push subscriptions, preferences,
and the administrators' dead letters.

The texts are not written here: a row holds its kind and data, and the delivery renders them in the
recipient's language when it is sent (``texts.py``), so that a text can be corrected without
rewriting history."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.audit.chain import safe_json
from api.audit.services import record
from api.cases.models import Case
from api.core import cursors
from api.core.errors import Conflict, NotFound, RuleViolation
from api.notifications import policy, push, texts
from api.notifications.models import DEAD, Message, NotificationPreference, Outbox, PushSubscription

#: The moves of a case its applicant is told of, by the action that made them. Internal work
#: (claim, release, comment, start of review) and the applicant's own moves (submit online, resupply,
#: withdraw) tell them nothing new.
CASE_ACTIONS = frozenset({
    "accept", "deem_accepted", "refuse", "request_correction", "approve", "deny", "suspend", "resume",
    "extend", "deliver", "survey_scheduled", "terminate",
})
#: Moves the applicant must hear of at once, quiet hours or not: they have to act, or it is over.
URGENT_ACTIONS = frozenset({"request_correction", "refuse", "deny", "terminate"})


#: The PostgreSQL channel the dispatchers LISTEN on. A NOTIFY inside a transaction is sent when it
#: commits (and never if it rolls back), and several in one transaction arrive as one.
CHANNEL = "zhengwu_outbox"
log = logging.getLogger(__name__)


async def enqueue(
    conn: BaseDBAsyncClient, kind: str, recipient: str, *, case_id: int | None = None,
    data: dict[str, Any] | None = None, urgent: bool = False, at: dt.datetime | None = None, notify: bool = True,
) -> Outbox:
    """One outbox row, in ``conn``'s transaction: delivered only if that transaction commits. On
    PostgreSQL the commit also wakes the dispatchers (they poll on SQLite). ``notify=False``: the
    caller wakes them itself after its commit (``wake``)."""
    now = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    row = await Outbox.create(kind=kind, recipient=recipient, case_id=case_id, data=data or {},
                              urgent=urgent, created_at=now, due_at=now, using_db=conn)
    if notify and conn.capabilities.dialect == "postgres":
        await conn.execute_query(f"NOTIFY {CHANNEL}")
    return row


async def enqueue_many(
    conn: BaseDBAsyncClient, rows: Sequence[tuple[str, str, int | None, dict[str, Any], bool]], *,
    at: dt.datetime | None = None,
) -> None:
    """Outbox rows ``(kind, recipient, case_id, data, urgent)`` in ``conn``'s transaction, as
    ``enqueue`` writes them, in one multi-row INSERT (a supervision tick raises thousands at once:
    one round trip per row was most of its time) and one NOTIFY for them all."""
    if not rows:
        return
    now = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    await Outbox.bulk_create([Outbox(kind=kind, recipient=recipient, case_id=case_id, data=data, urgent=urgent,
                                     created_at=now, due_at=now) for kind, recipient, case_id, data, urgent in rows],
                             batch_size=1000, using_db=conn)
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query(f"NOTIFY {CHANNEL}")


async def wake(conn: BaseDBAsyncClient | None = None) -> None:
    """Wake the dispatchers now (PostgreSQL; nothing on SQLite): after the commit of a transaction
    that wrote outbox rows with ``notify=False``.

    Why not always NOTIFY inside the writer's transaction: PostgreSQL serialises the commits of
    all transactions that sent a NOTIFY (one lock, taken before the commit record is written and
    held until it is flushed), so every case move would commit one after another, whatever else
    they share. A NOTIFY on its own writes nothing and holds that lock for an instant. If the
    process stops between the commit and this call, the rows wait for the dispatchers' next poll.
    Called within an outer transaction, the NOTIFY is sent in it (the current connection), and
    arrives when that commits, as before. A failure here is logged, not raised: what the caller
    committed stands, and the dispatchers' poll finds the rows."""
    conn = conn or Tortoise.get_connection("default")
    if conn.capabilities.dialect != "postgres":
        return
    try:
        await conn.execute_query(f"NOTIFY {CHANNEL}")
    except Exception as exc:  # committed already: the poll delivers
        log.warning("could not wake the dispatchers (they find the rows when they poll): %s", exc)


def case_kind(action: str, *, by_applicant: bool) -> str | None:
    """The outbox kind a case action writes for its applicant, or None when it writes none. A
    submission made for the applicant at a window (a walk-in case) is news to them; their own is not."""
    if action == "submit":
        return None if by_applicant else "case.submit"
    return f"case.{action}" if action in CASE_ACTIONS else None


async def case_changed(
    conn: BaseDBAsyncClient, case: Case, action: str, *, actor: str, at: dt.datetime, details: dict[str, Any],
    notify: bool = True,
) -> Outbox | None:
    """Tell the applicant of a move of their case, when it is one they are told of."""
    applicant = f"citizen:{case.applicant_id}"  # type: ignore[attr-defined]
    kind = case_kind(action, by_applicant=actor == applicant)
    if kind is None:
        return None
    data = {"number": case.number, "item_name": case.item_name, "state": case.state, **details}
    return await enqueue(conn, kind, applicant, case_id=case.id, data=_json(data), urgent=action in URGENT_ACTIONS,
                         at=at, notify=notify)


def _json(value: dict[str, Any]) -> dict[str, Any]:
    # Dates and datetimes as ISO text, as the API writes them.
    return safe_json(msgspec.json.decode(msgspec.json.encode(value)))


# --------------------------------------------------------------------------- the message centre

#: The kinds of the rows the dispatcher delivers to a person (the event kinds); ``push`` and ``sms``
#: are its own channel rows.
EVENT_KINDS = frozenset(texts.CITIZEN_TEXTS) | frozenset(texts.STAFF_TEXTS)
#: Kinds a person cannot take off their lock screen: they have to act on them, or it is over.
UNMUTABLE = frozenset(f"case.{a}" for a in URGENT_ACTIONS)


@dataclass(frozen=True, slots=True)
class MessagePage:
    items: list[Message]
    next_cursor: str | None
    unread: int


async def unread_count(subject: str) -> int:
    return await Message.filter(recipient=subject, read_at__isnull=True).count()


async def message_page(subject: str, limit: int = 20, cursor: str | None = None, unread_only: bool = False
                       ) -> MessagePage:
    """Newest first, keyset on the id (which rises with the time a message was written)."""
    query = Message.filter(recipient=subject)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    if cursor:
        _at, last_id = cursors.decode_moment(cursor)
        query = query.filter(id__lt=last_id)
    items = await query.order_by("-id").limit(limit + 1)
    more = len(items) > limit
    items = items[:limit]
    following = cursors.encode(items[-1].created_at, items[-1].id) if more and items else None
    return MessagePage(items, following, await unread_count(subject))


async def mark_read(subject: str, message_id: int, now: dt.datetime | None = None) -> Message:
    message = await Message.get_or_none(id=message_id, recipient=subject)
    if message is None:  # someone else's message does not exist for this caller
        raise NotFound(f"没有找到这条消息：{message_id}", f"message not found: {message_id}", "id")
    if message.read_at is None:
        message.read_at = now or dt.datetime.now(dt.UTC)
        await Message.filter(id=message.id, read_at__isnull=True).update(read_at=message.read_at)
    return message


async def mark_all_read(subject: str, now: dt.datetime | None = None) -> int:
    return await Message.filter(recipient=subject, read_at__isnull=True).update(
        read_at=now or dt.datetime.now(dt.UTC))


# --------------------------------------------------------------------------- push subscriptions

#: Devices one person may have subscribed at once; a new one beyond replaces the oldest.
MAX_DEVICES = 10


async def subscribe(subject: str, endpoint: Any, keys: Any, allowed_origins: tuple[str, ...],
                    now: dt.datetime | None = None) -> PushSubscription:
    """Keep a browser's subscription for ``subject``, once its endpoint and keys are checked (a
    RuleViolation otherwise, nothing stored). The same endpoint again updates it (a browser renews
    its keys; a shared phone changes hands)."""
    checked = await push.check_endpoint(endpoint, frozenset(allowed_origins))
    p256dh, auth = push.check_keys(keys)
    now = now or dt.datetime.now(dt.UTC)
    for _ in range(2):  # a race on the same endpoint: the second finds the first's row
        try:
            async with in_transaction() as conn:
                found = await PushSubscription.filter(endpoint=checked.endpoint).using_db(conn) \
                    .select_for_update().first()
                if found is None:
                    found = await PushSubscription.create(owner=subject, endpoint=checked.endpoint, p256dh=p256dh,
                                                          auth=auth, created_at=now, using_db=conn)
                else:
                    found.owner, found.p256dh, found.auth = subject, p256dh, auth
                    await found.save(using_db=conn, update_fields=["owner", "p256dh", "auth"])
                ids = await PushSubscription.filter(owner=subject).using_db(conn).order_by("-id") \
                    .values_list("id", flat=True)
                if len(ids) > MAX_DEVICES:
                    await PushSubscription.filter(id__in=ids[MAX_DEVICES:]).using_db(conn).delete()
                return found
        except IntegrityError:
            continue
    raise Conflict("推送订阅正在更新，请重试", "the subscription changed meanwhile; retry")


async def subscriptions_of(subject: str) -> list[PushSubscription]:
    return await PushSubscription.filter(owner=subject).order_by("id")


async def unsubscribe(subject: str, subscription_id: int) -> None:
    if not await PushSubscription.filter(id=subscription_id, owner=subject).delete():
        raise NotFound(f"没有找到这个推送订阅：{subscription_id}", f"subscription not found: {subscription_id}", "id")


# --------------------------------------------------------------------------- preferences


def default_preference(subject: str) -> NotificationPreference:
    return NotificationPreference(subject=subject, push=True, sms=True, muted=[], quiet_hours=True,
                                  quiet_start="22:00", quiet_end="07:00", language="zh-CN",
                                  updated_at=dt.datetime.now(dt.UTC))


async def preference_of(subject: str) -> NotificationPreference:
    return await NotificationPreference.get_or_none(subject=subject) or default_preference(subject)


def kinds_for(subject: str) -> list[str]:
    """The kinds a person may receive (and so choose about), citizens' or staff's."""
    table = texts.STAFF_TEXTS if subject.startswith("staff:") else texts.CITIZEN_TEXTS
    return sorted(table)


async def set_preference(subject: str, *, push_on: bool, sms_on: bool, muted: list[str], quiet_hours: bool,
                         quiet_start: str, quiet_end: str, language: str) -> NotificationPreference:
    allowed = set(kinds_for(subject))
    unknown = [k for k in muted if k not in allowed]
    if unknown:
        raise RuleViolation(f"没有这种通知：{'、'.join(unknown)}", f"unknown kinds: {', '.join(unknown)}", "muted")
    kept = [k for k in muted if k in UNMUTABLE]
    if kept:
        raise RuleViolation("需要您处理的通知（补正、不予受理、不予批准）不能关闭",
                            f"cannot be muted: {', '.join(kept)}", "muted")
    for name, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        try:
            policy.parse_hhmm(value)
        except ValueError:
            raise RuleViolation("免打扰时间应写成 HH:MM，例如 22:00", f"{name} must be HH:MM", name) from None
    if language not in texts.LANGUAGES:
        raise RuleViolation("语言只能是 zh-CN 或 en", "language must be zh-CN or en", "language")
    values = {"push": push_on, "sms": sms_on, "muted": sorted(set(muted)), "quiet_hours": quiet_hours,
              "quiet_start": quiet_start, "quiet_end": quiet_end, "language": language,
              "updated_at": dt.datetime.now(dt.UTC)}
    pref, created = await NotificationPreference.get_or_create(defaults=values, subject=subject)
    if not created:
        await NotificationPreference.filter(id=pref.id).update(**values)
        pref = await NotificationPreference.get(id=pref.id)
    return pref


# --------------------------------------------------------------------------- dead letters


@dataclass(frozen=True, slots=True)
class OutboxPage:
    items: list[Outbox]
    next_cursor: str | None


async def dead_letters(limit: int = 50, cursor: str | None = None) -> OutboxPage:
    """Rows given up on, newest first (keyset on the id)."""
    query = Outbox.filter(outcome=DEAD)
    if cursor:
        _at, last_id = cursors.decode_moment(cursor)
        query = query.filter(id__lt=last_id)
    rows = await query.order_by("-id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return OutboxPage(rows, cursors.encode(rows[-1].created_at, rows[-1].id) if more and rows else None)


async def retry_dead_letter(actor: str, outbox_id: int, now: dt.datetime | None = None) -> Outbox:
    """Try a dead letter again from the start (an administrator fixed what made it fail), audited."""
    now = now or dt.datetime.now(dt.UTC)
    async with in_transaction() as conn:
        row = await Outbox.filter(id=outbox_id).using_db(conn).select_for_update().first()
        if row is None:
            raise NotFound(f"没有找到这条通知：{outbox_id}", f"outbox row not found: {outbox_id}", "id")
        if row.outcome != DEAD:
            raise Conflict("只有投递失败的通知可以重新投递", "only a dead letter can be retried", "id")
        before = {"attempts": row.attempts, "error": row.error}
        row.done_at, row.outcome, row.attempts, row.due_at, row.error = None, "", 0, now, ""
        await row.save(using_db=conn)
        await record(conn, actor, "notification.retry", "outbox", str(row.id), before=before,
                     after={"kind": row.kind})
        if conn.capabilities.dialect == "postgres":
            await conn.execute_query(f"NOTIFY {CHANNEL}")
    return row
