"""Administration API (管理员): departments, windows, life events, item drafts and publishing.
Thin: parse, authorise (admin role), call one service in api.catalog.admin, and invalidate this
process's catalog cache after a change citizens can see. (Staff accounts: api.identity.controllers;
the audit trail: api.audit.controllers.)
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from api.catalog import admin
from api.catalog.document import (
    DepartmentDoc,
    FlowStepDoc,
    ItemDoc,
    LifeEventDoc,
    MaterialDoc,
    QuestionDoc,
    SituationDoc,
    WindowDoc,
)
from api.catalog.flows import flow_of
from api.catalog.schemas import (
    AdminItemOut,
    AdminVersionOut,
    DraftOut,
    ProblemsOut,
    PublishedOut,
    RetiredOut,
    ValidationOut,
)
from api.core.errors import InvalidInput
from api.identity.guards import require_roles
from api.identity.principal import Principal

ADMIN = {"roles": ["admin"]}
AdminRequest = Request[Principal, Any, State]  # the guard has set request.user


_INVALID = {
    422: ResponseSpec(data_container=ProblemsOut, generate_examples=False,
                      description="Every problem found, in Chinese, located"),
}


def _actor(request: AdminRequest) -> str:
    return request.user.subject


def _draft(d: admin.Draft) -> DraftOut:
    return DraftOut(number=d.number, created_at=d.created_at, item=d.doc, flow=flow_of(d.doc))


def _same_code(path: str, body: str) -> None:
    if path != body:
        raise InvalidInput(f"请求体中的编码（{body}）与地址中的编码（{path}）不一致", "body code differs from path",
                       "code")


class _Admin(Controller):
    opt = ADMIN
    guards = [require_roles]
    tags = ["admin"]


# --------------------------------------------------------------------------- organisation


@dataclass(frozen=True, slots=True)
class _Table:
    """An organisation table the administrator lists, creates and replaces whole, row by code."""

    path: str  # the list; a row is at {path}/{code}
    doc: type[msgspec.Struct]  # a row: the request body and the answer alike
    row: str  # the handlers are named create_{row} and update_{row}
    rows: str  # and the list's handler {rows}
    listing: Callable[[], Awaitable[list[Any]]]
    save: Callable[[str, Any, bool], Awaitable[Any]]  # (actor, doc, create)
    summaries: tuple[str, str, str]  # list, create, replace


def _handlers(t: _Table) -> dict[str, HTTPRouteHandler]:
    """The list/create/replace handlers of one table, as they would be written out by hand."""

    async def save(state: State, request: AdminRequest, data: Any, create: bool) -> Any:
        out = await t.save(request.user.subject, data, create)
        state.catalog.invalidate()  # citizens see the change on this process's next read
        return out

    async def listing(self: Controller) -> Any:
        return await t.listing()

    async def create(self: Controller, state: State, request: AdminRequest, data: Any) -> Any:
        return await save(state, request, data, True)

    async def replace(self: Controller, state: State, request: AdminRequest, code: FromPath[str], data: Any) -> Any:
        _same_code(code, data.code)
        return await save(state, request, data, False)

    # Litestar takes the body's type and the OpenAPI schemas from the annotations: name t.doc there.
    listing.__annotations__["return"] = list[t.doc]
    for fn in (create, replace):
        fn.__annotations__.update({"data": JSONBody[t.doc], "return": t.doc})
    listed, created, replaced = t.summaries
    routes = (
        (t.rows, listing, get(t.path, summary=listed)),
        (f"create_{t.row}", create, post(t.path, summary=created, responses=_INVALID)),
        (f"update_{t.row}", replace, put(f"{t.path}/{{code:str}}", summary=replaced, responses=_INVALID)),
    )
    handlers = {}
    for name, fn, route in routes:
        fn.__name__ = fn.__qualname__ = name  # the handler's name: part of its OpenAPI operation id
        handlers[name] = route(fn)
    return handlers


_ORGANISATION = (
    _Table("/departments", DepartmentDoc, "department", "departments", admin.list_departments, admin.save_department,
           ("All departments (admin)", "Create a department", "Replace a department")),
    _Table("/windows", WindowDoc, "window", "windows", admin.list_windows, admin.save_window,
           ("All acceptance windows (admin)", "Create a window", "Replace a window")),
    _Table("/life-events", LifeEventDoc, "life_event", "life_events", admin.list_life_events, admin.save_life_event,
           ("All life events with their items (admin)", "Create a life event (一件事)",
            "Replace a life event and its items")),
)

# A Controller collects its handlers from its class attributes, so the generated ones stand where
# hand-written methods would.
AdminOrganisationController = type("AdminOrganisationController", (_Admin,), {
    "__module__": __name__, "__qualname__": "AdminOrganisationController", "path": "/api/v1/admin",
    **{name: handler for table in _ORGANISATION for name, handler in _handlers(table).items()},
})


# --------------------------------------------------------------------------- items


class AdminItemController(_Admin):
    path = "/api/v1/admin/items"

    @post("/", summary="Create a new item as a draft (version 1)", responses=_INVALID)
    async def create_item(self, request: AdminRequest, data: JSONBody[ItemDoc]) -> DraftOut:
        return _draft(await admin.create_item(_actor(request), data))

    @get("/{code:str}", summary="An item: current published content and every version")
    async def item(self, code: FromPath[str]) -> AdminItemOut:
        o = await admin.item_overview(code)
        return AdminItemOut(
            code=o.item.code, basic_code=o.item.basic_code, department=o.department, region_code=o.item.region_code,
            published=o.published,
            versions=[AdminVersionOut(v.number, v.status, v.created_at, v.published_at) for v in o.versions],
            has_draft=any(v.status == "draft" for v in o.versions),
        )

    @post("/{code:str}/draft", summary="Create a draft copying the current published version")
    async def create_draft(self, request: AdminRequest, code: FromPath[str]) -> DraftOut:
        return _draft(await admin.create_draft(_actor(request), code))

    @get("/{code:str}/draft", summary="The draft's content")
    async def draft(self, code: FromPath[str]) -> DraftOut:
        return _draft(await admin.get_draft(code))

    @put("/{code:str}/draft", summary="Replace the draft's content (code, basic code, department fixed)",
         responses=_INVALID)
    async def replace_draft(self, request: AdminRequest, code: FromPath[str], data: JSONBody[ItemDoc]) -> DraftOut:
        return _draft(await admin.replace_draft(_actor(request), code, data))

    @put("/{code:str}/draft/questions", summary="Replace the draft's situation questions", responses=_INVALID)
    async def replace_questions(
        self, request: AdminRequest, code: FromPath[str], data: JSONBody[list[QuestionDoc]]
    ) -> DraftOut:
        return _draft(await admin.replace_questions(_actor(request), code, data))

    @put("/{code:str}/draft/flow", summary="Replace the draft's flow steps ([] = the default flow)",
         responses=_INVALID)
    async def replace_flow(
        self, request: AdminRequest, code: FromPath[str], data: JSONBody[list[FlowStepDoc]]
    ) -> DraftOut:
        return _draft(await admin.replace_flow(_actor(request), code, data))

    @put("/{code:str}/draft/situations", summary="Replace the draft's situations (with their materials)",
         responses=_INVALID)
    async def replace_situations(
        self, request: AdminRequest, code: FromPath[str], data: JSONBody[list[SituationDoc]]
    ) -> DraftOut:
        return _draft(await admin.replace_situations(_actor(request), code, data))

    @put("/{code:str}/draft/situations/{situation:str}/materials", summary="Replace one situation's material list",
         responses=_INVALID)
    async def replace_materials(
        self, request: AdminRequest, code: FromPath[str], situation: FromPath[str], data: JSONBody[list[MaterialDoc]]
    ) -> DraftOut:
        return _draft(await admin.replace_materials(_actor(request), code, situation, data))

    @post("/{code:str}/draft/validate", status_code=200, summary="Check the draft without publishing")
    async def validate(self, code: FromPath[str]) -> ValidationOut:
        problems = await admin.validate_draft(code)
        return ValidationOut(valid=not problems, problems=problems)

    @post("/{code:str}/draft/publish", status_code=200, summary="Publish the draft (the previous version is kept)",
          responses=_INVALID)
    async def publish(self, state: State, request: AdminRequest, code: FromPath[str]) -> PublishedOut:
        p = await admin.publish_draft(_actor(request), code)
        state.catalog.invalidate()  # this process serves the new guide on its very next read
        return PublishedOut(code=code, number=p.number, published_at=p.published_at, superseded=p.superseded,
                            catalog_version=p.catalog_version)

    @delete("/{code:str}/draft", summary="Discard the draft")
    async def discard(self, request: AdminRequest, code: FromPath[str]) -> None:
        await admin.discard_draft(_actor(request), code)

    @post("/{code:str}/retire", status_code=200, summary="Retire the published version (leaves the public catalog)")
    async def retire(self, state: State, request: AdminRequest, code: FromPath[str]) -> RetiredOut:
        number, version = await admin.retire_item(_actor(request), code)
        state.catalog.invalidate()
        return RetiredOut(code=code, number=number, status="retired", catalog_version=version)


# --------------------------------------------------------------------------- Excel import

MAX_WORKBOOK = 50 * 1024 * 1024  # the synthetic 5,933-item catalog's workbook is far smaller


class ImportOut(msgspec.Struct):
    items_created: int
    versions_published: int
    items_unchanged: int
    catalog_version: int


class AdminCatalogController(_Admin):
    path = "/api/v1/admin/catalog"

    @post("/import", status_code=200, request_max_body_size=MAX_WORKBOOK, responses=_INVALID,
          summary="Import the catalog from an Excel workbook (the body; all or nothing, every bad row reported)")
    async def import_catalog(self, state: State, request: AdminRequest) -> ImportOut:
        with tempfile.TemporaryDirectory(prefix="zw-import-") as tmp:
            path = Path(tmp) / "catalog.xlsx"
            async with await anyio.open_file(path, "wb") as out:
                async for chunk in request.stream():
                    await out.write(chunk)
            result = await admin.import_workbook(_actor(request), path, "workbook.xlsx")
        state.catalog.invalidate()
        return ImportOut(result.items_created, result.versions_published, result.items_unchanged,
                         result.catalog_version)
