"""Demo certificates for ``zhengwu seed --demo``: two demo citizens, one demo enterprise, and the
certificates the platform then fetches for them instead of asking (README "Demo accounts").

* 李明, phone 13800138000: a 居民户口簿 (household register) and a 结婚证. Starting 出生登记（新生儿
  入户）, the parent's household register and the marriage certificate are spared (免提交) at once.
* 王芳, phone 13900139000: legal representative of 巴中市示范商贸有限公司, which holds a 营业执照
  (business licence, spared when she applies for the company, e.g. 企业变更登记) and a 食品经营许可证
  that expired on 2026-05-31 (never spared: it must be renewed).

Seeding again changes nothing: citizens, the enterprise and certificates that exist are kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from api.certificates import services
from api.certificates.models import Certificate
from api.core.settings import Settings
from api.identity.models import Citizen, Enterprise, EnterpriseMember


@dataclass(frozen=True)
class DemoPerson:
    phone: str
    name: str
    id_number: str


LI_MING = DemoPerson("13800138000", "李明", "511902199001011232")
WANG_FANG = DemoPerson("13900139000", "王芳", "511902198506152626")
COMPANY_USCC = "91511902MB9000015E"
COMPANY_NAME = "巴中市示范商贸有限公司"
BAZHOU = "511902"  # 巴州区: the county bodies' codes are {city code}-{region}

CERTIFICATES: list[dict[str, Any]] = [
    {"type_code": "household_register", "number": "HK5119020012345", "holder": LI_MING.id_number,
     "issuing_department": f"GAJ-{BAZHOU}", "valid_from": dt.date(2015, 3, 1), "valid_until": None,
     "data": {"户主姓名": "李明", "户别": "家庭户", "住址": "巴中市巴州区江北大道东段 18 号", "户号": "5119020012345"}},
    {"type_code": "marriage_certificate", "number": "J511902-2018-004321", "holder": LI_MING.id_number,
     "issuing_department": f"MZJ-{BAZHOU}", "valid_from": dt.date(2018, 10, 1), "valid_until": None,
     "data": {"持证人": "李明", "登记日期": "2018-10-01", "登记机关": "巴中市巴州区民政局"}},
    {"type_code": "business_license", "number": COMPANY_USCC, "holder": COMPANY_USCC,
     "issuing_department": f"SCJGJ-{BAZHOU}", "valid_from": dt.date(2020, 5, 20), "valid_until": None,
     "data": {"名称": COMPANY_NAME, "类型": "有限责任公司（自然人投资或控股）", "法定代表人": "王芳",
              "注册资本": "伍拾万元整", "住所": "巴中市巴州区回风大道 66 号", "经营范围": "日用百货、预包装食品销售"}},
    {"type_code": "food_business_license", "number": "JY15119020000123", "holder": COMPANY_USCC,
     "issuing_department": f"SCJGJ-{BAZHOU}", "valid_from": dt.date(2021, 6, 1),
     "valid_until": dt.date(2026, 5, 31),
     "data": {"经营者名称": COMPANY_NAME, "经营项目": "预包装食品（含冷藏冷冻食品）销售"}},
]


async def _person(person: DemoPerson) -> Citizen:
    citizen, _ = await Citizen.get_or_create(phone=person.phone)
    if not citizen.id_number:  # a tester's own profile is kept
        now = dt.datetime.now(dt.UTC)
        citizen.name, citizen.id_number = person.name, person.id_number
        citizen.verified_at = citizen.identity_checked_at = now  # as if checked at a window
        await citizen.save(update_fields=["name", "id_number", "verified_at", "identity_checked_at"])
    return citizen


async def issue_demo_certificates(secret: str) -> list[str]:
    """Create the demo holders and certificates (on the current ORM); lines telling what was done."""
    await _person(LI_MING)
    wang = await _person(WANG_FANG)
    company, _ = await Enterprise.get_or_create(
        uscc=COMPANY_USCC, defaults={"name": COMPANY_NAME, "legal_representative": WANG_FANG.name})
    await EnterpriseMember.get_or_create(enterprise_id=company.id, citizen_id=wang.id,
                                         defaults={"role": "legal_representative",
                                                   "checked_at": dt.datetime.now(dt.UTC)})
    lines = [f"demo citizens: {LI_MING.name} {LI_MING.phone}, {WANG_FANG.name} {WANG_FANG.phone}",
             f"demo enterprise: {COMPANY_NAME} {COMPANY_USCC}"]
    for spec in CERTIFICATES:
        cert = await Certificate.get_or_none(type_code=spec["type_code"], number=spec["number"])
        issued = cert is None
        if cert is None:
            async with in_transaction() as conn:
                cert = (await services.issue(conn, "system", secret=secret, **spec)).certificate
        # Short lines (a terminal wraps long ones): type, number and the check code for /verify.
        lines.append(f"{'issued' if issued else 'exists'} {cert.type_code} {cert.number} "
                     f"code {services.check_code_of(cert, secret)}")
    return lines


async def seed_demo(settings: Settings, say: Callable[[str], object]) -> None:
    """``zhengwu seed --demo``'s certificates (after the catalog: the issuing bodies must exist)."""
    from api.core.db import orm_session

    async with orm_session(settings.database_url):
        for line in await issue_demo_certificates(settings.secret_key):
            say(line)
