"""The one range every integer identifier the API accepts must fall in before it reaches a query.

Row ids are 64-bit on both databases (SQLite INTEGER; BIGINT on PostgreSQL for every table whose
id the API accepts, alembic/versions/0006_bigint_ids.py). A larger number cannot name a row, and
handing it to the driver fails inside the handler (sqlite3 ``OverflowError``, asyncpg
``DataError``), which used to answer 500. Ids the database assigns start at 1, so 0 and negative
numbers name nothing either.

Where each kind of input is bounded, once:

* path (``/cases/{id:int}``): ``bound_path_ids``, the app's ``before_request`` hook, checks every
  integer path parameter of every route and answers 404 (the thing does not exist) — after the
  guards, so a caller without access learns no more than for an id in range;
* query and body values: declare them as ``DbId`` (msgspec enforces the range while decoding; a
  value outside it is a 400 naming the field);
* text that carries an id (tus ``Upload-Metadata``, cursors): ``id_from_text`` / ``DbId``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Litestar, Request
from litestar.exceptions import NotFoundException, ValidationException

ID_MIN = 1
ID_MAX = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT

#: An integer identifier in a query parameter, a body field or a decoded cursor.
DbId = Annotated[int, msgspec.Meta(ge=ID_MIN, le=ID_MAX)]


def in_range(value: int) -> bool:
    return ID_MIN <= value <= ID_MAX


def id_from_text(text: str, field: str) -> int:
    """An id written as decimal digits (tus metadata): 400 naming ``field`` when it is not one.

    ``str.isdigit`` alone is not enough: it accepts superscripts ("²"), which ``int`` refuses."""
    value = text.strip()
    if value.isascii() and value.isdigit() and len(value) <= len(str(ID_MAX)) and in_range(int(value)):
        return int(value)
    # Litestar's own exceptions: core/errors.py shapes them (400 naming the field; 404), whatever
    # the domain exception classes there become.
    raise ValidationException(f"invalid {field}", extra=[{
        "key": field, "message": f"must be a whole number from {ID_MIN} to {ID_MAX}"}])


async def bound_path_ids(request: Request) -> None:
    """``before_request`` hook: an integer path parameter out of range names nothing → 404."""
    for name, value in request.path_params.items():
        # bool is an int, but Litestar never parses a path segment into one
        if type(value) is int and not in_range(value):
            raise NotFoundException(f"no such {name}: out of range")


class PathIdsUnbounded(RuntimeError):
    pass


def check_path_id_bounds(app: Litestar) -> None:
    """Refuse to build an app where a layer replaced the hook (Litestar runs only the innermost
    ``before_request``), so no route with an integer path parameter goes unchecked."""
    unchecked = [
        f"{route.path} ({handler.handler_name})"
        for route in app.routes
        if any(param.type is int for param in route.path_parameters.values())
        for handler in route.route_handlers
        if getattr(handler, "resolve_before_request", None) and handler.resolve_before_request() is not bound_path_ids
    ]
    if unchecked:
        raise PathIdsUnbounded("routes whose integer path parameters are not bounded: " + ", ".join(unchecked))


__all__ = ["ID_MAX", "ID_MIN", "DbId", "bound_path_ids", "check_path_id_bounds", "id_from_text", "in_range"]
