"""HTTP for the workflow: one uniform action endpoint, what the caller may do now, and the workbench queue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from api.cases.controllers import case_out
from api.cases.models import STATE_NAMES
from api.cases.schemas import CaseOut, SubmitIn
from api.cases.services import CASE_STAFF, joint_departments, visible_case
from api.catalog.models import Department
from api.core.settings import Settings
from api.identity.guards import require_roles
from api.identity.principal import Principal
from api.workflow import documents, joint, queues, services, states, walkins
from api.workflow.schemas import (
    ActionIn,
    ActionOut,
    FindingsIn,
    JointOut,
    QueueItem,
    QueuePage,
    SubActionIn,
    SubCaseOut,
    SurveyIn,
    SurveyOut,
    VoucherOut,
    WalkInIn,
)

ACTORS = {"roles": ["citizen", *sorted(CASE_STAFF - {"supervisor"})]}
READERS = {"roles": ["citizen", *sorted(CASE_STAFF)]}
STAFF = {"roles": sorted(CASE_STAFF)}
CLERKS = {"roles": ["clerk"]}
DEPARTMENTS = {"roles": ["approver", "officer"]}  # 并联审批: each department's own staff
MAX_SCAN = 60 * 1024 * 1024  # the largest material limit plus room; each material's own limit applies

AnyRequest = Request[Principal, Any, State]


class WorkflowController(Controller):
    path = "/api/v1/cases"
    tags = ["workflow"]
    guards = [require_roles]

    @get("/{id:int}/actions", opt=READERS, summary="What I may do with this case now, with the fields each needs")
    async def actions(self, request: AnyRequest, id: FromPath[int]) -> list[ActionOut]:
        case = await visible_case(request.user, id)
        joint_case = bool(await joint_departments(case))
        return [msgspec.convert(a, ActionOut) for a in services.actions_for(request.user, case, joint_case)]

    @post("/{id:int}/actions/{action:str}", opt=ACTORS, status_code=200,
          summary="Take an action on a case (accept, refuse, request-correction, resupply, start-review, approve, "
                  "deny, suspend, resume, deliver, withdraw, comment, claim, release)")
    async def act(
        self, state: State, request: AnyRequest, id: FromPath[int], action: FromPath[str],
        data: JSONBody[ActionIn],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
    ) -> CaseOut:
        settings: Settings = state.settings
        name = action.replace("-", "_")
        if name not in states.ACTION_NAMES or name == "submit":
            name = action  # refused by the table with the usual words (submit has its own route)
        done = await services.apply(request.user, id, name, payload=data.fields(), version=data.version,
                                    idempotency_key=idempotency_key, secret=settings.secret_key)
        return await case_out(done.case, request.user)

    @get("/{id:int}/departments", opt=READERS,
         summary="A joint case's departments (并联审批): each one's state, due date, decision, what I may do")
    async def departments(self, request: AnyRequest, id: FromPath[int]) -> JointOut:
        return await joint_out(await joint.joint_of(request.user, id), request.user)

    @post("/{id:int}/departments/{department:str}/actions/{action:str}", opt=DEPARTMENTS, status_code=200,
          summary="A department's move on its part of a joint case (start-review, approve, deny); "
                  "version: the department's own")
    async def department_act(self, request: AnyRequest, id: FromPath[int], department: FromPath[str],
                             action: FromPath[str], data: JSONBody[SubActionIn]) -> JointOut:
        done = await joint.apply_sub(request.user, id, department, action.replace("-", "_"), payload=data.fields(),
                                     version=data.version)
        return await joint_out(done, request.user)

    @post("/{id:int}/survey", opt=DEPARTMENTS, status_code=200,
          summary="Schedule the one joint site survey (一次踏勘) of a joint case: stops its clock once")
    async def survey(self, request: AnyRequest, id: FromPath[int], data: JSONBody[SurveyIn]) -> JointOut:
        done = await joint.schedule_survey(request.user, id, on=data.date, place=data.place,
                                           attendees=data.attendees)
        return await joint_out(done, request.user)

    @post("/{id:int}/survey/findings", opt=DEPARTMENTS, status_code=200,
          summary="A department's findings of the joint survey; the last one closes it and restarts the clock")
    async def findings(self, request: AnyRequest, id: FromPath[int], data: JSONBody[FindingsIn]) -> JointOut:
        done = await joint.record_findings(request.user, id, department=data.department, findings=data.findings)
        return await joint_out(done, request.user)

    @get("/{id:int}/vouchers", opt=READERS, summary="The vouchers (文书) this case has: acceptance, refusal, "
         "correction notice, approval, denial")
    async def vouchers(self, request: AnyRequest, id: FromPath[int]) -> list[VoucherOut]:
        return [VoucherOut(kind=v.kind, name=v.name, issued_at=v.issued_at,
                           url=f"/api/v1/cases/{id}/vouchers/{v.kind}.pdf")
                for v in await documents.issued(request.user, id)]

    @get("/{id:int}/vouchers/{kind:str}", opt=READERS, media_type="application/pdf",
         summary="One voucher as a PDF with a tracking QR (the applicant, and staff who handle the case)")
    async def voucher(self, state: State, request: AnyRequest, id: FromPath[int],
                      kind: FromPath[str]) -> Response[bytes]:
        settings: Settings = state.settings
        name, pdf = await documents.voucher_pdf(request.user, id, kind.removesuffix(".pdf"), settings.secret_key,
                                                settings.public_url)
        return Response(pdf, media_type="application/pdf", headers={
            "Cache-Control": "private, no-store", "Content-Disposition": _disposition(name)})


async def joint_out(done: joint.Joint, principal: Principal) -> JointOut:
    codes = [s.department_code for s in done.subs]
    names = dict(await Department.filter(code__in=codes).values_list("code", "name"))
    survey = done.survey
    return JointOut(
        case_id=done.case.id, state=done.case.state, version=done.case.version,
        clock_paused=done.case.paused_at is not None, paused_days=done.case.paused_days,
        departments=[SubCaseOut(
            department=s.department_code, department_name=str(names.get(s.department_code, "")), state=s.state,
            state_name=STATE_NAMES.get(s.state, ""), version=s.version, due_date=s.due_date, decided_at=s.decided_at,
            reason=s.reason, opinion=s.opinion,
            allowed_actions=joint.sub_actions_for(principal, s, survey, done.case)) for s in done.subs],
        survey=None if survey is None else SurveyOut(
            date=survey.scheduled_on, place=survey.place, attendees=survey.attendees, findings=survey.findings,
            waiting=[c for c in codes if c not in survey.findings], closed_at=survey.closed_at),
    )


def _disposition(filename: str) -> str:
    return f"attachment; filename=\"voucher.pdf\"; filename*=UTF-8''{quote(filename, safe='')}"


class WorkbenchController(Controller):
    path = "/api/v1/workbench"
    tags = ["workflow"]
    guards = [require_roles]
    opt = STAFF

    @post("/walk-ins", opt=CLERKS, status_code=201,
          summary="Enter an application at the window for a person (found or created by phone and resident ID)")
    async def walk_in(self, state: State, request: AnyRequest, data: JSONBody[WalkInIn]) -> CaseOut:
        case = await walkins.start(request.user, state.catalog, phone=data.phone, name=data.name,
                                   id_number=data.id_number, item_code=data.item_code, answers=data.answers)
        return await case_out(case, request.user)

    @put("/walk-ins/{id:int}/materials/{code:str}", opt=CLERKS, request_max_body_size=MAX_SCAN,
         summary="Attach a material scanned at the window (the file as the body; checked as uploads are)")
    async def scan(self, state: State, request: AnyRequest, id: FromPath[int], code: FromPath[str],
                   filename: Annotated[str, QueryParameter(max_length=200)] = "scan") -> CaseOut:
        case = await walkins.scan(request.user, state.settings.work_root, state.blobs, id, code,
                                  request.stream(), filename)
        return await case_out(case, request.user)

    @post("/walk-ins/{id:int}/submit", opt=CLERKS, status_code=200,
          summary="Submit a walk-in application for the person (Idempotency-Key header required)")
    async def submit_walk_in(
        self, state: State, request: AnyRequest, id: FromPath[int],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
        data: JSONBody[SubmitIn | None] = None,
    ) -> CaseOut:
        body = data or SubmitIn()  # 容缺: the person signed the promise at the window
        done = await walkins.submit(request.user, id, idempotency_key, state.settings.secret_key,
                                    tolerated=body.tolerated, promise=body.promise)
        return await case_out(done.case, request.user)

    @post("/walk-ins/{id:int}/make-up", opt=CLERKS, status_code=200,
          summary="Hand in the 容缺 materials a walk-in applicant promised, once scanned (补齐容缺材料)")
    async def make_up_walk_in(self, request: AnyRequest, id: FromPath[int]) -> CaseOut:
        return await case_out((await walkins.make_up(request.user, id)).case, request.user)

    @get("/queue", summary="The cases that wait for my window or department, due first (keyset pages)")
    async def queue(
        self, request: AnyRequest,
        state_: Annotated[str | None, QueryParameter(name="state", max_length=24)] = None,
        item: Annotated[str | None, QueryParameter(max_length=64)] = None,
        due_before: Annotated[dt.date | None, QueryParameter()] = None,
        overdue: Annotated[bool, QueryParameter()] = False, mine: Annotated[bool, QueryParameter()] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> QueuePage:
        found = await queues.queue(request.user, queues.Filters(state_, item, due_before, overdue, mine),
                                   limit=limit, cursor=cursor)
        today = dt.date.today()
        return QueuePage(
            items=[QueueItem(id=c.id, number=c.number or "", state=c.state, state_name=STATE_NAMES.get(c.state, ""),
                             item_code=c.item_code, item_name=c.item_name, channel=c.channel,
                             submitted_at=c.submitted_at, due_date=c.due_date,
                             overdue=c.due_date is not None and c.due_date < today, claimed_by=c.claimed_by,
                             version=c.version) for c in found.cases],
            next_cursor=found.next_cursor, counts=found.counts,
        )
