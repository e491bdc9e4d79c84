"""One error shape for every client: a Chinese ``message`` for people, an English ``detail``,
and the ``field`` (parameter, question or body field) it concerns. No stack trace ever leaves.
"""

from __future__ import annotations

import logging
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
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from tortoise.exceptions import ValidationError as OrmValidationError

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
    Exception: _internal,
}
__all__ = [
    "STATUS", "ChecksumMismatch", "Conflict", "DomainError", "Forbidden", "Gone", "InvalidInput", "NotFound",
    "NotFoundException", "OrmValidationError", "PreconditionFailed", "RateLimited", "RuleViolation", "StorageFull",
    "TooLarge", "Unauthenticated", "Unavailable", "UnsupportedMedia", "error_response", "exception_handlers",
    "not_found", "status_of",
]
