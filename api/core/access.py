"""The access rule every route must declare (security by default).

Each route handler (or its controller/router) declares ``opt={"public": True}``, or
``opt={"roles": [...]}`` together with the role guard (``api.identity.guards.require_roles``).
``check_access_rules`` runs when the app is built and refuses to build an app with a route that
declares neither, so a forgotten rule can never ship. Public routes carry no per-request guard
(the catalog is the hottest path); role routes carry the role guard.
"""

from __future__ import annotations

from litestar import Litestar

OPENAPI_PATH = "/schema"


class MissingAccessRule(RuntimeError):
    pass


def check_access_rules(app: Litestar) -> None:
    missing = []
    for route in app.routes:
        if route.path.startswith(OPENAPI_PATH):
            continue  # the API description itself is public
        for handler in route.route_handlers:
            if handler.handler_name == "options_handler":
                continue  # Litestar's own CORS-preflight answer: no data
            opt = handler.opt
            if opt.get("public"):
                continue
            guards = {g.__name__ for g in handler.resolve_guards()}
            if not opt.get("roles") or "require_roles" not in guards:
                missing.append(f"{route.path} ({handler.handler_name})")
    if missing:
        raise MissingAccessRule("routes without an access rule (opt public or roles): " + ", ".join(missing))
