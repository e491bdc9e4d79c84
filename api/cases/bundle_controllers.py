"""一件事一次办 over HTTP: file a life event's items as one application, follow it as one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, HeaderParameter, JSONBody

from api.cases import bundles
from api.cases.models import STATE_NAMES
from api.cases.schemas import (
    BundleCaseOut,
    BundleCreate,
    BundleMaterialOut,
    BundleMaterialUse,
    BundleOut,
    BundleSubmit,
    MaterialRef,
)
from api.catalog.models import Department
from api.core.settings import Settings
from api.identity.guards import require_roles
from api.identity.principal import Principal

CITIZEN = {"roles": ["citizen"]}
PRIVATE = {"Cache-Control": "private, no-store"}
CitizenRequest = Request[Principal, Any, State]
KeyHeader = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]


async def bundle_out(found: bundles.BundleView) -> BundleOut:
    b = found.bundle
    names = dict(await Department.filter(code__in=sorted({c.department_code for c in found.cases})).values_list(
        "code", "name"))
    materials = []
    for g in found.groups:
        target = g.upload_to
        materials.append(BundleMaterialOut(
            key=g.key, name=g.names[0], names=g.names, source=g.source, certificate_type=g.certificate_type,
            required=g.required, status=g.status,
            filename=next((m.filename for m in g.members if m.status == "attached" and m.filename), ""),
            upload_to=MaterialRef(case_id=target.case_id, code=target.code) if target is not None else None,
            serves=[BundleMaterialUse(case_id=m.case_id, item_name=m.item_name, code=m.code, name=m.name,
                                      status=m.status) for m in g.members],
        ))
    draft = b.state == "draft" and any(c.state == "draft" for c in found.cases)
    return BundleOut(
        id=b.id, life_event=b.life_event_code, life_event_name=b.life_event_name, state=b.state,
        enterprise_uscc=found.enterprise_uscc, created_at=b.created_at, submitted_at=b.submitted_at,
        form_data=b.form_data,
        cases=[BundleCaseOut(
            case_id=c.id, item_code=c.item_code, item_name=c.item_name, department=c.department_code,
            department_name=str(names.get(c.department_code, "")), situation_name=c.situation_name, state=c.state,
            state_name=STATE_NAMES.get(c.state, ""), number=c.number, submitted_at=c.submitted_at,
            due_date=c.due_date, clock_paused=c.paused_at is not None) for c in found.cases],
        materials=materials,
        missing_required=[g.key for g in found.groups if g.blocking] if draft else [],
        spared_count=sum(1 for g in found.groups if g.status == "spared"),
        allowed_actions=["submit"] if draft else [],
    )


class BundleController(Controller):
    path = "/api/v1/bundles"
    tags = ["cases"]
    opt = CITIZEN
    guards = [require_roles]

    @post("", status_code=201, summary="一件事一次办: one draft case per item of a life event, all or none "
          "(Idempotency-Key header required; shared questions answered once)")
    async def create(self, state: State, request: CitizenRequest, data: JSONBody[BundleCreate],
                     idempotency_key: KeyHeader = None) -> Response[BundleOut]:
        filed = await bundles.create_bundle(
            state.catalog, request.user, data.life_event,
            [bundles.ItemRequest(i.item_code, i.answers) for i in data.items], data.answers, idempotency_key,
            data.enterprise_uscc, ttl=dt.timedelta(days=state.settings.draft_ttl_days))
        body = await bundle_out(await bundles.view(request.user, filed.bundle.id))
        return Response(body, status_code=200 if filed.replayed else 201,
                        headers={**PRIVATE, "Idempotent-Replayed": "true" if filed.replayed else "false"})

    @get("/{id:int}", summary="A bundle: each item's case and state, the materials each provided once")
    async def read(self, request: CitizenRequest, id: FromPath[int]) -> Response[BundleOut]:
        return Response(await bundle_out(await bundles.view(request.user, id)), headers=PRIVATE)

    @post("/{id:int}/submit", status_code=200, summary="Submit every case of a bundle, all or none "
          "(Idempotency-Key header required; one file serves every item that needs it)")
    async def submit(self, state: State, request: CitizenRequest, id: FromPath[int], data: JSONBody[BundleSubmit],
                     idempotency_key: KeyHeader = None) -> Response[BundleOut]:
        settings: Settings = state.settings
        filed = await bundles.submit_bundle(request.user, id, data.form_data, idempotency_key, settings.secret_key)
        body = await bundle_out(await bundles.view(request.user, filed.bundle.id))
        return Response(body, headers={**PRIVATE, "Idempotent-Replayed": "true" if filed.replayed else "false"})


__all__ = ["BundleController", "bundle_out"]
