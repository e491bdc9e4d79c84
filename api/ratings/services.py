"""好差评: rating a case (一事一评) or a visit to a window (一次一评), the one follow-up (追评), the
rectification of a bad rating (核实 → 整改 → 回访 → the rater accepts or contests once), its
overdue steps, and the public figures.

Who rated is kept (``Rating.rater``) for the rater themself and for the supervisors; the staff who
served see a masked name at most, never a phone, a case number or an id that leads to the person.
Deadlines are counted in working days on the platform's calendar (``workflow.deadlines``)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.cases import services as cases
from api.cases.models import Case, CaseEvent
from api.catalog.models import Department, ServiceItem, ServiceItemVersion, Window
from api.core import cursors
from api.core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, RuleViolation
from api.core.settings import Settings
from api.identity.ids import mask_name
from api.identity.models import Citizen, Staff
from api.identity.principal import Principal
from api.notifications.services import enqueue
from api.ratings import rules
from api.ratings.models import Rating, Rectification, RectificationStep
from api.workflow import deadlines, states
from api.workflow.calendar_services import current_calendar

#: The states a case may be rated in: decided and handed over, or refused at the window.
RATEABLE = frozenset({states.DELIVERED, states.REFUSED, states.DENIED})
#: Days the rater has to answer the callback; no answer closes the rectification.
ANSWER_DAYS = 7
VISIT_TOKEN_HOURS = 24
VISIT_AUDIENCE = "zhengwu:visit"
#: The figures cover the last 12 months.
PUBLIC_WINDOW = dt.timedelta(days=365)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _not_rated(case_id: int) -> NotFound:
    return NotFound(f"这个办件还没有评价：{case_id}", f"no rating for case {case_id}", "id")


# --------------------------------------------------------------------------- rating a case


async def _accepting_window(conn: BaseDBAsyncClient, case: Case) -> str:
    """The window whose clerk accepted the case ("" when the platform did, or a walk-in's window)."""
    actor = await CaseEvent.filter(case_id=case.id, action__in=("accept", "submit", "refuse")).using_db(conn) \
        .order_by("id").values_list("actor", flat=True)
    for who in actor:
        kind, _, raw = str(who).partition(":")
        if kind == "staff" and raw.isdigit():
            window = await Staff.filter(id=int(raw)).using_db(conn).values_list("window", flat=True)
            if window and window[0]:
                return str(window[0])
    return ""


async def rate_case(principal: Principal, case_id: int, level: object, reasons: object, text: object,
                    settings: Settings, now: dt.datetime | None = None) -> Rating:
    """一事一评 by the applicant, once, after the decision. A bad one opens a rectification."""
    judged = rules.check(level, reasons, text)
    now = _now(now)
    calendar = await current_calendar()
    try:
        async with in_transaction() as conn:
            case = await cases.own_case(principal, case_id, conn, lock=True)
            if case.state not in RATEABLE:
                raise Conflict("办件办结（或不予受理）后才能评价", f"a {case.state} case cannot be rated yet", "state")
            if await Rating.filter(case_id=case.id).using_db(conn).exists():
                raise _twice()
            rating = await Rating.create(
                mode="case", channel="online", case_id=case.id, rater=principal.subject, item_code=case.item_code,
                item_name=case.item_name, department_code=case.department_code,
                window_code=await _accepting_window(conn, case), level=judged.level, reasons=judged.reasons,
                text=judged.text, effective_level=judged.level, created_at=now, using_db=conn)
            if judged.bad:
                await _open(conn, rating, now, calendar, settings)
            return rating
    except IntegrityError:  # the same case rated twice at once
        raise _twice() from None


def _twice() -> Conflict:
    return Conflict("这个办件已经评价过了，可以在规定时间内追评一次", "this case is already rated", "level")


async def rating_of_case(principal: Principal, case_id: int) -> Rating:
    await cases.own_case(principal, case_id)
    rating = await Rating.get_or_none(case_id=case_id)
    if rating is None:
        raise _not_rated(case_id)
    return rating


async def follow_up(principal: Principal, case_id: int, level: object, reasons: object, text: object,
                    settings: Settings, now: dt.datetime | None = None) -> Rating:
    """追评: once, within ``rating_followup_days`` of the rating. Its level is what the figures count
    from then on; a bad one opens a rectification if none is open."""
    judged = rules.check(level, reasons, text)
    now = _now(now)
    calendar = await current_calendar()
    async with in_transaction() as conn:
        await cases.own_case(principal, case_id, conn)
        rating = await Rating.filter(case_id=case_id).using_db(conn).select_for_update().first()
        if rating is None:
            raise _not_rated(case_id)
        if rating.followup_at is not None:
            raise Conflict("每个办件只能追评一次", "already followed up", "level")
        if now > rating.created_at + dt.timedelta(days=settings.rating_followup_days):
            raise Conflict(f"追评须在评价后 {settings.rating_followup_days} 天内", "the follow-up period is over",
                           "level")
        rating.followup_level, rating.followup_reasons, rating.followup_text = judged.level, judged.reasons, judged.text
        rating.followup_at, rating.effective_level = now, judged.level
        await rating.save(using_db=conn)
        if judged.bad and not await Rectification.filter(rating_id=rating.id).using_db(conn).exists():
            await _open(conn, rating, now, calendar, settings)
        return rating


async def my_ratings(principal: Principal, limit: int = 20, cursor: str | None = None
                     ) -> tuple[list[Rating], dict[int, Rectification], str | None]:
    query = Rating.filter(rater=principal.subject)
    if cursor:
        query = query.filter(id__lt=cursors.decode_moment(cursor)[1])
    rows = await query.order_by("-id").limit(limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    rects = {r.rating_id: r for r in await Rectification.filter(rating_id__in=[x.id for x in rows])}  # type: ignore[attr-defined]
    return rows, rects, cursors.encode(rows[-1].created_at, rows[-1].id) if more and rows else None


# --------------------------------------------------------------------------- rating a visit


@dataclass(frozen=True, slots=True)
class VisitToken:
    token: str
    window_code: str
    window_name: str
    item_code: str
    expires_at: dt.datetime


async def mint_visit_token(principal: Principal, item_code: str, settings: Settings,
                           now: dt.datetime | None = None) -> VisitToken:
    """A single-use token for the person a clerk has just served, shown as a QR at the window (or
    printed): they rate the visit with it, without an account."""
    if principal.role != "clerk" or not principal.window:
        raise Forbidden("只有窗口工作人员可以生成评价二维码", "only a clerk at a window mints visit tokens", "window")
    window = await Window.get_or_none(code=principal.window)
    if window is None:
        raise NotFound(f"没有找到这个窗口：{principal.window}", f"window not found: {principal.window}", "window")
    if item_code and not await ServiceItem.exists(code=item_code):
        raise NotFound(f"没有找到这个事项：{item_code}", f"item not found: {item_code}", "item_code")
    now = _now(now)
    expires = now + dt.timedelta(hours=VISIT_TOKEN_HOURS)
    claims = {"aud": VISIT_AUDIENCE, "jti": uuid.uuid4().hex, "win": window.code, "item": item_code,
              "iat": int(now.timestamp()), "exp": int(expires.timestamp())}
    token = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    return VisitToken(token, window.code, window.name, item_code, expires.replace(microsecond=0))


def _visit_claims(token: str, settings: Settings) -> dict[str, Any]:
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise InvalidInput("评价二维码无效", "invalid visit token", "token")
    for key in (settings.secret_key, *settings.previous_secret_keys):
        try:
            return jwt.decode(token, key, algorithms=["HS256"], audience=VISIT_AUDIENCE,
                              options={"require": ["exp", "jti", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Gone("评价二维码已过期，请向窗口工作人员重新索取", "visit token expired", "token") from None
        except jwt.InvalidTokenError:
            continue
    raise InvalidInput("评价二维码无效", "invalid visit token", "token")


async def visit_info(token: str, settings: Settings) -> tuple[dict[str, Any], str, bool]:
    """(claims, window name, already used) of a visit token."""
    claims = _visit_claims(token, settings)
    window = await Window.get_or_none(code=claims.get("win", ""))
    used = await Rating.exists(token_jti=claims["jti"])
    return claims, window.name if window else "", used


async def rate_visit(token: str, level: object, reasons: object, text: object, settings: Settings,
                     now: dt.datetime | None = None) -> Rating:
    """一次一评 with a visit token: once per token."""
    claims = _visit_claims(token, settings)
    judged = rules.check(level, reasons, text)
    now = _now(now)
    calendar = await current_calendar()
    window = await Window.get_or_none(code=claims.get("win", ""))
    if window is None:
        raise InvalidInput("评价二维码无效", "the token's window no longer exists", "token")
    item_code = str(claims.get("item") or "")
    item_name = ""
    if item_code:
        item = await ServiceItem.get_or_none(code=item_code)
        if item is not None:
            names = await ServiceItemVersion.filter(item_id=item.id, status="published").values_list("name", flat=True)
            item_name = str(names[0]) if names else ""
    try:
        async with in_transaction() as conn:
            if await Rating.filter(token_jti=claims["jti"]).using_db(conn).exists():
                raise _used()
            rating = await Rating.create(
                mode="visit", channel="qr", rater="", item_code=item_code, item_name=item_name,
                department_code="", window_code=window.code, level=judged.level, reasons=judged.reasons,
                text=judged.text, effective_level=judged.level, token_jti=claims["jti"], created_at=now,
                using_db=conn)
            if judged.bad:  # the window that served owns it (谁办理、谁负责)
                await _open(conn, rating, now, calendar, settings)
            return rating
    except IntegrityError:
        raise _used() from None


def _used() -> Conflict:
    return Conflict("这次服务已经评价过了，谢谢您", "this visit token was used", "token")


# --------------------------------------------------------------------------- the rectification loop


def _owner(rating: Rating) -> tuple[str, str]:
    """谁办理、谁负责: the department that decided the case; for a visit, the window."""
    return ("department", rating.department_code) if rating.department_code else ("window", rating.window_code)


async def _owners_staff(conn: BaseDBAsyncClient, kind: str, code: str) -> list[int]:
    if kind == "department":
        query = Staff.filter(department=code, role__in=("officer", "approver"), active=True)
    else:
        query = Staff.filter(window=code, role="clerk", active=True)
    found = await query.using_db(conn).order_by("id").values_list("id", flat=True)
    return [int(x) for x in found] or await _supervisors(conn)


async def _supervisors(conn: BaseDBAsyncClient) -> list[int]:
    found = await Staff.filter(role="supervisor", active=True).using_db(conn).order_by("id").values_list("id",
                                                                                                        flat=True)
    return [int(x) for x in found]


def _rated_data(rating: Rating, extra: dict[str, Any]) -> dict[str, Any]:
    # What staff are told: the item, never the case number or the person.
    return {"item_name": rating.item_name or "窗口服务", **extra}


async def _open(conn: BaseDBAsyncClient, rating: Rating, now: dt.datetime, calendar: deadlines.Calendar,
                settings: Settings) -> Rectification:
    kind, code = _owner(rating)
    verify_due = deadlines.add_working_days(calendar, deadlines.china_day(now), settings.rectify_verify_days)
    rect = await Rectification.create(rating_id=rating.id, owner_kind=kind, owner_code=code, state=rules.VERIFYING,
                                      verify_due=verify_due, created_at=now, using_db=conn)
    await RectificationStep.create(rectification_id=rect.id, step="open", actor="system",
                                   text=f"差评（{rules.LEVELS[rating.effective_level][0]}）", at=now, using_db=conn)
    for staff_id in await _owners_staff(conn, kind, code):
        await enqueue(conn, "rating.rectification", f"staff:{staff_id}", at=now,
                      data=_rated_data(rating, {"verify_due": verify_due.isoformat(),
                                                "url": f"/staff/rectifications/{rect.id}"}))
    return rect


def may_act(principal: Principal, rect: Rectification) -> bool:
    if rect.owner_kind == "department":
        return principal.role in ("officer", "approver") and principal.department == rect.owner_code
    return principal.role == "clerk" and principal.window == rect.owner_code


def may_see(principal: Principal, rect: Rectification) -> bool:
    return principal.role == "supervisor" or may_act(principal, rect)


async def rectification_for(principal: Principal, rect_id: int) -> Rectification:
    rect = await Rectification.get_or_none(id=rect_id)
    if rect is None or not may_see(principal, rect):
        raise NotFound(f"没有找到这项差评整改：{rect_id}", f"rectification not found: {rect_id}", "id")
    return rect


async def take_step(principal: Principal, rect_id: int, step: str, *, text: object, founded: object = None,
                    version: object = None, settings: Settings, now: dt.datetime | None = None) -> Rectification:
    """A step of the department (or window): ``verify`` (founded + finding), ``rectify`` (measures),
    ``callback`` (the result told to the rater)."""
    if step not in ("verify", "rectify", "callback"):
        raise NotFound(f"没有这个整改步骤：{step}", f"no such step: {step}", "step")
    words = text.strip() if isinstance(text, str) else ""
    if not words or len(words) > 2000:
        what = {"verify": "核实情况", "rectify": "整改措施", "callback": "回访结果"}[step]
        raise RuleViolation(f"请填写{what}（2000 字以内）", f"{step} needs text of at most 2000 characters", "text")
    if step == "verify" and not isinstance(founded, bool):
        raise RuleViolation("请说明差评反映的问题是否属实", "verify needs founded: true or false", "founded")
    now = _now(now)
    calendar = await current_calendar()
    today = deadlines.china_day(now)
    async with in_transaction() as conn:
        rect = await Rectification.filter(id=rect_id).using_db(conn).select_for_update().first()
        if rect is None or not may_see(principal, rect):
            raise NotFound(f"没有找到这项差评整改：{rect_id}", f"rectification not found: {rect_id}", "id")
        if not may_act(principal, rect):
            raise Forbidden("只有负责整改的部门或窗口可以办理", "only the owner acts on a rectification", "id")
        if version is not None and version != rect.version:
            raise Conflict("这项整改已被他人处理，请刷新", f"rectification is at version {rect.version}", "version")
        before = rect.state
        rect.state = rules.move(rect.state, step)
        rating = await Rating.get(id=rect.rating_id, using_db=conn)  # type: ignore[attr-defined]
        if step == "verify":
            rect.founded, rect.finding = founded, words  # type: ignore[assignment]
            rect.rectify_due = deadlines.add_working_days(calendar, today, settings.rectify_days)
        elif step == "rectify":
            rect.measures = words
        else:
            if rect.founded and not rect.measures:
                raise Conflict("差评属实，请先填写整改措施再回访", "rectify before the callback", "text")
            rect.callback = words
            if not rating.rater:  # an anonymous visit: nobody to hear the answer
                rect.state, rect.closed_reason, rect.closed_at = rules.CLOSED, "anonymous", now
            else:  # after a contest the rater may only accept (or let the time pass)
                rect.answer_due = today + dt.timedelta(days=ANSWER_DAYS)
            if rating.rater:
                await enqueue(conn, "rating.callback", rating.rater, case_id=rating.case_id, at=now,
                              data={"item_name": rating.item_name, "result": words[:200],
                                    "url": f"/me/ratings/{rating.id}"})
        rect.version += 1
        rect.flagged = "" if before != rect.state else rect.flagged
        await rect.save(using_db=conn)
        await RectificationStep.create(rectification_id=rect.id, step=step, actor=principal.subject, text=words,
                                       at=now, using_db=conn)
        await record(conn, principal.subject, f"rectification.{step}", "rectification", str(rect.id),
                     before={"state": before}, after={"state": rect.state, **({"founded": founded}
                                                                              if step == "verify" else {})})
        return rect


async def answer(principal: Principal, rating_id: int, accept: object, reason: object, settings: Settings,
                 now: dt.datetime | None = None) -> Rectification:
    """The rater's answer to the callback: accept (closed), or contest once (rectified again)."""
    if not isinstance(accept, bool):
        raise RuleViolation("请选择认可或不认可整改结果", "accept must be true or false", "accept")
    words = reason.strip() if isinstance(reason, str) else ""
    if not accept and not words:
        raise RuleViolation("不认可整改结果时请写明原因", "a contest needs a reason", "reason")
    now = _now(now)
    calendar = await current_calendar()
    async with in_transaction() as conn:
        rating = await Rating.filter(id=rating_id, rater=principal.subject).using_db(conn).first()
        rect = await Rectification.filter(rating_id=rating_id).using_db(conn).select_for_update().first() \
            if rating is not None else None
        if rating is None or rect is None:
            raise NotFound(f"没有找到这项差评整改：{rating_id}", f"no rectification for rating {rating_id}", "id")
        if not accept and rect.contested:
            raise Conflict("整改结果只能不认可一次", "the rater contests once", "accept")
        before = rect.state
        rect.state = rules.move(rect.state, "accept" if accept else "contest")
        if accept:
            rect.closed_reason, rect.closed_at = "accepted", now
        else:
            rect.contested = True
            rect.rectify_due = deadlines.add_working_days(calendar, deadlines.china_day(now), settings.rectify_days)
            for staff_id in await _owners_staff(conn, rect.owner_kind, rect.owner_code):
                await enqueue(conn, "rating.contested", f"staff:{staff_id}", at=now,
                              data=_rated_data(rating, {"url": f"/staff/rectifications/{rect.id}"}))
        rect.version += 1
        rect.flagged = ""
        await rect.save(using_db=conn)
        await RectificationStep.create(rectification_id=rect.id, step="accept" if accept else "contest",
                                       actor=principal.subject, text=words[:2000], at=now, using_db=conn)
        await record(conn, principal.subject, "rectification.accept" if accept else "rectification.contest",
                     "rectification", str(rect.id), before={"state": before}, after={"state": rect.state})
        return rect


async def sweep(now: dt.datetime | None = None) -> int:
    """Overdue steps: supervision is told once per step (``rating.overdue`` to every supervisor);
    a callback the rater has not answered in time closes the rectification. Safe to run twice or in
    parallel (each rectification is changed under its lock). The number of rectifications changed."""
    now = _now(now)
    today = deadlines.china_day(now)
    changed = 0
    for rect_id in await Rectification.filter(state__not=rules.CLOSED).order_by("id").values_list("id", flat=True):
        async with in_transaction() as conn:
            rect = await Rectification.filter(id=rect_id).using_db(conn).select_for_update().first()
            if rect is None or rect.state == rules.CLOSED:
                continue
            if rect.state == rules.AWAITING and rect.answer_due is not None and rect.answer_due < today:
                rect.state, rect.closed_reason, rect.closed_at = rules.CLOSED, "no_answer", now
                await rect.save(using_db=conn)
                await RectificationStep.create(rectification_id=rect.id, step="close", actor="system",
                                               text="评价人未在期限内答复，视为认可", at=now, using_db=conn)
                changed += 1
                continue
            step, due = ("verify", rect.verify_due) if rect.state == rules.VERIFYING else \
                ("rectify", rect.rectify_due) if rect.state == rules.RECTIFYING else ("", None)
            flag = f"{step}{'-again' if rect.contested else ''}"
            if not step or due is None or due >= today or rect.flagged == flag:
                continue
            rect.flagged = flag
            await rect.save(using_db=conn)
            await RectificationStep.create(rectification_id=rect.id, step="overdue", actor="system", at=now,
                                           text=f"{rules.STEP_NAMES[step]}逾期（应于 {due} 前完成）", using_db=conn)
            rating = await Rating.get(id=rect.rating_id, using_db=conn)  # type: ignore[attr-defined]
            for staff_id in await _supervisors(conn):
                await enqueue(conn, "rating.overdue", f"staff:{staff_id}", case_id=rating.case_id, at=now, data={
                    "step": step, "step_name": rules.STEP_NAMES[step], "due": due.isoformat(),
                    "number": await _number(conn, rating), "owner": f"{rect.owner_kind}:{rect.owner_code}",
                    "url": f"/staff/rectifications/{rect.id}"})
            changed += 1
    return changed


async def _number(conn: BaseDBAsyncClient, rating: Rating) -> str:
    if rating.case_id is None:
        return ""
    found = await Case.filter(id=rating.case_id).using_db(conn).values_list("number", flat=True)
    return str(found[0] or "") if found else ""


# --------------------------------------------------------------------------- what staff and the public see


async def rater_label(rating: Rating) -> str:
    """How staff see who rated: 申请人 张* (a masked name, never a phone), or 现场评价人."""
    if not rating.rater.startswith("citizen:"):
        return "现场评价人"
    citizen = await Citizen.get_or_none(id=int(rating.rater.split(":", 1)[1]))
    return f"申请人 {mask_name(citizen.name)}" if citizen is not None and citizen.name else "申请人"


async def staff_ratings(principal: Principal, limit: int, cursor: str | None) -> tuple[list[Rating], str | None]:
    """Ratings of my department (officers, approvers) or my window (clerks); every one for supervisors."""
    query = Rating.all()
    if principal.role in ("officer", "approver"):
        query = query.filter(department_code=principal.department)
    elif principal.role == "clerk":
        query = query.filter(window_code=principal.window)
    elif principal.role != "supervisor":
        raise Forbidden("您没有权限查看评价", f"role {principal.role} does not read ratings")
    if cursor:
        query = query.filter(id__lt=cursors.decode_moment(cursor)[1])
    rows = await query.order_by("-id").limit(limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    return rows, cursors.encode(rows[-1].created_at, rows[-1].id) if more and rows else None


async def staff_rectifications(principal: Principal, state: str | None) -> list[Rectification]:
    query = Rectification.all()
    if principal.role in ("officer", "approver"):
        query = query.filter(owner_kind="department", owner_code=principal.department)
    elif principal.role == "clerk":
        query = query.filter(owner_kind="window", owner_code=principal.window)
    elif principal.role != "supervisor":
        raise Forbidden("您没有权限查看差评整改", f"role {principal.role} does not read rectifications")
    if state:
        if state not in rules.STATE_NAMES:
            raise InvalidInput(f"没有这种整改状态：{state}", f"unknown state: {state}", "state")
        query = query.filter(state=state)
    return await query.order_by("-id").limit(200).prefetch_related("rating")


async def steps_of(rect: Rectification) -> list[RectificationStep]:
    return await RectificationStep.filter(rectification_id=rect.id).order_by("id")


async def case_numbers(ids: list[int]) -> dict[int, str]:
    rows = await Case.filter(id__in=ids).values_list("id", "number")
    return {int(i): str(n or "") for i, n in rows}


PUBLIC_KINDS = {"items": "item_code", "departments": "department_code", "windows": "window_code"}


async def satisfaction(kind: str, code: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """满意度 of an item, a department or a window over the last 12 months: count, share satisfied
    (levels 1–3), per level. Counts the follow-up's level where there is one."""
    now = _now(now)
    if kind == "items":
        item = await ServiceItem.get_or_none(code=code)
        names = await ServiceItemVersion.filter(item_id=item.id, status="published").values_list("name", flat=True) \
            if item else []
        name = str(names[0]) if names else ""
        found = item is not None
    elif kind == "departments":
        dept = await Department.get_or_none(code=code)
        found, name = dept is not None, dept.name if dept else ""
    else:
        window = await Window.get_or_none(code=code)
        found, name = window is not None, window.name if window else ""
    if not found:
        what = {"items": ("事项", "item"), "departments": ("部门", "department"), "windows": ("窗口", "window")}[kind]
        raise NotFound(f"没有找到这个{what[0]}：{code}", f"{what[1]} not found: {code}", "code")
    since = now - PUBLIC_WINDOW
    counts = await Rating.filter(**{PUBLIC_KINDS[kind]: code, "created_at__gte": since}) \
        .annotate(n=Count("id")).group_by("effective_level").values_list("effective_level", "n")
    return {"code": code, "name": name, "since": deadlines.china_day(since),
            **rules.shares({int(level): int(n) for level, n in counts})}
