"""Electronic certificates (电子证照): reuse at draft creation, the holder's views, the access log,
public verification, the registry's rules and the demo certificates.

Runs on the shared demo database (SQLite and PostgreSQL). Every test issues certificates to holders
of its own (fresh resident ID numbers and credit codes), so none sees another test's data; cases
are removed after each test, certificates stay (they are never deleted, only revoked).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from litestar import Litestar
from stdnum.cn import ric
from stdnum.cn import uscc as uscc_std
from tortoise.transactions import in_transaction

from api.audit.models import AuditEntry
from api.cases.models import Case
from api.catalog.demo import org_code
from api.certificates import demo as demo_certificates
from api.certificates import services
from api.certificates.models import Certificate, CertificateAccess
from api.core.errors import Conflict, InvalidInput, NotFound, RuleViolation
from api.core.qr import qr_svg
from api.identity.models import Enterprise
from api.identity.principal import Principal
from api.identity.services import confirm_identity, confirm_membership, create_staff
from tests.databases import remove_cases
from tests.identity_helpers import STAFF_PASSWORD, bearer, citizen_tokens, staff_tokens
from tests.test_cases import principal_of

CASES = "/api/v1/cases"
VERIFY = "/api/v1/certificates/verify"
BIRTH = "511F1100030000-511900000000-000-11511900MB00100574-1-00"  # 出生登记（新生儿入户）, 巴中市公安局
BIRTH_ANSWERS = {"born": "cn", "married": "yes", "follow": "father"}  # the standard situation
CHANGE = "511A5001020000-511900000000-000-11511900MB00102256-1-00"  # 企业变更登记: the business licence
TODAY = services.today_in_china()
_serials = itertools.count(random.randrange(100, 900) * 1000)


def new_id_number() -> str:
    serial = next(_serials)
    body = f"511902{1950 + serial % 50}{1 + serial % 12:02d}{1 + serial % 28:02d}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def new_uscc() -> str:
    body = f"91511902{org_code(next(_serials))}"
    return body + uscc_std.calc_check_digit(body)


@pytest.fixture(autouse=True)
async def _remove_cases(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()


def secret(app: Litestar) -> str:
    return app.state.settings.secret_key


async def issue(app: Litestar, holder: str, type_code: str = "household_register", **overrides: Any) -> tuple[
        Certificate, str]:
    spec: dict[str, Any] = {
        "type_code": type_code, "number": f"T{uuid.uuid4().hex[:16].upper()}", "holder": holder,
        "issuing_department": "GAJ-511902", "valid_from": TODAY - dt.timedelta(days=400), "valid_until": None,
        "data": {"户主姓名": "测试户主", "住址": "巴中市巴州区测试路 1 号"},
    }
    spec.update(overrides)
    async with in_transaction() as conn:
        done = await services.issue(conn, "system", secret=secret(app), **spec)
    return done.certificate, done.check_code


async def verified_citizen(client: AsyncClient, app: Litestar, name: str = "李测试") -> tuple[dict, str]:
    tokens = await citizen_tokens(client, app)
    id_number = new_id_number()
    r = await client.put("/api/v1/me/profile", json={"name": name, "id_number": id_number}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    await confirm_identity(principal_of(app, tokens).id)  # as a window does with the ID card in hand
    return tokens, id_number


async def bound(client: AsyncClient, app: Litestar, tokens: dict, uscc: str, role: str) -> None:
    r = await client.post("/api/v1/me/enterprises", json={"uscc": uscc, "name": "巴中测试有限公司", "role": role},
                          headers=bearer(tokens))
    assert r.status_code == 201, r.text
    enterprise = await Enterprise.get(uscc=uscc)
    await confirm_membership(principal_of(app, tokens).id, enterprise.id)


async def draft(client: AsyncClient, tokens: dict, item: str = BIRTH, answers: dict | None = None,
                **extra: object) -> dict:
    r = await client.post(CASES, json={"item_code": item, "answers": answers or BIRTH_ANSWERS, **extra},
                          headers=bearer(tokens))
    assert r.status_code == 201, r.text
    return r.json()


def material(case: dict, code: str) -> dict:
    return next(m for m in case["materials"] if m["code"] == code)


async def submit(client: AsyncClient, tokens: dict, case: dict) -> dict:
    r = await client.post(f"{CASES}/{case['id']}/submit",
                          headers={**bearer(tokens), "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    return r.json()


async def accesses(client: AsyncClient, tokens: dict, **params: object) -> dict:
    r = await client.get("/api/v1/me/data-access", params=params, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    return r.json()


def own_address_client(app: Litestar, client: AsyncClient) -> httpx.AsyncClient:
    """A client from its own address (verification is rate-limited per address)."""
    address = f"10.201.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 5000)),
                             base_url=str(client.base_url))


async def staff(role: str, department: str = "", window: str = "", name: str = "") -> Principal:
    account = await create_staff(f"cert-{role}-{uuid.uuid4().hex[:8]}", STAFF_PASSWORD, role, department, window,
                                 name)
    return Principal("staff", account.id, role, department, window, uuid.uuid4().hex,
                     dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))


# --------------------------------------------------------------------------- reuse at draft creation


async def test_a_held_certificate_spares_its_material_and_the_holder_sees_the_access(
    client: AsyncClient, app: Litestar
) -> None:
    tokens, id_number = await verified_citizen(client, app)
    household, _ = await issue(app, id_number)
    case = await draft(client, tokens)
    spared = material(case, "parent_household")
    assert spared["source"] == "certificate" and spared["status"] == "spared"
    assert material(case, "marriage_cert")["status"] == "missing"  # no 结婚证 registered for them
    assert "parent_household" not in case["missing_required"] and case["spared_possible"] == 4
    stored = await Case.get(id=case["id"]).prefetch_related("materials")
    assert {m.code: m.certificate_id for m in stored.materials}["parent_household"] == household.id  # type: ignore[attr-defined]

    # Rebuilding the checklist with the same certificate does not log the same use again.
    r = await client.patch(f"{CASES}/{case['id']}", json={"answers": {**BIRTH_ANSWERS, "follow": "mother"}},
                           headers=bearer(tokens))
    assert r.status_code == 200 and material(r.json(), "parent_household")["status"] == "spared"

    done = await submit(client, tokens, case)  # the spared material never blocks submission
    assert material(done["case"], "parent_household")["status"] == "spared"
    log = await accesses(client, tokens)
    assert len(log["items"]) == 1 and log["next_cursor"] is None
    entry = log["items"][0]
    assert entry["who"] == "本人"
    assert entry["department"] == {"code": "GAJ", "name": "巴中市公安局"}
    assert entry["case_number"] == done["number"]
    assert (entry["certificate_type"], entry["certificate_type_name"]) == ("household_register", "居民户口簿")
    assert entry["certificate_number"] == household.number
    assert entry["purpose"].startswith("办理「出生登记（新生儿入户）」，免于提交「")


async def test_expired_revoked_or_not_yet_valid_certificates_spare_nothing(client: AsyncClient, app: Litestar) -> None:
    tokens, id_number = await verified_citizen(client, app)
    await issue(app, id_number, valid_from=TODAY - dt.timedelta(days=800), valid_until=TODAY - dt.timedelta(days=1))
    await issue(app, id_number, valid_from=TODAY + dt.timedelta(days=1))
    revoked, _ = await issue(app, id_number)
    await services.revoke("staff:1", revoked.id, "户口已迁出")
    case = await draft(client, tokens)
    assert material(case, "parent_household")["status"] == "missing"
    assert (await accesses(client, tokens))["items"] == []

    # Valid when the draft was made, revoked since: the next rebuild takes the spared mark back.
    valid, _ = await issue(app, id_number)
    case = await draft(client, tokens)
    assert material(case, "parent_household")["status"] == "spared"
    await services.revoke("staff:1", valid.id, "户口簿信息有误")
    r = await client.patch(f"{CASES}/{case['id']}", json={"answers": BIRTH_ANSWERS}, headers=bearer(tokens))
    assert material(r.json(), "parent_household")["status"] == "missing"
    stored = await Case.get(id=case["id"]).prefetch_related("materials")
    assert all(m.certificate_id is None for m in stored.materials)  # type: ignore[attr-defined]


async def test_an_enterprise_certificate_spares_only_the_enterprises_cases(client: AsyncClient, app: Litestar) -> None:
    tokens, _ = await verified_citizen(client, app, "王企业")
    uscc = new_uscc()
    await bound(client, app, tokens, uscc, "legal_representative")
    licence, _ = await issue(app, uscc, "business_license", number=uscc, issuing_department="SCJGJ")
    answers = {"change": ["name"], "agent": "no"}
    for_company = await draft(client, tokens, CHANGE, answers, enterprise_uscc=uscc)
    assert material(for_company, "business_license")["status"] == "spared"
    personal = await draft(client, tokens, CHANGE, answers)
    assert material(personal, "business_license")["status"] == "missing"
    entry = (await accesses(client, tokens))["items"][0]
    assert entry["certificate_number"] == licence.number and entry["who"] == "本人"
    assert entry["department"]["code"] == "SCJGJ"

    # Another member of the enterprise sees the use, by a masked name.
    other, _ = await verified_citizen(client, app, "赵经办")
    await bound(client, app, other, uscc, "agent")
    seen = (await accesses(client, other))["items"]
    assert [e["who"] for e in seen] == ["申请人 王**"]
    mine = (await client.get("/api/v1/me/certificates", headers=bearer(other))).json()["items"]
    assert [(c["type_name"], c["holder"], c["holder_kind"]) for c in mine] == [("营业执照", uscc, "enterprise")]


async def test_a_declared_number_alone_fetches_nothing(client: AsyncClient, app: Litestar) -> None:
    """Typing someone else's ID number (or binding their company) must not show their certificates
    nor spare them: only a holder a trusted party confirmed is fetched for."""
    owner, id_number = await verified_citizen(client, app)
    await issue(app, id_number)
    impostor = await citizen_tokens(client, app)
    r = await client.put("/api/v1/me/profile", json={"name": "冒名者", "id_number": id_number},
                         headers=bearer(impostor))
    assert r.status_code == 200
    assert (await client.get("/api/v1/me/certificates", headers=bearer(impostor))).json()["items"] == []
    assert material(await draft(client, impostor), "parent_household")["status"] == "missing"
    assert material(await draft(client, owner), "parent_household")["status"] == "spared"
    # Changing one's number clears the confirmation.
    r = await client.put("/api/v1/me/profile", json={"name": "李测试", "id_number": new_id_number()},
                         headers=bearer(owner))
    assert (await client.get("/api/v1/me/certificates", headers=bearer(owner))).json()["items"] == []


# --------------------------------------------------------------------------- the holder's views


async def test_holders_see_their_own_certificates_and_nobody_elses(client: AsyncClient, app: Litestar) -> None:
    tokens, id_number = await verified_citizen(client, app)
    current, code = await issue(app, id_number, data={"户主姓名": "李测试"})
    old, _ = await issue(app, id_number, "marriage_certificate", issuing_department="MZJ-511902",
                         valid_from=TODAY - dt.timedelta(days=900), valid_until=TODAY - dt.timedelta(days=10))
    r = await client.get("/api/v1/me/certificates", headers=bearer(tokens))
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    items = r.json()["items"]
    assert [(c["number"], c["state"], c["state_name"]) for c in items] == [
        (current.number, "valid", "有效"), (old.number, "expired", "已过期")]
    first = items[0]
    assert first["type_name"] == "居民户口簿" and first["holder"] == id_number[:6] + "********" + id_number[-4:]
    assert first["issuing_department"]["code"] == "GAJ-511902" and first["issuing_department"]["name"]
    assert first["data"] == {"户主姓名": "李测试"} and first["check_code"] == code
    assert id_number not in r.text

    stranger, _ = await verified_citizen(client, app)
    unverified = await citizen_tokens(client, app)
    for who in (stranger, unverified):
        assert (await client.get("/api/v1/me/certificates", headers=bearer(who))).json()["items"] == []
        assert (await accesses(client, who))["items"] == []
    # Their draft of the same item fetches nothing of the first citizen's.
    assert material(await draft(client, stranger), "parent_household")["status"] == "missing"
    assert (await accesses(client, tokens))["items"] == []


async def test_a_staff_read_is_logged_and_shown_by_department_never_by_name(
    client: AsyncClient, app: Litestar
) -> None:
    tokens, id_number = await verified_citizen(client, app)
    household, _ = await issue(app, id_number)
    case = await draft(client, tokens)
    officer = await staff("officer", department="GAJ", name="赵警官")
    clerk = await staff("clerk", window="W01", name="钱受理")
    with pytest.raises(NotFound):  # a draft is nobody's business but the applicant's
        await services.read_certificate(officer, household.id, case["id"], "核对户籍信息")
    await submit(client, tokens, case)
    with pytest.raises(InvalidInput):
        await services.read_certificate(officer, household.id, case["id"], " ")
    stranger_cert, _ = await issue(app, new_id_number())
    with pytest.raises(NotFound):  # not the applicant's certificate: not readable through this case
        await services.read_certificate(officer, stranger_cert.id, case["id"], "核对户籍信息")
    read = await services.read_certificate(officer, household.id, case["id"], "核对户籍信息")
    assert read.id == household.id
    await services.read_certificate(clerk, household.id, case["id"], "受理时核对材料")

    r = await client.get("/api/v1/me/data-access", headers=bearer(tokens))
    items = r.json()["items"]
    assert [(e["who"], e["purpose"]) for e in items] == [
        ("社会事务综合受理 1 号窗口工作人员", "受理时核对材料"), ("巴中市公安局工作人员", "核对户籍信息"),
        ("本人", items[2]["purpose"])]  # the last: fetched when the draft was made
    assert items[0]["department"] is None  # a clerk serves a window, not a department
    assert items[1]["department"] == {"code": "GAJ", "name": "巴中市公安局"}
    assert "赵警官" not in r.text and "钱受理" not in r.text and "staff:" not in r.text
    assert all(e["case_number"] for e in items)


async def test_staff_read_a_spared_material_s_certificate_over_http(client: AsyncClient, app: Litestar) -> None:
    """GET /cases/{id}/materials/{code}/certificate: staff in whose hands the case is read the
    certificate that spared it, for a purpose; the holder sees that read, by department."""
    tokens, id_number = await verified_citizen(client, app)
    household, _ = await issue(app, id_number, data={"户主姓名": "李测试"})
    done = await submit(client, tokens, await draft(client, tokens))
    path = f"{CASES}/{done['case']['id']}/materials/parent_household/certificate"
    clerk = await staff_tokens(client, "clerk", window="W01")  # 社会事务: the window of 出生登记
    other = await staff_tokens(client, "clerk", window="W07")  # economic development: not this case
    r = await client.get(path, params={"purpose": "受理时核对户籍"}, headers=bearer(clerk))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["number"], body["type_name"]) == (household.id, household.number, "居民户口簿")
    assert body["data"] == {"户主姓名": "李测试"} and id_number not in r.text and "check_code" not in body
    assert (await client.get(path, params={"purpose": "x"}, headers=bearer(clerk))).status_code == 400
    assert (await client.get(path, params={"purpose": "受理"}, headers=bearer(other))).status_code == 404
    not_spared = f"{CASES}/{done['case']['id']}/materials/marriage_cert/certificate"
    assert (await client.get(not_spared, params={"purpose": "受理核对"}, headers=bearer(clerk))).status_code == 404
    assert (await client.get(path, params={"purpose": "受理核对"}, headers=bearer(tokens))).status_code == 403
    [latest, *_] = (await accesses(client, tokens))["items"]
    assert latest["purpose"] == "受理时核对户籍" and latest["who"].endswith("窗口工作人员")
    assert latest["case_number"] == done["number"]


async def test_data_access_is_newest_first_in_keyset_pages(client: AsyncClient, app: Litestar) -> None:
    tokens, id_number = await verified_citizen(client, app)
    household, _ = await issue(app, id_number)
    case = await draft(client, tokens)
    await submit(client, tokens, case)
    officer = await staff("officer", department="GAJ")
    for n in range(3):
        await services.read_certificate(officer, household.id, case["id"], f"第 {n + 1} 次核对")
    first = await accesses(client, tokens, limit=2)
    assert [e["purpose"] for e in first["items"]] == ["第 3 次核对", "第 2 次核对"] and first["next_cursor"]
    second = await accesses(client, tokens, limit=2, cursor=first["next_cursor"])
    assert [e["purpose"] for e in second["items"]][:1] == ["第 1 次核对"] and second["next_cursor"] is None
    assert second["items"][1]["who"] == "本人" and second["items"][1]["purpose"].startswith("办理「")
    r = await client.get("/api/v1/me/data-access", params={"cursor": "garbage!"}, headers=bearer(tokens))
    assert r.status_code == 400 and r.json()["field"] == "cursor"


# --------------------------------------------------------------------------- public verification


async def test_a_certificates_qr_code_opens_its_public_verification(client: AsyncClient, app: Litestar) -> None:
    """我的证照: the QR code holds the verification page with type, number and check code, and
    nothing about the holder; it is the holder's alone."""
    tokens, id_number = await verified_citizen(client, app)
    cert, code = await issue(app, id_number)
    [shown] = (await client.get("/api/v1/me/certificates", headers=bearer(tokens))).json()["items"]
    expected = f"https://zw.example.cn/verify?type={cert.type_code}&number={cert.number}&code={code}"
    assert shown["verify_url"] == expected and shown["qr_svg_url"] == f"/api/v1/me/certificates/{cert.id}/qr.svg"
    r = await client.get(shown["qr_svg_url"], headers=bearer(tokens))
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.headers["cache-control"] == "private, no-store"
    assert r.content == qr_svg(expected) and id_number not in expected  # the code of exactly that link
    stranger, _ = await verified_citizen(client, app)
    assert (await client.get(shown["qr_svg_url"], headers=bearer(stranger))).status_code == 404
    assert (await client.get("/api/v1/me/certificates/999999999/qr.svg", headers=bearer(tokens))).status_code == 404


async def test_verification_answers_without_personal_data(client: AsyncClient, app: Litestar) -> None:
    id_number = new_id_number()
    valid, valid_code = await issue(app, id_number, data={"户主姓名": "孙保密"})
    expired, expired_code = await issue(app, id_number, valid_from=TODAY - dt.timedelta(days=30),
                                        valid_until=TODAY - dt.timedelta(days=1))
    revoked, revoked_code = await issue(app, id_number)
    await services.revoke("staff:1", revoked.id, "依申请注销")
    async with own_address_client(app, client) as anyone:
        answers = {}
        for cert, code in ((valid, valid_code), (expired, expired_code), (revoked, revoked_code)):
            r = await anyone.get(VERIFY, params={"type": cert.type_code, "number": cert.number, "code": code})
            assert r.status_code == 200, r.text
            assert r.headers["cache-control"] == "no-store"
            for personal in (id_number, id_number[:6] + "*", "孙保密", "holder", "data", "check_code"):
                assert personal not in r.text, personal
            answers[cert.number] = r.json()
        assert answers[valid.number]["state"] == "valid" and answers[valid.number]["state_name"] == "有效"
        assert answers[valid.number]["type_name"] == "居民户口簿"
        assert answers[valid.number]["issuing_department"]["code"] == "GAJ-511902"
        assert answers[valid.number]["revoked_on"] is None
        assert answers[expired.number]["state"] == "expired"
        assert answers[expired.number]["valid_until"] == (TODAY - dt.timedelta(days=1)).isoformat()
        assert answers[revoked.number]["state"] == "revoked" and answers[revoked.number]["revoked_on"]

        wrong_code = await anyone.get(VERIFY, params={
            "type": valid.type_code, "number": valid.number, "code": f"{(int(valid_code) + 1) % 10**8:08d}"})
        wrong_number = await anyone.get(VERIFY, params={"type": valid.type_code, "number": "T0000", "code": valid_code})
        wrong_type = await anyone.get(VERIFY, params={"type": "business_license", "number": valid.number,
                                                      "code": valid_code})
        malformed = await anyone.get(VERIFY, params={"type": "x", "number": "<>", "code": "y"})
        nul = await anyone.get(VERIFY, params={"type": "a\x00", "number": "T\x00", "code": "１２３４５６７８"})
        assert {x.status_code for x in (wrong_code, wrong_number, wrong_type, malformed, nul)} == {404}
        # The same answer to the byte (but for each request's own id, which the error body names).
        bodies = [r.content.replace(r.headers["X-Request-ID"].encode(), b"")
                  for r in (wrong_code, wrong_number, wrong_type, malformed, nul)]
        assert len(set(bodies)) == 1
        assert wrong_code.json()["message"]


async def test_verification_is_rate_limited_per_address(client: AsyncClient, app: Litestar) -> None:
    async with own_address_client(app, client) as one, own_address_client(app, client) as other:
        params = {"type": "household_register", "number": "T0000", "code": "00000000"}
        answers = [(await one.get(VERIFY, params=params)).status_code for _ in range(31)]
        assert answers == [404] * 30 + [429]
        r = await one.get(VERIFY, params=params)
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60 and r.json()["message"]
        assert (await other.get(VERIFY, params=params)).status_code == 404


# --------------------------------------------------------------------------- the registry's rules


async def test_issuing_checks_everything_at_once_and_is_audited(app: Litestar) -> None:
    with pytest.raises(RuleViolation) as refused:
        await issue(app, "123", "no_such_type", issuing_department="NOPE", number="",
                    valid_until=TODAY - dt.timedelta(days=1000))
    assert [p["field"] for p in refused.value.problems or []] == [
        "type_code", "holder", "number", "issuing_department", "valid_until"]
    with pytest.raises(RuleViolation) as refused:  # a business licence is held by an enterprise
        await issue(app, new_id_number(), "business_license", holder_kind="person")
    assert refused.value.field == "holder_kind"

    cert, code = await issue(app, new_id_number())
    assert len(code) == 8 and code.isdigit() and code not in cert.check_code_hash
    with pytest.raises(Conflict):
        await issue(app, new_id_number(), number=cert.number)
    entry = await AuditEntry.get(action="certificate.issue", target_code=str(cert.id))
    assert entry.after and entry.after["holder"] == services.mask_holder(cert) and cert.holder not in str(entry.after)
    await services.revoke("staff:7", cert.id, "测试注销")
    again = await services.revoke("staff:7", cert.id, "再次注销")  # harmless on retry
    assert again.status == "revoked" and again.revoke_reason == "测试注销"
    assert await AuditEntry.filter(action="certificate.revoke", target_code=str(cert.id)).count() == 1
    with pytest.raises(NotFound):
        await services.revoke("staff:7", 987654321, "没有这份")


# --------------------------------------------------------------------------- demo data


async def test_the_demo_citizens_see_reuse_at_once(client: AsyncClient, app: Litestar) -> None:
    first = await demo_certificates.issue_demo_certificates(secret(app))
    again = await demo_certificates.issue_demo_certificates(secret(app))  # seeding twice changes nothing
    assert sum(line.startswith("exists") for line in again) == len(demo_certificates.CERTIFICATES)
    assert [line.split(" code ")[1] for line in first if " code " in line] == [
        line.split(" code ")[1] for line in again if " code " in line]

    li = await citizen_tokens(client, app, demo_certificates.LI_MING.phone)
    held = (await client.get("/api/v1/me/certificates", headers=bearer(li))).json()["items"]
    assert {c["type_name"] for c in held} == {"居民户口簿", "结婚证"}
    case = await draft(client, li)
    assert material(case, "parent_household")["status"] == material(case, "marriage_cert")["status"] == "spared"

    wang = await citizen_tokens(client, app, demo_certificates.WANG_FANG.phone)
    held = (await client.get("/api/v1/me/certificates", headers=bearer(wang))).json()["items"]
    assert [(c["type_name"], c["state"]) for c in held] == [("营业执照", "valid"), ("食品经营许可证", "expired")]
    case = await draft(client, wang, CHANGE, {"change": ["name"], "agent": "no"},
                       enterprise_uscc=demo_certificates.COMPANY_USCC)
    assert material(case, "business_license")["status"] == "spared"
    assert await CertificateAccess.filter(case_id=case["id"]).count() == 1
