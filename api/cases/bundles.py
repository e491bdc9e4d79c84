"""一件事一次办: one application for a life event's items, testable without HTTP.

A bundle is filed in two moves, each all or nothing:

* ``create_bundle`` (one Idempotency-Key): every item is checked first — it belongs to the life
  event, it can be applied for online, by this applicant (a person, or the enterprise chosen), and
  its answers hold — and a bundle with any item that fails says which and why, all at once, before
  anything is written. Then the bundle and one draft case per item (its exact checklist, from its own
  item version, in its own department) are written in ONE transaction. A retry with the same key
  answers the bundle made the first time. Questions several items share are answered once: the
  shared ``answers`` go to every item that asks a question of that code, each item's own override.
* ``submit_bundle`` (one Idempotency-Key): in ONE transaction, the file of a material several
  items need (``bundling``: one photo of an ID card serves every item) is attached to each of them,
  the one form goes to every case, and every case is submitted through ``workflow.services.apply``
  (each its number, its department's queue, its timeline and audit entry). One case that cannot be
  submitted (a required material missing) refuses the whole bundle, naming every problem of every
  item; nothing is submitted. A retry with the same key answers the first submission.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.cases import bundling
from api.cases import services as cases
from api.cases.models import ATTACHED, DRAFT, SUBMITTED, Bundle, Case, CaseMaterial
from api.catalog.cache import CatalogCache
from api.catalog.material_list import AnswerError, material_list_for_version
from api.catalog.models import LifeEvent, LifeEventItem
from api.catalog.schemas import ItemGuide
from api.core.errors import Conflict, DomainError, InvalidInput, NotFound, RuleViolation
from api.identity.models import EnterpriseMember
from api.identity.principal import Principal
from api.workflow import services as workflow

MAX_ITEMS = 20
ONLINE_DEPTH = 2  # 网办深度 ≥ 2 (pre-check online or more): the items the PWA lets a citizen apply for


def _not_found(bundle_id: int) -> NotFound:
    return NotFound("没有找到这件事的申请", f"bundle not found: {bundle_id}")


@dataclass(frozen=True, slots=True)
class ItemRequest:
    item_code: str
    answers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Filed:
    bundle: Bundle
    replayed: bool


@dataclass(frozen=True, slots=True)
class BundleView:
    bundle: Bundle
    cases: list[Case]
    groups: list[bundling.Group]
    enterprise_uscc: str | None


async def own_bundle(principal: Principal, bundle_id: int, conn: BaseDBAsyncClient | None = None,
                     *, lock: bool = False) -> Bundle:
    """The caller's bundle, or 404 (also for someone else's: reveal nothing)."""
    if principal.kind != "citizen":
        raise _not_found(bundle_id)
    query = Bundle.filter(id=bundle_id, applicant_id=principal.id)
    if lock:
        query = query.select_for_update()
    found = await (query.using_db(conn) if conn is not None else query).first()
    if found is None:
        raise _not_found(bundle_id)
    return found


def _item_answers(guide: ItemGuide, shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """What an item is answered: the shared answers to the questions it asks (by code), then its own."""
    codes = {q.code for q in guide.questions}
    return {**{k: v for k, v in shared.items() if k in codes}, **own}


async def _check_items(catalog: CatalogCache, event: LifeEvent, requests: list[ItemRequest],
                       shared: dict[str, Any], for_enterprise: bool) -> list[tuple[ItemGuide, dict[str, Any]]]:
    """Every item's guide and answers, or one refusal naming every item that cannot be applied for."""
    if not requests:
        raise RuleViolation("请至少选择一个事项", "a bundle needs at least one item", "items")
    if len(requests) > MAX_ITEMS:
        raise InvalidInput(f"一次最多申请 {MAX_ITEMS} 个事项", f"at most {MAX_ITEMS} items", "items")
    codes = [r.item_code for r in requests]
    if len(set(codes)) != len(codes):
        raise InvalidInput("同一个事项只能选择一次", "an item is listed twice", "items")
    basic = set(await LifeEventItem.filter(life_event_id=event.id).values_list("basic_code", flat=True))
    audience = "legal_person" if for_enterprise else "natural_person"
    problems: list[dict[str, str]] = []
    found: list[tuple[ItemGuide, dict[str, Any]]] = []

    def refuse(code: str, message: str, detail: str) -> None:
        problems.append({"field": f"items.{code}", "message": message, "detail": detail})

    for r in requests:
        guide = await catalog.guide(r.item_code)
        if guide is None:
            refuse(r.item_code, f"没有找到这个事项：{r.item_code}", f"item not found: {r.item_code}")
            continue
        name = guide.name
        if guide.basic_code not in basic:
            refuse(r.item_code, f"「{name}」不属于「{event.name}」", f"item is not part of life event {event.code}")
        elif guide.online_depth < ONLINE_DEPTH:
            refuse(r.item_code, f"「{name}」暂不能在网上申请，请到窗口办理（咨询电话 {guide.consult_phone}）",
                   f"item {r.item_code} cannot be applied for online")
        elif audience not in guide.audiences:
            who = "企业" if for_enterprise else "个人"
            refuse(r.item_code, f"「{name}」不能以{who}名义申请", f"item is not for {audience}")
        else:
            answers = _item_answers(guide, shared, r.answers)
            version = await cases.version_document(catalog, await cases.version_id_of(guide))
            try:
                material_list_for_version(version, answers)
            except AnswerError as exc:
                refuse(r.item_code, f"「{name}」：{exc.message}", f"{r.item_code}: {exc.detail}")
                continue
            found.append((guide, answers))
    if problems:
        raise RuleViolation(f"有 {len(problems)} 个事项不能一起申请：" + "；".join(p["message"] for p in problems),
                            f"{len(problems)} item(s) cannot be applied for", problems[0]["field"], problems=problems)
    return found


async def create_bundle(
    catalog: CatalogCache, principal: Principal, life_event: str, items: list[ItemRequest],
    shared_answers: dict[str, Any], idempotency_key: str | None, enterprise_uscc: str | None = None,
    *, now: dt.datetime | None = None, ttl: dt.timedelta | None = None,
) -> Filed:
    cases.check_idempotency_key(idempotency_key)
    assert idempotency_key is not None
    existing = await Bundle.filter(applicant_id=principal.id, idempotency_key=idempotency_key).first()
    if existing is not None:
        return Filed(existing, True)
    event = await LifeEvent.filter(code=life_event).first()
    if event is None:
        raise NotFound(f"没有找到这件事：{life_event}", f"life event not found: {life_event}", "life_event")
    enterprise_id = None
    if enterprise_uscc:
        member = await EnterpriseMember.filter(
            citizen_id=principal.id, enterprise__uscc=enterprise_uscc.strip().upper()).first()
        if member is None:
            raise RuleViolation("您还没有绑定这家企业，不能代其申请", "the caller is not a member of this enterprise",
                                "enterprise_uscc")
        enterprise_id = member.enterprise_id  # type: ignore[attr-defined]
    checked = await _check_items(catalog, event, items, shared_answers, enterprise_id is not None)
    try:
        async with in_transaction() as conn:
            bundle = await Bundle.create(
                applicant_id=principal.id, enterprise_id=enterprise_id, life_event_code=event.code,
                life_event_name=event.name, state=DRAFT, form_data={}, idempotency_key=idempotency_key,
                using_db=conn)
            for guide, answers in checked:  # each draft in a savepoint of this one transaction
                await cases.create_draft(catalog, principal, guide.code, answers, enterprise_uscc, now=now, ttl=ttl,
                                         bundle_id=bundle.id)
    except IntegrityError:  # the same key raced in from another request: its bundle is the answer
        raced = await Bundle.filter(applicant_id=principal.id, idempotency_key=idempotency_key).first()
        if raced is None:
            raise
        return Filed(raced, True)
    return Filed(bundle, False)


async def _members(case_list: list[Case], conn: BaseDBAsyncClient | None = None) -> list[tuple[Case, CaseMaterial]]:
    ids = [c.id for c in case_list]
    query = CaseMaterial.filter(case_id__in=ids).order_by("case_id", "sort_order", "id")
    rows = list(await (query.using_db(conn) if conn is not None else query))
    by_id = {c.id: c for c in case_list}
    order = {c.id: n for n, c in enumerate(case_list)}
    rows.sort(key=lambda m: (order[m.case_id], m.sort_order, m.id))  # type: ignore[attr-defined]
    return [(by_id[m.case_id], m) for m in rows]  # type: ignore[attr-defined]


def _groups(pairs: list[tuple[Case, CaseMaterial]]) -> list[bundling.Group]:
    return bundling.merge(
        bundling.Member(case_id=c.id, item_code=c.item_code, item_name=c.item_name, code=m.code, name=m.name,
                        source=m.source, certificate_type=m.certificate_type, required=m.required, status=m.status,
                        filename=m.filename)
        for c, m in pairs)


async def _cases_of(bundle: Bundle, conn: BaseDBAsyncClient | None = None) -> list[Case]:
    query = Case.filter(bundle_id=bundle.id).order_by("id")
    return list(await (query.using_db(conn) if conn is not None else query))


async def view(principal: Principal, bundle_id: int) -> BundleView:
    bundle = await own_bundle(principal, bundle_id)
    case_list = await _cases_of(bundle)
    uscc = None
    if bundle.enterprise_id is not None:  # type: ignore[attr-defined]
        await bundle.fetch_related("enterprise")
        uscc = bundle.enterprise.uscc  # type: ignore[union-attr]
    drafts = [c for c in case_list if c.state == DRAFT]
    return BundleView(bundle, case_list, _groups(await _members(drafts or case_list)), uscc)


def _submit_key(bundle: Bundle, case: Case) -> str:
    # Unique per applicant (a case's key is), 8–64 of [A-Za-z0-9._:-], and the same on a retry.
    return f"bundle-{bundle.id}-{case.id}"


async def submit_bundle(principal: Principal, bundle_id: int, form_data: dict[str, Any], idempotency_key: str | None,
                        secret: str, *, now: dt.datetime | None = None) -> Filed:
    cases.check_idempotency_key(idempotency_key)
    form = cases.check_form(form_data)
    at = now or dt.datetime.now(dt.UTC)
    async with in_transaction() as conn:
        bundle = await own_bundle(principal, bundle_id, conn, lock=True)
        if bundle.state == SUBMITTED:
            if bundle.submit_key == idempotency_key:
                return Filed(bundle, True)
            raise Conflict("这件事已经提交过了", "bundle already submitted", "state")
        drafts = [c for c in await _cases_of(bundle, conn) if c.state == DRAFT]
        if not drafts:
            raise Conflict("这件事的申请已不存在（草稿已放弃或过期），请重新申请", "bundle has no draft cases left",
                           "state")
        # One file serves every item that needs the same material (content-addressed: no copy made).
        pairs = await _members(drafts, conn)
        rows = {(m.case_id, m.code): m for _, m in pairs}  # type: ignore[attr-defined]
        for src, dst in bundling.copies(_groups(pairs)):
            held = rows[(src.case_id, src.code)]
            await CaseMaterial.filter(id=rows[(dst.case_id, dst.code)].id).using_db(conn).update(
                status=ATTACHED, blob_key=held.blob_key, sha256=held.sha256, size=held.size,
                filename=held.filename, mime=held.mime, attached_at=at)
        for c in drafts:
            await Case.filter(id=c.id).using_db(conn).update(form_data=form)
        problems: list[dict[str, Any]] = []
        for c in drafts:  # each submission in a savepoint; one refusal rolls every one back below
            try:
                await workflow.apply(principal, c.id, "submit", idempotency_key=_submit_key(bundle, c),
                                     secret=secret, now=at)
            except DomainError as exc:
                for p in exc.problems or [{"field": exc.field, "message": exc.message, "detail": exc.detail}]:
                    problems.append({**p, "message": f"「{c.item_name}」：{p.get('message', '')}",
                                     "field": f"cases.{c.id}.{p.get('field') or ''}".rstrip(".")})
        if problems:
            raise RuleViolation(f"还不能提交：{'；'.join(p['message'] for p in problems)}",
                                f"{len(problems)} problem(s) in the bundle's cases", problems[0]["field"],
                                problems=problems)
        bundle.state, bundle.submit_key, bundle.submitted_at, bundle.form_data = SUBMITTED, idempotency_key, at, form
        await bundle.save(using_db=conn)
    return Filed(bundle, False)
