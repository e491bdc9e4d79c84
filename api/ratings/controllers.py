"""好差评 over HTTP: the applicant's rating of a case, a visit's rating by its QR token, the staff's
rectifications, and the public satisfaction figures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from api.core.ratelimit import RateLimiter
from api.core.settings import Settings
from api.identity.guards import require_roles
from api.identity.principal import Principal
from api.ratings import rules, services
from api.ratings.models import Rating, Rectification, RectificationStep
from api.ratings.schemas import (
    AnswerIn,
    LevelOut,
    MyRatingPage,
    OptionsOut,
    RatingIn,
    RatingOut,
    ReasonOut,
    RectificationBrief,
    RectificationOut,
    SatisfactionOut,
    StaffRatingOut,
    StaffRatingPage,
    StepIn,
    StepOut,
    VisitInfoOut,
    VisitRatingIn,
    VisitTokenIn,
    VisitTokenOut,
)

PUBLIC = {"public": True}
CITIZEN = {"roles": ["citizen"]}
CLERK = {"roles": ["clerk"]}
READERS = {"roles": ["clerk", "officer", "approver", "supervisor"]}
OWNERS = {"roles": ["clerk", "officer", "approver"]}
Req = Request[Principal, Any, State]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]
#: A visit's rating needs no account: 10 a minute from one address is more than any hall's visitor.
VISIT_LIMITER = RateLimiter("visit_rating", 10, 60)  # per address, counted in the database


def _brief(rect: Rectification | None) -> RectificationBrief | None:
    if rect is None:
        return None
    return RectificationBrief(state=rect.state, state_name=rules.STATE_NAMES[rect.state], callback=rect.callback,
                              answer_due=rect.answer_due, contested=rect.contested, closed_reason=rect.closed_reason)


def _mine(r: Rating, rect: Rectification | None) -> RatingOut:
    return RatingOut(id=r.id, mode=r.mode, case_id=r.case_id, item_name=r.item_name, level=r.level,
                     level_name=rules.LEVELS[r.level][0], reasons=list(r.reasons or []), text=r.text,
                     followup_level=r.followup_level, followup_reasons=list(r.followup_reasons or []),
                     followup_text=r.followup_text, followup_at=r.followup_at, created_at=r.created_at,
                     rectification=_brief(rect))


async def _for_staff(principal: Principal, r: Rating, numbers: dict[int, str] | None = None) -> StaffRatingOut:
    supervisor = principal.role == "supervisor"
    out = StaffRatingOut(
        id=r.id, mode=r.mode, rater=await services.rater_label(r), item_code=r.item_code, item_name=r.item_name,
        department_code=r.department_code, window_code=r.window_code, level=r.effective_level,
        level_name=rules.LEVELS[r.effective_level][0], reasons=list(r.reasons or []) + list(r.followup_reasons or []),
        text=r.text, followup_level=r.followup_level, followup_text=r.followup_text, created_at=r.created_at)
    if supervisor and r.case_id is not None:  # supervisors see the rating with its case
        out.case_id = r.case_id
        out.case_number = (numbers or await services.case_numbers([r.case_id])).get(r.case_id, "")
    return out


def _by(actor: str) -> str:
    return "系统" if actor == "system" else "评价人" if actor.startswith("citizen:") else "工作人员"


_OTHER_STEPS = {"open": "差评登记", "overdue": "逾期"}


def _step(s: RectificationStep) -> StepOut:
    name = rules.STEP_NAMES.get(s.step) or _OTHER_STEPS.get(s.step, s.step)
    return StepOut(step=s.step, name=name, by=_by(s.actor), text=s.text, at=s.at)


async def _rectification(principal: Principal, rect: Rectification, rating: Rating) -> RectificationOut:
    return RectificationOut(
        id=rect.id, state=rect.state, state_name=rules.STATE_NAMES[rect.state], owner_kind=rect.owner_kind,
        owner_code=rect.owner_code, version=rect.version, verify_due=rect.verify_due, rectify_due=rect.rectify_due,
        answer_due=rect.answer_due, founded=rect.founded, finding=rect.finding, measures=rect.measures,
        callback=rect.callback, contested=rect.contested, closed_reason=rect.closed_reason,
        may_act=services.may_act(principal, rect), rating=await _for_staff(principal, rating),
        steps=[_step(s) for s in await services.steps_of(rect)])


class RatingController(Controller):
    path = "/api/v1"
    tags = ["ratings"]

    @get("/ratings/options", opt=PUBLIC, summary="The five levels and each one's reason categories")
    async def options(self, state: State) -> OptionsOut:
        settings: Settings = state.settings
        levels = []
        for level, (name, name_en) in rules.LEVELS.items():
            table = rules.BAD_REASONS if level in rules.BAD else rules.GOOD_REASONS
            levels.append(LevelOut(level=level, name=name, name_en=name_en, bad=level in rules.BAD,
                                   reasons=[ReasonOut(code=c, name=n, name_en=e) for c, (n, e) in table.items()]))
        return OptionsOut(levels=levels, followup_days=settings.rating_followup_days)

    @get("/cases/{id:int}/rating", opt=CITIZEN, guards=[require_roles], summary="My rating of my case")
    async def case_rating(self, request: Req, id: FromPath[int]) -> RatingOut:
        rating = await services.rating_of_case(request.user, id)
        return _mine(rating, await Rectification.get_or_none(rating_id=rating.id))

    @post("/cases/{id:int}/rating", opt=CITIZEN, guards=[require_roles], status_code=201,
          summary="Rate my case once it is decided (一事一评)")
    async def rate_case(self, state: State, request: Req, id: FromPath[int], data: JSONBody[RatingIn]) -> RatingOut:
        rating = await services.rate_case(request.user, id, data.level, data.reasons, data.text, state.settings)
        return _mine(rating, await Rectification.get_or_none(rating_id=rating.id))

    @post("/cases/{id:int}/rating/follow-up", opt=CITIZEN, guards=[require_roles], status_code=200,
          summary="My one follow-up rating (追评)")
    async def follow_up(self, state: State, request: Req, id: FromPath[int], data: JSONBody[RatingIn]) -> RatingOut:
        rating = await services.follow_up(request.user, id, data.level, data.reasons, data.text, state.settings)
        return _mine(rating, await Rectification.get_or_none(rating_id=rating.id))

    @get("/me/ratings", opt=CITIZEN, guards=[require_roles], summary="My ratings and what became of them")
    async def my_ratings(self, request: Req, limit: Limit = 20, cursor: Cursor = None) -> MyRatingPage:
        rows, rects, following = await services.my_ratings(request.user, limit, cursor)
        return MyRatingPage(items=[_mine(r, rects.get(r.id)) for r in rows], next_cursor=following)

    @post("/me/ratings/{id:int}/answer", opt=CITIZEN, guards=[require_roles], status_code=200,
          summary="Accept the rectification of my bad rating, or contest it once")
    async def answer(self, state: State, request: Req, id: FromPath[int], data: JSONBody[AnswerIn]) -> RatingOut:
        await services.answer(request.user, id, data.accept, data.reason, state.settings)
        rating = await Rating.get(id=id)
        return _mine(rating, await Rectification.get_or_none(rating_id=id))

    @get("/ratings/visit", opt=PUBLIC, summary="What a window's rating QR is for (一次一评)")
    async def visit(self, state: State, request: Request,
                    token: Annotated[str, QueryParameter(max_length=1000)]) -> VisitInfoOut:
        await VISIT_LIMITER.enforce(request, "操作太频繁，请稍后再试", "too many visit ratings from this address")
        claims, name, used = await services.visit_info(token, state.settings)
        return VisitInfoOut(window_code=claims["win"], window_name=name, item_code=claims.get("item", ""),
                            expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC), used=used)

    @post("/ratings/visit", opt=PUBLIC, status_code=201, summary="Rate a visit with the window's QR token")
    async def rate_visit(self, state: State, request: Request, data: JSONBody[VisitRatingIn]) -> RatingOut:
        await VISIT_LIMITER.enforce(request, "操作太频繁，请稍后再试", "too many visit ratings from this address")
        rating = await services.rate_visit(data.token, data.level, data.reasons, data.text, state.settings)
        out = _mine(rating, await Rectification.get_or_none(rating_id=rating.id))
        out.rectification = None  # an anonymous rater follows nothing up
        return out

    @get("/satisfaction/items/{code:str}", opt=PUBLIC, summary="Satisfaction with an item, last 12 months")
    async def item(self, code: FromPath[str]) -> SatisfactionOut:
        return SatisfactionOut(**await services.satisfaction("items", code))

    @get("/satisfaction/departments/{code:str}", opt=PUBLIC, summary="Satisfaction with a department, last 12 months")
    async def department(self, code: FromPath[str]) -> SatisfactionOut:
        return SatisfactionOut(**await services.satisfaction("departments", code))

    @get("/satisfaction/windows/{code:str}", opt=PUBLIC, summary="Satisfaction with a window, last 12 months")
    async def window(self, code: FromPath[str]) -> SatisfactionOut:
        return SatisfactionOut(**await services.satisfaction("windows", code))


class RatingStaffController(Controller):
    path = "/api/v1/workbench"
    guards = [require_roles]
    tags = ["ratings"]

    @post("/visit-tokens", opt=CLERK, status_code=201, summary="A single-use rating QR for the person just served")
    async def visit_token(self, state: State, request: Req, data: JSONBody[VisitTokenIn]) -> VisitTokenOut:
        settings: Settings = state.settings
        t = await services.mint_visit_token(request.user, data.item_code.strip(), settings)
        return VisitTokenOut(token=t.token, url=f"{settings.public_url}/rate?t={quote(t.token)}",
                             window_code=t.window_code, window_name=t.window_name, item_code=t.item_code,
                             expires_at=t.expires_at)

    @get("/ratings", opt=READERS, summary="Ratings of my department or window (raters masked)")
    async def ratings(self, request: Req, limit: Limit = 20, cursor: Cursor = None) -> StaffRatingPage:
        rows, following = await services.staff_ratings(request.user, limit, cursor)
        numbers = await services.case_numbers([r.case_id for r in rows if r.case_id is not None]) \
            if request.user.role == "supervisor" else {}
        return StaffRatingPage(items=[await _for_staff(request.user, r, numbers) for r in rows],
                               next_cursor=following)

    @get("/rectifications", opt=READERS, summary="Bad-rating rectifications of my department or window")
    async def rectifications(self, request: Req,
                             wanted: Annotated[str | None, QueryParameter(name="state", max_length=20)] = None
                             ) -> list[RectificationOut]:
        rects = await services.staff_rectifications(request.user, wanted)
        return [await _rectification(request.user, r, r.rating) for r in rects]

    @get("/rectifications/{id:int}", opt=READERS, summary="One rectification with its steps")
    async def rectification(self, request: Req, id: FromPath[int]) -> RectificationOut:
        rect = await services.rectification_for(request.user, id)
        return await _rectification(request.user, rect, await Rating.get(id=rect.rating_id))  # type: ignore[attr-defined]

    @post("/rectifications/{id:int}/{step:str}", opt=OWNERS, status_code=200,
          summary="verify (founded, text), rectify (text: the measures) or callback (text: the result)")
    async def step(self, state: State, request: Req, id: FromPath[int], step: FromPath[str],
                   data: JSONBody[StepIn]) -> RectificationOut:
        rect = await services.take_step(request.user, id, step, text=data.text, founded=data.founded,
                                        version=data.version, settings=state.settings)
        return await _rectification(request.user, rect, await Rating.get(id=rect.rating_id))  # type: ignore[attr-defined]
