"""The vouchers (文书) of a case, from what happened to it: each dated decision of 行政许可法 §32/§38
that its timeline holds — acceptance (also the one the law deems), refusal, the one-time correction
notice (the latest), approval, denial — for the applicant and the staff in whose hands the case is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

import anyio

from api.cases import services as cases
from api.cases.models import Case, CaseEvent
from api.catalog.models import Department
from api.core.errors import NotFound
from api.identity.models import Citizen, Enterprise
from api.identity.principal import Principal
from api.workflow import deadlines, vouchers
from api.workflow.calendar_services import current_calendar

#: The timeline action that issues each kind of voucher.
ISSUED_BY = {
    "accept": "acceptance", "deem_accepted": "acceptance", "refuse": "refusal",
    "request_correction": "correction", "approve": "approval", "deny": "denial",
}
KIND_NAMES = {"acceptance": "受理通知书", "refusal": "不予受理决定书", "correction": "补正材料通知书",
              "approval": "准予行政许可决定书", "denial": "不予行政许可决定书"}


@dataclass(frozen=True, slots=True)
class Issued:
    kind: str
    name: str
    issued_at: dt.datetime


async def _issuing_events(case: Case) -> dict[str, CaseEvent]:
    """The latest event that issued each kind (a second correction notice replaces the first)."""
    found: dict[str, CaseEvent] = {}
    for event in await CaseEvent.filter(case_id=case.id, action__in=list(ISSUED_BY)).order_by("at", "id"):
        found[ISSUED_BY[event.action]] = event
    return found


async def issued(principal: Principal, case_id: int) -> list[Issued]:
    case = await cases.visible_case(principal, case_id)
    return [Issued(kind, KIND_NAMES[kind], e.at) for kind, e in (await _issuing_events(case)).items()]


async def _applicant(case: Case) -> str:
    if case.enterprise_id is not None:  # type: ignore[attr-defined]
        name = await Enterprise.filter(id=case.enterprise_id).first().values_list("name", flat=True)  # type: ignore[attr-defined]
        if name:
            return str(name)
    citizen = await Citizen.get(id=case.applicant_id)  # type: ignore[attr-defined]
    return citizen.name or "申请人"


async def voucher_pdf(principal: Principal, case_id: int, kind: str, secret: str,
                      public_url: str) -> tuple[str, bytes]:
    """(file name, PDF) of the voucher of ``kind``; 404 when the case has none of that kind."""
    case = await cases.visible_case(principal, case_id)
    event = (await _issuing_events(case)).get(kind)
    if event is None or case.number is None:
        raise NotFound(f"这个办件没有{KIND_NAMES.get(kind, '这种文书')}", f"no {kind} voucher for this case", "kind")
    department = await Department.filter(code=case.department_code).first().values_list("name", flat=True)
    tracking = f"{public_url}/track?{urlencode({'number': case.number, 'code': cases.receipt_code(case, secret)})}"
    data = event.data or {}
    accepted_on = deadlines.china_day(case.accepted_at) if case.accepted_at else None
    details: dict[str, object] = {}
    if kind == "acceptance":
        # As the clock stood at acceptance, on the city's calendar (its overrides included).
        details["promised_date"] = deadlines.due_date(case.accepted_at or event.at, case.promised_limit,
                                                      case.promised_limit_unit, await current_calendar())
        if data.get("owed"):  # 容缺受理: what was owed at acceptance, and by when
            details["owed"] = [m.get("name") or m["code"] for m in data["owed"]]
            details["makeup_due"] = dt.date.fromisoformat(data["makeup_due"]) if data.get("makeup_due") else None
    elif kind in ("refusal", "denial"):
        details["reasons"] = [data.get("reason", "")]
        if kind == "denial":
            details["accepted_on"] = accepted_on
    elif kind == "correction":
        details["materials"] = [vouchers.MaterialProblem(name=m.get("name") or m["code"], problem=m["problem"])
                                for m in data.get("materials", [])]
    elif kind == "approval":
        details["accepted_on"] = accepted_on
    voucher = vouchers.voucher_for(kind, case, applicant=await _applicant(case), issuer=str(department or ""),
                                   tracking_url=tracking, issued_at=event.at, **details)
    # Rendering subsets a CJK font: a second of CPU, so off the event loop.
    return vouchers.filename(voucher), await anyio.to_thread.run_sync(vouchers.render, voucher)
