"""Rate limits shared by every process: counted in the database, so N server processes on any
number of machines allow exactly the limit, not N times it.

Two kinds, each one atomic ``INSERT … ON CONFLICT … DO UPDATE … WHERE`` on ``rate_limit_window``
(PostgreSQL and SQLite speak the same statement); whether it wrote its row says allowed or refused:

* :class:`RateLimiter` — at most ``limit`` hits per fixed window of ``window`` seconds (windows start
  at multiples of ``window`` since the epoch). The row of a key's current window is created at 1 or
  incremented only while below the limit. Concurrent
  hits on one key queue on its row lock (PostgreSQL re-evaluates the ``WHERE`` on the row a
  committed hit left), so the limit is never exceeded, and a refused hit counts nothing. A burst
  that straddles a window boundary may see up to twice the limit within one window's span: the
  price of a counter per window instead of a row per hit.
* :func:`cooldown` — at most one hit per ``seconds``, measured from the hit allowed last (the
  one-time-code resend gap).

Both take the caller's connection, so a hit counted in a transaction that rolls back (the next
limit of the same request refused it) is not counted either. Expired rows are deleted by whichever
process finds, on a hit, that a minute has passed since it last did.
"""

from __future__ import annotations

import math
import time

from litestar import Request
from tortoise import connections, fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.indexes import Index
from tortoise.models import Model

from api.core.errors import RateLimited

KEY_LENGTH = 100  # of the key part of a bucket: an IPv6 address, a phone number
CLEANUP_EVERY = 60.0  # seconds (per process) between deletions of expired windows


class RateLimitWindow(Model):
    """One key's count in one window (``bucket`` = ``scope:key:window start``), or a cooldown
    (``scope:key``, ``expires_at`` = when the next hit is allowed)."""

    bucket = fields.CharField(primary_key=True, max_length=160)
    hits = fields.IntField()
    expires_at = fields.BigIntField()  # epoch seconds: the window's end, or the cooldown's

    class Meta:
        table = "rate_limit_window"
        indexes = (Index(fields=("expires_at",), name="ix_rate_limit_expires"),)


_last_cleanup = 0.0


def _placeholders(conn: BaseDBAsyncClient, count: int) -> list[str]:
    if conn.capabilities.dialect == "postgres":
        return [f"${i}" for i in range(1, count + 1)]
    return ["?"] * count


async def _cleanup(conn: BaseDBAsyncClient, now: float) -> None:
    global _last_cleanup
    if time.monotonic() - _last_cleanup < CLEANUP_EVERY:
        return
    _last_cleanup = time.monotonic()
    [p] = _placeholders(conn, 1)
    await conn.execute_query(f"DELETE FROM rate_limit_window WHERE expires_at < {p}", [int(now)])


async def _written(conn: BaseDBAsyncClient, statement: str, values: list[object]) -> bool:
    """Run the upsert; whether it wrote its row. Tortoise runs a PostgreSQL INSERT with ``execute``
    and reads the OID of its status line as the row count, so there it is a ``RETURNING`` inside a
    CTE, whose rows it fetches; SQLite has no INSERT in a CTE, and its change count is right."""
    if conn.capabilities.dialect == "postgres":
        _, rows = await conn.execute_query(f"WITH hit AS ({statement} RETURNING 1) SELECT 1 FROM hit", values)
        return bool(rows)
    counted, _ = await conn.execute_query(statement, values)
    return bool(counted)


def _connection(conn: BaseDBAsyncClient | None) -> BaseDBAsyncClient:
    return conn if conn is not None else connections.get("default")


class RateLimiter:
    """At most ``limit`` hits per key per ``window`` seconds, across every process."""

    def __init__(self, scope: str, limit: int, window: int) -> None:
        if not scope.isidentifier() or limit < 1 or window < 1:
            raise ValueError("a scope name, a limit ≥ 1 and a window ≥ 1 s")
        self.scope, self.limit, self.window = scope, limit, window

    def bucket(self, key: str, now: float) -> str:
        start = int(now // self.window * self.window)
        return f"{self.scope}:{key[:KEY_LENGTH]}:{start}"

    async def check(self, key: str, now: float | None = None, conn: BaseDBAsyncClient | None = None) -> int:
        """0 when allowed (and counted), else the seconds to wait (the current window's end)."""
        now = time.time() if now is None else now
        conn = _connection(conn)
        end = int(now // self.window * self.window) + self.window
        a, b, c = _placeholders(conn, 3)
        counted = await _written(
            conn,
            f"INSERT INTO rate_limit_window (bucket, hits, expires_at) VALUES ({a}, 1, {b}) "
            "ON CONFLICT (bucket) DO UPDATE SET hits = rate_limit_window.hits + 1 "
            f"WHERE rate_limit_window.hits < {c}",
            [self.bucket(key, now), end, self.limit])
        await _cleanup(conn, now)
        if counted:
            return 0
        return max(1, math.ceil(end - now))

    async def enforce(self, request: Request, message: str, detail: str) -> None:
        """Count the request's address, or refuse it with when to try again."""
        wait = await self.check(request.client.host if request.client else "unknown")
        if wait:
            raise RateLimited(message, detail, retry_after=wait)


async def cooldown(scope: str, key: str, seconds: int, *, now: float | None = None,
                   conn: BaseDBAsyncClient | None = None) -> int:
    """0 when no hit of ``key`` was allowed within ``seconds`` (this one is, and starts the gap),
    else the seconds left to wait."""
    now = time.time() if now is None else now
    conn = _connection(conn)
    bucket = f"{scope}:{key[:KEY_LENGTH]}"
    a, b, c = _placeholders(conn, 3)
    # In whole seconds: the gap runs from the second the allowed hit fell in.
    counted = await _written(
        conn,
        f"INSERT INTO rate_limit_window (bucket, hits, expires_at) VALUES ({a}, 1, {b}) "
        "ON CONFLICT (bucket) DO UPDATE SET hits = 1, expires_at = excluded.expires_at "
        f"WHERE rate_limit_window.expires_at <= {c}",
        [bucket, int(now) + seconds, int(now)])
    await _cleanup(conn, now)
    if counted:
        return 0
    [p] = _placeholders(conn, 1)
    _, left = await conn.execute_query(f"SELECT expires_at FROM rate_limit_window WHERE bucket = {p}", [bucket])
    until = left[0]["expires_at"] if left else int(now) + seconds
    return max(1, math.ceil(until - now))
