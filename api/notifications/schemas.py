"""HTTP shapes of the message centre, push subscriptions, preferences and dead letters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Out(msgspec.Struct, kw_only=True):
    pass


class MessageOut(Out):
    id: int
    kind: str
    case_id: int | None
    title: str
    body: str
    title_en: str
    body_en: str
    url: str
    urgent: bool
    created_at: dt.datetime
    read: bool


class MessagePage(Out):
    items: list[MessageOut]
    next_cursor: str | None
    unread: int


class UnreadOut(Out):
    unread: int


class MarkedOut(Out):
    marked: int


class PushKeyOut(Out):
    """The key browsers subscribe with (``pushManager.subscribe({applicationServerKey})``)."""

    public_key: str


class SubscriptionIn(In):
    """A browser's ``PushSubscription.toJSON()``."""

    # Checked by the service (422 naming what is wrong), not by the decoder: a malformed
    # subscription is a rule's refusal, whatever its shape.
    endpoint: Any = ""
    keys: Any = None
    expirationTime: int | float | None = None  # the browser's name for it


class SubscriptionOut(Out):
    id: int
    endpoint: str
    created_at: dt.datetime
    last_success_at: dt.datetime | None


class PreferenceIn(In):
    push: bool = True
    sms: bool = True
    muted: list[str] = msgspec.field(default_factory=list)
    quiet_hours: bool = True
    quiet_start: str = "22:00"
    quiet_end: str = "07:00"
    language: str = "zh-CN"


class KindOut(Out):
    kind: str
    name: str
    mutable: bool


class PreferenceOut(Out):
    push: bool
    sms: bool
    muted: list[str]
    quiet_hours: bool
    quiet_start: str
    quiet_end: str
    language: str
    kinds: list[KindOut]  # what may be chosen about


class DeadLetterOut(Out):
    id: int
    kind: str
    recipient: str
    case_id: int | None
    attempts: int
    error: str
    created_at: dt.datetime
    done_at: dt.datetime | None


class DeadLetterPage(Out):
    items: list[DeadLetterOut]
    next_cursor: str | None
