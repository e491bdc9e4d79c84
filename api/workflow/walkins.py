"""Walk-in applications (窗口代办): a clerk enters a case for a person at the window — someone without a
phone app, or who prefers the hall. The person is found or created by phone and resident ID (the
clerk has the ID card in hand, so the identity counts as checked), the case's channel is ``window``,
the clerk scans the materials and submits, and from then on the case follows the same flow. Every
step is recorded as the clerk's, never as the citizen's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from api.audit.services import record
from api.cases import services as cases
from api.cases.models import Case
from api.catalog.cache import CatalogCache
from api.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.identity.ids import id_number_problem, valid_mobile
from api.identity.models import Citizen
from api.identity.principal import Principal
from api.uploads import services as uploads
from api.workflow import services as workflow
from storage import BlobStore

CHANNEL = "window"


def _applicant(citizen_id: int, clerk: Principal) -> Principal:
    """The applicant as the clerk acts for them (their case, their checklist: the same rules)."""
    return Principal("citizen", citizen_id, "citizen", "", "", f"walk-in:{clerk.subject}", clerk.token_expires_at)


async def _person(phone: str, name: str, id_number: str) -> Citizen:
    if not valid_mobile(phone):
        raise InvalidInput("请填写正确的手机号码", "invalid mobile number", "phone")
    name, id_number = name.strip(), id_number.strip().upper()
    if not 2 <= len(name) <= 50:
        raise InvalidInput("请填写申请人的真实姓名（2–50 个字）", "name must be 2–50 characters", "name")
    problem = id_number_problem(id_number)
    if problem:
        raise InvalidInput(problem.message, problem.detail, "id_number")
    now = dt.datetime.now(dt.UTC)
    citizen = await Citizen.get_or_none(phone=phone)
    if citizen is None:
        return await Citizen.create(phone=phone, name=name, id_number=id_number, verified_at=now,
                                    identity_checked_at=now)
    if citizen.id_number and citizen.id_number != id_number:
        raise Conflict("这个手机号已登记为另一人的账号，请核对手机号或身份证号",
                       "the phone belongs to an account with another ID number", "id_number")
    citizen.name, citizen.id_number, citizen.verified_at, citizen.identity_checked_at = name, id_number, now, now
    await citizen.save(update_fields=["name", "id_number", "verified_at", "identity_checked_at"])
    return citizen


async def _clerks_draft(clerk: Principal, case_id: int) -> Case:
    """A walk-in draft of the clerk's window category (404 for anything else: reveal nothing)."""
    category = await cases.window_category(clerk)
    case = await Case.filter(id=case_id, channel=CHANNEL, window_category=category or "\0").first()
    if case is None or not category:
        raise NotFound("没有找到这个办件", f"case not found: {case_id}")
    return case


async def start(clerk: Principal, catalog: CatalogCache, *, phone: str, name: str, id_number: str, item_code: str,
                answers: dict[str, Any]) -> Case:
    """A draft for the person at the window, with the exact checklist of their answers."""
    category = await cases.window_category(clerk)
    guide = await catalog.guide(item_code)
    if guide is None:
        raise NotFound(f"没有找到这个事项：{item_code}", f"item not found: {item_code}", "item_code")
    if not category or guide.window is None or guide.window.category != category:
        raise Forbidden("这个事项不由本窗口受理，请引导申请人到对应的综合窗口",
                        "the item belongs to another window category", "item_code")
    citizen = await _person(phone, name, id_number)
    case = await cases.create_draft(catalog, _applicant(citizen.id, clerk), item_code, answers)
    case.channel = CHANNEL
    async with in_transaction() as conn:
        await Case.filter(id=case.id).using_db(conn).update(channel=CHANNEL)
        await record(conn, clerk.subject, "case.walk_in", "case", str(case.id),
                     after={"item_code": item_code, "applicant": f"citizen:{citizen.id}"})
    return case


async def scan(clerk: Principal, storage_root: Path, blobs: BlobStore, case_id: int, material_code: str,
               body: AsyncIterator[bytes], filename: str) -> Case:
    case = await _clerks_draft(clerk, case_id)
    await uploads.store_scan(_applicant(case.applicant_id, clerk), storage_root, blobs, case.id,  # type: ignore[attr-defined]
                             material_code, body, filename)
    return await Case.get(id=case.id)


async def submit(clerk: Principal, case_id: int, idempotency_key: str | None, secret: str, *,
                 tolerated: list[str] | None = None, promise: bool = False) -> workflow.Applied:
    """Submit for the person (容缺: with the materials they promised, on paper, to make up);
    the timeline and the audit trail name the clerk."""
    case = await _clerks_draft(clerk, case_id)
    return await workflow.apply(_applicant(case.applicant_id, clerk), case.id, "submit",  # type: ignore[attr-defined]
                                idempotency_key=idempotency_key, secret=secret, actor=clerk.subject,
                                payload={"tolerated": tolerated or [], "promise": promise})


async def make_up(clerk: Principal, case_id: int) -> workflow.Applied:
    """Hand in, for the person, the 容缺 materials they promised and the clerk has scanned."""
    case = await _clerks_draft(clerk, case_id)
    return await workflow.apply(_applicant(case.applicant_id, clerk), case.id, "make_up",  # type: ignore[attr-defined]
                                actor=clerk.subject)
