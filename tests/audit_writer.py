"""A child process that appends audit entries, for the chain's concurrency tests.

``python -m tests.audit_writer DATABASE_URL WRITERS NAME [TARGET]``: connects, prints ``ready``, waits
for a line on stdin (the parent releases every child at once), then runs WRITERS concurrent
transactions that each record one entry, and prints ``done``. Each entry's target is its own
(``NAME-n``: the entries spread over the chains) unless TARGET names one for all (one chain).
"""

from __future__ import annotations

import asyncio
import sys

from tortoise.transactions import in_transaction

from api.audit.services import record
from api.core.db import is_database_unavailable, orm_session


async def write(name: str, n: int, target: str | None) -> None:
    for attempt in range(10):
        try:
            async with in_transaction() as conn:
                await record(conn, "system", "test.write", "test", target or f"{name}-{n}", None,
                             {"writer": name, "n": n})
            return
        except Exception as exc:
            # SQLite's writers from several processes wait for the lock at most 5 s (the driver's
            # busy timeout); on a loaded machine one may give up, and the API would answer 503.
            # Giving up is no fork: try again, as a client would.
            if not is_database_unavailable(exc) or attempt == 9:
                raise


async def main(url: str, writers: int, name: str, target: str | None) -> None:
    async with orm_session(url):
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await asyncio.gather(*(write(name, n, target) for n in range(writers)))
        print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None))
