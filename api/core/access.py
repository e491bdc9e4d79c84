"""The access rule every route must declare (security by default).

A route is reachable only if its handler (or its controller/router) declares ``opt={"public":
True}`` or ``opt={"roles": [...]}``. A route that declares neither is refused for everyone, so
forgetting a rule fails closed — and the authorization-matrix test catches it.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

OPENAPI_PATH = "/schema"


def access_guard(connection: ASGIConnection, route_handler: BaseRouteHandler) -> None:
    opt = route_handler.opt
    if opt.get("public") or connection.scope["path"].startswith(OPENAPI_PATH):
        return  # the API description itself is public
    raise PermissionDeniedException(detail="this route declares no access rule")
