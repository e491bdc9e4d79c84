"""Public catalog API (no login): life events, departments, regions, items, guides, material lists."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from api.catalog import codes
from api.catalog.cache import CatalogCache, life_event_detail
from api.catalog.material_list import AnswerError, material_list
from api.catalog.schemas import (
    DepartmentList,
    ItemGuide,
    ItemPage,
    LifeEventDetail,
    LifeEventList,
    MaterialListOut,
    MaterialListRequest,
    RegionList,
)
from api.catalog.search import CursorError, Filters, decode_cursor
from api.core.errors import InvalidInput, RuleViolation, not_found
from api.core.http_cache import etag_matches
from api.core.qr import qr_png, qr_svg
from api.core.settings import Settings

PUBLIC = {"public": True}  # read by the access guard: no login needed
CACHE = {"Cache-Control": "public, max-age=30"}


def _bad(field: str, message: str, detail: str) -> InvalidInput:
    return InvalidInput(message, detail, field)


class CatalogController(Controller):
    path = "/api/v1"
    tags = ["catalog"]
    opt = PUBLIC

    @get("/life-events", summary="Life events (一件事)")
    async def life_events(
        self, state: State, audience: FromQuery[str | None] = None
    ) -> LifeEventList:
        if audience is not None and audience not in codes.AUDIENCES:
            raise _bad("audience", "服务对象只能是 natural_person 或 legal_person", "audience must be one of: "
                       + ", ".join(codes.AUDIENCES))
        snap = await _catalog(state).snapshot()
        return LifeEventList(
            items=[s for s, _ in snap.life_events.values() if audience is None or s.audience == audience]
        )

    @get("/life-events/{code:str}", summary="One life event with its items in order")
    async def life_event(
        self, state: State, code: FromPath[str], region: FromQuery[str | None] = None
    ) -> LifeEventDetail:
        snap = await _catalog(state).snapshot()
        region = _region(snap.regions, snap.city_region, region)
        detail = life_event_detail(snap, code, region)
        if detail is None:
            raise not_found("这个一件事", "life event", code)
        return detail

    @get("/regions", summary="The city and its counties/districts")
    async def regions(self, state: State) -> RegionList:
        return RegionList(items=(await _catalog(state).snapshot()).regions)

    @get("/departments", summary="Implementing departments")
    async def departments(
        self, state: State, region: FromQuery[str | None] = None
    ) -> DepartmentList:
        snap = await _catalog(state).snapshot()
        region = _region(snap.regions, snap.city_region, region)
        return DepartmentList(items=[d for d in snap.departments.values() if d.region_code == region])

    @get("/items", summary="Search and browse items (keyset pagination)")
    async def items(
        self,
        state: State,
        q: Annotated[str, QueryParameter(max_length=50)] = "",
        life_event: FromQuery[str | None] = None,
        department: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        audience: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: FromQuery[str | None] = None,
    ) -> Response[ItemPage]:
        snap = await _catalog(state).snapshot()
        if kind is not None and kind not in codes.ITEM_KINDS:
            raise _bad("kind", "事项类型应为 01–10 或 20", "kind must be one of " + ", ".join(codes.ITEM_KINDS))
        if audience is not None and audience not in codes.AUDIENCES:
            raise _bad("audience", "服务对象只能是 natural_person 或 legal_person", "unknown audience")
        if department is not None and department not in snap.departments:
            raise _bad("department", f"没有这个部门：{department}", f"unknown department '{department}'")
        basic_codes = None
        if life_event is not None:
            if life_event not in snap.life_events:
                raise _bad("life_event", f"没有这个一件事：{life_event}", f"unknown life event '{life_event}'")
            basic_codes = frozenset(snap.life_events[life_event][1])
        if department is not None:
            region_filter: str | None = None  # the department fixes the region
        elif region == "all":
            region_filter = None
        else:
            region_filter = _region(snap.regions, snap.city_region, region)
        try:
            after = decode_cursor(cursor) if cursor else None
        except CursorError:
            raise _bad("cursor", "分页参数无效，请从第一页重新开始", "invalid cursor") from None
        filters = Filters(region_filter, kind, department, audience, basic_codes)
        body = await _catalog(state).page(q, filters, limit, after)
        return Response(content=body, media_type=MediaType.JSON, headers=CACHE)

    @get("/items/{code:str}", summary="The full guide (办事指南) of the current published version")
    async def guide(
        self, state: State, code: FromPath[str],
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match", required=False)] = None,
    ) -> Response[ItemGuide]:
        cached = await _catalog(state).cached_guide(code)
        if cached is None:
            raise not_found("这个事项", "item", code)
        headers = {**CACHE, "ETag": cached.etag}
        if if_none_match is not None and etag_matches(if_none_match, cached.etag):
            # A phone re-reading a guide it holds downloads nothing (RFC 9110 §13.1.2).
            return Response(content=None, status_code=304, headers=headers)
        return Response(content=cached.body, media_type=MediaType.JSON, headers=headers)

    @post("/items/{code:str}/material-list", status_code=200,
          summary="The exact material list (一单载明) for the applicant's answers")
    async def material_list(
        self, state: State, code: FromPath[str], data: JSONBody[MaterialListRequest]
    ) -> MaterialListOut:
        guide = await _catalog(state).guide(code)
        if guide is None:
            raise not_found("这个事项", "item", code)
        try:
            return material_list(guide, data.answers)
        except AnswerError as exc:
            raise RuleViolation(exc.message, exc.detail, exc.field) from None

    @get("/items/{code:str}/qr.svg", media_type="image/svg+xml", summary="QR code of the item's page (SVG)")
    async def qr_svg(self, state: State, code: FromPath[str]) -> Response[bytes]:
        return Response(qr_svg(await _item_url(state, code)), media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})

    @get("/items/{code:str}/qr.png", media_type="image/png", summary="QR code of the item's page (PNG)")
    async def qr_png(self, state: State, code: FromPath[str]) -> Response[bytes]:
        return Response(qr_png(await _item_url(state, code)), media_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})


async def _item_url(state: State, code: str) -> str:
    snap = await _catalog(state).snapshot()
    if code not in snap.entries:
        raise not_found("这个事项", "item", code)
    settings: Settings = state.settings
    return f"{settings.public_url}/items/{code}"


def _region(regions: list, city_region: str, region: str | None) -> str:
    if region is None:
        return city_region
    if not any(r.code == region for r in regions):
        raise _bad("region", f"没有这个行政区划：{region}", f"unknown region '{region}'")
    return region


def _catalog(state: State) -> CatalogCache:
    # Read from app state rather than through DI: the catalog is the hottest path, and Litestar's
    # dependency resolution costs ~10 % of a cached guide request (measured in tests/bench).
    return state.catalog
