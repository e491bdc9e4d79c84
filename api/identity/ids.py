"""Personal identifiers: validation (GB 11643 resident ID, GB 32100 credit code, mobile numbers)
and masking. Pure functions; the checksums come from python-stdnum."""

from __future__ import annotations

import datetime as dt
import re

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

# Province-level codes (first two digits of a resident ID / region code).
_PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
}
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def valid_mobile(phone: str) -> bool:
    return bool(_MOBILE.match(phone))


def id_number_problem(number: str) -> str | None:
    """Why a resident ID number is invalid (Chinese), or None when it is valid."""
    if not re.fullmatch(r"\d{17}[\dXx]", number or ""):
        return "身份证号码应为 18 位（最后一位可以是 X）"
    if number[:2] not in _PROVINCES:
        return "身份证号码的地区码无效"
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "身份证号码中的出生日期无效"
    if not dt.date(1900, 1, 1) <= born <= dt.date.today():
        return "身份证号码中的出生日期无效"
    try:
        ric.validate(number.upper())
    except ValidationError:
        return "身份证号码校验位不正确，请核对"
    return None


def uscc_problem(code: str) -> str | None:
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", code or ""):
        return "统一社会信用代码应为 18 位数字或大写字母"
    try:
        uscc.validate(code)
    except ValidationError:
        return "统一社会信用代码校验位不正确，请核对"
    return None


def mask_id_number(number: str) -> str:
    """511902********1234: keep the region and the last four (DESIGN §4b)."""
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}" if len(number) >= 10 else "*" * len(number)


def mask_phone(phone: str) -> str:
    """138****8000"""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "*" * len(phone)
