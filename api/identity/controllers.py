"""Sign-in, tokens, the caller's own profile, staff administration, and the development SMS inbox."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from api.core.errors import NotFound
from api.identity import services
from api.identity.guards import require_roles
from api.identity.ids import mask_id_number, mask_phone
from api.identity.models import Citizen, EnterpriseMember, Staff
from api.identity.principal import Principal
from api.identity.schemas import (
    CodeLogin,
    DevSmsOut,
    EnterpriseIn,
    EnterpriseOut,
    LogoutRequest,
    MeOut,
    OtpRequest,
    OtpSent,
    ProfileIn,
    RefreshRequest,
    StaffCreate,
    StaffLogin,
    StaffUpdate,
    StaffView,
    TokenOut,
)
from api.identity.sms import DevelopmentSender

PUBLIC = {"public": True}
SIGNED_IN = {"roles": ["authenticated"]}
CITIZEN = {"roles": ["citizen"]}
ADMIN = {"roles": ["admin"]}
AdminRequest = Request[Principal, Any, State]  # the guard has set request.user


def _tokens(pair: services.TokenPair) -> TokenOut:
    return TokenOut(pair.access_token, pair.refresh_token, pair.token_type, pair.expires_in)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["identity"]

    @post("/otp", opt=PUBLIC, status_code=202, summary="Send a sign-in code to a mobile phone")
    async def send_code(self, state: State, request: Request, data: JSONBody[OtpRequest]) -> OtpSent:
        ttl = await state.otp.request(data.phone.strip(), _client(request))
        return OtpSent(expires_in=ttl, resend_after=int(services.OTP_RESEND_AFTER.total_seconds()))

    @post("/token", opt=PUBLIC, status_code=200, summary="Exchange phone + code for tokens")
    async def token(self, state: State, data: JSONBody[CodeLogin]) -> TokenOut:
        citizen = await state.otp.verify(data.phone.strip(), data.code.strip())
        return _tokens(await state.sessions.issue(f"citizen:{citizen.id}", "citizen"))

    @post("/staff/token", opt=PUBLIC, status_code=200, summary="Staff sign-in with username and password")
    async def staff_token(self, state: State, data: JSONBody[StaffLogin]) -> TokenOut:
        staff = await services.staff_login(data.username.strip(), data.password)
        return _tokens(await state.sessions.issue(f"staff:{staff.id}", staff.role))

    @post("/refresh", opt=PUBLIC, status_code=200, summary="Rotate a refresh token")
    async def refresh(self, state: State, data: JSONBody[RefreshRequest]) -> TokenOut:
        return _tokens(await state.sessions.refresh(data.refresh_token))

    @post("/logout", opt=SIGNED_IN, guards=[require_roles], status_code=204, summary="End this session")
    async def logout(self, state: State, request: Request[Principal, None, State],
                     data: JSONBody[LogoutRequest | None] = None) -> None:
        await state.sessions.logout(request.user, data.refresh_token if data else None)


async def _me(principal: Principal) -> MeOut:
    if principal.kind == "staff":
        staff = await Staff.get(id=principal.id)
        return MeOut(kind="staff", role=staff.role, name=staff.name, username=staff.username,
                     department=staff.department, window=staff.window)
    citizen = await Citizen.get(id=principal.id)
    members = await EnterpriseMember.filter(citizen_id=citizen.id).prefetch_related("enterprise")
    return MeOut(
        kind="citizen", role="citizen", phone=mask_phone(citizen.phone), name=citizen.name,
        id_number=mask_id_number(citizen.id_number) if citizen.id_number else "", verified=bool(citizen.id_number),
        enterprises=[EnterpriseOut(m.enterprise.uscc, m.enterprise.name, m.enterprise.legal_representative, m.role)
                     for m in members],
    )


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["identity"]
    guards = [require_roles]

    @get("", opt=SIGNED_IN, summary="Who am I (personal numbers masked)")
    async def me(self, request: Request[Principal, None, State]) -> MeOut:
        return await _me(request.user)

    @put("/profile", opt=CITIZEN, summary="Real-name profile: name and resident ID number")
    async def profile(self, request: Request[Principal, None, State], data: JSONBody[ProfileIn]) -> MeOut:
        await services.update_profile(request.user.id, data.name, data.id_number)
        return await _me(request.user)

    @post("/enterprises", opt=CITIZEN, status_code=201, summary="Bind an enterprise the citizen acts for")
    async def bind(self, request: Request[Principal, None, State], data: JSONBody[EnterpriseIn]) -> MeOut:
        await services.bind_enterprise(request.user.id, data.uscc, data.name, data.role)
        return await _me(request.user)


# Path parameters identifying rows are named ``id`` (the convention the authorization matrix test
# relies on to address a row that does not exist).
class AdminStaffController(Controller):
    """Staff accounts (管理员): create, change, deactivate and reactivate, every change audited."""

    path = "/api/v1/admin"
    opt = ADMIN
    guards = [require_roles]
    tags = ["admin"]

    @get("/staff", summary="Staff accounts (never password hashes)")
    async def staff(self) -> list[StaffView]:
        return await services.list_staff()

    @post("/staff", summary="Create a staff account")
    async def create_staff(self, request: AdminRequest, data: JSONBody[StaffCreate]) -> StaffView:
        return await services.create_staff_account(
            request.user.subject, data.username.strip(), data.password, data.role, data.department, data.window,
            data.name.strip(),
        )

    @put("/staff/{id:int}", summary="Change a staff account's role, department, window or name")
    async def update_staff(self, request: AdminRequest, id: FromPath[int], data: JSONBody[StaffUpdate]) -> StaffView:
        return await services.update_staff(
            request.user.subject, request.user.id, id, data.role, data.department, data.window,
            data.name.strip() if data.name is not None else None,
        )

    @post("/staff/{id:int}/deactivate", status_code=200, summary="Deactivate a staff account")
    async def deactivate_staff(self, request: AdminRequest, id: FromPath[int]) -> StaffView:
        return await services.set_staff_active(request.user.subject, request.user.id, id, False)

    @post("/staff/{id:int}/reactivate", status_code=200, summary="Reactivate a staff account")
    async def reactivate_staff(self, request: AdminRequest, id: FromPath[int]) -> StaffView:
        return await services.set_staff_active(request.user.subject, request.user.id, id, True)


class DevController(Controller):
    """Only registered when ZHENGWU_ENV=development (see app.py): absent, hence 404, in production."""

    path = "/api/v1/dev"
    tags = ["development"]

    @get("/sms", opt=PUBLIC, summary="Development SMS inbox (codes sent to a phone, newest first)")
    async def sms(self, state: State, phone: FromQuery[str]) -> DevSmsOut:
        sender = state.otp.sender
        if not isinstance(sender, DevelopmentSender):
            raise NotFound("没有找到您要的内容", "not available")
        return DevSmsOut(phone=mask_phone(phone), codes=sender.messages(phone))
