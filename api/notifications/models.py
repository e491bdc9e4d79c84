"""The notification outbox: one row per event and recipient, written in the same transaction as the
change it tells of (so a rolled-back change notifies nobody and a committed one is never forgotten),
then claimed and delivered by the worker, at least once."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


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
    done_at = fields.DatetimeField(null=True)  # delivered, or given up on (dead letter: error says why)
    error = fields.TextField(default="")

    class Meta:
        table = "outbox"
        indexes = (
            # The dispatcher's claim: undelivered rows, oldest due first.
            Index(fields=("done_at", "due_at"), name="ix_outbox_due"),
            Index(fields=("recipient", "id"), name="ix_outbox_recipient"),
        )
