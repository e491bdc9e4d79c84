"""Applications over HTTP: citizens' own cases, receipts, material downloads, public tracking."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Stream

from api.cases import services, versions
from api.cases.models import STATE_NAMES, Case, CaseEvent, CaseMaterial
from api.cases.schemas import (
    CaseCreate,
    CaseEventOut,
    CaseMaterialOut,
    CaseOut,
    CasePage,
    CaseSummary,
    CaseUpdate,
    DeliveryOut,
    ReceiptOut,
    SubmitIn,
    SubmitOut,
    TrackEventOut,
    TrackOut,
)
from api.core.errors import NotFound
from api.core.qr import qr_png, qr_svg
from api.core.ratelimit import RateLimiter
from api.core.settings import Settings
from api.identity.guards import require_roles
from api.identity.models import Enterprise, Staff
from api.identity.principal import Principal
from api.workflow import delivery, states, tolerated
from api.workflow import services as workflow
from api.workflow.calendar_services import current_calendar
from storage import BlobNotFound, BlobStore

CITIZEN = {"roles": ["citizen"]}
CASE_READERS = {"roles": ["citizen", *sorted(services.CASE_STAFF)]}
PUBLIC = {"public": True}
BASE = "/api/v1/cases"
PRIVATE = {"Cache-Control": "private, no-store"}
#: Types a browser may be told a download is; anything else goes out as octet-stream.
SAFE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "application/pdf"})

CitizenRequest = Request[Principal, Any, State]


def _material_out(case: Case, m: CaseMaterial) -> CaseMaterialOut:
    attached = m.status == "attached" and bool(m.blob_key)
    return CaseMaterialOut(
        code=m.code, name=m.name, required=m.required, source=m.source, certificate_type=m.certificate_type,
        reason=m.reason, status=m.status, filename=m.filename, size=m.size, mime=m.mime, sha256=m.sha256,
        attached_at=m.attached_at,
        download_url=f"{BASE}/{case.id}/materials/{quote(m.code, safe='')}/file" if attached else None,
    )


def _event_out(e: CaseEvent, actors: dict[str, str] | None = None) -> CaseEventOut:
    return CaseEventOut(at=e.at, action=e.action, action_name=states.ACTION_NAMES.get(e.action, e.action),
                        from_state=e.from_state, to_state=e.to_state, state_name=STATE_NAMES.get(e.to_state, ""),
                        data=e.data, internal=e.internal, actor_name=(actors or {}).get(e.actor, ""))


async def _actor_names(events: list[CaseEvent]) -> dict[str, str]:
    """Who acted on a case, as staff see it (the console's "someone else acted first: who and what"):
    a staff member by name, the applicant as 申请人, the platform as 系统. Never sent to the applicant."""
    ids = {int(e.actor.split(":", 1)[1]) for e in events
           if e.actor.startswith("staff:") and e.actor.split(":", 1)[1].isdigit()}
    staff = dict(await Staff.filter(id__in=ids).values_list("id", "name")) if ids else {}
    out = {}
    for e in events:
        kind, _, rest = e.actor.partition(":")
        if kind == "staff" and rest.isdigit():
            out[e.actor] = str(staff.get(int(rest)) or f"工作人员 {rest}")
        elif kind == "citizen":
            out[e.actor] = "申请人"
        else:
            out[e.actor] = "系统"
    return out


async def case_out(case: Case, principal: Principal) -> CaseOut:
    """The case as the caller may see it (the applicant never sees staff's internal entries), with
    what they may do next (the server's rules, so that no client keeps a copy of them)."""
    materials = await services.materials_of(case)
    events = [e for e in await services.events_of(case) if principal.kind == "staff" or not e.internal]
    notice = next((e for e in reversed(events) if e.action == "request_correction"), None)
    actors = await _actor_names(events) if principal.kind == "staff" else None
    version = await versions.facts(case.item_version_id)  # type: ignore[attr-defined]
    uscc = None
    if case.enterprise_id is not None:  # type: ignore[attr-defined]
        uscc = await Enterprise.filter(id=case.enterprise_id).first().values_list("uscc", flat=True)  # type: ignore[attr-defined]
    return CaseOut(
        id=case.id, number=case.number, state=case.state, state_name=STATE_NAMES.get(case.state, ""),
        item_code=case.item_code, item_name=case.item_name, item_version=version.number if version else 0,
        region=case.region,
        situation_code=case.situation_code, situation_name=case.situation_name,
        enterprise_uscc=str(uscc) if uscc else None, answers=case.answers, form_data=case.form_data,
        channel=case.channel, created_at=case.created_at, updated_at=case.updated_at,
        submitted_at=case.submitted_at, expires_at=case.expires_at,
        materials=[_material_out(case, m) for m in materials],
        missing_required=[m.code for m in services.blocking(materials)],
        spared_possible=services.spared_possible(materials),
        timeline=[_event_out(e, actors) for e in events],
        allowed_actions=workflow.case_actions(principal, case, bool(await services.joint_departments(case))),
        version=case.version, due_date=case.due_date, clock_paused=case.paused_at is not None,
        paused_days=case.paused_days, expected_date=await _expected(case),
        correction=(notice.data or {}).get("materials", []) if notice and case.state == states.CORRECTION else None,
        bundle_id=case.bundle_id,  # type: ignore[attr-defined]
        delivery=delivery_out(case), instant=case.case_type == "1",
        **await _tolerance(case, materials),
        owed=case.owed or [], makeup_due=case.makeup_due,
    )


async def _tolerance(case: Case, materials: list[CaseMaterial]) -> dict[str, Any]:
    """容缺 on a draft: which missing required materials the item lets the applicant promise instead."""
    if case.state != states.DRAFT:
        return {}
    missing = [m.code for m in services.blocking(materials)]
    if not missing:
        return {}
    rule = await tolerated.rule_of(case)
    codes = set(rule.get("materials") or []) if rule.get("allowed") else set()
    return {"tolerable": [c for c in missing if c in codes], "tolerable_deadline": int(rule.get("deadline") or 0)}


def delivery_out(case: Case) -> DeliveryOut | None:
    if case.delivery_method is None or case.delivered_at is None:
        return None
    return DeliveryOut(method=case.delivery_method,
                       method_name=delivery.METHODS.get(case.delivery_method, (case.delivery_method,))[0],
                       carrier=case.delivery_carrier, tracking_number=case.delivery_tracking_number,
                       delivered_at=case.delivered_at)


async def _expected(case: Case) -> dt.date | None:
    # Drafts have no date yet, and a withdrawn case will never be completed.
    if case.submitted_at is None or case.state in (states.DRAFT, states.WITHDRAWN):
        return None
    return services.promised_date(case, await current_calendar())


def _tracking_url(settings: Settings, number: str, code: str) -> str:
    return f"{settings.public_url}/track?{urlencode({'number': number, 'code': code})}"


def _content_disposition(filename: str) -> str:
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name or 'file'}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _receipt_url(state: State, request: CitizenRequest, case_id: int) -> str:
    settings: Settings = state.settings
    case = await services.submitted_case(request.user, case_id)
    assert case.number is not None
    return _tracking_url(settings, case.number, services.receipt_code(case, settings.secret_key))


class CaseController(Controller):
    path = BASE
    tags = ["cases"]
    opt = CITIZEN
    guards = [require_roles]

    @post("", status_code=201, summary="Start an application: a draft with the exact material checklist")
    async def create(self, state: State, request: CitizenRequest, data: JSONBody[CaseCreate]) -> CaseOut:
        case = await services.create_draft(state.catalog, request.user, data.item_code, data.answers,
                                           data.enterprise_uscc, ttl=_draft_ttl(state))
        return await case_out(case, request.user)

    @get("", summary="My applications, newest first (keyset pagination)")
    async def list_(
        self, request: CitizenRequest, limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        subject: Annotated[str | None, QueryParameter(max_length=32, description=(
            "enterprise mode: 'self' for my own applications only, or a bound enterprise's credit code"))] = None,
    ) -> CasePage:
        rows, next_cursor = await services.list_cases(request.user, limit, cursor, subject=subject)
        usccs = dict(await Enterprise.filter(id__in={c.enterprise_id for c in rows if c.enterprise_id}).values_list(  # type: ignore[attr-defined]
            "id", "uscc"))
        return CasePage(
            items=[CaseSummary(id=c.id, number=c.number, state=c.state, state_name=STATE_NAMES.get(c.state, ""),
                               item_code=c.item_code, item_name=c.item_name, created_at=c.created_at,
                               submitted_at=c.submitted_at,
                               allowed_actions=states.allowed_actions(
                                   c.state, request.user.role, states.used_actions(extended=bool(c.extended_days))),
                               bundle_id=c.bundle_id,  # type: ignore[attr-defined]
                               enterprise_uscc=usccs.get(c.enterprise_id))  # type: ignore[attr-defined]
                   for c in rows],
            next_cursor=next_cursor,
        )

    @get("/{id:int}", opt=CASE_READERS, summary="A case with its checklist and timeline: the applicant's own, "
         "or staff's within their window or department")
    async def read(self, request: CitizenRequest, id: FromPath[int]) -> CaseOut:
        return await case_out(await services.visible_case(request.user, id), request.user)

    @patch("/{id:int}", summary="Change a draft's form data and/or answers (re-derives the checklist)")
    async def update(self, state: State, request: CitizenRequest, id: FromPath[int],
                     data: JSONBody[CaseUpdate]) -> CaseOut:
        case = await services.update_draft(state.catalog, request.user, id, form_data=data.form_data,
                                           answers=data.answers, ttl=_draft_ttl(state))
        return await case_out(case, request.user)

    @post("/{id:int}/submit", status_code=200, summary="Submit a draft (Idempotency-Key header required)")
    async def submit(
        self, state: State, request: CitizenRequest, id: FromPath[int],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
        data: JSONBody[SubmitIn | None] = None,
    ) -> Response[SubmitOut]:
        settings: Settings = state.settings
        body = data or SubmitIn()
        done = await workflow.apply(request.user, id, "submit", idempotency_key=idempotency_key,
                                    secret=settings.secret_key,
                                    payload={"tolerated": body.tolerated, "promise": body.promise})
        case = done.case
        assert case.number is not None and case.submitted_at is not None
        out = SubmitOut(number=case.number, query_code=services.receipt_code(case, settings.secret_key),
                        submitted_at=case.submitted_at, receipt_url=f"{BASE}/{case.id}/receipt",
                        case=await case_out(case, request.user))
        headers = {**PRIVATE, "Idempotent-Replayed": "true" if done.replayed else "false"}
        return Response(out, headers=headers)

    @delete("/{id:int}", status_code=204, summary="Discard one of my drafts (submitted cases are withdrawn instead)")
    async def discard(self, request: CitizenRequest, id: FromPath[int]) -> None:
        await services.discard_draft(request.user, id)

    @post("/{id:int}/withdraw", status_code=200, summary="Withdraw an application before a decision")
    async def withdraw(self, request: CitizenRequest, id: FromPath[int]) -> CaseOut:
        return await case_out((await workflow.apply(request.user, id, "withdraw")).case, request.user)

    @get("/{id:int}/receipt", summary="The receipt (回执): number, query code, promised completion date")
    async def receipt(self, state: State, request: CitizenRequest, id: FromPath[int]) -> Response[ReceiptOut]:
        settings: Settings = state.settings
        case = await services.submitted_case(request.user, id)
        assert case.number is not None and case.submitted_at is not None
        code = services.receipt_code(case, settings.secret_key)
        body = ReceiptOut(
            number=case.number, query_code=code, item_code=case.item_code, item_name=case.item_name,
            situation_name=case.situation_name, submitted_at=case.submitted_at,
            promised_limit=case.promised_limit, promised_limit_unit=case.promised_limit_unit,
            promised_date=services.promised_date(case, await current_calendar()),
            tracking_url=_tracking_url(settings, case.number, code),
            qr_svg_url=f"{BASE}/{case.id}/receipt.svg", qr_png_url=f"{BASE}/{case.id}/receipt.png",
        )
        return Response(body, headers=PRIVATE)

    @get("/{id:int}/receipt.svg", media_type="image/svg+xml", summary="QR code of the receipt's tracking link (SVG)")
    async def receipt_svg(self, state: State, request: CitizenRequest, id: FromPath[int]) -> Response[bytes]:
        return Response(qr_svg(await _receipt_url(state, request, id)), media_type="image/svg+xml",
                        headers=PRIVATE)

    @get("/{id:int}/receipt.png", media_type="image/png", summary="QR code of the receipt's tracking link (PNG)")
    async def receipt_png(self, state: State, request: CitizenRequest, id: FromPath[int]) -> Response[bytes]:
        return Response(qr_png(await _receipt_url(state, request, id)), media_type="image/png",
                        headers=PRIVATE)

    @delete("/{id:int}/materials/{code:str}/file", status_code=200,
            summary="Take back the file attached to a material of a draft (the material is missing again)")
    async def detach(self, request: CitizenRequest, id: FromPath[int], code: FromPath[str]) -> CaseOut:
        await services.detach_material(request.user, id, code)
        return await case_out(await services.own_case(request.user, id), request.user)

    @get("/{id:int}/materials/{code:str}/file", media_type="application/octet-stream", opt=CASE_READERS,
         summary="Download an attached material (the applicant, or staff handling the case; as an attachment)")
    async def material_file(self, state: State, request: CitizenRequest, id: FromPath[int],
                            code: FromPath[str]) -> Stream:
        material = await services.material_file(request.user, id, code)
        store: BlobStore = state.blobs
        stack = contextlib.AsyncExitStack()
        try:
            chunks = await stack.enter_async_context(store.open(material.blob_key or ""))
        except BlobNotFound:
            await stack.aclose()
            raise NotFound("文件已不存在，请重新上传", f"blob missing for material: {code}",
                           "material_id") from None

        async def body() -> AsyncIterator[bytes]:
            async with stack:
                async for chunk in chunks:
                    yield chunk

        mime = material.mime if material.mime in SAFE_TYPES else "application/octet-stream"
        headers = {**PRIVATE, "Content-Disposition": _content_disposition(material.filename or "file"),
                   "X-Content-Type-Options": "nosniff"}
        if material.size is not None:
            headers["Content-Length"] = str(material.size)
        return Stream(body(), media_type=mime, headers=headers)


TRACK_LIMITER = RateLimiter("track", 30, 60)  # per address, counted in the database
_NOT_FOUND = ("没有找到这个办件，请核对办件编号和查询码", "no case with this number and query code")


class TrackController(Controller):
    path = "/api/v1/track"
    tags = ["cases"]

    @get("", opt=PUBLIC, summary="Track a case by number and query code (no sign-in; no personal data)")
    async def track(
        self, state: State, request: Request,
        number: Annotated[str, QueryParameter(max_length=40)],
        code: Annotated[str, QueryParameter(max_length=20)],
    ) -> Response[TrackOut]:
        await TRACK_LIMITER.enforce(request, "查询太频繁，请稍后再试", "too many tracking requests")
        settings: Settings = state.settings
        case = await services.track(number.strip(), code.strip(), settings.secret_key)
        if case is None or case.number is None or case.submitted_at is None:
            raise NotFound(*_NOT_FOUND)
        events = [e for e in await services.events_of(case) if not e.internal]  # staff notes stay inside
        body = TrackOut(
            number=case.number, item_name=case.item_name, state=case.state,
            state_name=STATE_NAMES.get(case.state, ""), submitted_at=case.submitted_at,
            promised_date=services.promised_date(case, await current_calendar()),
            clock_paused=case.paused_at is not None, paused_days=case.paused_days,
            timeline=[TrackEventOut(at=e.at, action=e.action, action_name=states.ACTION_NAMES.get(e.action, e.action),
                                    state=e.to_state, state_name=STATE_NAMES.get(e.to_state, "")) for e in events],
            delivery=delivery_out(case),
        )
        return Response(body, headers={"Cache-Control": "no-store"})


__all__ = ["CaseController", "TrackController", "case_out"]


def _draft_ttl(state: State) -> dt.timedelta:
    return dt.timedelta(days=state.settings.draft_ttl_days)
