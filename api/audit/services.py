"""Writing and reading the audit trail.

``record`` takes the caller's transaction connection on purpose: an audit entry is written in
the same transaction as the change it describes, so there is never a change without its entry
(nor an entry for a change that was rolled back).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient

from api.audit.models import AuditEntry
from api.core.errors import InvalidInput


def _full(value: Any) -> Any:
    # Every field, defaults included (structs may omit them when encoded): an auditor reading
    # "before" must see that a phone number was empty, not wonder whether it was recorded.
    if isinstance(value, msgspec.Struct):
        return {f: _full(getattr(value, f)) for f in value.__struct_fields__}
    if isinstance(value, dict):
        return {k: _full(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_full(v) for v in value]
    return value


def _json(value: Any) -> Any:
    # Datetimes and tuples become plain JSON values that both databases store alike.
    return None if value is None else msgspec.json.decode(msgspec.json.encode(_full(value)))


async def record(
    conn: BaseDBAsyncClient, actor: str, action: str, target_type: str, target_code: str,
    before: Any = None, after: Any = None,
) -> AuditEntry:
    return await AuditEntry.create(
        at=dt.datetime.now(dt.UTC), actor=actor, action=action, target_type=target_type,
        target_code=target_code, before=_json(before), after=_json(after), using_db=conn,
    )


async def entries(
    target_type: str | None = None, target_code: str | None = None, limit: int = 50,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Newest first. Keyset pagination on the id, which rises with insertion order (``at`` may tie)."""
    query = AuditEntry.all()
    if target_type is not None:
        query = query.filter(target_type=target_type)
    if target_code is not None:
        query = query.filter(target_code=target_code)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(limit)


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[AuditEntry]
    next_cursor: str | None  # the last entry's id, when older entries remain


async def page(target_type: str | None, target_code: str | None, limit: int, cursor: str | None) -> Page:
    """``limit`` entries older than ``cursor`` (from the previous page), newest first."""
    before_id: int | None = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 10):
            raise InvalidInput("分页参数无效，请从第一页重新开始", "invalid cursor", "cursor")
        before_id = int(cursor)
    rows = await entries(target_type, target_code, limit + 1, before_id)  # one more: is there a next page?
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more and rows else None)
