"""Resident ID numbers (GB 11643) and credit codes (GB 32100): every real number is accepted, and
each kind of mistake is refused with its own message.

Check characters in the samples were computed with the standards' algorithms (ISO 7064 MOD 11-2
for ID numbers; GB 32100's MOD 31 and GB 11714's MOD 11 for credit codes) and are written out
literally, so a change in how the code computes them shows here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.identity.ids import id_number_problem, uscc_problem
from tests.identity_helpers import bearer, citizen_tokens

TODAY = dt.date(2026, 12, 4)

VALID_IDS = [
    # The demo city's own county, 巴州区 (511902, a code from 2000), born 1990: issue #10's report.
    "511902199001011232",
    # Born before their county's 2000-era code existed (5119xx, born 1950–1999).
    "511902195001010012",
    "511921197808150022",  # 通江县
    "511922198509090016",  # 南江县
    "511923199912310040",  # 平昌县
    # Codes of counties that no longer exist keep their holders' numbers valid for life.
    "513021196507120039",  # 达县, until 1999 (now 达川区 511703)
    "513025197004200029",  # 通江县 of 达县地区, until 1993
    "513701195003150048",  # county-level 巴中市 1993–2000 (now 巴州区), holder born before 1993
    # X as check character.
    "51372119851103005X",  # 通江县 of 巴中地区, 1993–2000
    "51190219620601007X",
    "51370119560229019X",  # born on 29 February of a leap year
    # GB 11643's published examples: 朝阳区 1949, and 潮阳县 (a 1983–1993 code) with a birth in 1880.
    "11010519491231002X",
    "440524188001010014",
    # Region codes stdnum's table does not list are accepted: a resident's card is never refused
    # because a library's copy of the division codes is incomplete.
    "511904199001011235",
    "511971198001011230",
    # Residence permits of Hong Kong and Taiwan residents.
    "810000198505051231",
    "830000199001011234",
    # The oldest birth date accepted (why 1860: api/identity/ids.py).
    "51190218600101123X",
]


@pytest.mark.parametrize("number", VALID_IDS)
def test_real_resident_id_numbers_are_accepted(number: str) -> None:
    assert id_number_problem(number, today=TODAY) is None


def test_a_lower_case_x_is_the_same_number() -> None:
    assert id_number_problem("51372119851103005x", today=TODAY) is None


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("51190219900101123", "身份证号码应为 18 位（最后一位可以是 X）"),  # 17 characters
        ("5119021990010112321", "身份证号码应为 18 位（最后一位可以是 X）"),  # 19 characters
        ("511902900101123", "身份证号码应为 18 位（最后一位可以是 X）"),  # an old 15-digit number
        ("51190219900101X232", "身份证号码应为 18 位（最后一位可以是 X）"),  # X is only the last
        ("５１１９０２１９９００１０１１２３２", "身份证号码应为 18 位（最后一位可以是 X）"),  # full-width digits
        ("", "身份证号码应为 18 位（最后一位可以是 X）"),
        # Each of the following has a correct check character: only the named part is wrong.
        ("511902199002301231", "身份证号码中的出生日期无效"),  # 30 February
        ("511902202612051238", "身份证号码中的出生日期无效"),  # tomorrow
        ("511902185912311239", "身份证号码中的出生日期无效"),  # before 1860
        ("991902199001011231", "身份证号码的地区码无效"),  # no province 99
        ("511902199001011231", "身份证号码校验位不正确，请核对"),  # 2 mistyped as 1
        ("51190219900101123X", "身份证号码校验位不正确，请核对"),
    ],
)
def test_each_mistake_in_a_resident_id_has_its_own_message(number: str, message: str) -> None:
    problem = id_number_problem(number, today=TODAY)
    assert problem is not None and problem.message == message
    assert problem.detail.isascii() and problem.detail  # the English detail of the answer


def test_a_person_born_today_has_a_valid_number() -> None:
    assert id_number_problem("511902202612041232", today=TODAY) is None
    assert id_number_problem("511902202612041232", today=TODAY - dt.timedelta(days=1)) is not None


def test_each_kind_of_id_mistake_has_a_different_detail() -> None:
    details = {
        id_number_problem(n, today=TODAY).detail  # type: ignore[union-attr]
        for n in ("12345", "511902199002301231", "991902199001011231", "511902199001011231")
    }
    assert len(details) == 4


VALID_USCCS = [
    # Real-format codes of companies (工商, 企业); both check characters verified by computation.
    "91110000600037341L",
    "91350100M000100Y43",
    "914403001922038216",
    "91440300708461136T",
    "91330100799655058B",
    "91110108MA01A1B215",
    "12100000400010398P",  # 机构编制, 事业单位
    # Authorities and kinds from GB 32100's table, made up in the standard's format. stdnum's
    # validate refuses the letter authorities (it wants eight leading digits).
    "52511902MJ0000122K",  # 民政, 民办非企业单位
    "92511902MA7X0L4A45",  # 工商, 个体工商户
    "N2511902MF1234567M",  # 农业, 村级集体经济组织
    "Y1511902MJ0000018Q",  # 其他
]


@pytest.mark.parametrize("code", VALID_USCCS)
def test_real_credit_codes_are_accepted(code: str) -> None:
    assert uscc_problem(code) is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91110000600037341", "统一社会信用代码应为 18 位数字或大写字母"),
        ("91110000600037341I", "统一社会信用代码应为 18 位数字或大写字母"),  # I is never used
        # Each of the following has a correct final check character: only the named part is wrong.
        ("B1110000600037341J", "统一社会信用代码的第 1 位（登记管理部门代码）无效"),
        ("94110000600037341B", "统一社会信用代码的第 2 位（机构类别代码）无效"),  # 工商 has kinds 1–3
        ("Y2110000600037341U", "统一社会信用代码的第 2 位（机构类别代码）无效"),  # 其他 has only 1
        ("911100A0600037341F", "统一社会信用代码的第 3–8 位应为行政区划码（6 位数字）"),
        ("91110000600037342P", "统一社会信用代码中的组织机构代码（第 9–17 位）校验位不正确，请核对"),
        ("91110108MA01A1B2C7", "统一社会信用代码中的组织机构代码（第 9–17 位）校验位不正确，请核对"),
        ("91110000600037341M", "统一社会信用代码校验位不正确，请核对"),  # L mistyped as M
    ],
)
def test_each_mistake_in_a_credit_code_has_its_own_message(code: str, message: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and problem.message == message
    assert problem.detail.isascii() and problem.detail


async def test_the_demo_citys_residents_can_complete_their_profile(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    r = await client.put(
        "/api/v1/me/profile", headers=bearer(tokens), json={"name": "赵六", "id_number": "511902199001011232"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["id_number"] == "511902********1232" and r.json()["verified"] is True


async def test_a_refused_id_number_names_the_wrong_part(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    r = await client.put(
        "/api/v1/me/profile", headers=bearer(tokens), json={"name": "赵六", "id_number": "511902199002301231"}
    )
    assert r.status_code == 400
    assert {k: v for k, v in r.json().items() if k != "request_id"} == {
        "status_code": 400, "message": "身份证号码中的出生日期无效",
        "detail": "the birth date in the resident ID number is not a real past date", "field": "id_number",
    }


async def test_an_enterprise_with_a_bad_organisation_code_is_refused(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    await client.put("/api/v1/me/profile", headers=bearer(tokens), json={"name": "赵六", "id_number": VALID_IDS[0]})
    r = await client.post(
        "/api/v1/me/enterprises", headers=bearer(tokens), json={"uscc": "91110000600037342p", "name": "示例有限公司"}
    )
    assert r.status_code == 400 and r.json()["field"] == "uscc"
    assert "组织机构代码" in r.json()["message"] and r.json()["detail"].isascii()
