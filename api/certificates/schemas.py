"""HTTP shapes of certificates (msgspec structs; Tortoise models never leak out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class Out(msgspec.Struct, kw_only=True):
    pass


class DepartmentRef(Out):
    code: str
    name: str


class CertificateOut(Out):
    """One of the holder's certificates, as the holder sees it."""

    id: int
    type_code: str
    type_name: str
    number: str
    holder: str  # masked ID number (511902********1234) or the enterprise's credit code
    holder_kind: str  # person | enterprise
    issuing_department: DepartmentRef
    valid_from: dt.date
    valid_until: dt.date | None  # null: 长期有效
    state: str  # valid | expired | revoked | not_yet_valid (on today's date in China)
    state_name: str
    revoked_at: dt.datetime | None
    issued_at: dt.datetime
    data: dict[str, Any]
    #: With the type and the number, what a third party needs at /api/v1/certificates/verify.
    check_code: str
    #: The public verification page with all three filled in (what the certificate's QR code holds).
    verify_url: str = ""
    qr_svg_url: str = ""
    case_id: int | None = None  # the case whose approval issued it (the case detail shows it as the result)


class CertificateList(Out):
    items: list[CertificateOut]


class CertificateReadOut(Out):
    """A certificate as staff read it for a case (the read is in the holder's access log)."""

    id: int
    type_code: str
    type_name: str
    number: str
    holder: str  # masked
    issuing_department: DepartmentRef
    valid_from: dt.date
    valid_until: dt.date | None
    state: str
    state_name: str
    data: dict[str, Any]


class DataAccessOut(Out):
    """One use of the citizen's certificate data."""

    at: dt.datetime
    who: str  # 本人 | a department's or window's staff (never a name) | 申请人 张* | 政务服务平台
    department: DepartmentRef | None  # the department the data went to
    case_number: str | None  # null while the case is a draft (or after a draft was deleted)
    purpose: str
    certificate_type: str
    certificate_type_name: str
    certificate_number: str


class DataAccessPage(Out):
    items: list[DataAccessOut]
    next_cursor: str | None


class VerificationOut(Out):
    """The public answer: what the certificate is, nothing about whom it belongs to."""

    state: str  # valid | expired | revoked | not_yet_valid
    state_name: str
    type_code: str
    type_name: str
    number: str
    issuing_department: DepartmentRef
    valid_from: dt.date
    valid_until: dt.date | None
    revoked_on: dt.date | None
