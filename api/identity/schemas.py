"""HTTP shapes of sign-in, tokens, profiles and staff accounts."""

from __future__ import annotations

import datetime as dt

import msgspec


class In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class OtpRequest(In):
    phone: str = msgspec.field()


class OtpSent(msgspec.Struct):
    expires_in: int
    resend_after: int


class CodeLogin(In):
    phone: str
    code: str


class StaffLogin(In):
    username: str
    password: str


class RefreshRequest(In):
    refresh_token: str


class LogoutRequest(In):
    refresh_token: str | None = None


class TokenOut(msgspec.Struct):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class ProfileIn(In):
    name: str
    id_number: str


class EnterpriseIn(In):
    uscc: str
    name: str
    role: str = "legal_representative"


class EnterpriseOut(msgspec.Struct):
    uscc: str
    name: str
    legal_representative: str
    role: str


class MeOut(msgspec.Struct):
    kind: str  # citizen | staff
    role: str
    phone: str = ""  # masked
    name: str = ""
    id_number: str = ""  # masked: 511902********1234
    verified: bool = False
    username: str = ""
    department: str = ""
    window: str = ""
    enterprises: list[EnterpriseOut] = []


class DevSmsOut(msgspec.Struct):
    phone: str
    codes: list[str]


class StaffView(msgspec.Struct, frozen=True):
    """A staff account as administrators see it (and as the admin API returns it): never the
    password hash."""

    id: int
    username: str
    name: str
    role: str
    department: str
    window: str
    active: bool
    created_at: dt.datetime


class StaffCreate(In):
    username: str
    password: str
    role: str
    name: str = ""
    department: str = ""
    window: str = ""


class StaffUpdate(In):
    role: str
    department: str = ""
    window: str = ""
    name: str | None = None  # null keeps the current name
