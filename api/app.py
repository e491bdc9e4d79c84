"""Composition root: ``create_app(settings)`` wires every domain into one Litestar app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.datastructures import ResponseHeader, State
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from api.audit.controllers import AdminAuditController
from api.cases.bundle_controllers import BundleController
from api.cases.controllers import CaseController, TrackController
from api.catalog.admin_controllers import AdminCatalogController, AdminItemController, AdminOrganisationController
from api.catalog.cache import CatalogCache
from api.catalog.controllers import CatalogController
from api.catalog.guide_asgi import GuideFastPath
from api.certificates.controllers import CertificateController
from api.core.access import OPENAPI_PATH, check_access_rules
from api.core.blobs import blob_store
from api.core.bounds import bound_path_ids, check_path_id_bounds
from api.core.db import close_orm, init_orm
from api.core.errors import DATABASE_OUTAGE, exception_handlers
from api.core.health import health, live, ready
from api.core.logs import install_redaction
from api.core.metrics import Instrumented, metrics_route
from api.core.request_context import RequestContext
from api.core.settings import Settings
from api.core.spa import pwa_routers, spa_fallback
from api.identity.controllers import AdminStaffController, AuthController, DevController, MeController
from api.identity.guards import require_roles
from api.identity.services import OtpService, SessionService
from api.identity.sms import sms_sender
from api.identity.tokens import TokenService
from api.notifications.controllers import (
    AdminNotificationController,
    CitizenMessageController,
    NotificationSettingsController,
    PushKeyController,
    StaffMessageController,
)
from api.ratings.controllers import RatingController, RatingStaffController
from api.supervision.controllers import (
    AdminSupervisionController,
    DepartmentOrderController,
    StatisticsController,
    SupervisionController,
)
from api.uploads.tus import UploadController
from api.worker import Worker
from api.workflow.calendar_controllers import AdminCalendarController
from api.workflow.controllers import WorkbenchController, WorkflowController

log = logging.getLogger("zhengwu")

SECURITY_HEADERS = [
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
]


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Litestar:
    """The app. ``manage_database=False`` leaves Tortoise to the caller (tests own it on their loop)."""
    settings = settings or Settings.from_env()
    install_redaction()

    catalog = CatalogCache(settings.catalog_version_check_interval, settings.catalog_prewarm)
    tokens = TokenService(settings.secret_key, settings.public_url, settings.previous_secret_keys)
    sender = sms_sender(settings)
    handlers: list = [health, live, ready, CatalogController, AuthController, MeController]
    handlers += [AdminOrganisationController, AdminStaffController, AdminItemController, AdminCalendarController]
    handlers.append(AdminCatalogController)  # the Excel import of the staff console
    # audit is below identity, so its controller cannot import the role guard: it is attached here
    handlers.append(Router("/", route_handlers=[AdminAuditController], guards=[require_roles]))
    handlers += [CaseController, TrackController, UploadController, WorkflowController, WorkbenchController]
    handlers += [CertificateController, BundleController]
    handlers += [CitizenMessageController, StaffMessageController, NotificationSettingsController, PushKeyController,
                 AdminNotificationController, RatingController, RatingStaffController]
    handlers += [SupervisionController, DepartmentOrderController, StatisticsController, AdminSupervisionController]
    if not settings.production:
        handlers.append(DevController)
    if settings.metrics_token:
        handlers.append(metrics_route(settings.metrics_token))

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        await init_orm(settings.database_url)
        try:
            await catalog.snapshot()  # warm the search index before the first citizen waits for it
        except Exception as exc:  # the database may be down or not migrated; health says so
            log.warning("catalog not loaded at startup: %s", type(exc).__name__)
        try:
            yield
        finally:
            await DATABASE_OUTAGE.close()
            await catalog.close()
            await blobs.close()
            await close_orm()

    blobs = blob_store(settings)
    lifespan: list = [database] if manage_database else []
    if manage_database and settings.worker_in_server:
        # The background worker in this process (api/worker.py); SQLite's one, or one of many on PostgreSQL.
        worker = Worker(settings, blobs, sms=sender)

        @asynccontextmanager
        async def background(app: Litestar) -> AsyncIterator[None]:
            async with worker.running() as mine:
                app.state.worker = worker if mine else None  # readiness asks it for its ticks
                try:
                    yield
                finally:
                    app.state.worker = None

        lifespan.append(background)
    app = Litestar(
        route_handlers=[*handlers, *pwa_routers(settings.pwa_dist)],
        lifespan=lifespan,
        state=State({
            "settings": settings, "catalog": catalog, "tokens": tokens,
            "otp": OtpService(settings.secret_key, sender), "sessions": SessionService(tokens),
            "blobs": blobs,
        }),
        exception_handlers={**exception_handlers, NotFoundException: spa_fallback(settings.pwa_dist)},
        response_headers=SECURITY_HEADERS,
        before_request=bound_path_ids,  # every integer path id in range, or 404 (api/core/bounds.py)
        openapi_config=OpenAPIConfig(
            title="智慧政务 zhengwu API", version="1.0.0", path=OPENAPI_PATH,
            description="Service catalog, applications and supervision of a city's government services.",
            render_plugins=[ScalarRenderPlugin()],
        ),
        debug=False,
        # The process entry point configures logging (`zhengwu serve`: api/core/logs.py); Litestar's
        # default would replace every handler, closing the ones that write off the event loop.
        logging_config=None,
    )
    check_access_rules(app)
    check_path_id_bounds(app)
    # A guide this process holds is answered before Litestar's routing (api/catalog/guide_asgi.py).
    app.asgi_handler = GuideFastPath.in_front_of(app, catalog)
    # Around the whole handler (request id, the caller's address the audit trail records, the
    # access line), not a Litestar middleware: those skip requests no route matched.
    app.asgi_handler = RequestContext(app.asgi_handler, settings.trust_request_id)
    app.asgi_handler = Instrumented(app.asgi_handler, production=settings.production)  # metrics, CSP, HSTS
    return app


def app_factory() -> Litestar:
    """Entry point for ASGI servers (``uvicorn --factory api.app:app_factory``)."""
    return create_app()
