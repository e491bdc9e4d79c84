"""One error shape for every client: a Chinese ``message`` for people, an English ``detail``,
and the ``field`` (parameter, question or body field) it concerns. No stack trace ever leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from tortoise.exceptions import ValidationError as OrmValidationError

from api.core.db import database_ok, is_database_unavailable
from api.core.logs import current_request_id
from storage import StorageUnavailable

log = logging.getLogger("zhengwu.errors")


class DomainError(Exception):
    """A refusal by the rules, raised by services (and by workers, with no HTTP around them).

    ``message`` is for people (Chinese), ``detail`` for API clients and logs (English), ``field``
    names what it concerns. Which HTTP status a kind of refusal answers is decided once, in
    ``STATUS`` below; no service names a status. ``retry_after`` (seconds) says when trying again
    makes sense; ``problems`` lists every problem found, so that a person fixes all at once.
    ``headers`` is for the HTTP edge only (a controller adding protocol headers such as tus's).
    """

    def __init__(
        self, message: str, detail: str, field: str | None = None, *, retry_after: int | None = None,
        problems: list[Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.message = message
        self.detail = detail
        self.field = field
        self.retry_after = retry_after
        self.problems = problems
        self.headers: dict[str, str] | None = None


class InvalidInput(DomainError):
    """The request itself is malformed: a value of the wrong form, a header missing."""


class Unauthenticated(DomainError):
    """Nobody (valid) is signed in."""


class Forbidden(DomainError):
    """Signed in, but this role may not do this."""


class NotFound(DomainError):
    """The thing does not exist, or does not exist for this caller (reveal nothing)."""


class Conflict(DomainError):
    """The thing's state does not allow this now (a submitted case, an upload at another offset)."""


class Gone(DomainError):
    """It existed and has expired or been removed."""


class PreconditionFailed(DomainError):
    """A protocol precondition does not hold (tus version)."""


class TooLarge(DomainError):
    """More bytes than allowed."""


class UnsupportedMedia(DomainError):
    """A kind of content that is not accepted."""


class RuleViolation(DomainError):
    """Well-formed, but the rules refuse it (a material missing, an answer out of the options)."""


class RateLimited(DomainError):
    """Too often; ``retry_after`` says when to try again."""


class ChecksumMismatch(DomainError):
    """The bytes received are not the bytes the client hashed (nothing of them was kept)."""


class Unavailable(DomainError):
    """A service the platform needs is unavailable for a while; ``retry_after`` says when to retry."""


class StorageFull(DomainError):
    """No space to keep what was sent (nothing acknowledged is lost)."""


#: The one place where a kind of refusal becomes an HTTP status (the most specific class wins).
STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409, Gone: 410,
    PreconditionFailed: 412, TooLarge: 413, UnsupportedMedia: 415, RuleViolation: 422, RateLimited: 429,
    ChecksumMismatch: 460, Unavailable: 503, StorageFull: 507,
}


def status_of(exc: DomainError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]  # type: ignore[index]
    return 400


def not_found(what_zh: str, what_en: str, code: str) -> NotFound:
    return NotFound(f"没有找到{what_zh}：{code}", f"{what_en} not found: {code}")


def error_response(status_code: int, message: str, detail: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": status_code, "message": message, "detail": detail}
    if field:
        body["field"] = field
    body["request_id"] = current_request_id()  # the id in X-Request-ID and on the request's log lines
    return Response(body, status_code=status_code, media_type=MediaType.JSON, headers=headers)


def _domain_error(_: Request, exc: DomainError) -> Response[dict[str, Any]]:
    headers = dict(exc.headers or {})
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, int(exc.retry_after)))
    if isinstance(exc, Unauthenticated):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="zhengwu"')
    response = error_response(status_of(exc), exc.message, exc.detail, exc.field, headers or None)
    if exc.problems is not None:
        response.content["problems"] = msgspec.to_builtins(exc.problems)
    return response


_GENERIC = {
    400: "请求格式不正确",
    401: "请先登录",
    403: "您没有权限进行此操作",
    404: "没有找到您要的内容",
    405: "不支持这种请求方式",
    413: "上传的内容太大",
    415: "不支持这种内容格式",
    429: "操作太频繁，请稍后再试",
}


def _validation(_: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    # Litestar reports parameter problems as extra=[{"key": ..., "message": ..., "source": ...}].
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    field = first.get("key")
    if field:
        message = f"参数“{field}”的值无效"
        detail = f"invalid parameter '{field}': {first.get('message', exc.detail)}"
    else:
        message, detail = "请求内容无效", str(exc.detail)
    return error_response(400, message, detail, field)


def _http(_: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    return error_response(status, _GENERIC.get(status, "请求无法完成"), str(exc.detail), headers=headers or None)


def _orm_validation(_: Request, exc: OrmValidationError) -> Response[dict[str, Any]]:
    # The ORM refuses a value that cannot fit a column, also when it is only a filter (a 300-character
    # material code in a path): that is bad input, never a server fault. The value itself is not
    # echoed (it may be personal data).
    name = str(exc).split(":", 1)[0].strip()
    field = name if name.isidentifier() else None
    return error_response(400, "输入的内容过长或格式不正确", f"a value does not fit field '{field or '?'}'", field)


class DatabaseOutage:
    """What this process says about a database outage: ONE warning when it starts, a count at most
    every ``report_every`` seconds while it lasts, ONE info line when it ends — never a traceback
    per refused request (a 3-second PostgreSQL restart used to write hundreds).

    The first refusal starts a probe (so the end is seen even if no request comes) that waits
    ``first_probe`` seconds, then tries the database until it answers. That first successful use
    is the end, unless a request is refused again within ``hold`` seconds: SQLite's "database is
    locked" comes and goes with the writers, and one episode of it is one outage in the log, not
    a start and an end line per refusal.
    """

    def __init__(
        self, probe: Callable[[], Awaitable[bool]] = database_ok, *, clock: Callable[[], float] = time.monotonic,
        report_every: float = 10.0, hold: float | None = None, first_probe: float = 0.25, max_probe: float = 1.0,
    ) -> None:
        self.probe, self.clock = probe, clock
        self.report_every, self.first_probe, self.max_probe = report_every, first_probe, max_probe
        self.hold = report_every if hold is None else hold  # how long "back" must last to be the end
        self._refused_again: asyncio.Event | None = None
        self.started: float | None = None
        self.refused = 0  # requests answered 503 in this outage
        self._reported_at = 0.0
        self._reported_count = 0
        self._probe: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.started is not None

    def refuse(self, exc: BaseException) -> None:
        now = self.clock()
        if self._refused_again is not None:
            self._refused_again.set()
        if self.started is None:
            self.started, self.refused, self._reported_at, self._reported_count = now, 1, now, 1
            # The type and driver text say what happened (refused, starting up, timed out); they
            # carry no request data.
            text = str(exc)[:200]
            log.warning("database unavailable (%s%s): answering 503 until it is back",
                        type(exc).__name__, f": {text}" if text else "")
        else:
            self.refused += 1
            if now - self._reported_at >= self.report_every:
                log.warning("database still unavailable after %.0f s: %d requests answered 503 "
                            "(%d since the last report)",
                            now - self.started, self.refused, self.refused - self._reported_count)
                self._reported_at, self._reported_count = now, self.refused
        self._ensure_probe()

    def _recovered(self, back_at: float) -> None:
        if self.started is not None:
            log.info("database available again after %.1f s; %d requests were answered 503",
                     back_at - self.started, self.refused)
            self.started = None

    def _ensure_probe(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a server: the next refusal on a loop probes
            return
        # A probe of an app already shut down (cancelled, or on a loop that has ended) is replaced.
        if self._probe is None or self._probe.done() or self._probe.get_loop() is not loop:
            self._probe = loop.create_task(self._until_back())

    async def _until_back(self) -> None:
        delay = self.first_probe
        while self.started is not None:
            await asyncio.sleep(delay)  # a probe interval, not synchronisation
            if not await self.probe():
                delay = min(delay * 2, self.max_probe)
                continue
            back_at = self.clock()
            self._refused_again = again = asyncio.Event()
            try:
                await asyncio.wait_for(again.wait(), self.hold)
            except TimeoutError:  # it held
                self._recovered(back_at)
                return
            finally:
                self._refused_again = None
            delay = self.first_probe

    async def close(self) -> None:
        """Stop probing (app shutdown)."""
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        self._probe = None


DATABASE_OUTAGE = DatabaseOutage()
RETRY_AFTER_SECONDS = 5


def _unavailable_or_internal(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    """Any exception no other handler took: 503 when the database cannot be reached (the request
    was fine; retry later), else a server fault (500, logged with its traceback)."""
    if not is_database_unavailable(exc):
        return _internal(request, exc)
    DATABASE_OUTAGE.refuse(exc)
    return error_response(HTTP_503_SERVICE_UNAVAILABLE, "服务暂时不可用，请稍后再试", "database unavailable",
                          headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _storage_unavailable(request: Request, exc: StorageUnavailable) -> Response[dict[str, Any]]:
    """The blob store (an object store, usually) cannot be reached: 503, logged in one line."""
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return error_response(HTTP_503_SERVICE_UNAVAILABLE, "文件存储服务暂时不可用，请稍后再试",
                          "file storage unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _internal(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    # Logged with the path only: request bodies may carry personal data.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "系统繁忙，请稍后再试", "internal server error")


exception_handlers: dict[Any, Any] = {
    DomainError: _domain_error,
    ValidationException: _validation,
    NotAuthorizedException: _http,
    PermissionDeniedException: _http,
    MethodNotAllowedException: _http,
    TooManyRequestsException: _http,
    HTTPException: _http,
    OrmValidationError: _orm_validation,
    StorageUnavailable: _storage_unavailable,
    Exception: _unavailable_or_internal,
}
__all__ = [
    "STATUS", "ChecksumMismatch", "Conflict", "DomainError", "Forbidden", "Gone", "InvalidInput", "NotFound",
    "NotFoundException", "OrmValidationError", "PreconditionFailed", "RateLimited", "RuleViolation", "StorageFull",
    "TooLarge", "Unauthenticated", "Unavailable", "UnsupportedMedia", "error_response", "exception_handlers",
    "not_found", "status_of",
]
