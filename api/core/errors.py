"""One error shape for every client: a Chinese ``message`` for people, an English ``detail``,
and the ``field`` (parameter, question or body field) it concerns. No stack trace ever leaves.
"""

from __future__ import annotations

import logging
from typing import Any

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

from api.core.logs import current_request_id

log = logging.getLogger("zhengwu.errors")


class ApiError(Exception):
    """Raised by services and controllers for any client-visible failure."""

    def __init__(
        self, status_code: int, message: str, detail: str, field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.message = message
        self.detail = detail
        self.field = field
        self.headers = headers


def not_found(what_zh: str, what_en: str, code: str) -> ApiError:
    return ApiError(404, f"没有找到{what_zh}：{code}", f"{what_en} not found: {code}")


def error_response(status_code: int, message: str, detail: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": status_code, "message": message, "detail": detail}
    if field:
        body["field"] = field
    body["request_id"] = current_request_id()  # the id in X-Request-ID and on the request's log lines
    return Response(body, status_code=status_code, media_type=MediaType.JSON, headers=headers)


def _api_error(_: Request, exc: ApiError) -> Response[dict[str, Any]]:
    return error_response(exc.status_code, exc.message, exc.detail, exc.field, exc.headers)


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
    ApiError: _api_error,
    ValidationException: _validation,
    NotAuthorizedException: _http,
    PermissionDeniedException: _http,
    MethodNotAllowedException: _http,
    TooManyRequestsException: _http,
    HTTPException: _http,
    OrmValidationError: _orm_validation,
    Exception: _internal,
}
__all__ = ["ApiError", "NotFoundException", "OrmValidationError", "error_response", "exception_handlers", "not_found"]
