"""Keyset page cursors: an opaque, URL-safe token of the last row's sort key (a moment or a day)
and its id. A cursor that does not decode, or names an id no row can have, is bad input (400 naming
``cursor``), never a server fault."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import msgspec

from api.core.bounds import DbId
from api.core.errors import InvalidInput

K = TypeVar("K", dt.datetime, dt.date)


def encode(key: dt.datetime | dt.date, row_id: int) -> str:
    raw = msgspec.json.encode([key.isoformat(), row_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, parse: Callable[[str], K]) -> tuple[K, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text, row_id = msgspec.json.decode(raw, type=tuple[str, DbId])
        return parse(text), row_id
    except (ValueError, TypeError, msgspec.DecodeError):
        raise InvalidInput("分页参数无效，请从第一页重新开始", "invalid cursor", "cursor") from None


def _moment(text: str) -> dt.datetime:
    at = dt.datetime.fromisoformat(text)
    if at.tzinfo is None:  # every stored moment is aware: a naive one was not made by us
        raise ValueError("naive")
    return at


def decode_moment(cursor: str) -> tuple[dt.datetime, int]:
    return _decode(cursor, _moment)


def decode_day(cursor: str) -> tuple[dt.date, int]:
    return _decode(cursor, dt.date.fromisoformat)
