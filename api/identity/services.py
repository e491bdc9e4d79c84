"""Identity rules: one-time codes, tokens, staff accounts and passwords, real-name profiles, enterprises."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.core.errors import Conflict, DomainError, Forbidden, InvalidInput, RateLimited, Unauthenticated, not_found
from api.core.ratelimit import RateLimiter, cooldown
from api.identity.ids import id_number_problem, uscc_problem, valid_mobile
from api.identity.models import (
    Citizen,
    Enterprise,
    EnterpriseMember,
    OtpCode,
    RefreshToken,
    RevokedAccessToken,
    Staff,
)
from api.identity.principal import STAFF_ROLES, Principal
from api.identity.schemas import StaffView
from api.identity.sms import SmsSender
from api.identity.tokens import ACCESS_TTL, REFRESH_TTL, TokenService, digest, new_refresh_token

OTP_TTL = dt.timedelta(minutes=5)
OTP_RESEND_AFTER = dt.timedelta(seconds=60)
OTP_MAX_ATTEMPTS = 5
OTP_PER_HOUR = 10  # per phone and per client address
OTP_PHONE_LIMITER = RateLimiter("otp_phone", OTP_PER_HOUR, 3600)
OTP_CLIENT_LIMITER = RateLimiter("otp_client", OTP_PER_HOUR, 3600)
MAX_FAILED_LOGINS = 5
USERNAME_MAX_LENGTH = 50  # Staff.username
PASSWORD_MAX_LENGTH = 1024
LOCKOUT = dt.timedelta(minutes=15)

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{2,49}")  # what an administrator may choose

_hasher = PasswordHasher()  # Argon2id with argon2-cffi's current recommended parameters
_DUMMY_HASH = _hasher.hash("not-a-password")  # equalises timing for unknown usernames


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _too_many(message: str, detail: str, retry_after: dt.timedelta) -> DomainError:
    seconds = max(1, int(retry_after.total_seconds() + 0.999))
    return RateLimited(message, detail, "phone", retry_after=seconds)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


class OtpService:
    def __init__(self, secret: str, sender: SmsSender) -> None:
        self._pepper = hmac.new(secret.encode(), b"zhengwu otp v1", hashlib.sha256).digest()
        self.sender = sender

    def _hash(self, phone: str, code: str) -> str:
        return hmac.new(self._pepper, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()

    async def request(self, phone: str, client: str) -> int:
        """Send a new code; returns its lifetime in seconds.

        The resend gap and the hourly limits are counted in the database (api/core/ratelimit.py),
        in one transaction with the code's row: every process shares them, and a request that one
        limit refuses counts against none."""
        if not valid_mobile(phone):
            raise InvalidInput("请输入正确的 11 位手机号码", "phone must be an 11-digit mobile number", "phone")
        code = f"{secrets.randbelow(1_000_000):06d}"
        async with in_transaction() as conn:
            wait = await cooldown("otp_resend", phone, int(OTP_RESEND_AFTER.total_seconds()), conn=conn)
            if wait:
                raise _too_many("验证码已发送，请稍后再获取", "wait before requesting another code",
                                dt.timedelta(seconds=wait))
            wait = await OTP_PHONE_LIMITER.check(phone, conn=conn)
            if wait:
                raise _too_many(f"该手机号获取验证码太频繁（每小时最多 {OTP_PER_HOUR} 次），请稍后再试",
                                "too many codes for this phone", dt.timedelta(seconds=wait))
            wait = await OTP_CLIENT_LIMITER.check(client, conn=conn)
            if wait:
                raise _too_many(f"获取验证码太频繁（每个网络地址每小时最多 {OTP_PER_HOUR} 次），请稍后再试",
                                "too many codes from this address", dt.timedelta(seconds=wait))
            now = _now()
            await OtpCode.create(phone=phone, code_hash=self._hash(phone, code), client=client[:64], created_at=now,
                                 expires_at=now + OTP_TTL, using_db=conn)
        await self.sender.send_code(phone, code)
        return int(OTP_TTL.total_seconds())

    async def verify(self, phone: str, code: str) -> Citizen:
        wrong = InvalidInput("验证码不正确或已过期，请重新获取", "invalid or expired code", "code")
        burnt = InvalidInput("验证码错误次数过多，请重新获取", "too many wrong attempts", "code")
        if not valid_mobile(phone) or not (len(code) == 6 and code.isdigit()):
            raise wrong
        failure: DomainError | None = None
        citizen: Citizen | None = None
        # Decide inside the transaction, raise after it: a wrong attempt must be committed.
        async with in_transaction() as conn:
            otp = await OtpCode.filter(phone=phone).using_db(conn).order_by("-created_at").first()
            now = _now()
            if otp is None or otp.consumed_at is not None or otp.expires_at <= now:
                failure = wrong
            elif otp.attempts >= OTP_MAX_ATTEMPTS:
                failure = burnt
            elif not hmac.compare_digest(otp.code_hash, self._hash(phone, code)):
                otp.attempts += 1
                await otp.save(using_db=conn, update_fields=["attempts"])
                failure = burnt if otp.attempts >= OTP_MAX_ATTEMPTS else wrong
            # Consume atomically: a code works once even if two requests race.
            elif not await OtpCode.filter(id=otp.id, consumed_at__isnull=True).using_db(conn).update(consumed_at=now):
                failure = wrong
            else:
                citizen = await Citizen.get_or_none(phone=phone, using_db=conn)
                if citizen is None:
                    citizen = await Citizen.create(phone=phone, using_db=conn)
        if failure is not None or citizen is None:
            raise failure or wrong
        return citizen


class SessionService:
    """Access and refresh tokens for citizens and staff."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens

    async def issue(self, subject: str, role: str, family: str | None = None) -> TokenPair:
        access, _ = self.tokens.issue_access(subject, role)
        refresh = new_refresh_token()
        now = _now()
        await RefreshToken.create(token_hash=digest(refresh), family=family or uuid.uuid4().hex, subject=subject,
                                  issued_at=now, expires_at=now + REFRESH_TTL)
        return TokenPair(access, refresh, int(ACCESS_TTL.total_seconds()))

    async def refresh(self, refresh_token: str) -> TokenPair:
        invalid = Unauthenticated("登录已失效，请重新登录", "invalid refresh token", "refresh_token")
        now = _now()
        async with in_transaction() as conn:
            row = await RefreshToken.get_or_none(token_hash=digest(refresh_token), using_db=conn)
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise invalid
            if row.used_at is not None:
                # Reuse of a rotated token: someone else holds the family. End every session of it.
                await RefreshToken.filter(family=row.family, revoked_at__isnull=True).using_db(conn).update(
                    revoked_at=now
                )
                reused = True
            else:
                claimed = await RefreshToken.filter(id=row.id, used_at__isnull=True).using_db(conn).update(used_at=now)
                reused = not claimed
        if reused:
            raise Unauthenticated("检测到登录凭证被重复使用，为保护您的账号已退出所有设备，请重新登录",
                           "refresh token reuse detected; the session family is revoked", "refresh_token")
        role = await self._current_role(row.subject)
        if role is None:
            raise invalid
        return await self.issue(row.subject, role, family=row.family)

    @staticmethod
    async def _current_role(subject: str) -> str | None:
        kind, _, raw = subject.partition(":")
        if kind == "citizen":
            return "citizen" if await Citizen.exists(id=int(raw)) else None
        staff = await Staff.get_or_none(id=int(raw))
        return staff.role if staff and staff.active else None

    async def logout(self, principal: Principal, refresh_token: str | None) -> None:
        now = _now()
        await RevokedAccessToken.get_or_create(jti=principal.jti, defaults={"expires_at": principal.token_expires_at})
        if refresh_token:
            row = await RefreshToken.get_or_none(token_hash=digest(refresh_token), subject=principal.subject)
            if row is not None:
                await RefreshToken.filter(family=row.family, revoked_at__isnull=True).update(revoked_at=now)


async def staff_login(username: str, password: str) -> Staff:
    bad = Unauthenticated("用户名或密码不正确", "invalid username or password")
    # A name longer than the column can hold belongs to no account (and the ORM refuses to filter
    # by it); a huge password would only burn Argon2 time. Same answer, same work as an unknown name.
    known_shape = 0 < len(username) <= USERNAME_MAX_LENGTH and len(password) <= PASSWORD_MAX_LENGTH
    staff = await Staff.get_or_none(username=username) if known_shape else None
    now = _now()
    if staff is None or not staff.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password[:PASSWORD_MAX_LENGTH])
        raise bad
    if staff.locked_until is not None and staff.locked_until > now:
        minutes = int((staff.locked_until - now).total_seconds() // 60) + 1
        raise Forbidden(f"密码错误次数过多，账号已锁定，请 {minutes} 分钟后再试", "account locked",
                        retry_after=int((staff.locked_until - now).total_seconds()) + 1)
    try:
        _hasher.verify(staff.password_hash, password)
    except VerificationError:
        staff.failed_logins += 1
        if staff.failed_logins >= MAX_FAILED_LOGINS:
            staff.locked_until = now + LOCKOUT
            staff.failed_logins = 0
        await staff.save(update_fields=["failed_logins", "locked_until"])
        raise bad from None
    if staff.failed_logins or staff.locked_until or _hasher.check_needs_rehash(staff.password_hash):
        staff.failed_logins, staff.locked_until = 0, None
        if _hasher.check_needs_rehash(staff.password_hash):
            staff.password_hash = _hasher.hash(password)
        await staff.save(update_fields=["failed_logins", "locked_until", "password_hash"])
    return staff


def password_problem(password: str) -> str | None:
    if len(password) < 10:
        return "密码至少 10 位"
    if password.isdigit() or password.isalpha():
        return "密码需同时包含字母和数字或符号"
    return None


# Department and Window are catalog's models, and catalog imports identity (guards, principal):
# importing them here would close a cycle. Tortoise registers every model by name — the lookup its
# "models.Department" foreign keys use — so identity checks the codes it stores without importing
# the domain above it, and every caller (admin API, CLI, tests) gets the same check for free.
async def _organisation_has(model: str, code: str, conn: BaseDBAsyncClient | None) -> bool:
    return await Tortoise.apps["models"][model].exists(code=code, using_db=conn)


async def check_assignment(role: str, department: str, window: str, conn: BaseDBAsyncClient | None = None) -> None:
    """Which role needs a department or a window, and that the ones named exist."""
    if role not in STAFF_ROLES:
        raise InvalidInput(f"角色只能是 {'、'.join(STAFF_ROLES)}", "unknown role", "role")
    if role in ("officer", "approver") and not department:
        raise InvalidInput("承办、审批人员必须属于一个部门", "officers and approvers need a department", "department")
    if role == "clerk" and not window:
        raise InvalidInput("窗口受理员必须属于一个窗口", "clerks need a window", "window")
    if department and not await _organisation_has("Department", department, conn):
        raise InvalidInput(f"部门不存在：{department}", f"unknown department: {department}", "department")
    if window and not await _organisation_has("Window", window, conn):
        raise InvalidInput(f"窗口不存在：{window}", f"unknown window: {window}", "window")


def _check_name(name: str) -> None:
    if len(name) > 50 or "\x00" in name:
        raise InvalidInput("姓名不能超过 50 个字", "name too long or invalid", "name")


async def create_staff(username: str, password: str, role: str, department: str = "", window: str = "",
                       name: str = "", conn: BaseDBAsyncClient | None = None, *,
                       password_hash: str | None = None) -> Staff:
    """A new account. The rules every way of creating one shares (``zhengwu create-staff``, the
    admin API, tests): assignment, name, password strength, a free username.

    ``password_hash``: ``password`` already hashed, for accounts that share one published
    password (the demo accounts: one Argon2 hash instead of one per account)."""
    await check_assignment(role, department, window, conn)
    _check_name(name)
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, "password too weak", "password")
    if await Staff.exists(username=username, using_db=conn):
        raise Conflict("用户名已存在", "username taken", "username")
    return await Staff.create(username=username, password_hash=password_hash or _hasher.hash(password), role=role,
                              department=department, window=window, name=name, using_db=conn)


# --------------------------------------------------------------------------- staff administration


def staff_view(s: Staff) -> StaffView:
    return StaffView(s.id, s.username, s.name, s.role, s.department, s.window, s.active, s.created_at)


def _audit_staff(v: StaffView) -> dict[str, Any]:
    return {"username": v.username, "name": v.name, "role": v.role, "department": v.department,
            "window": v.window, "active": v.active}


async def list_staff() -> list[StaffView]:
    return [staff_view(s) for s in await Staff.all().order_by("id")]


async def create_staff_account(
    actor: str, username: str, password: str, role: str, department: str, window: str, name: str
) -> StaffView:
    """``create_staff`` for an administrator: stricter on the shape of what was typed, and audited."""
    if not _USERNAME.fullmatch(username):
        raise InvalidInput("用户名为 3–50 位字母、数字或 . _ @ -", "invalid username", "username")
    if len(password) > 256 or "\x00" in password:
        raise InvalidInput("密码不能超过 256 位", "password too long", "password")
    try:
        async with in_transaction() as conn:
            view = staff_view(await create_staff(username, password, role, department, window, name, conn))
            await record(conn, actor, "staff.create", "staff", username, None, _audit_staff(view))
    except IntegrityError:  # a concurrent create of the same username won the race
        raise Conflict("用户名已存在", "username taken", "username") from None
    return view


async def update_staff(
    actor: str, actor_id: int, staff_id: int, role: str, department: str, window: str, name: str | None,
    active: bool | None = None,
) -> StaffView:
    async with in_transaction() as conn:
        staff = await Staff.filter(id=staff_id).select_for_update().using_db(conn).first()
        if staff is None:
            raise not_found("这个工作人员", "staff", str(staff_id))
        name = staff.name if name is None else name
        await check_assignment(role, department, window, conn)
        _check_name(name)
        # An administrator cannot lock themselves out: another administrator must do it.
        if staff.id == actor_id and (role != "admin" or active is False):
            raise Conflict("不能停用自己或取消自己的管理员角色", "administrators cannot demote or deactivate "
                           "themselves", "role" if role != "admin" else "active")
        before = _audit_staff(staff_view(staff))
        staff.role, staff.department, staff.window, staff.name = role, department, window, name
        if active is not None:
            staff.active = active
            if active:  # reactivation also lifts a password lockout
                staff.failed_logins, staff.locked_until = 0, None
        await staff.save(using_db=conn)
        view = staff_view(staff)
        action = "staff.update" if active is None else ("staff.reactivate" if active else "staff.deactivate")
        await record(conn, actor, action, "staff", staff.username, before, _audit_staff(view))
    return view


async def set_staff_active(actor: str, actor_id: int, staff_id: int, active: bool) -> StaffView:
    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise not_found("这个工作人员", "staff", str(staff_id))
    return await update_staff(actor, actor_id, staff_id, staff.role, staff.department, staff.window, None, active)


async def update_profile(citizen_id: int, name: str, id_number: str) -> Citizen:
    name = name.strip()
    if not 2 <= len(name) <= 50:
        raise InvalidInput("请填写真实姓名（2–50 个字）", "name must be 2–50 characters", "name")
    id_number = id_number.strip().upper()
    problem = id_number_problem(id_number)
    if problem:
        raise InvalidInput(problem.message, problem.detail, "id_number")
    citizen = await Citizen.get(id=citizen_id)
    if citizen.id_number != id_number:
        citizen.identity_checked_at = None  # a new number is unconfirmed until checked again
    citizen.name, citizen.id_number, citizen.verified_at = name, id_number, _now()
    await citizen.save(update_fields=["name", "id_number", "verified_at", "identity_checked_at"])
    return citizen


async def confirm_identity(citizen_id: int, at: dt.datetime | None = None) -> None:
    """A trusted party confirmed the citizen's declared number is theirs (the window's check of the
    ID card; a real-name provider): from now on the certificates held under it are fetched for them."""
    await Citizen.filter(id=citizen_id).exclude(id_number="").update(identity_checked_at=at or _now())


async def confirm_membership(citizen_id: int, enterprise_id: int, at: dt.datetime | None = None) -> None:
    """A trusted party confirmed the citizen acts for the enterprise (licence and authorisation seen)."""
    await EnterpriseMember.filter(citizen_id=citizen_id, enterprise_id=enterprise_id).update(
        checked_at=at or _now())


async def bind_enterprise(citizen_id: int, uscc: str, name: str, role: str) -> tuple[Enterprise, EnterpriseMember]:
    uscc = uscc.strip().upper()
    problem = uscc_problem(uscc)
    if problem:
        raise InvalidInput(problem.message, problem.detail, "uscc")
    if role not in ("legal_representative", "agent"):
        raise InvalidInput("身份只能是法定代表人或经办人", "role must be legal_representative or agent", "role")
    if not name.strip():
        raise InvalidInput("请填写企业名称", "name required", "name")
    citizen = await Citizen.get(id=citizen_id)
    if not citizen.id_number:
        raise Conflict("请先完成实名认证再绑定企业", "complete the real-name profile first")
    async with in_transaction() as conn:
        enterprise = await Enterprise.get_or_none(uscc=uscc, using_db=conn)
        if enterprise is None:
            enterprise = await Enterprise.create(
                uscc=uscc, name=name.strip(),
                legal_representative=citizen.name if role == "legal_representative" else "", using_db=conn,
            )
        member, _ = await EnterpriseMember.get_or_create(
            enterprise_id=enterprise.id, citizen_id=citizen.id, defaults={"role": role}, using_db=conn
        )
    return enterprise, member


# --------------------------------------------------------------------------- demo accounts


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    role: str
    department: str = ""
    window: str = ""
    name: str = ""


def demo_accounts(windows: list[str], city_departments: list[str]) -> list[DemoAccount]:
    """One account for every role where it works: a clerk at every window, an officer and an
    approver in every city-level department, one supervisor, one administrator."""
    accounts = [DemoAccount(f"clerk-{w}", "clerk", window=w, name=f"演示受理员 {w}") for w in windows]
    for d in city_departments:
        accounts += [DemoAccount(f"officer-{d}", "officer", department=d, name=f"演示承办人 {d}"),
                     DemoAccount(f"approver-{d}", "approver", department=d, name=f"演示审批人 {d}")]
    return [*accounts, DemoAccount("supervisor", "supervisor", name="演示监察员"),
            DemoAccount("admin", "admin", name="演示管理员")]


@dataclass(frozen=True, slots=True)
class DemoStaffResult:
    created: list[str]
    existing: list[str]  # left as they are: a re-run neither duplicates nor resets a changed password


async def create_demo_staff(accounts: list[DemoAccount], password: str) -> DemoStaffResult:
    """Create the accounts that do not exist yet (``create_staff``'s rules), each audited as the
    system's ``staff.create``. Existing usernames are left alone, whatever they hold now."""
    created: list[str] = []
    existing: list[str] = []
    taken = set(await Staff.filter(username__in=[a.username for a in accounts]).values_list("username", flat=True))
    # The password is in the README: one salt for all of them leaks nothing, and saves an Argon2
    # hash (a tenth of a second or more) per account.
    shared = _hasher.hash(password) if any(a.username not in taken for a in accounts) else ""
    for a in accounts:
        if a.username in taken:
            existing.append(a.username)
            continue
        try:
            async with in_transaction() as conn:
                staff = await create_staff(a.username, password, a.role, a.department, a.window, a.name, conn,
                                           password_hash=shared)
                await record(conn, "system", "staff.create", "staff", a.username, None, _audit_staff(staff_view(staff)))
        except (IntegrityError, Conflict):  # another seed created it meanwhile
            existing.append(a.username)
            continue
        created.append(a.username)
    return DemoStaffResult(created, existing)
