"""HTTP shapes of the audit trail as administrators read it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class AuditOut(msgspec.Struct):
    id: int
    at: dt.datetime
    actor: str
    role: str  # the actor's role when they acted
    action: str
    target_type: str
    target_code: str
    before: Any
    after: Any
    client: str  # the client's address ("" when not through the API: CLI, worker)


class AuditPage(msgspec.Struct):
    items: list[AuditOut]
    next_cursor: str | None
