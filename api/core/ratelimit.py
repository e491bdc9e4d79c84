"""A per-address rate limit for the public lookups (tracking a case, verifying a certificate), where
guessing a code must stay slow."""

from __future__ import annotations

import collections
import math
import time

from litestar import Request

from api.core.errors import RateLimited


class RateLimiter:
    """A sliding window per client address, in this process (N processes allow N × the limit)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, collections.deque[float]] = {}

    def check(self, key: str, now: float | None = None) -> int:
        """0 when allowed (and counted), else the seconds to wait."""
        now = time.monotonic() if now is None else now
        if len(self._hits) > 10_000:  # forget idle clients so memory stays bounded
            self._hits = {k: q for k, q in self._hits.items() if q and q[-1] > now - self.window}
        hits = self._hits.setdefault(key, collections.deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window - now))
        hits.append(now)
        return 0

    def enforce(self, request: Request, message: str, detail: str) -> None:
        """Count the request's address, or refuse it with when to try again."""
        wait = self.check(request.client.host if request.client else "unknown")
        if wait:
            raise RateLimited(message, detail, retry_after=wait)
