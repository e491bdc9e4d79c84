"""The dispatcher: claims due outbox rows and delivers each to its recipient's channels.

* **Claiming.** On PostgreSQL a batch is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` inside one
  transaction that stays open while the batch is delivered and commits the outcome: rows another
  dispatcher holds are skipped, so several processes never deliver one row at the same time, and
  a committed row (``done_at``) is never claimed again. A process killed mid-batch loses nothing:
  PostgreSQL rolls its transaction back and another dispatcher claims the rows again — at least
  once towards the push service (the phone shows a message delivered twice once: Topic and tag),
  exactly once into the message centre (the message and ``done_at`` commit together). On SQLite
  (one process: the server's own, ``api/app.py``) the rows are read, delivered, and the outcome is
  written in one short transaction, so the server's writers never wait on a push service.
* **Waking.** On PostgreSQL ``enqueue`` sends ``NOTIFY zhengwu_outbox`` in the writer's transaction;
  it arrives when that commits, and the dispatcher LISTENing on a connection of its own starts at
  once. A case move (``workflow.services.apply``) sends it right after its commit instead
  (``services.wake``: NOTIFYing transactions commit one at a time on PostgreSQL). Polling every
  ``notify_poll_interval`` seconds is the fallback (a lost connection, rows that
  fall due later) and the only way on SQLite.
* **Delivering.** An event row (a case's move, a supervision alert, a rating's step) writes the
  recipient's in-app message (always) and, unless muted or in quiet hours (then later), sends it
  as Web Push to each of their devices, or — a citizen without any device that takes push — as
  SMS. A send that must wait or failed becomes a channel row (``push``, ``sms``) of its own, tried
  again with backoff (a 429's Retry-After first) and given up after ``policy.MAX_ATTEMPTS``: a dead
  letter the administrators see. 404/410 from a push service removes the subscription; a channel
  row whose subscription is gone is dropped without error.

``python -m api.notifications.dispatcher --database URL`` runs one dispatcher process (for
PostgreSQL deployments and the tests that kill one); the worker runs ``Dispatcher.run`` as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from api.core.settings import Settings
from api.identity.models import Citizen
from api.identity.sms import SmsSender, SmsUnconfigured
from api.notifications import policy, texts
from api.notifications.models import DEAD, DELIVERED, DROPPED, Message, NotificationPreference, Outbox, PushSubscription
from api.notifications.push import PushSender, PushTarget, Sent, fit_payload
from api.notifications.services import CHANNEL, EVENT_KINDS, default_preference

log = logging.getLogger("zhengwu.notifications")

RETRY = "retry"
#: Sends under way at once in one batch (push services are many; each answers in tens of ms).
CONCURRENCY = 64
SMS_SIGNATURE = "【政务服务】"


@dataclass(slots=True)
class Outcome:
    """What became of one row, and what its delivery writes in the claim's transaction."""

    outcome: str  # delivered | dropped | dead | retry
    error: str = ""
    retry_at: dt.datetime | None = None
    counted: bool = True  # a try (towards MAX_ATTEMPTS); an unconfigured SMS gateway's wait is not
    message: Message | None = None
    follow_ups: list[Outbox] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)  # subscriptions the push service no longer knows
    reached: list[int] = field(default_factory=list)  # subscriptions that took a push now


@dataclass(slots=True)
class Batch:
    """What the rows of one claim need from the database, read once (not per row: the claim's
    connection runs one statement at a time, and the sends run side by side)."""

    now: dt.datetime
    preferences: dict[str, NotificationPreference]
    devices: dict[str, list[PushSubscription]]  # by owner
    by_id: dict[int, PushSubscription]
    phones: dict[int, str]  # citizen id → phone


Handler = Callable[["Dispatcher", Outbox, Batch], Awaitable[Outcome]]


def _citizen_id(recipient: str) -> int | None:
    kind, _, raw = recipient.partition(":")
    return int(raw) if kind == "citizen" and raw.isdigit() else None


class Dispatcher:
    """Delivers the outbox. One per process; ``run`` until ``stop`` is set, or ``deliver_due`` by hand."""

    def __init__(self, settings: Settings, sms: SmsSender, *, batch: int = 100,
                 poll_interval: float | None = None, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.settings, self.sms, self.batch = settings, sms, batch
        self.poll_interval = settings.notify_poll_interval if poll_interval is None else poll_interval
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.push = (PushSender(settings.vapid_private_key, settings.vapid_subject, settings.push_allow_origins)
                     if settings.vapid_private_key else None)
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._sms_warned = False
        self._listen_warned = False
        self.delivered = 0  # rows finished by this dispatcher (for logs and the benchmark)

    # ------------------------------------------------------------------ one batch

    async def deliver_due(self, limit: int | None = None) -> int:
        """Claim and deliver up to ``limit`` due rows; the number claimed (0: nothing was due)."""
        limit = limit or self.batch
        # In UTC: SQLite compares the stored text, and a moment written in another zone sorts wrongly.
        now = self.clock().astimezone(dt.UTC)
        due = Outbox.filter(done_at__isnull=True, due_at__lte=now).order_by("due_at", "id").limit(limit)
        if Outbox._meta.db.capabilities.dialect == "postgres":
            async with in_transaction() as conn:
                rows = await due.select_for_update(skip_locked=True).using_db(conn)
                if rows:
                    outcomes = await self._deliver(conn, rows, now)
                    await self._record(conn, rows, outcomes, now)
        else:
            rows = await due
            if rows:
                outcomes = await self._deliver(None, rows, now)
                async with in_transaction() as conn:
                    await self._record(conn, rows, outcomes, now)
        self.delivered += len(rows)
        return len(rows)

    async def _load(self, conn: BaseDBAsyncClient | None, rows: list[Outbox], now: dt.datetime) -> Batch:
        people = {r.recipient for r in rows}
        wanted = {int(r.data["subscription_id"]) for r in rows
                  if r.kind == "push" and isinstance(r.data.get("subscription_id"), int)}
        preferences = {p.subject: p for p in await NotificationPreference.filter(subject__in=people).using_db(conn)}
        devices: dict[str, list[PushSubscription]] = {}
        by_id: dict[int, PushSubscription] = {}
        for sub in await PushSubscription.filter(owner__in=people).using_db(conn).order_by("id"):
            devices.setdefault(sub.owner, []).append(sub)
            by_id[sub.id] = sub
        missing = wanted - by_id.keys()
        if missing:
            by_id.update({s.id: s for s in await PushSubscription.filter(id__in=missing).using_db(conn)})
        citizens = {c for c in (_citizen_id(p) for p in people) if c is not None}
        phones = dict(await Citizen.filter(id__in=citizens).using_db(conn).values_list("id", "phone")) \
            if citizens else {}
        return Batch(now, preferences, devices, by_id, phones)  # type: ignore[arg-type]

    async def _deliver(self, conn: BaseDBAsyncClient | None, rows: list[Outbox], now: dt.datetime) -> list[Outcome]:
        batch = await self._load(conn, rows, now)
        return list(await asyncio.gather(*(self._one(row, batch) for row in rows)))

    async def _one(self, row: Outbox, batch: Batch) -> Outcome:
        handler = handler_for(row.kind)
        if handler is None:
            return Outcome(DEAD, f"no handler for kind {row.kind!r}")
        try:
            return await handler(self, row, batch)
        except Exception as exc:  # one row's fault never stops the batch: it is retried, then dead
            log.exception("delivering outbox row %s (%s) failed", row.id, row.kind)
            return self._failed(row, batch.now, f"{type(exc).__name__}: {str(exc)[:300]}")

    def _failed(self, row: Outbox, now: dt.datetime, error: str, retry_after: float | None = None) -> Outcome:
        tries = row.attempts + 1
        if tries >= policy.MAX_ATTEMPTS:
            return Outcome(DEAD, f"gave up after {tries} tries: {error}")
        wait = dt.timedelta(seconds=retry_after) if retry_after is not None else policy.backoff(tries)
        return Outcome(RETRY, error, now + wait)

    async def _record(self, conn: BaseDBAsyncClient, rows: list[Outbox], outcomes: list[Outcome],
                      now: dt.datetime) -> None:
        messages = [o.message for o in outcomes if o.message is not None]
        if messages:
            # outbox_id is unique: a message already written for a row (never, with the claim's
            # lock; but an effect must be harmless twice) is kept, not duplicated.
            await Message.bulk_create(messages, ignore_conflicts=True, using_db=conn)
        follow_ups = [f for o in outcomes for f in o.follow_ups]
        if follow_ups:
            await Outbox.bulk_create(follow_ups, using_db=conn)
        gone = {s for o in outcomes for s in o.gone}
        if gone:
            await PushSubscription.filter(id__in=gone).using_db(conn).delete()
        reached = {s for o in outcomes for s in o.reached} - gone
        if reached:
            await PushSubscription.filter(id__in=reached).using_db(conn).update(last_success_at=now)
        finished: dict[str, list[int]] = {}
        for row, o in zip(rows, outcomes, strict=True):
            if o.outcome in (DELIVERED, DROPPED) and not o.error:
                finished.setdefault(o.outcome, []).append(row.id)
                continue
            attempts = row.attempts + (1 if o.counted else 0)
            if o.outcome == RETRY:
                await Outbox.filter(id=row.id).using_db(conn).update(
                    attempts=attempts, due_at=o.retry_at or now, error=o.error[:2000])
            else:
                await Outbox.filter(id=row.id).using_db(conn).update(
                    attempts=attempts, done_at=now, outcome=o.outcome, error=o.error[:2000])
                if o.outcome == DEAD:
                    log.warning("outbox row %s (%s) is a dead letter: %s", row.id, row.kind, o.error[:300])
        for outcome, ids in finished.items():
            await Outbox.filter(id__in=ids).using_db(conn).update(
                done_at=now, outcome=outcome, attempts=F("attempts") + 1, error="")

    # ------------------------------------------------------------------ handlers

    async def _event(self, row: Outbox, batch: Batch) -> Outcome:
        """A case's move, an alert, a rating's step: the message centre, then the lock screen."""
        text = texts.render(row.kind, row.data or {}, row.case_id)
        pref = batch.preferences.get(row.recipient) or default_preference(row.recipient)
        message = Message(recipient=row.recipient, outbox_id=row.id, kind=row.kind, case_id=row.case_id,
                          title=text.title, body=text.body, title_en=text.title_en[:100], body_en=text.body_en,
                          url=text.url, urgent=row.urgent, created_at=batch.now)
        done = Outcome(DELIVERED, message=message)
        if row.kind in pref.muted and not row.urgent:
            return done
        title, body = text.in_language(pref.language)
        quiet = None if row.urgent or not pref.quiet_hours else policy.quiet_until(
            batch.now, pref.quiet_start, pref.quiet_end)
        topic = policy.topic(row.case_id, row.id)
        urgency = "high" if row.urgent else "normal"
        devices = batch.devices.get(row.recipient, []) if pref.push and self.push is not None else []
        reachable = bool(devices)
        if devices:
            payload = msgspec.json.decode(fit_payload(title, body, text.url, topic, row.id))
            data = {"payload": payload, "urgency": urgency, "topic": topic}
            if quiet is not None:
                done.follow_ups += [self._channel_row(row, "push", {**data, "subscription_id": s.id}, quiet)
                                    for s in devices]
            else:
                sent = await asyncio.gather(*(self._push(s, payload, urgency, topic) for s in devices))
                for sub, answer in zip(devices, sent, strict=True):
                    self._after_push(row, sub, answer, {**data, "subscription_id": sub.id}, batch.now, done)
                reachable = len(done.gone) < len(devices)
        citizen = _citizen_id(row.recipient)
        if not reachable and citizen is not None and pref.sms and batch.phones.get(citizen):
            sms = {"text": sms_text(title, body)}
            if quiet is not None:
                done.follow_ups.append(self._channel_row(row, "sms", sms, quiet))
            else:
                failure = await self._send_sms(batch.phones[citizen], sms["text"])
                if failure is not None:
                    later = failure if isinstance(failure, dt.timedelta) else policy.backoff(1)
                    retry = self._channel_row(row, "sms", sms, batch.now + later)
                    retry.attempts = 0 if isinstance(failure, dt.timedelta) else 1
                    retry.error = "" if isinstance(failure, dt.timedelta) else failure
                    done.follow_ups.append(retry)
        return done

    def _after_push(self, row: Outbox, sub: PushSubscription, answer: Sent, data: dict[str, Any],
                    now: dt.datetime, done: Outcome) -> None:
        """A first send's answer: reached, gone, or a channel row to try again (or a dead one)."""
        if answer.ok:
            done.reached.append(sub.id)
        elif answer.gone:
            done.gone.append(sub.id)
        else:
            first = self._classify(Outbox(attempts=0), answer, now)
            follow = self._channel_row(row, "push", data, first.retry_at or now)
            follow.attempts, follow.error = 1, first.error[:2000]
            if first.outcome == DEAD:
                follow.done_at, follow.outcome = now, DEAD
            done.follow_ups.append(follow)

    def _classify(self, row: Outbox, answer: Sent, now: dt.datetime) -> Outcome:
        if answer.ok:
            return Outcome(DELIVERED)
        if answer.gone:
            return Outcome(DROPPED)
        error = answer.error or f"push service answered {answer.status}"
        if answer.status == 413 or 300 <= answer.status < 400:  # never better by trying again
            return Outcome(DEAD, error)
        return self._failed(row, now, error, answer.retry_after if answer.status in (429, 503) else None)

    @staticmethod
    def _channel_row(row: Outbox, kind: str, data: dict[str, Any], due: dt.datetime) -> Outbox:
        return Outbox(kind=kind, recipient=row.recipient, case_id=row.case_id, data={**data, "event": row.id},
                      urgent=row.urgent, created_at=due if due < row.created_at else row.created_at, due_at=due,
                      attempts=0, error="", outcome="")

    async def _push(self, sub: PushSubscription, payload: dict[str, Any], urgency: str, topic: str) -> Sent:
        assert self.push is not None
        async with self._limit:
            return await self.push.send(PushTarget(sub.endpoint, sub.p256dh, sub.auth),
                                        msgspec.json.encode(payload), urgency=urgency, topic=topic)

    async def _send_sms(self, phone: str, text: str) -> str | dt.timedelta | None:
        """None when sent; a wait (not a failure) while no gateway is configured; else the error."""
        try:
            async with self._limit:
                await self.sms.send_text(phone, text)
        except SmsUnconfigured:
            if not self._sms_warned:
                self._sms_warned = True
                log.warning("no SMS gateway is configured: SMS notifications stay queued until one is")
            return dt.timedelta(seconds=policy.SMS_UNCONFIGURED_RETRY)
        except Exception as exc:
            return f"{type(exc).__name__}: {str(exc)[:300]}"
        return None

    async def _push_row(self, row: Outbox, batch: Batch) -> Outcome:
        """A push that waited (quiet hours) or failed before, to one device."""
        sub = batch.by_id.get(row.data.get("subscription_id"))  # type: ignore[arg-type]
        if sub is None:
            return Outcome(DROPPED)  # the device was unsubscribed meanwhile: nothing left to deliver to
        if self.push is None:
            return self._failed(row, batch.now, "Web Push is not configured (ZHENGWU_VAPID_PRIVATE_KEY)")
        answer = await self._push(sub, row.data["payload"], row.data.get("urgency", "normal"),
                                  row.data.get("topic", policy.topic(row.case_id, row.id)))
        outcome = self._classify(row, answer, batch.now)
        if answer.ok:
            outcome.reached.append(sub.id)
        elif answer.gone:
            outcome.gone.append(sub.id)
        return outcome

    async def _sms_row(self, row: Outbox, batch: Batch) -> Outcome:
        citizen = _citizen_id(row.recipient)
        phone = batch.phones.get(citizen) if citizen is not None else None
        if not phone:
            return Outcome(DROPPED)  # the account is gone
        failure = await self._send_sms(phone, str(row.data.get("text", "")))
        if failure is None:
            return Outcome(DELIVERED)
        if isinstance(failure, dt.timedelta):
            return Outcome(RETRY, "no SMS gateway configured", batch.now + failure, counted=False)
        return self._failed(row, batch.now, failure)

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set: woken by NOTIFY on PostgreSQL, polling as the fallback."""
        listener: asyncpg.Connection | None = None
        failures = 0
        try:
            while not stop.is_set():
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                self._wake.clear()  # a NOTIFY from now on wakes the wait below at once
                try:
                    claimed = await self.deliver_due()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    if failures == 1:
                        log.warning("the dispatcher cannot deliver now (%s: %s); retrying", type(exc).__name__,
                                    str(exc)[:200])
                    await self._sleep(stop, min(30.0, self.poll_interval * 2 ** failures))
                    continue
                if claimed >= self.batch:
                    continue  # more are waiting
                await self._sleep(stop, await self._idle_time())
        finally:
            if listener is not None and not listener.is_closed():
                with contextlib.suppress(Exception):
                    await listener.close()

    async def _idle_time(self) -> float:
        """Until the next row falls due, at most the poll interval."""
        try:
            nxt = await Outbox.filter(done_at__isnull=True).order_by("due_at").limit(1).values_list("due_at",
                                                                                                   flat=True)
        except Exception:
            return self.poll_interval
        if not nxt:
            return self.poll_interval
        wait = (nxt[0] - self.clock()).total_seconds()  # type: ignore[operator]
        # A row already due that this dispatcher did not claim is another's (locked): no hurry.
        return self.poll_interval if wait <= 0 else min(self.poll_interval, wait)

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _listen(self) -> asyncpg.Connection | None:
        url = self.settings.database_url
        if url.split(":", 1)[0] not in ("postgres", "postgresql", "asyncpg"):
            return None
        c = expand_db_url(url)["credentials"]
        try:
            conn = await asyncpg.connect(host=c.get("host"), port=c.get("port"), user=c.get("user"),
                                         password=c.get("password"), database=c.get("database"), timeout=5)
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            if not self._listen_warned:  # said once: the loop tries again every round
                self._listen_warned = True
                log.warning("cannot LISTEN for notifications (%s); polling every %.1f s until it can",
                            type(exc).__name__, self.poll_interval)
            return None
        if self._listen_warned:
            self._listen_warned = False
            log.info("listening for notifications again")
        return conn

    async def close(self) -> None:
        if self.push is not None:
            await self.push.close()

    @contextlib.asynccontextmanager
    async def running(self) -> Any:
        """``run`` in a task for an app's lifespan (SQLite: the server process delivers)."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop), name="zhengwu-dispatcher")
        try:
            yield self
        finally:
            stop.set()
            self._wake.set()
            try:
                await asyncio.wait_for(task, 15)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            await self.close()


def sms_text(title: str, body: str) -> str:
    """One SMS: the signature, the title and the text, at most 200 characters (a few segments)."""
    text = f"{SMS_SIGNATURE}{title}：{body}"
    return text if len(text) <= 200 else text[:199] + "…"


#: Every outbox kind and its handler (DESIGN §7: a test lists them).
HANDLERS: dict[str, Handler] = {
    **{kind: Dispatcher._event for kind in sorted(EVENT_KINDS)},
    "push": Dispatcher._push_row,
    "sms": Dispatcher._sms_row,
}


def handler_for(kind: str) -> Handler | None:
    return HANDLERS.get(kind)


# --------------------------------------------------------------------------- a process of its own


async def _serve(settings: Settings, batch: int) -> None:
    from api.core.db import orm_session
    from api.identity.sms import DevelopmentSender, UnconfiguredSender

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sender: SmsSender = UnconfiguredSender() if settings.production else DevelopmentSender()
    async with orm_session(settings.database_url):
        dispatcher = Dispatcher(settings, sender, batch=batch)
        log.info("dispatcher started (batch %d)", batch)
        try:
            await dispatcher.run(stop)
        finally:
            await dispatcher.close()
            log.info("dispatcher stopped after %d rows", dispatcher.delivered)


def main(argv: list[str] | None = None) -> None:
    import dataclasses

    parser = argparse.ArgumentParser(prog="python -m api.notifications.dispatcher",
                                     description="Deliver the notification outbox until SIGTERM.")
    parser.add_argument("--database", help="database URL (default: ZHENGWU_DATABASE_URL)")
    parser.add_argument("--batch", type=int, default=100, help="rows claimed at a time")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    if args.database:
        settings = dataclasses.replace(settings, database_url=args.database)
    asyncio.run(_serve(settings, max(1, args.batch)))


if __name__ == "__main__":
    main()
