"""Administration API (管理员): departments, windows, life events, item drafts and publishing.
Thin: parse, authorise (admin role), call one service in api.catalog.admin, and invalidate this
process's catalog cache after a change citizens can see. (Staff accounts: api.identity.controllers;
the audit trail: api.audit.controllers.)
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from api.catalog import admin
from api.catalog.document import DepartmentDoc, ItemDoc, LifeEventDoc, MaterialDoc, QuestionDoc, SituationDoc, WindowDoc
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
    return DraftOut(number=d.number, created_at=d.created_at, item=d.doc)


def _same_code(path: str, body: str) -> None:
    if path != body:
        raise InvalidInput(f"请求体中的编码（{body}）与地址中的编码（{path}）不一致", "body code differs from path",
                       "code")


# Path parameters identifying rows are named ``id`` (the convention the authorization matrix test
# relies on to address a row that does not exist).
class _Admin(Controller):
    opt = ADMIN
    guards = [require_roles]
    tags = ["admin"]


# --------------------------------------------------------------------------- organisation


class AdminOrganisationController(_Admin):
    path = "/api/v1/admin"

    @get("/departments", summary="All departments (admin)")
    async def departments(self) -> list[DepartmentDoc]:
        return await admin.list_departments()

    @post("/departments", summary="Create a department", responses=_INVALID)
    async def create_department(
        self, state: State, request: AdminRequest, data: JSONBody[DepartmentDoc]
    ) -> DepartmentDoc:
        out = await admin.save_department(_actor(request), data, create=True)
        state.catalog.invalidate()
        return out

    @put("/departments/{code:str}", summary="Replace a department", responses=_INVALID)
    async def update_department(
        self, state: State, request: AdminRequest, code: FromPath[str], data: JSONBody[DepartmentDoc]
    ) -> DepartmentDoc:
        _same_code(code, data.code)
        out = await admin.save_department(_actor(request), data, create=False)
        state.catalog.invalidate()
        return out

    @get("/windows", summary="All acceptance windows (admin)")
    async def windows(self) -> list[WindowDoc]:
        return await admin.list_windows()

    @post("/windows", summary="Create a window", responses=_INVALID)
    async def create_window(self, state: State, request: AdminRequest, data: JSONBody[WindowDoc]) -> WindowDoc:
        out = await admin.save_window(_actor(request), data, create=True)
        state.catalog.invalidate()
        return out

    @put("/windows/{code:str}", summary="Replace a window", responses=_INVALID)
    async def update_window(
        self, state: State, request: AdminRequest, code: FromPath[str], data: JSONBody[WindowDoc]
    ) -> WindowDoc:
        _same_code(code, data.code)
        out = await admin.save_window(_actor(request), data, create=False)
        state.catalog.invalidate()
        return out

    @get("/life-events", summary="All life events with their items (admin)")
    async def life_events(self) -> list[LifeEventDoc]:
        return await admin.list_life_events()

    @post("/life-events", summary="Create a life event (一件事)", responses=_INVALID)
    async def create_life_event(
        self, state: State, request: AdminRequest, data: JSONBody[LifeEventDoc]
    ) -> LifeEventDoc:
        out = await admin.save_life_event(_actor(request), data, create=True)
        state.catalog.invalidate()
        return out

    @put("/life-events/{code:str}", summary="Replace a life event and its items", responses=_INVALID)
    async def update_life_event(
        self, state: State, request: AdminRequest, code: FromPath[str], data: JSONBody[LifeEventDoc]
    ) -> LifeEventDoc:
        _same_code(code, data.code)
        out = await admin.save_life_event(_actor(request), data, create=False)
        state.catalog.invalidate()
        return out


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
