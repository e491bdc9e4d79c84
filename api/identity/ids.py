"""Personal identifiers: validation (GB 11643 resident ID, GB 32100 credit code, mobile numbers)
and masking. Pure functions. The ID number's and the credit code's check characters come from
python-stdnum; GB 11714's organisation-code check, which stdnum lacks, is computed here.

Only what a real number can never fail is refused. stdnum's ``validate`` functions are not used:
``ric.validate`` refuses anyone born before their county's code existed (e.g. 巴州区 511902 from
2000, though people born earlier received it when first issued a card there), and
``uscc.validate`` refuses registration authorities written as letters (A, N, Y).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from stdnum.cn import ric, uscc

# Province-level codes (first two digits of a resident ID / region code) of GB/T 2260, and 83:
# Taiwan residents' residence permits carry 830000 (81/82 serve Hong Kong and Macao likewise).
_PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
    "83",
}
# Oldest accepted birth date. 15-digit cards were issued from 1984 and nobody has been shown to live
# past 122, so no holder was born before 1862; 1860 also passes GB 11643's own example of 1880.
EARLIEST_BIRTH = dt.date(1860, 1, 1)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")

# GB 32100 table 1: registration authority (1st character) → its kind codes (2nd character).
_USCC_KINDS = {
    "1": "1239",    # 机构编制: 机关, 事业单位, 群众团体, 其他
    "2": "19",      # 外交
    "3": "123459",  # 司法行政
    "4": "19",      # 文化
    "5": "1239",    # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",     # 旅游
    "7": "129",     # 宗教
    "8": "19",      # 工会
    "9": "123",     # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",      # 中央军委改革和编制办公室
    "N": "1239",    # 农业: 组级、村级、乡镇级集体经济组织, 其他
    "Y": "1",       # 其他
}
_USCC_FORMAT = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code, characters 1–8


@dataclass(frozen=True)
class IdProblem:
    """Why an identifier is refused: ``message`` for the person (Chinese), ``detail`` in English."""

    message: str
    detail: str


def valid_mobile(phone: str) -> bool:
    return bool(_MOBILE.match(phone))


def id_number_problem(number: str, *, today: dt.date | None = None) -> IdProblem | None:
    """Why a resident ID number is invalid, or None when it is valid."""
    number = (number or "").upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):  # not \d: it also matches full-width digits
        return IdProblem("身份证号码应为 18 位（最后一位可以是 X）",
                         "a resident ID number is 17 digits and a digit or X")
    if number[:2] not in _PROVINCES:
        return IdProblem("身份证号码的地区码无效", "unknown province code in the resident ID number")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or not EARLIEST_BIRTH <= born <= (today or dt.date.today()):
        return IdProblem("身份证号码中的出生日期无效",
                         "the birth date in the resident ID number is not a real past date")
    if ric.calc_check_digit(number) != number[17]:
        return IdProblem("身份证号码校验位不正确，请核对", "the resident ID number's check character is wrong")
    # The county (characters 3-6) is not looked up: old, renamed and not-yet-listed county codes
    # stay valid for life, so no table could refuse one rightly.
    return None


def _org_check(body: str) -> str:
    """GB 11714 check character of an organisation code's first eight characters (A=10 … Z=35)."""
    remainder = 11 - sum(int(ch, 36) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def uscc_problem(code: str) -> IdProblem | None:
    """Why a unified social credit code is invalid, or None when it is valid."""
    code = (code or "").upper()
    if not _USCC_FORMAT.fullmatch(code):
        return IdProblem("统一社会信用代码应为 18 位数字或大写字母",
                         "a credit code is 18 digits or capital letters other than I, O, S, V, Z")
    kinds = _USCC_KINDS.get(code[0])
    if kinds is None:
        return IdProblem("统一社会信用代码的第 1 位（登记管理部门代码）无效",
                         "unknown registration authority code (1st character)")
    if code[1] not in kinds:
        return IdProblem("统一社会信用代码的第 2 位（机构类别代码）无效",
                         "unknown organisation kind code for this registration authority (2nd character)")
    if not code[2:8].isdigit():
        return IdProblem("统一社会信用代码的第 3–8 位应为行政区划码（6 位数字）",
                         "characters 3-8 must be a six-digit region code")
    if uscc.calc_check_digit(code) != code[17]:
        return IdProblem("统一社会信用代码校验位不正确，请核对", "the credit code's check character is wrong")
    # Checked after the code's own check character: a typo anywhere is reported as above, and this
    # one only when the code is consistent but its organisation code (characters 9–17) is not.
    if _org_check(code[8:16]) != code[16]:
        return IdProblem("统一社会信用代码中的组织机构代码（第 9–17 位）校验位不正确，请核对",
                         "the organisation code in characters 9-17 has a wrong check character")
    return None


def mask_id_number(number: str) -> str:
    """511902********1234: keep the region and the last four (DESIGN §4b)."""
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}" if len(number) >= 10 else "*" * len(number)


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the first character only, wherever a person is shown to other
    people (a voucher reached through a tracking link, a fellow member of an enterprise)."""
    name = name.strip()
    return f"{name[0]}{'*' * (len(name) - 1)}" if len(name) > 1 else "*" * len(name)


def mask_phone(phone: str) -> str:
    """138****8000"""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "*" * len(phone)
