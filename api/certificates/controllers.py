"""Certificates over HTTP: the holder's certificates, who used their data, public verification."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter

from api.cases.models import Case
from api.cases.services import CASE_STAFF, visible_case
from api.certificates import codes, services
from api.certificates.models import Certificate
from api.certificates.schemas import (
    CertificateList,
    CertificateOut,
    CertificateReadOut,
    DataAccessOut,
    DataAccessPage,
    DepartmentRef,
    VerificationOut,
)
from api.core.errors import NotFound
from api.core.qr import qr_svg
from api.core.ratelimit import RateLimiter
from api.core.settings import Settings
from api.identity.guards import require_roles
from api.identity.principal import Principal

CITIZEN = {"roles": ["citizen"]}
PUBLIC = {"public": True}
PRIVATE = {"Cache-Control": "private, no-store"}
CitizenRequest = Request[Principal, Any, State]

VERIFY_LIMITER = RateLimiter("verify", 30, 60)  # per address, counted in the database
_NOT_FOUND = ("没有找到这份证照，请核对证照类型、编号和核验码", "no certificate with this type, number and check code")


def _department(code: str, departments: dict[str, str]) -> DepartmentRef:
    return DepartmentRef(code=code, name=departments.get(code, ""))


def _state(cert: Certificate, today: Any) -> str:
    return codes.state(cert.status, cert.valid_from, cert.valid_until, today)


class CertificateController(Controller):
    path = "/api/v1"
    tags = ["certificates"]

    @get("/me/certificates", opt=CITIZEN, guards=[require_roles],
         summary="My certificates and my enterprises' (valid and past), with their check codes")
    async def mine(self, state: State, request: CitizenRequest) -> Response[CertificateList]:
        settings: Settings = state.settings
        certs = await services.my_certificates(request.user)
        types, departments = await services.names({c.type_code for c in certs},
                                                  {c.issuing_department for c in certs})
        today = services.today_in_china()
        current = [c for c in certs if _state(c, today) == codes.VALID]
        past = [c for c in certs if _state(c, today) != codes.VALID]
        items = [
            CertificateOut(
                id=c.id, type_code=c.type_code, type_name=types.get(c.type_code, ""), number=c.number,
                holder=services.mask_holder(c), holder_kind=c.holder_kind,
                issuing_department=_department(c.issuing_department, departments), valid_from=c.valid_from,
                valid_until=c.valid_until, state=_state(c, today), state_name=codes.STATE_NAMES[_state(c, today)],
                revoked_at=c.revoked_at, issued_at=c.issued_at, data=c.data,
                check_code=services.check_code_of(c, settings.secret_key),
                verify_url=services.verify_url(settings.public_url, c, services.check_code_of(c, settings.secret_key)),
                qr_svg_url=f"/api/v1/me/certificates/{c.id}/qr.svg", case_id=c.case_id,  # type: ignore[attr-defined]
            )
            for c in current + past  # valid ones first, each part newest first
        ]
        return Response(CertificateList(items=items), headers=PRIVATE)

    @get("/me/certificates/{id:int}/qr.svg", opt=CITIZEN, guards=[require_roles], media_type="image/svg+xml",
         summary="QR code of one of my certificates' public verification page (type, number, check code)")
    async def qr(self, state: State, request: CitizenRequest, id: FromPath[int]) -> Response[bytes]:
        settings: Settings = state.settings
        cert = await services.my_certificate(request.user, id)
        url = services.verify_url(settings.public_url, cert, services.check_code_of(cert, settings.secret_key))
        return Response(qr_svg(url), media_type="image/svg+xml", headers=PRIVATE)

    @get("/me/data-access", opt=CITIZEN, guards=[require_roles],
         summary="Who used my certificates' data, when and for which case (newest first, keyset pagination)")
    async def data_access(
        self, request: CitizenRequest, limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Response[DataAccessPage]:
        page = await services.data_access(request.user, limit, cursor)
        certs: list[Certificate] = [r.certificate for r in page.rows]
        types, departments = await services.names({c.type_code for c in certs},
                                                  {r.department for r in page.rows if r.department})
        me = request.user.subject
        items = []
        for r in page.rows:
            case: Case | None = r.case
            items.append(DataAccessOut(
                at=r.at, who=services.SELF_LABEL if r.actor == me else r.actor_label,
                department=_department(r.department, departments) if r.department else None,
                case_number=case.number if case is not None else None, purpose=r.purpose,
                certificate_type=r.certificate.type_code,
                certificate_type_name=types.get(r.certificate.type_code, ""),
                certificate_number=r.certificate.number,
            ))
        return Response(DataAccessPage(items=items, next_cursor=page.next_cursor), headers=PRIVATE)

    @get("/cases/{id:int}/materials/{code:str}/certificate", opt={"roles": sorted(CASE_STAFF)}, guards=[require_roles],
         summary="Staff: read the certificate that spared a material of a case in their hands, for a stated "
                 "purpose (logged for the holder: 谁用了我的数据)")
    async def read_for_case(
        self, request: CitizenRequest, id: FromPath[int], code: FromPath[str],
        purpose: Annotated[str, QueryParameter(max_length=200)],
    ) -> Response[CertificateReadOut]:
        case = await visible_case(request.user, id)
        cert = await services.read_for_material(request.user, case, code, purpose)
        types, departments = await services.names({cert.type_code}, {cert.issuing_department})
        now_state = _state(cert, services.today_in_china())
        body = CertificateReadOut(
            id=cert.id, type_code=cert.type_code, type_name=types.get(cert.type_code, ""), number=cert.number,
            holder=services.mask_holder(cert), issuing_department=_department(cert.issuing_department, departments),
            valid_from=cert.valid_from, valid_until=cert.valid_until, state=now_state,
            state_name=codes.STATE_NAMES[now_state], data=cert.data)
        return Response(body, headers=PRIVATE)

    @get("/certificates/verify", opt=PUBLIC,
         summary="Verify a certificate by type, number and check code (no sign-in; no personal data)")
    async def verify(
        self, state: State, request: Request,
        type: Annotated[str, QueryParameter(max_length=64)],
        number: Annotated[str, QueryParameter(max_length=64)],
        code: Annotated[str, QueryParameter(max_length=20)],
    ) -> Response[VerificationOut]:
        await VERIFY_LIMITER.enforce(request, "核验太频繁，请稍后再试", "too many verification requests")
        settings: Settings = state.settings
        cert = await services.verify(type.strip(), number.strip(), code.strip(), settings.secret_key)
        if cert is None:
            raise NotFound(*_NOT_FOUND)
        types, departments = await services.names({cert.type_code}, {cert.issuing_department})
        now_state = _state(cert, services.today_in_china())
        body = VerificationOut(
            state=now_state, state_name=codes.STATE_NAMES[now_state], type_code=cert.type_code,
            type_name=types.get(cert.type_code, ""), number=cert.number,
            issuing_department=_department(cert.issuing_department, departments), valid_from=cert.valid_from,
            valid_until=cert.valid_until,
            revoked_on=services.today_in_china(cert.revoked_at) if cert.revoked_at else None,
        )
        return Response(body, headers={"Cache-Control": "no-store"})


__all__ = ["CertificateController"]
