"""容缺受理: a case accepted with secondary materials missing, against the applicant's signed promise.

The item version names the materials that may be missing and the working days to make them up
(``tolerated_missing``, checked on publish: never the main materials, never past the promised limit).

* At submission the applicant names the tolerated materials still missing and signs the promise
  (``promised``): those alone are excused from the completeness check; the case owes them (``owed``).
* At acceptance (or when the case counts as accepted) the make-up deadline starts: ``makeup_due`` is
  the deadline's working days from that day, and never later than the case's promised due date.
  A material uploaded meanwhile is owed no more.
* The applicant uploads them (``cases.may_attach`` allows the owed materials until a decision) and
  hands them in (``make_up``); until then nobody approves the case (states.OWING).
* Past ``makeup_due`` the platform ends the case (``services.end_overdue_tolerated``).

Called inside ``services.apply``'s transaction, with the case locked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.cases.models import ATTACHED, MISSING, Case, CaseMaterial
from api.catalog.models import ServiceItemVersion
from api.core.errors import RuleViolation
from api.workflow import deadlines


async def rule_of(case: Case, conn: BaseDBAsyncClient | None = None) -> dict[str, Any]:
    """The item version's 容缺 rule: {allowed, materials, deadline} ({} when it has none)."""
    found = await ServiceItemVersion.filter(id=case.item_version_id).using_db(conn) \
        .values_list("tolerated_missing", flat=True)  # type: ignore[attr-defined]
    return dict(found[0] or {}) if found else {}


async def deadline_days(conn: BaseDBAsyncClient, case: Case) -> int:
    """Working days the item gives to make tolerated materials up."""
    return int((await rule_of(case, conn)).get("deadline") or 0)


async def promised(conn: BaseDBAsyncClient, case: Case, codes: list[str], promise: bool | None) -> list[dict[str, str]]:
    """The materials the applicant submits without, against the promise: [{code, name}] ([] for none).
    Each must be tolerated by the item version and still missing on the case's checklist (one
    already attached is not owed, and is left out); the promise must be signed."""
    if not codes:
        return []
    rule = await rule_of(case, conn)
    allowed = set(rule.get("materials") or []) if rule.get("allowed") else set()
    if not allowed:
        raise RuleViolation("这个事项不支持容缺受理，请上传全部必需材料",
                            "this item does not tolerate missing materials", "tolerated")
    listed = {m.code: m for m in await CaseMaterial.filter(case_id=case.id).using_db(conn)}
    outside = [c for c in codes if c not in allowed or c not in listed]
    if outside:
        names = "、".join(f"「{listed[c].name}」" if c in listed else c for c in outside)
        raise RuleViolation(f"这些材料不能容缺，必须现在提交：{names}", f"not tolerated: {', '.join(outside)}",
                            "tolerated")
    owed = [{"code": c, "name": listed[c].name} for c in codes if listed[c].status == MISSING]
    if owed and promise is not True:
        raise RuleViolation("容缺受理须签署承诺书：请确认在期限内补齐所缺材料", "the make-up promise must be signed",
                            "promise")
    return owed


def promise_text(owed: list[dict[str, str]], days: int) -> str:
    """The promise as the applicant signed it (the PWA shows the same words before they confirm)."""
    names = "、".join(f"「{m['name']}」" for m in owed)
    return (f"本人承诺自受理之日起 {days} 个工作日内补齐{names}，并对所提交材料的真实性负责；"
            "逾期未补齐的，本次申请终止办理。")


async def start_makeup(conn: BaseDBAsyncClient, case: Case, calendar: deadlines.Calendar) -> dict[str, Any]:
    """At acceptance: what is still owed, and by when ({} when nothing is)."""
    if not case.owed:
        return {}
    still = {c for c, s in await CaseMaterial.filter(case_id=case.id, code__in=[m["code"] for m in case.owed])
             .using_db(conn).values_list("code", "status") if s != ATTACHED}
    case.owed = [m for m in case.owed if m["code"] in still]
    if not case.owed:
        return {}
    assert case.accepted_at is not None
    due = deadlines.add_working_days(calendar, deadlines.china_day(case.accepted_at), await deadline_days(conn, case))
    case.makeup_due = min(due, case.due_date) if case.due_date is not None else due
    return {"owed": [m["code"] for m in case.owed], "makeup_due": case.makeup_due}


async def make_up(conn: BaseDBAsyncClient, case: Case) -> list[str]:
    """Hand the owed materials in: every one must be uploaded. Returns their codes."""
    codes = [m["code"] for m in case.owed]
    attached = set(await CaseMaterial.filter(case_id=case.id, code__in=codes, status=ATTACHED).using_db(conn)
                   .values_list("code", flat=True))
    missing = [m for m in case.owed if m["code"] not in attached]
    if missing:
        names = "、".join(f"「{m['name']}」" for m in missing)
        raise RuleViolation(f"还有 {len(missing)} 份容缺材料没有上传：{names}",
                            f"{len(missing)} owed material(s) not uploaded", missing[0]["code"],
                            problems=[{"field": m["code"], "message": f"请上传「{m['name']}」",
                                       "detail": f"owed material '{m['code']}' is missing"} for m in missing])
    case.owed, case.makeup_due = [], None
    return codes


def overdue(case: Case, today: dt.date) -> bool:
    return bool(case.owed) and case.makeup_due is not None and case.makeup_due < today
