"""The guide's fast path: a guide this process already holds is answered before Litestar runs.

The guide (``GET /api/v1/items/{code}``) is the catalog's hottest read, and the cache holds it
pre-serialised with its ETag (api/catalog/cache.py). Through Litestar, a cached guide still cost
routing, a ``Request``, parameter parsing into the handler's signature model, a ``Response`` and
its headers: some 50 µs of CPU (measured in one process) for a dictionary lookup, two thirds of
the app's cost of the request (tests/bench/README.md). This ASGI wrapper, inside the request context
(so the request id, ``X-Request-ID``, the caller's address and the access line are as for any
request), answers exactly the requests whose answer is already known, from the same bytes and
with the same headers as the route:

* ``GET`` of the guide route's path, one path segment after it (no trailing slash, no empty
  code), with a host header that Litestar's own host check accepts too (a plain name, IPv4 or
  bracketed IPv6 and port);
* the catalog snapshot needs no version check now (``CatalogCache.fresh_guide``), and the guide
  is in it.

Everything else — an unknown or not yet cached code, a due version check (which reads the
database and may find it down), any other method, path or host form — goes on to Litestar and
the route's handler (api/catalog/controllers.py), which then answers as before. So the fast path
can answer only what the handler would answer, identically; ``check_guide_route`` refuses to
build an app where the route gained anything the fast path would skip (a guard, a hook, a
middleware, a cache, an access rule other than public), and tests/test_guide_etag.py compares
the two answers byte for byte.
"""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from api.catalog.cache import CachedGuide, CatalogCache
from api.catalog.controllers import CACHE
from api.core.bounds import bound_path_ids
from api.core.http_cache import etag_matches

#: The route the fast path stands in front of (its handler: ``CatalogController.guide``).
GUIDE_ROUTE = "/api/v1/items/{code}"
_PREFIX = GUIDE_ROUTE.removesuffix("{code}")
#: The route's own header besides the layered ones and the ETag (the controller's ``CACHE``).
CACHE_CONTROL = CACHE["Cache-Control"].encode("latin-1")
# A subset of what Litestar's host check accepts (RFC 3986 reg-name, IPv4, [IPv6], port): any
# other host header goes to Litestar, which then decides (400 or not) exactly as before.
_PLAIN_HOST = re.compile(rb"[0-9A-Za-z.\-:\[\]]*")


class GuideRouteChanged(RuntimeError):
    """The guide route gained something the fast path would skip: serve it through Litestar."""


def guide_route_handler(app: Litestar) -> HTTPRouteHandler:
    for route in app.routes:
        if route.path_format == GUIDE_ROUTE:
            for handler in route.route_handlers:
                if isinstance(handler, HTTPRouteHandler) and handler.http_methods == {"GET"}:
                    return handler
    raise GuideRouteChanged(f"no GET route {GUIDE_ROUTE}")


def check_guide_route(app: Litestar) -> HTTPRouteHandler:
    """The guide route as the fast path assumes it: public, and nothing that runs per request
    besides the handler itself (the app's path-id hook has no integer to check on it)."""
    handler = guide_route_handler(app)
    extra = [
        name for name, present in (
            ("not public", not handler.opt.get("public")),
            ("guards", bool(handler.resolve_guards())),
            ("middleware", bool(handler.resolve_middleware())),
            ("before_request", handler.resolve_before_request() not in (None, bound_path_ids)),
            ("after_request", any(layer.after_request for layer in handler.ownership_layers)),
            ("after_response", handler.resolve_after_response() is not None),
            ("response cache", bool(handler.cache)),
            ("response cookies", bool(handler.resolve_response_cookies())),
            ("before_send hooks", bool(app.before_send)),
        ) if present
    ]
    if extra:
        raise GuideRouteChanged(f"{GUIDE_ROUTE} has {', '.join(extra)}: the fast path would skip them")
    return handler


class GuideFastPath:
    """ASGI wrapper: cached guides from pre-built messages, everything else to ``app``."""

    def __init__(self, app: ASGIApp, catalog: CatalogCache, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.catalog = catalog
        # The layered response headers of the route (the app's security headers), then its own,
        # in the order Litestar sends them.
        self.headers = [*headers, (b"cache-control", CACHE_CONTROL)]

    @classmethod
    def in_front_of(cls, app: Litestar, catalog: CatalogCache) -> GuideFastPath:
        handler = check_guide_route(app)
        layered = [(h.name.lower().encode("latin-1"), str(h.value).encode("latin-1"))
                   for h in handler.resolve_response_headers() if not h.documentation_only]
        return cls(app.asgi_handler, catalog, layered)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cached = self._cached(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if cached is None:
            await self.app(scope, receive, send)
            return
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"host":
                if not _PLAIN_HOST.fullmatch(value):
                    await self.app(scope, receive, send)
                    return
            elif name == b"if-none-match" and if_none_match is None:
                if_none_match = value  # the first line, as the route's header parameter reads it
        scope["path_template"] = GUIDE_ROUTE  # what the access line names as the route
        etag = cached.etag.encode()
        headers = [*self.headers, (b"etag", etag)]
        if if_none_match is not None and etag_matches(if_none_match.decode("latin-1"), cached.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        headers += ((b"content-type", b"application/json"), (b"content-length", str(len(cached.body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": cached.body, "more_body": False})

    def _cached(self, scope: Scope) -> CachedGuide | None:
        path: str = scope["path"]
        if root_path := scope.get("root_path", ""):  # as Litestar's router reads it
            path = path.split(root_path, maxsplit=1)[-1]
        if not path.startswith(_PREFIX):
            return None
        code = path[len(_PREFIX):]
        if not code or "/" in code:
            return None
        return self.catalog.fresh_guide(code)
