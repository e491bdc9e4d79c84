"""Prometheus metrics and the security headers, in one ASGI wrapper around the whole app.

Metrics (prometheus-client): ``zhengwu_http_request_duration_seconds`` (a histogram per method,
route template — ``/api/v1/items/{code}``, never the path itself, so citizens' numbers never
become label values — and status) and ``zhengwu_uploads_in_flight`` (tus requests receiving a
body now). They are exposed

* on ``GET /metrics`` of the app when ``ZHENGWU_METRICS_TOKEN`` is set, to
  ``Authorization: Bearer <token>`` only (anyone else: 404, as if there were no such route);
* on a port of their own when ``ZHENGWU_METRICS_PORT`` is set (``zhengwu serve`` starts it in its
  own process, bound to ``ZHENGWU_METRICS_HOST``, default 127.0.0.1; no token there).

``zhengwu serve`` runs prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, a fresh
directory per start), so with ``--workers N`` either exposition sums every worker's samples.

Per request the wrapper costs a clock read at each end, a closure, two header tuples appended, a
dict lookup for the cached histogram child and its ``observe`` (``tests/bench/bench_metrics.py``
measures it against a bare app: a few microseconds).

Security headers (sent unless a handler set its own): the PWA's Content-Security-Policy (the one
``pwa/vite.config.js`` puts in index.html's ``<meta>``, plus ``frame-ancestors 'none'``, which a
``<meta>`` cannot carry) on everything but the API documentation under ``/schema`` (its renderer
loads scripts of its own), and in production ``Strict-Transport-Security``.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from litestar import Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.core.access import OPENAPI_PATH
from api.core.errors import NotFound

#: Exactly the PWA's policy (tests/test_security_headers.py compares it with pwa/vite.config.js).
PWA_CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)
CSP = "; ".join((*PWA_CSP, "frame-ancestors 'none'"))
HSTS = "max-age=63072000; includeSubDomains"  # two years, as the HSTS preload list asks
UPLOADS_PATH = "/api/v1/uploads"
# Request latency buckets (seconds): a catalog read is ~1 ms, an upload's last PATCH up to seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Metrics:
    """The process's metrics, made on first use: prometheus-client must be imported after
    ``zhengwu serve`` has chosen the multiprocess directory."""

    def __init__(self) -> None:
        from prometheus_client import Gauge, Histogram

        self.duration = Histogram(
            "zhengwu_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
            ("method", "route", "status"), buckets=BUCKETS)
        self.uploads = Gauge("zhengwu_uploads_in_flight", "tus upload requests receiving a body",
                             multiprocess_mode="livesum")
        self.children: dict[tuple[str, str, int], Any] = {}

    def child(self, method: str, route: str, status: int) -> Any:
        key = (method, route, status)
        found = self.children.get(key)
        if found is None:
            found = self.children[key] = self.duration.labels(method, route, str(status))
        return found


_metrics: _Metrics | None = None


def metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    return _metrics


def exposition() -> tuple[bytes, str]:
    """The text format of every metric: this process's, or every worker's in multiprocess mode."""
    import os

    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

    metrics()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


_CSP_HEADER = (b"content-security-policy", CSP.encode())
_HSTS_HEADER = (b"strict-transport-security", HSTS.encode())
_ALLOWED = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Instrumented:
    """ASGI wrapper: latency histogram, in-flight uploads, and the security headers."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.metrics = metrics()
        self.headers = [_CSP_HEADER, _HSTS_HEADER] if production else [_CSP_HEADER]
        self.docs_headers = [_HSTS_HEADER] if production else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what uvicorn answers when the app fails before starting a response
        path: str = scope["path"]
        # No handler of ours sets these headers: they are appended, not merged.
        extra = self.docs_headers if path.startswith(OPENAPI_PATH) else self.headers

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        upload = path.startswith(UPLOADS_PATH) and scope["method"] in ("PATCH", "POST")
        if upload:
            self.metrics.uploads.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if upload:
                self.metrics.uploads.dec()
            method = scope["method"] if scope["method"] in _ALLOWED else "OTHER"
            # Unmatched paths (404s, the PWA's files) share one label: a path is not a route.
            route = scope.get("path_template") or "unmatched"
            self.metrics.child(method, route, status).observe(time.perf_counter() - started)


def metrics_route(token: str) -> Any:
    """``GET /metrics`` for the scraper holding ``token`` (everyone else: 404)."""
    expected = f"Bearer {token}".encode()

    @get("/metrics", opt={"public": True}, include_in_schema=False, media_type="text/plain",
         summary="Prometheus metrics (Authorization: Bearer ZHENGWU_METRICS_TOKEN)")
    async def metrics_endpoint(request: Request) -> Response[bytes]:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise NotFound("没有找到您要的内容", "not found")  # for anyone else, nothing is here
        body, content_type = exposition()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return metrics_endpoint


def serve_metrics_port(host: str, port: int) -> None:
    """The exposition on a port of its own, in this (the ``zhengwu serve``) process's thread."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            body, content_type = exposition()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # the scraper's requests: not logged
            return

    server = ThreadingHTTPServer((host, port), Handler)
    Thread(target=server.serve_forever, name="metrics", daemon=True).start()
