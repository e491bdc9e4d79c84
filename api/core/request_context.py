"""Every request gets an id and one access log line (and the caller's address, api/core/caller.py).

The id comes from ``X-Request-ID`` only when ``ZHENGWU_TRUST_REQUEST_ID`` says a proxy in front
sets that header itself (so a client cannot choose it) and the value is safe to log and echo:
``[A-Za-z0-9._-]{1,64}`` and no personal number in it. Otherwise one is generated. It is
returned in the ``X-Request-ID`` response header, named in error bodies (api/core/errors.py) and
on every log line written while the request is served.

This wraps the app's whole ASGI handler rather than being a Litestar middleware, because those
run only for matched routes: a 404 for an unknown path needs its id and access line too.
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
import re
import time
from typing import Any
from urllib.parse import unquote

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.core import caller
from api.core.logs import holds_personal_number, redact, request_id

access_log = logging.getLogger("zhengwu.access")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Control characters (and the Unicode line separators) in a path would split one event over
# several log lines, or forge one: they are shown escaped in the text log.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {0x2028: "\\u2028", 0x2029: "\\u2029"}


def _prefix() -> str:
    while True:
        prefix = base64.urlsafe_b64encode(os.urandom(6)).decode()
        if not holds_personal_number(prefix):
            return prefix


# A random prefix per process (48 bits) and a counter: unique across processes and restarts
# without a system call per request (os.urandom costs more than the rest of the id).
_PREFIX, _COUNTER = _prefix(), itertools.count(1)


def _reseed() -> None:
    global _PREFIX, _COUNTER
    _PREFIX, _COUNTER = _prefix(), itertools.count(1)


os.register_at_fork(after_in_child=_reseed)  # workers forked from a preloading master get their own


def new_request_id() -> str:
    """e.g. ``q3X_9aZk-0000001f``; never one that looks like a personal number, which the log would
    mask, breaking the match between the header and the log."""
    while True:
        # Fixed width, so responses that must look alike (a failed tracking query) are alike in length.
        rid = f"{_PREFIX}-{next(_COUNTER):08x}"
        if not holds_personal_number(rid):
            return rid


def accepted_request_id(value: str) -> str | None:
    """A proxy's request id, if it is safe to log and echo."""
    if _SAFE_ID.fullmatch(value) and not holds_personal_number(value):
        return value
    return None


class RequestContext:
    """ASGI wrapper: request id (context variable and response header), the caller's address and
    the access line. One wrapper for all three: each ASGI layer costs a coroutine per request on
    the hottest path (the catalog guide), so the caller's address is noted here rather than by a
    Litestar middleware of its own."""

    def __init__(self, app: ASGIApp, trust_request_id: bool = False) -> None:
        self.app = app
        self.trust_request_id = trust_request_id

    def _incoming(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                return accepted_request_id(value.decode("latin-1"))
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = (self.trust_request_id and self._incoming(scope)) or new_request_id()
        token, who = request_id.set(rid), caller.begin(scope)
        started = time.perf_counter()
        header = (b"x-request-id", rid.encode())
        status = 500  # what uvicorn answers when the app fails before starting a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, rid, status, (time.perf_counter() - started) * 1000)
            caller.end(who)
            request_id.reset(token)


def _log_access(scope: Scope, rid: str, status: int, duration_ms: float) -> None:
    # The one place a personal number can enter an access line is the request's path and query
    # (and a client address a misconfigured proxy forwarded): they are masked here, once, and the
    # record says so, so the formatter need not scan the finished line again (api/core/logs.py).
    path = scope.get("root_path", "") + scope["path"]
    query: bytes = scope["query_string"]
    if query:
        # Decoded, so a number written as %31%33%38… is seen (and masked) like a plain one.
        path = f"{path}?{unquote(query.decode('latin-1'))}"
    if not path.isprintable():
        path = path.translate(_CONTROLS)
    path = redact(path)
    client = scope.get("client")
    where = redact(f"{client[0]}:{client[1]}") if client else "-"
    method = scope["method"]
    if not method.isalpha():  # httptools knows only the standard methods; other servers take any token
        method = redact(method)
    extra: dict[str, Any] = {
        "request_id": rid, "route": scope.get("path_template"), "status": status,
        "duration_ms": round(duration_ms, 3), "method": method, "path": path, "client": where, "redacted": True,
    }
    # Made directly: logging's search of the stack for the caller would cost a fifth of the line.
    access_log.handle(access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 0, '%s - "%s %s HTTP/%s" %d %.1fms',
        (where, method, path, scope["http_version"], status, duration_ms), None, extra=extra,
    ))
