"""The notification outbox: one row per event and recipient, written in the same transaction as the
change it tells of (so a rolled-back change notifies nobody and a committed one is never forgotten),
then claimed and delivered by the dispatcher (``api/notifications/dispatcher.py``), at least once.

Delivering an event row writes the recipient's in-app message (``Message``, one per outbox row:
``outbox_id`` is unique) and sends it to their devices at once; a send that has to wait (quiet
hours, a push service asking to retry later, a failure) becomes a channel row of its own (kind
``push`` or ``sms``) retried with backoff, so a device that answered is never sent the same twice
by a retry for another. Schema owned by Alembic (0013_outbox, 0019_notifications)."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

#: ``Outbox.outcome`` once ``done_at`` is set.
DELIVERED, DROPPED, DEAD = "delivered", "dropped", "dead"


class Outbox(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=48)  # e.g. "case.request_correction"; every kind has a handler
    recipient = fields.CharField(max_length=40)  # a principal's subject: "citizen:12" | "staff:3"
    case_id = fields.BigIntField(null=True)  # the case it is about (no foreign key: history outlives drafts)
    data = fields.JSONField(default=dict)  # what the handler renders the texts from
    urgent = fields.BooleanField(default=False)  # delivered in quiet hours too
    created_at = fields.DatetimeField()
    due_at = fields.DatetimeField()  # when it may be tried next (backoff and quiet hours move it)
    attempts = fields.IntField(default=0)
    done_at = fields.DatetimeField(null=True)  # delivered, dropped or given up on
    # delivered | dropped (nothing left to deliver to: a removed device, muted) | dead (given up: the
    # dead letter the administrators see, ``error`` says why); "" while pending.
    outcome = fields.CharField(max_length=10, default="")
    error = fields.TextField(default="")

    class Meta:
        table = "outbox"
        indexes = (
            # The dispatcher's claim: undelivered rows, oldest due first.
            Index(fields=("done_at", "due_at"), name="ix_outbox_due"),
            Index(fields=("recipient", "id"), name="ix_outbox_recipient"),
            Index(fields=("outcome", "id"), name="ix_outbox_outcome"),  # the dead letters, newest first
        )


class Message(Model):
    """One entry of a person's message centre (消息中心), in Chinese and English."""

    id = fields.BigIntField(primary_key=True)
    recipient = fields.CharField(max_length=40)
    outbox_id = fields.BigIntField(unique=True)  # the row it was delivered from: delivering twice writes one
    kind = fields.CharField(max_length=48)
    case_id = fields.BigIntField(null=True)
    title = fields.CharField(max_length=100)
    body = fields.TextField()
    title_en = fields.CharField(max_length=100, default="")
    body_en = fields.TextField(default="")
    url = fields.CharField(max_length=200, default="")  # where a tap leads, inside the PWA
    urgent = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "message"
        indexes = (
            Index(fields=("recipient", "id"), name="ix_message_recipient"),  # keyset pages, newest first
            Index(fields=("recipient", "read_at"), name="ix_message_unread"),
        )


class PushSubscription(Model):
    """One browser's Web Push subscription (RFC 8030 endpoint + RFC 8291 keys). An endpoint belongs
    to one person: subscribing it again while signed in as someone else moves it to them."""

    id = fields.BigIntField(primary_key=True)
    owner = fields.CharField(max_length=40)  # "citizen:12" | "staff:3"
    endpoint = fields.CharField(max_length=1024, unique=True)
    p256dh = fields.CharField(max_length=100)  # the browser's P-256 public key, base64url
    auth = fields.CharField(max_length=32)  # its 16-byte authentication secret, base64url
    created_at = fields.DatetimeField()
    last_success_at = fields.DatetimeField(null=True)

    class Meta:
        table = "push_subscription"
        indexes = (Index(fields=("owner", "id"), name="ix_push_subscription_owner"),)


class NotificationPreference(Model):
    """What a person wants on their lock screen. In-app messages are always written; these decide
    push and SMS. Absent = the defaults (everything, quiet hours 22:00–07:00, Chinese)."""

    id = fields.BigIntField(primary_key=True)
    subject = fields.CharField(max_length=40, unique=True)
    push = fields.BooleanField(default=True)
    sms = fields.BooleanField(default=True)  # used only while no device takes push
    muted = fields.JSONField(default=list)  # outbox kinds not sent to the lock screen
    quiet_hours = fields.BooleanField(default=True)
    quiet_start = fields.CharField(max_length=5, default="22:00")  # China time, HH:MM
    quiet_end = fields.CharField(max_length=5, default="07:00")
    language = fields.CharField(max_length=8, default="zh-CN")  # zh-CN | en
    updated_at = fields.DatetimeField()

    class Meta:
        table = "notification_preference"
