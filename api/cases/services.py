"""The rules of online applications (办件), testable without HTTP.

Every function takes the caller (a citizen ``Principal``) and enforces object-level access itself:
a case that is not the caller's does not exist for them (404, never 403). Changes of state write
the case, its timeline event and the audit entry in ONE transaction.

Checklist design (一单载明 → case materials): when a draft is created (or its answers change) the
exact list from ``material_list`` becomes one ``CaseMaterial`` row per entry, with the reason the
applicant sees. A listed material is *required* when the catalog marks it required or when it is
conditional (its condition held, which is why it is listed); optional extras are listed but never
block submission. Materials whose source is a certificate type (免提交) carry ``certificate_type``
and stay ``missing`` until the certificate registry (workflow issue) can look the applicant's
certificate up and mark them ``spared``; by 国务院令第716号 the platform never asks the applicant
for what it can fetch, so they do not block submission — the applicant may still attach a copy.
``spared_possible`` counts them per case: it is the "documents spared" figure the statistics will
read once the registry turns them into ``spared``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
import unicodedata
from typing import Any

import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.cases import numbering, versions
from api.cases.models import (
    ATTACHED,
    DRAFT,
    MISSING,
    Case,
    CaseEvent,
    CaseMaterial,
)
from api.catalog.cache import CatalogCache
from api.catalog.document import ItemDoc
from api.catalog.material_list import AnswerError, material_list_for_version
from api.catalog.models import ServiceItemVersion, Window
from api.catalog.schemas import ItemGuide, MaterialListOut
from api.certificates.services import spare_materials
from api.core import cursors
from api.core.errors import Conflict, InvalidInput, NotFound, RuleViolation, Unavailable
from api.identity.models import EnterpriseMember
from api.identity.principal import Principal
from api.workflow import deadlines, states
from api.workflow.models import SubCase
from api.workflow.states import CORRECTION
from storage import StoredBlob

DEFAULT_DRAFT_TTL = dt.timedelta(days=30)
MAX_FORM_BYTES = 64 * 1024
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _not_found(case_id: int) -> NotFound:
    return NotFound("没有找到这个办件", f"case not found: {case_id}")


class MissingMaterials(RuleViolation):
    """Every required material still missing, named, so the applicant fixes all at once."""

    def __init__(self, missing: list[CaseMaterial]) -> None:
        names = "、".join(f"「{m.name}」" for m in missing)
        super().__init__(
            f"还缺 {len(missing)} 份必需材料：{names}", f"{len(missing)} required material(s) missing",
            missing[0].code,
            problems=[{"field": m.code, "message": f"请上传「{m.name}」",
                       "detail": f"required material '{m.code}' is missing"} for m in missing],
        )


# --------------------------------------------------------------------------- reading


async def own_case(principal: Principal, case_id: int, conn: BaseDBAsyncClient | None = None,
                   *, lock: bool = False) -> Case:
    """The caller's case, or 404 (also for someone else's case: reveal nothing)."""
    if principal.kind != "citizen":
        raise _not_found(case_id)
    return await _found(Case.filter(id=case_id, applicant_id=principal.id), case_id, conn, lock)


async def _found(query: Any, case_id: int, conn: BaseDBAsyncClient | None, lock: bool) -> Case:
    """The one case the scoped query finds (locked for the caller's transaction), or 404."""
    if lock:
        query = query.select_for_update()
    case = await (query.using_db(conn) if conn is not None else query).first()
    if case is None:
        raise _not_found(case_id)
    return case


#: Staff roles that see cases (within their own scope).
CASE_STAFF = frozenset({"clerk", "officer", "approver", "supervisor"})


async def window_category(principal: Principal) -> str:
    """A clerk's window category ("" when they have no window): the cases of every item of that
    category are theirs to accept, whatever the department (受办分离)."""
    if not principal.window:
        return ""
    category = await Window.filter(code=principal.window).first().values_list("category", flat=True)
    return str(category or "")


async def visible_case(principal: Principal, case_id: int, conn: BaseDBAsyncClient | None = None,
                       *, lock: bool = False) -> Case:
    """The case if the caller may see it, else 404 (reveal nothing): a citizen their own; a clerk
    the submitted cases of their window category; an officer or approver their department's, from
    acceptance on (a joint case: each of its departments'); a supervisor every case past the draft.
    Drafts are the applicant's alone."""
    if principal.kind == "citizen":
        return await own_case(principal, case_id, conn, lock=lock)
    if principal.role not in CASE_STAFF and principal.kind != "system":
        raise _not_found(case_id)
    query = Case.filter(id=case_id).exclude(state="draft")
    if principal.role == "clerk":
        if not principal.window:
            raise _not_found(case_id)
        # The window's category looked up in the same statement (no window, or one without a
        # category: no case).
        category = Subquery(Window.filter(code=principal.window).values("category"))
        query = query.filter(window_category=category).exclude(window_category="")
    elif principal.role in ("officer", "approver"):
        if not principal.department:
            raise _not_found(case_id)
        # A case reaches the department at acceptance, and stays visible to it: it was in its hands.
        # A joint case (并联审批) reaches each of its departments, through their sub-case.
        query = query.filter(
            Q(department_code=principal.department)
            | Q(id__in=Subquery(SubCase.filter(department_code=principal.department).values("case_id"))),
            accepted_at__isnull=False)
    return await _found(query, case_id, conn, lock)


async def joint_departments(case: Case, conn: BaseDBAsyncClient | None = None) -> list[str]:
    """The departments of a joint case's sub-cases (并联审批), implementing one first; [] for others."""
    if case.accepted_at is None:
        return []
    version = await versions.facts(case.item_version_id, conn)  # type: ignore[attr-defined]
    if version is not None and not version.joint_departments:  # (kept in memory: no query)
        return []
    query = SubCase.filter(case_id=case.id).order_by("id")
    return list(await (query.using_db(conn) if conn is not None else query).values_list(  # type: ignore[arg-type]
        "department_code", flat=True))


async def materials_of(case: Case, conn: BaseDBAsyncClient | None = None) -> list[CaseMaterial]:
    query = CaseMaterial.filter(case_id=case.id).order_by("sort_order", "id")
    return list(await (query.using_db(conn) if conn is not None else query))


async def events_of(case: Case) -> list[CaseEvent]:
    return list(await CaseEvent.filter(case_id=case.id).order_by("at", "id"))


def blocking(materials: list[CaseMaterial]) -> list[CaseMaterial]:
    """The required materials that still stop a submission."""
    return [m for m in materials if m.required and m.source == "applicant" and m.status == MISSING]


def spared_possible(materials: list[CaseMaterial]) -> int:
    return sum(1 for m in materials if m.source == "certificate" and m.status != ATTACHED)


async def list_cases(principal: Principal, limit: int = 20, cursor: str | None = None,
                     *, subject: str | None = None) -> tuple[list[Case], str | None]:
    """The caller's cases, newest first, keyset-paginated on (created_at, id). ``subject`` (enterprise
    mode): "self" for those filed as a person, or a credit code for those filed for that enterprise
    (one the caller is not bound to has none for them); None for all."""
    query = Case.filter(applicant_id=principal.id)
    if subject == "self":
        query = query.filter(enterprise_id__isnull=True)
    elif subject:
        query = query.filter(enterprise__uscc=subject.strip().upper())
    if cursor:
        created, case_id = cursors.decode_moment(cursor)
        query = query.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=case_id))
    rows = list(await query.order_by("-created_at", "-id").limit(limit + 1))
    if len(rows) > limit:
        return rows[:limit], cursors.encode(rows[limit - 1].created_at, rows[limit - 1].id)
    return rows, None


# --------------------------------------------------------------------------- drafts


async def _guide(catalog: CatalogCache, item_code: str) -> ItemGuide:
    guide = await catalog.guide(item_code)
    if guide is None:
        raise NotFound(f"没有找到这个事项：{item_code}", f"item not found: {item_code}", "item_code")
    return guide


def _listing(version: ItemDoc, answers: dict[str, Any]) -> MaterialListOut:
    try:
        return material_list_for_version(version, answers)
    except AnswerError as exc:
        raise RuleViolation(exc.message, exc.detail, exc.field) from None


async def version_document(catalog: CatalogCache, version_id: int) -> ItemDoc:
    """The item version a case is judged by, as stored (never today's guide)."""
    doc = await catalog.version(version_id)
    if doc is None:  # a version is never deleted while a case points at it
        raise Conflict("事项刚刚更新，请重试", "item version changed, retry", "item_code")
    return doc


async def version_id_of(guide: ItemGuide) -> int:
    version_id = await ServiceItemVersion.filter(
        item__code=guide.code, number=guide.version.number
    ).first().values_list("id", flat=True)
    if version_id is None:  # published and retired between two reads
        raise Conflict("事项刚刚更新，请重试", "item version changed, retry", "item_code")
    return int(version_id)  # type: ignore[arg-type]


def check_form(form_data: dict[str, Any]) -> dict[str, Any]:
    if len(msgspec.json.encode(form_data)) > MAX_FORM_BYTES:
        raise RuleViolation("表单内容太多", f"form_data exceeds {MAX_FORM_BYTES} bytes", "form_data")
    return form_data


def _materials_from(listing: MaterialListOut) -> list[dict[str, Any]]:
    return [
        {"code": m.code, "name": m.name, "required": m.required or m.conditional, "source": m.source,
         "certificate_type": m.certificate_type if m.source == "certificate" else "", "reason": m.reason,
         "sort_order": i}
        for i, m in enumerate(listing.materials)
    ]


async def create_draft(
    catalog: CatalogCache, principal: Principal, item_code: str, answers: dict[str, Any],
    enterprise_uscc: str | None = None, *, now: dt.datetime | None = None, ttl: dt.timedelta | None = None,
    bundle_id: int | None = None,
) -> Case:
    """A draft with the exact checklist for the answers (422 naming the question on a bad answer);
    ``bundle_id`` links it to the 一件事一次办 it is filed with (in that bundle's transaction)."""
    now = now or _now()
    guide = await _guide(catalog, item_code)
    version_id = await version_id_of(guide)
    version = await version_document(catalog, version_id)
    listing = _listing(version, answers)
    enterprise_id = None
    if enterprise_uscc:
        member = await EnterpriseMember.filter(
            citizen_id=principal.id, enterprise__uscc=enterprise_uscc.strip().upper()
        ).first()
        if member is None:
            raise RuleViolation("您还没有绑定这家企业，不能代其申请", "the caller is not a member of this enterprise",
                           "enterprise_uscc")
        enterprise_id = member.enterprise_id  # type: ignore[attr-defined]
    async with in_transaction() as conn:
        case = await Case.create(
            applicant_id=principal.id, enterprise_id=enterprise_id, item_version_id=version_id,
            item_code=guide.code, item_name=guide.name, region=guide.region_code[:6],
            window_category=guide.window.category if guide.window else "", department_code=guide.department.code,
            situation_code=listing.situation.code, situation_name=listing.situation.name,
            answers={a.code: a.answer for a in listing.answers}, form_data={}, state=DRAFT,
            promised_limit=listing.promised_limit, promised_limit_unit=listing.promised_limit_unit,
            legal_limit=version.legal_limit, legal_limit_unit=version.legal_limit_unit, case_type=version.case_type,
            expires_at=now + (ttl or DEFAULT_DRAFT_TTL), bundle_id=bundle_id, using_db=conn,
        )
        for spec in _materials_from(listing):
            await CaseMaterial.create(case_id=case.id, **spec, using_db=conn)
        await spare_materials(conn, case.id, principal.subject, now=now)
    return case


def _require_draft(principal: Principal, case: Case) -> None:
    """Changing a draft (answers, form, materials) is the table's "update"; refused by its words."""
    states.decide(case.state, "update", principal.role)


async def update_draft(
    catalog: CatalogCache, principal: Principal, case_id: int, *, form_data: dict[str, Any] | None = None,
    answers: dict[str, Any] | None = None, now: dt.datetime | None = None, ttl: dt.timedelta | None = None,
) -> Case:
    """Change form data and/or answers. New answers re-derive the checklist from the case's own item
    version (a catalog change published since never changes what this case needs); attachments of
    materials still listed are kept, those of materials no longer listed are dropped (their blobs go
    to the orphan sweep)."""
    now = now or _now()
    case = await own_case(principal, case_id)
    _require_draft(principal, case)
    listing = None
    if answers is not None:
        listing = _listing(await version_document(catalog, case.item_version_id), answers)  # type: ignore[attr-defined]
    async with in_transaction() as conn:
        case = await own_case(principal, case_id, conn, lock=True)
        _require_draft(principal, case)
        if form_data is not None:
            case.form_data = check_form(form_data)
        if listing is not None:
            case.situation_code, case.situation_name = listing.situation.code, listing.situation.name
            case.answers = {a.code: a.answer for a in listing.answers}
            case.promised_limit, case.promised_limit_unit = listing.promised_limit, listing.promised_limit_unit
            existing = {m.code: m for m in await materials_of(case, conn)}
            wanted = _materials_from(listing)
            for spec in wanted:
                old = existing.pop(spec["code"], None)
                if old is None:
                    await CaseMaterial.create(case_id=case.id, **spec, using_db=conn)
                else:
                    old.update_from_dict(spec)
                    await old.save(using_db=conn)
            if existing:
                await CaseMaterial.filter(id__in=[m.id for m in existing.values()]).using_db(conn).delete()
            await spare_materials(conn, case.id, principal.subject, now=now)
        case.expires_at = now + (ttl or DEFAULT_DRAFT_TTL)  # touching a draft keeps it
        await case.save(using_db=conn)
    return case


_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


def sanitise_filename(name: str) -> str:
    """A display name only (never a path): last path segment, no control, format (bidi) or
    shell-special characters, NFC, at most 200 characters with the extension kept."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Format characters (bidi overrides, zero-width joiners) go: "invoice\u202egpj.exe" would show
    # to a clerk as "invoiceexe.jpg".
    name = "".join(c for c in name if unicodedata.category(c) != "Cf")
    name = _UNSAFE.sub("_", name).strip(" ._") or "file"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 16 else name[:200]
    return name


async def correction_notice(case: Case, conn: BaseDBAsyncClient | None = None) -> CaseEvent | None:
    """The latest one-time correction notice of the case (its materials and what is wrong with each)."""
    query = CaseEvent.filter(case_id=case.id, action="request_correction").order_by("-at", "-id")
    return await (query.using_db(conn) if conn is not None else query).first()


async def may_attach(principal: Principal, case: Case, code: str, conn: BaseDBAsyncClient | None = None) -> None:
    """A material may change while the case is a draft, or, while a correction is asked for, the
    materials the notice lists (and only those: the notice is the whole list), or, until a decision,
    the 容缺 materials the applicant promised to make up (still owed)."""
    if (principal.kind == "citizen" and case.state in states.BEFORE_DECISION
            and code in {m["code"] for m in case.owed or []}):
        return
    if case.state == CORRECTION and principal.kind == "citizen":
        notice = await correction_notice(case, conn)
        if notice is not None and code in {m["code"] for m in (notice.data or {}).get("materials", [])}:
            return
        raise Conflict("补正时只能重新上传通知中列出的材料", f"material {code} is not on the correction notice",
                       "material_id")
    _require_draft(principal, case)


async def _draft_material(principal: Principal, case_id: int, code: str, conn: BaseDBAsyncClient) -> CaseMaterial:
    case = await own_case(principal, case_id, conn, lock=True)
    await may_attach(principal, case, code, conn)
    material = await CaseMaterial.filter(case_id=case.id, code=code).using_db(conn).first()
    if material is None:
        raise NotFound(f"本办件的材料清单中没有这项材料：{code}", f"material not on this case's list: {code}",
                       "material_id")
    return material


async def attach_material(
    principal: Principal, case_id: int, material_code: str, blob: StoredBlob, filename: str, mime: str,
    *, now: dt.datetime | None = None, conn: BaseDBAsyncClient | None = None,
) -> None:
    """Point a checklist entry at a stored blob (the blob is already durable: see storage.base).

    In the caller's transaction when ``conn`` is given (an upload's completion), else in its own.
    The case row is locked first, as submission locks it, so a material never changes under a
    submission that is checking it."""
    async with (contextlib.nullcontext(conn) if conn is not None else in_transaction()) as tx:
        case = await own_case(principal, case_id, tx, lock=True)
        await may_attach(principal, case, material_code, tx)
        updated = await CaseMaterial.filter(case_id=case.id, code=material_code).using_db(tx).update(
            status=ATTACHED, blob_key=blob.key, sha256=blob.sha256, size=blob.size,
            filename=sanitise_filename(filename), mime=(mime or "application/octet-stream")[:100],
            attached_at=now or _now())
        if not updated:
            raise NotFound(f"本办件的材料清单中没有这项材料：{material_code}",
                           f"material not on this case's list: {material_code}", "material_id")


async def detach_material(principal: Principal, case_id: int, material_code: str) -> CaseMaterial:
    async with in_transaction() as conn:
        material = await _draft_material(principal, case_id, material_code, conn)
        material.status, material.blob_key, material.sha256, material.size = MISSING, None, "", None
        material.filename, material.mime, material.attached_at = "", "", None
        await material.save(using_db=conn)
    return material


async def material_file(principal: Principal, case_id: int, material_code: str) -> CaseMaterial:
    """The attached material the applicant, or the staff in whose hands the case is, may download
    (404 when none is attached). A staff member's read of a person's document is recorded (DESIGN
    §4b: log who read whose data)."""
    case = await visible_case(principal, case_id)
    material = await CaseMaterial.filter(case_id=case.id, code=material_code, status=ATTACHED).first()
    if material is None or not material.blob_key:
        raise NotFound("这项材料还没有上传文件", f"no file attached to material: {material_code}", "material_id")
    if principal.kind == "staff":
        async with in_transaction() as conn:
            await record(conn, principal.subject, "case.material_read", "case", case.number or str(case.id),
                         after={"material": material_code, "sha256": material.sha256})
    return material


# --------------------------------------------------------------------------- submission


async def next_sequence(conn: BaseDBAsyncClient, region: str, day: str) -> int:
    """The next number of the (region, day) counter, in the caller's transaction.

    One statement that inserts the row or increments it and returns the new value. On PostgreSQL the
    upsert takes the row lock until the transaction ends, so concurrent submissions queue on it and
    a rolled-back submission gives its number back (numbers stay consecutive); SQLite serialises
    writing transactions altogether.
    """
    if conn.capabilities.dialect == "postgres":
        sql = ("INSERT INTO case_counter (region, day, seq) VALUES ($1, $2, 1) "
               "ON CONFLICT (region, day) DO UPDATE SET seq = case_counter.seq + 1 RETURNING seq")
    else:
        sql = ("INSERT INTO case_counter (region, day, seq) VALUES (?, ?, 1) "
               "ON CONFLICT (region, day) DO UPDATE SET seq = case_counter.seq + 1 RETURNING seq")
    rows = await conn.execute_query_dict(sql, [region, day])
    return int(rows[0]["seq"])


def _code_of(case: Case, secret: str) -> str:
    assert case.number and case.query_code_salt
    return numbering.query_code(secret, case.number, case.query_code_salt)


def check_idempotency_key(key: str | None) -> None:
    if not IDEMPOTENCY_KEY_RE.fullmatch(key or ""):
        raise InvalidInput("请求缺少有效的 Idempotency-Key", "Idempotency-Key must be 8–64 of [A-Za-z0-9._:-]",
                           "Idempotency-Key")


async def number_submission(conn: BaseDBAsyncClient, case: Case, principal: Principal, idempotency_key: str,
                            secret: str, now: dt.datetime, *, excused: frozenset[str] = frozenset()) -> None:
    """What a submission does to the draft (inside ``workflow.services.apply``'s transaction, with the
    case locked): check the key and the materials, then give it its number and query code.

    Another key on an already submitted case is refused by the transition table; a key this
    applicant already used on another case is 422; missing materials are 422, all named (but those
    ``excused``: 容缺, promised to be made up after acceptance).
    """
    if await Case.filter(applicant_id=principal.id, idempotency_key=idempotency_key).using_db(conn).exists():
        raise key_reused()
    missing = [m for m in blocking(await materials_of(case, conn)) if m.code not in excused]
    if missing:
        raise MissingMaterials(missing)
    day = numbering.china_day(now)
    sequence = await next_sequence(conn, case.region, f"{day:%Y%m%d}")
    if sequence > numbering.MAX_SEQUENCE:
        raise Unavailable("今日受理量已达上限，请明天再提交", "daily case numbers exhausted")
    number = numbering.case_number(case.region, day, sequence)
    salt = secrets.token_hex(16)
    case.number, case.query_code_salt = number, salt
    case.query_code_hash = numbering.query_code_hash(secret, number, numbering.query_code(secret, number, salt))
    case.submitted_at, case.expires_at, case.idempotency_key = now, None, idempotency_key


def key_reused() -> RuleViolation:
    return RuleViolation("这个 Idempotency-Key 已用于您的另一个办件", "Idempotency-Key already used for another case",
                         "Idempotency-Key")


async def discard_draft(principal: Principal, case_id: int) -> list[str]:
    """Delete one of the caller's drafts (a submitted case is withdrawn instead, never deleted).
    Returns the blob keys it referred to; the maintenance sweep removes those no other row uses,
    and its uploads' partial files go with the next round."""
    async with in_transaction() as conn:
        case = await own_case(principal, case_id, conn, lock=True)
        states.decide(case.state, "discard", principal.role)
        keys = await CaseMaterial.filter(case_id=case.id, blob_key__isnull=False).using_db(conn).values_list(
            "blob_key", flat=True)
        await Case.filter(id=case.id, state=DRAFT).using_db(conn).delete()
    return sorted({str(k) for k in keys})


async def submitted_case(principal: Principal, case_id: int) -> Case:
    case = await own_case(principal, case_id)
    if case.number is None:
        raise NotFound("办件提交后才有回执", f"case {case_id} has no receipt before submission")
    return case


def receipt_code(case: Case, secret: str) -> str:
    return _code_of(case, secret)


def promised_date(case: Case, calendar: deadlines.Calendar, now: dt.datetime | None = None) -> dt.date:
    """The expected completion date (承诺办结日期) as it stands now: the day of the decision once there
    is one; otherwise the promised limit counted on the city's calendar (overrides included) from
    acceptance — from submission before it, the earliest it can be — plus the one extension, moved
    on by every working day the clock has stood still (a correction, a special procedure), an open
    pause counted through today."""
    if case.decided_at is not None:
        return deadlines.china_day(case.decided_at)
    start = case.accepted_at or case.submitted_at
    assert start is not None
    due = deadlines.due_date(start, case.promised_limit + case.extended_days, case.promised_limit_unit, calendar)
    stopped = case.paused_days
    if case.paused_at is not None:
        stopped += max(0, deadlines.working_days_between(
            calendar, deadlines.china_day(case.paused_at), deadlines.china_day(now or _now())))
    return deadlines.add_working_days(calendar, due, stopped) if stopped else due


# --------------------------------------------------------------------------- tracking


async def track(number: str, code: str, secret: str) -> Case | None:
    """The submitted case with this number whose query code matches, else None. A wrong number and
    a wrong code take the same path and give the same answer."""
    case = None
    if numbering.NUMBER_RE.fullmatch(number or "") and numbering.CODE_RE.fullmatch(code or ""):
        case = await Case.filter(number=number).exclude(state=DRAFT).first()
    expected = case.query_code_hash if case is not None else None
    given = numbering.query_code_hash(secret, number or "", code or "")
    if expected is None or not secrets.compare_digest(expected, given):
        return None
    return case


# --------------------------------------------------------------------------- housekeeping


async def expire_drafts(now: dt.datetime | None = None) -> tuple[int, list[str]]:
    """Delete drafts past their expiry; return how many, and the blob keys they referred to, for the
    orphan sweep (``BlobStore.sweep_orphans(referenced_blob, …)`` removes those no other row uses)."""
    now = now or _now()
    async with in_transaction() as conn:
        ids = list(await Case.filter(state=DRAFT, expires_at__lt=now).using_db(conn).values_list("id", flat=True))
        if not ids:
            return 0, []
        keys = await CaseMaterial.filter(case_id__in=ids, blob_key__isnull=False).using_db(conn).values_list(
            "blob_key", flat=True
        )
        # Not delete()'s count: on SQLite it includes the rows the cascade removed.
        await Case.filter(id__in=ids, state=DRAFT).using_db(conn).delete()
    return len(ids), sorted({str(k) for k in keys})


async def referenced_blob(key: str) -> bool:
    """Whether any case material still refers to a blob (the predicate for ``sweep_orphans``)."""
    return await CaseMaterial.exists(blob_key=key)
