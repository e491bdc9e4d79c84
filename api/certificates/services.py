"""The rules of electronic certificates (电子证照), testable without HTTP.

国务院令第716号 §7: what the platform can fetch is never asked for again, and what it fetches is used
only for the purpose it was fetched for. So:

* **Registry.** ``issue`` (called by the workflow when a case is approved, in its transaction) and
  ``revoke`` write certificates with an audit entry. Expiry is not stored: a certificate past its
  ``valid_until`` is *expired* by the date alone (``codes.state``).
* **Reuse.** ``held_types`` says which certificate types a citizen (by the resident ID number of
  their real-name profile) and the enterprise a case is filed for (by its credit code) hold, valid
  today (China's day). ``spare_materials`` marks a case's certificate materials ``spared``, pointing
  at the certificate, and logs the access; it is called when a draft's checklist is built or
  rebuilt. Among several valid certificates of one type the most recent one is used, an
  enterprise's before a person's.
* **Access log.** Every fetch writes a ``CertificateAccess`` row that the holder reads at
  ``GET /api/v1/me/data-access``: the platform fetching at draft creation (once per certificate
  and case, not at every rebuild), and a staff member reading a certificate for a case
  (``read_certificate``, which the staff console calls).

How an actor is shown to the holder is fixed when the access happens, and never names a staff
member: staff show as their department's name (``巴中市市场监督管理局工作人员``), a clerk without a
department as their window (``社会事务综合窗口工作人员``); a citizen shows as ``本人`` to themself and
as ``申请人 张*`` (name masked, or the phone masked when there is no name) to the other members of an
enterprise whose certificate they used; the platform itself as ``政务服务平台``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.cases.models import ATTACHED, DRAFT, MISSING, SPARED, Case, CaseMaterial
from api.catalog.models import CertificateType, Department, ServiceItem, Window
from api.certificates import codes
from api.certificates.codes import ENTERPRISE, HOLDER_KINDS, PERSON, REVOKED, VALID
from api.certificates.models import Certificate, CertificateAccess
from api.core import cursors
from api.core.errors import Conflict, InvalidInput, NotFound, RuleViolation
from api.identity.ids import id_number_problem, mask_id_number, mask_name, mask_phone, uscc_problem
from api.identity.models import Citizen, EnterpriseMember, Staff
from api.identity.principal import Principal
from api.workflow.deadlines import china_day

SYSTEM_LABEL = "政务服务平台"
SELF_LABEL = "本人"
MAX_PURPOSE = 200


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today_in_china(now: dt.datetime | None = None) -> dt.date:
    return china_day(now or _now())


def _using(query: Any, conn: BaseDBAsyncClient | None) -> Any:
    return query.using_db(conn) if conn is not None else query


def mask_holder(cert: Certificate) -> str:
    """A person's ID number masked (DESIGN §4b); an enterprise's credit code is public (公示)."""
    return mask_id_number(cert.holder) if cert.holder_kind == PERSON else cert.holder


def _not_found(certificate_id: int) -> NotFound:
    return NotFound("没有找到这份证照", f"certificate not found: {certificate_id}", "certificate_id")


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True)
class Issued:
    certificate: Certificate
    check_code: str  # for the holder; only its keyed hash is stored


def _problem(field: str, message: str, detail: str) -> dict[str, str]:
    return {"field": field, "message": message, "detail": detail}


async def issue(
    conn: BaseDBAsyncClient, actor: str, *, type_code: str, number: str, holder: str, issuing_department: str,
    valid_from: dt.date, valid_until: dt.date | None, data: dict[str, Any], secret: str,
    holder_kind: str | None = None, case_id: int | None = None, now: dt.datetime | None = None,
) -> Issued:
    """Register a certificate in the caller's transaction (a case's approval), with its audit entry.

    Every problem is reported at once (422); a (type, number) already registered is 409."""
    now = now or _now()
    number, holder = number.strip(), holder.strip().upper()
    problems: list[dict[str, str]] = []
    kind_of_type = await _using(CertificateType.filter(code=type_code), conn).first().values_list("holder", flat=True)
    if kind_of_type is None:
        problems.append(_problem("type_code", f"没有这种证照类型：{type_code}",
                                 f"unknown certificate type: {type_code}"))
    expected_kind = HOLDER_KINDS.get(str(kind_of_type)) if kind_of_type is not None else None
    holder_kind = holder_kind or expected_kind or PERSON
    if holder_kind not in (PERSON, ENTERPRISE):
        problems.append(_problem("holder_kind", "持证主体只能是个人或企业", "holder_kind must be person or enterprise"))
    elif expected_kind is not None and holder_kind != expected_kind:
        problems.append(_problem("holder_kind", "这种证照的持证主体类型不符",
                                 f"{type_code} is held by a {expected_kind}"))
    else:
        bad = id_number_problem(holder) if holder_kind == PERSON else uscc_problem(holder)
        if bad is not None:
            problems.append(_problem("holder", bad.message, bad.detail))
    if not codes.NUMBER_RE.fullmatch(number):
        problems.append(_problem("number", "证照编号应为 1–64 位字母、数字或汉字",
                                 "number must be 1-64 letters, digits or CJK characters"))
    if not await _using(Department.filter(code=issuing_department), conn).exists():
        problems.append(_problem("issuing_department", f"没有这个发证部门：{issuing_department}",
                                 f"unknown department: {issuing_department}"))
    if valid_until is not None and valid_until < valid_from:
        problems.append(_problem("valid_until", "有效期截止日不能早于起始日", "valid_until is before valid_from"))
    if problems:
        first = problems[0]
        raise RuleViolation(first["message"], first["detail"], first["field"], problems=problems)
    if await _using(Certificate.filter(type_code=type_code, number=number), conn).exists():
        raise Conflict("这份证照已经登记过", f"certificate {type_code} {number} already exists", "number")
    salt = secrets.token_hex(16)
    code = codes.check_code(secret, type_code, number, salt)
    cert = await Certificate.create(
        type_code=type_code, number=number, holder=holder, holder_kind=holder_kind,
        issuing_department=issuing_department, valid_from=valid_from, valid_until=valid_until, status=VALID,
        data=data, check_code_hash=codes.check_code_hash(secret, type_code, number, code), check_code_salt=salt,
        issued_at=now, case_id=case_id, using_db=conn,
    )
    await record(conn, actor, "certificate.issue", "certificate", str(cert.id), None, _audit_view(cert))
    return Issued(cert, code)


def _audit_view(cert: Certificate) -> dict[str, Any]:
    # The holder masked: the audit trail is read by administrators who need no ID numbers.
    return {"type_code": cert.type_code, "number": cert.number, "holder": mask_holder(cert),
            "holder_kind": cert.holder_kind, "issuing_department": cert.issuing_department,
            "valid_from": cert.valid_from.isoformat(),
            "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
            "status": cert.status, "case_id": cert.case_id}  # type: ignore[attr-defined]


async def revoke(actor: str, certificate_id: int, reason: str, *, conn: BaseDBAsyncClient | None = None,
                 now: dt.datetime | None = None) -> Certificate:
    """Revoke (注销) a certificate, in the caller's transaction when given. Revoking a revoked
    certificate changes nothing (a retried call is harmless)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("请填写注销原因", "a reason is required", "reason")
    async with (contextlib.nullcontext(conn) if conn is not None else in_transaction()) as tx:
        cert = await Certificate.filter(id=certificate_id).using_db(tx).select_for_update().first()
        if cert is None:
            raise _not_found(certificate_id)
        if cert.status == REVOKED:
            return cert
        before = _audit_view(cert)
        cert.status, cert.revoked_at, cert.revoke_reason = REVOKED, now or _now(), reason[:1000]
        await cert.save(using_db=tx, update_fields=["status", "revoked_at", "revoke_reason"])
        await record(tx, actor, "certificate.revoke", "certificate", str(cert.id), before,
                     {**_audit_view(cert), "reason": cert.revoke_reason})
    return cert


def check_code_of(cert: Certificate, secret: str) -> str:
    return codes.check_code(secret, cert.type_code, cert.number, cert.check_code_salt)


# --------------------------------------------------------------------------- reuse


def _valid_on(today: dt.date) -> Q:
    return Q(status=VALID, valid_from__lte=today) & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))


async def _holders(conn: BaseDBAsyncClient | None, citizen_id: int, enterprise_id: int | None) -> set[tuple[str, str]]:
    """(holder, kind) whose certificates a case of this citizen for this enterprise may use."""
    holders: set[tuple[str, str]] = set()
    # Only confirmed holders: a declared ID number or a self-made membership proves nothing.
    id_number = await _using(Citizen.filter(id=citizen_id, identity_checked_at__isnull=False), conn).first() \
        .values_list("id_number", flat=True)
    if id_number:
        holders.add((str(id_number), PERSON))
    if enterprise_id is not None:
        uscc = await _using(EnterpriseMember.filter(
            citizen_id=citizen_id, enterprise_id=enterprise_id, checked_at__isnull=False), conn).first() \
            .values_list("enterprise__uscc", flat=True)
        if uscc:
            holders.add((str(uscc), ENTERPRISE))
    return holders


async def held_types(conn: BaseDBAsyncClient | None, citizen_id: int, enterprise_id: int | None,
                     today: dt.date | None = None) -> dict[str, Certificate]:
    """The certificates valid ``today`` that a case of this citizen (for this enterprise, if any)
    can use, one per type: the person's by their real-name ID number, the enterprise's by its
    credit code. An enterprise's certificate wins over a person's of the same type; among one
    holder's, the most recently valid one."""
    today = today or today_in_china()
    holders = await _holders(conn, citizen_id, enterprise_id)
    if not holders:
        return {}
    either = Q(*(Q(holder=holder, holder_kind=kind) for holder, kind in holders), join_type=Q.OR)
    rows = await _using(Certificate.filter(either).filter(_valid_on(today)), conn)
    best: dict[str, Certificate] = {}
    for cert in sorted(rows, key=lambda c: (c.holder_kind == ENTERPRISE, c.valid_from, c.issued_at, c.id)):
        best[cert.type_code] = cert  # later (preferred) ones replace earlier ones
    return best


async def actor_label(conn: BaseDBAsyncClient | None, actor: str) -> str:
    """How ``actor`` is shown to the holders of what it read (see the module docstring)."""
    kind, _, raw = actor.partition(":")
    if kind == "staff" and raw.isdigit():
        staff = await _using(Staff.filter(id=int(raw)), conn).first()
        if staff is not None and staff.department:
            name = await _using(Department.filter(code=staff.department), conn).first().values_list("name", flat=True)
            if name:
                return f"{name}工作人员"
        if staff is not None and staff.window:
            name = await _using(Window.filter(code=staff.window), conn).first().values_list("name", flat=True)
            if name:
                return f"{name}工作人员"
        return "政务服务中心工作人员"
    if kind == "citizen" and raw.isdigit():
        citizen = await _using(Citizen.filter(id=int(raw)), conn).first()
        if citizen is not None:
            return f"申请人 {mask_name(citizen.name) if citizen.name else mask_phone(citizen.phone)}"
        return "申请人"
    return SYSTEM_LABEL


async def _log(conn: BaseDBAsyncClient, cert: Certificate, actor: str, label: str, department: str | None,
               case_id: int | None, purpose: str, now: dt.datetime) -> CertificateAccess:
    return await CertificateAccess.create(
        certificate_id=cert.id, actor=actor[:40], actor_label=label[:120], department=department or None,
        case_id=case_id, purpose=purpose[:MAX_PURPOSE], at=now, using_db=conn,
    )


async def spare_materials(conn: BaseDBAsyncClient, case_id: int, actor: str, *, department: str | None = None,
                          now: dt.datetime | None = None) -> int:
    """Mark the case's certificate materials that the applicant (or the enterprise the case is for)
    holds a valid certificate of as ``spared``, pointing at it, and log each newly used one; undo
    a spared mark whose certificate is no longer valid or no longer listed. In the caller's
    transaction. ``department`` (the one the data goes to) defaults to the item's implementing body.
    Returns how many materials were newly spared."""
    now = now or _now()
    case = await Case.filter(id=case_id).using_db(conn).first()
    if case is None:
        return 0
    materials = await CaseMaterial.filter(case_id=case_id).using_db(conn).order_by("sort_order", "id")
    if not any(m.source == "certificate" or m.status == SPARED or m.certificate_id  # type: ignore[attr-defined]
               for m in materials):
        return 0
    held = await held_types(conn, case.applicant_id, case.enterprise_id, china_day(now))  # type: ignore[attr-defined]
    if department is None:
        found = await ServiceItem.filter(code=case.item_code).using_db(conn).values_list("department__code", flat=True)
        department = str(found[0]) if found else None
    label: str | None = None
    spared = 0
    for m in materials:
        current = m.certificate_id  # type: ignore[attr-defined]
        cert = held.get(m.certificate_type) if m.source == "certificate" and m.status != ATTACHED else None
        if cert is not None:
            if m.status == SPARED and current == cert.id:
                continue  # already used for this case: not logged again
            await CaseMaterial.filter(id=m.id).using_db(conn).update(status=SPARED, certificate_id=cert.id)
            label = label or await actor_label(conn, actor)
            purpose = f"办理「{case.item_name}」，免于提交「{m.name}」"
            await _log(conn, cert, actor, label, department, case.id, purpose, now)
            spared += 1
        elif m.status == SPARED:
            await CaseMaterial.filter(id=m.id).using_db(conn).update(status=MISSING, certificate_id=None)
        elif current is not None:  # a file was attached instead: it, not the certificate, is the material
            await CaseMaterial.filter(id=m.id).using_db(conn).update(certificate_id=None)
    return spared


async def read_certificate(principal: Principal, certificate_id: int, case_id: int, purpose: str,
                           *, now: dt.datetime | None = None) -> Certificate:
    """A staff member reads a certificate for a submitted case; the read is logged for its holder.

    Only a certificate of the case's applicant (or of the enterprise the case is for) can be read,
    and only for a stated purpose; anything else is 404 (reveal nothing). Whether the case is within
    the caller's window or department is the caller's check (the staff console's case lookup)."""
    purpose = purpose.strip()
    if not 2 <= len(purpose) <= MAX_PURPOSE:
        raise InvalidInput("请写明调取证照的用途（2–200 个字）", "purpose must be 2-200 characters", "purpose")
    if principal.kind != "staff":
        raise _not_found(certificate_id)
    async with in_transaction() as conn:
        case = await Case.filter(id=case_id).exclude(state=DRAFT).using_db(conn).first()
        cert = await Certificate.filter(id=certificate_id).using_db(conn).first()
        if case is None or cert is None or (cert.holder, cert.holder_kind) not in await _holders(
                conn, case.applicant_id, case.enterprise_id):  # type: ignore[attr-defined]
            raise _not_found(certificate_id)
        label = await actor_label(conn, principal.subject)
        await _log(conn, cert, principal.subject, label, principal.department or None, case.id, purpose, now or _now())
    return cert


# --------------------------------------------------------------------------- the holder's views


async def _my_holders(citizen_id: int) -> Q | None:
    """Certificates held by the citizen (their real-name ID number) or their enterprises."""
    id_number = await Citizen.filter(id=citizen_id, identity_checked_at__isnull=False).first().values_list(
        "id_number", flat=True)
    usccs = [str(u) for u in await EnterpriseMember.filter(citizen_id=citizen_id, checked_at__isnull=False)
             .values_list("enterprise__uscc", flat=True)]
    q: Q | None = None
    if id_number:
        q = Q(holder=str(id_number), holder_kind=PERSON)
    if usccs:
        theirs = Q(holder__in=usccs, holder_kind=ENTERPRISE)
        q = theirs if q is None else q | theirs
    return q


async def my_certificates(principal: Principal) -> list[Certificate]:
    """The citizen's and their enterprises' certificates, newest first (a person holds few: no pages)."""
    if principal.kind != "citizen":
        return []
    holders = await _my_holders(principal.id)
    if holders is None:
        return []
    return list(await Certificate.filter(holders).order_by("-issued_at", "-id").limit(500))


async def read_for_material(principal: Principal, case: Case, material_code: str, purpose: str) -> Certificate:
    """Staff read the certificate that spared a material of a case they may see (the caller found
    the case within their scope); the read is logged for the holder (``read_certificate``). 404
    when the material was not spared by a certificate."""
    material = await CaseMaterial.filter(case_id=case.id, code=material_code, status=SPARED).first()
    certificate_id = material.certificate_id if material is not None else None  # type: ignore[attr-defined]
    if certificate_id is None:
        raise NotFound("这项材料没有调取电子证照", f"no certificate spared material {material_code}", "material_id")
    return await read_certificate(principal, int(certificate_id), case.id, purpose)


async def my_certificate(principal: Principal, certificate_id: int) -> Certificate:
    """One of the caller's (or their enterprises') certificates, or 404 (another's: reveal nothing)."""
    found = next((c for c in await my_certificates(principal) if c.id == certificate_id), None)
    if found is None:
        raise NotFound("没有找到这份证照", f"certificate not found: {certificate_id}")
    return found


def verify_url(public_url: str, cert: Certificate, check_code: str) -> str:
    """The public verification page for one certificate (its QR code): type, number and check code,
    nothing about the holder."""
    query = urlencode({"type": cert.type_code, "number": cert.number, "code": check_code})
    return f"{public_url.rstrip('/')}/verify?{query}"


async def names(type_codes: set[str], department_codes: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Display names of certificate types and departments."""
    types = dict(await CertificateType.filter(code__in=type_codes).values_list("code", "name")) if type_codes else {}
    departments = (dict(await Department.filter(code__in=department_codes).values_list("code", "name"))
                   if department_codes else {})
    return {str(k): str(v) for k, v in types.items()}, {str(k): str(v) for k, v in departments.items()}


@dataclass(frozen=True, slots=True)
class AccessPage:
    rows: list[CertificateAccess]  # certificate and case prefetched
    next_cursor: str | None


async def data_access(principal: Principal, limit: int = 20, cursor: str | None = None) -> AccessPage:
    """Who used the citizen's (and their enterprises') certificates: newest first, keyset pages on (at, id)."""
    if principal.kind != "citizen":
        return AccessPage([], None)
    after = cursors.decode_moment(cursor) if cursor else None  # refused alike, whatever the citizen holds
    holders = await _my_holders(principal.id)
    if holders is None:
        return AccessPage([], None)
    held = await Certificate.filter(holders).values_list("id", flat=True)  # a person holds few
    query = CertificateAccess.filter(certificate_id__in=list(held))
    if after is not None:
        at, row_id = after
        query = query.filter(Q(at__lt=at) | Q(at=at, id__lt=row_id))
    rows = list(await query.order_by("-at", "-id").limit(limit + 1).prefetch_related("certificate", "case"))
    if len(rows) > limit:
        return AccessPage(rows[:limit], cursors.encode(rows[limit - 1].at, rows[limit - 1].id))
    return AccessPage(rows, None)


# --------------------------------------------------------------------------- public verification


async def verify(type_code: str, number: str, code: str, secret: str) -> Certificate | None:
    """The certificate of this type and number whose check code matches, else None. A wrong number
    and a wrong code take the same path and give the same answer."""
    cert = None
    well_formed = (codes.CODE_RE.fullmatch(code or "") and codes.NUMBER_RE.fullmatch(number or "")
                   and codes.TYPE_RE.fullmatch(type_code or ""))
    if well_formed:
        cert = await Certificate.filter(type_code=type_code, number=number).first()
    expected = cert.check_code_hash if cert is not None else None
    given = codes.check_code_hash(secret, type_code or "", number or "", code or "")
    if expected is None or not secrets.compare_digest(expected, given):
        return None
    return cert
