"""Reading the audit trail (管理员). Thin: parse, call one service, shape the answer.

Audit sits below identity (staff changes are audited), so this module cannot import identity's
role guard: the composition root (api/app.py) attaches it, and ``check_access_rules`` refuses to
build an app where it forgot to.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api.audit import services
from api.audit.schemas import AuditOut, AuditPage


class AdminAuditController(Controller):
    path = "/api/v1/admin/audit"
    opt = {"roles": ["admin"]}
    tags = ["admin"]

    @get("/", summary="Audit entries, newest first (keyset pagination)")
    async def audit(
        self,
        target_type: Annotated[str | None, QueryParameter(max_length=32)] = None,
        target_code: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> AuditPage:
        page = await services.page(target_type, target_code, limit, cursor)
        return AuditPage(
            items=[AuditOut(id=e.id, at=e.at, actor=e.actor, role=e.role, action=e.action,
                            target_type=e.target_type, target_code=e.target_code, before=e.before, after=e.after,
                            client=e.client) for e in page.entries],
            next_cursor=page.next_cursor,
        )
