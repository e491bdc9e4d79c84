"""Online applications (办件): drafts, checklists, submission, receipts, tracking, withdrawal, expiry.

Runs on the shared demo database (SQLite and PostgreSQL). Materials are real blobs written through
the app's own blob store (or a store in a temporary directory). Cases created here are removed
after each test; the per-region/day counter stays, as it would in production.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import zxingcpp
from httpx import AsyncClient
from litestar import Litestar
from PIL import Image

from api.audit.models import AuditEntry
from api.cases import numbering, services
from api.cases.models import Case, CaseEvent
from api.catalog.material_list import material_list
from api.core.errors import NotFound
from api.core.ratelimit import RateLimiter, RateLimitWindow
from api.identity.principal import Principal
from api.workflow import deadlines
from api.workflow import services as workflow
from storage import StoredBlob, open_store
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens
from tests.tus_helpers import metadata

LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领 (city)
CHANGE = "511A5001020000-511900000000-000-11511900MB00102256-1-00"  # 企业变更登记: one certificate material
CASES = "/api/v1/cases"
NUMBER = re.compile(r"511900(\d{8})(\d{6})")
VALID_ID = "11010519491231002X"


@pytest.fixture(autouse=True)
async def _remove_cases(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()


def principal_of(app: Litestar, tokens: dict) -> Principal:
    claims = app.state.tokens.verify_access(tokens["access_token"])
    return Principal("citizen", int(claims.subject.split(":")[1]), "citizen", "", "", claims.jti, claims.expires_at)


async def put_blob(app: Litestar, data: bytes) -> StoredBlob:
    async def body() -> AsyncIterator[bytes]:
        yield data

    return await app.state.blobs.write(body())


async def draft(client: AsyncClient, tokens: dict, item: str = LICENCE, **answers: object) -> dict:
    r = await client.post(CASES, json={"item_code": item, "answers": answers or {"reason": "lost", "agent": "no"}},
                          headers=bearer(tokens))
    assert r.status_code == 201, r.text
    return r.json()


async def attach_all(app: Litestar, tokens: dict, case: dict, content: bytes = b"%PDF-1.4 test") -> None:
    who = principal_of(app, tokens)
    for m in case["materials"]:
        if m["required"] and m["source"] == "applicant":
            blob = await put_blob(app, content + m["code"].encode())
            await services.attach_material(who, case["id"], m["code"], blob, f"{m['code']}.pdf", "application/pdf")


async def submitted(client: AsyncClient, app: Litestar, tokens: dict | None = None) -> tuple[dict, dict]:
    tokens = tokens or await citizen_tokens(client, app)
    case = await draft(client, tokens)
    await attach_all(app, tokens, case)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = await client.post(f"{CASES}/{case['id']}/submit", headers={**bearer(tokens), **key})
    assert r.status_code == 200, r.text
    return tokens, r.json()


def own_address_client(app: Litestar, client: AsyncClient) -> httpx.AsyncClient:
    """A client from its own address (tracking is rate-limited per address)."""
    address = f"10.200.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 5000)),
                             base_url=str(client.base_url))


# --------------------------------------------------------------------------- drafts


async def test_a_draft_carries_exactly_the_material_list(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    answers = {"reason": "lost", "agent": "yes"}
    case = await draft(client, tokens, **answers)
    expected = material_list(await app.state.catalog.guide(LICENCE), answers)
    assert case["state"] == "draft" and case["number"] is None
    assert case["situation_code"] == expected.situation.code
    assert [(m["code"], m["name"], m["reason"], m["source"]) for m in case["materials"]] == [
        (m.code, m.name, m.reason, m.source) for m in expected.materials
    ]
    # The conditional power of attorney is listed because of the answer, so it is required.
    assert [m["required"] for m in case["materials"]] == [True, True, True]
    assert all(m["status"] == "missing" and m["download_url"] is None for m in case["materials"])
    assert case["missing_required"] == ["application", "void_notice", "power_of_attorney"]
    expires = dt.datetime.fromisoformat(case["expires_at"])
    assert dt.timedelta(days=29) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)

    r = await client.post(CASES, json={"item_code": LICENCE, "answers": {"reason": "stolen", "agent": "no"}},
                          headers=bearer(tokens))
    assert r.status_code == 422 and r.json()["field"] == "reason" and r.json()["message"]
    r = await client.post(CASES, json={"item_code": "NOPE", "answers": {}}, headers=bearer(tokens))
    assert r.status_code == 404 and r.json()["field"] == "item_code"
    r = await client.post(CASES, json={"item_code": LICENCE, "answers": {"reason": "lost", "agent": "no"},
                                       "enterprise_uscc": "91511900MA62000001"}, headers=bearer(tokens))
    assert r.status_code == 422 and r.json()["field"] == "enterprise_uscc"


async def test_certificate_materials_are_counted_not_demanded(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens, CHANGE, change=["name"], agent="no")
    licence = next(m for m in case["materials"] if m["source"] == "certificate")
    assert licence["certificate_type"] == "business_license" and licence["status"] == "missing"
    assert case["spared_possible"] == 1
    assert licence["code"] not in case["missing_required"]
    await attach_all(app, tokens, case)
    r = await client.post(f"{CASES}/{case['id']}/submit", headers={**bearer(tokens), "Idempotency-Key": "key-cert-1"})
    assert r.status_code == 200, r.text


async def test_updating_a_draft_keeps_attachments_still_listed(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    blob = await put_blob(app, b"application form")
    await services.attach_material(principal_of(app, tokens), case["id"], "application", blob, "../../申请书.pdf",
                                   "application/pdf")
    r = await client.patch(f"{CASES}/{case['id']}", json={"form_data": {"company": "巴中测试公司"},
                                                          "answers": {"reason": "damaged", "agent": "no"}},
                           headers=bearer(tokens))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["form_data"] == {"company": "巴中测试公司"} and body["situation_code"] == "damaged"
    materials = {m["code"]: m for m in body["materials"]}
    assert set(materials) == {"application", "damaged_license"}
    assert materials["application"]["status"] == "attached" and materials["application"]["sha256"] == blob.sha256
    assert materials["application"]["filename"] == "申请书.pdf"
    assert body["missing_required"] == ["damaged_license"]
    r = await client.patch(f"{CASES}/{case['id']}", json={"answers": {"reason": "nope"}}, headers=bearer(tokens))
    assert r.status_code == 422 and r.json()["field"] == "reason"


async def test_my_cases_newest_first_with_keyset_pages(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    ids = [(await draft(client, tokens))["id"] for _ in range(3)]
    r = await client.get(CASES, params={"limit": 2}, headers=bearer(tokens))
    assert r.status_code == 200
    first = r.json()
    assert [c["id"] for c in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    r = await client.get(CASES, params={"limit": 2, "cursor": first["next_cursor"]}, headers=bearer(tokens))
    assert [c["id"] for c in r.json()["items"]] == [ids[0]] and r.json()["next_cursor"] is None
    r = await client.get(CASES, params={"cursor": "garbage!"}, headers=bearer(tokens))
    assert r.status_code == 400 and r.json()["field"] == "cursor"


async def test_another_citizens_case_does_not_exist_for_them(client: AsyncClient, app: Litestar) -> None:
    a, b = await citizen_tokens(client, app), await citizen_tokens(client, app)
    case = await draft(client, a)
    await attach_all(app, a, case)
    path = f"{CASES}/{case['id']}"
    missing = f"{CASES}/987654321"
    for method, suffix, extra in [
        ("GET", "", {}), ("PATCH", "", {"json": {"form_data": {"x": 1}}}),
        ("POST", "/submit", {"headers": {"Idempotency-Key": "key-b-123"}}), ("POST", "/withdraw", {}),
        ("GET", "/receipt", {}), ("GET", "/receipt.png", {}), ("GET", "/materials/application/file", {}),
        ("DELETE", "", {}), ("DELETE", "/materials/application/file", {}),
    ]:
        headers = {**bearer(b), **extra.pop("headers", {})}
        theirs = await client.request(method, path + suffix, headers=headers, **extra)
        nobody = await client.request(method, missing + suffix, headers=headers, **extra)
        assert theirs.status_code == 404, (method, suffix, theirs.text)
        assert theirs.json()["message"] == nobody.json()["message"]
    assert (await client.get(CASES, headers=bearer(b))).json()["items"] == []
    assert (await client.get(path, headers=bearer(a))).json()["state"] == "draft"  # untouched
    with pytest.raises(NotFound):
        await services.attach_material(principal_of(app, b), case["id"], "application",
                                       await put_blob(app, b"x"), "x.pdf", "application/pdf")


async def test_over_long_codes_are_refused_as_input_never_a_server_fault(client: AsyncClient, app: Litestar) -> None:
    # The ORM refuses to even filter by a value longer than its column; that used to be a 500
    # (the fuzz test found it at staff sign-in).
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    long = "码" * 300
    r = await client.post("/api/v1/uploads", headers={
        **bearer(tokens), "Tus-Resumable": "1.0.0", "Upload-Length": "10",
        "Upload-Metadata": metadata(case_id=case["id"], material_id=long, filename=long)})
    assert r.status_code == 400 and r.headers["Tus-Resumable"] == "1.0.0"
    assert r.json()["message"] == "输入的内容过长或格式不正确" and long not in r.text
    for method in ("GET", "DELETE"):
        r = await client.request(method, f"{CASES}/{case['id']}/materials/{long}/file", headers=bearer(tokens))
        assert 400 <= r.status_code < 500 and r.json()["message"], (method, r.text)
    r = await client.post(CASES, json={"item_code": long, "answers": {}}, headers=bearer(tokens))
    assert 400 <= r.status_code < 500 and r.json()["message"]


# --------------------------------------------------------------------------- submission


async def test_submission_lists_every_missing_material(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens, reason="lost", agent="yes")
    submit = f"{CASES}/{case['id']}/submit"
    r = await client.post(submit, headers={**bearer(tokens), "Idempotency-Key": "key-missing-1"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert [p["field"] for p in body["problems"]] == ["application", "void_notice", "power_of_attorney"]
    assert all(p["message"] and p["detail"] for p in body["problems"]) and "3" in body["message"]
    await services.attach_material(principal_of(app, tokens), case["id"], "void_notice",
                                   await put_blob(app, b"notice"), "notice.jpg", "image/jpeg")
    r = await client.post(submit, headers={**bearer(tokens), "Idempotency-Key": "key-missing-1"})
    assert [p["field"] for p in r.json()["problems"]] == ["application", "power_of_attorney"]
    assert (await client.get(f"{CASES}/{case['id']}", headers=bearer(tokens))).json()["state"] == "draft"

    for bad in ({}, {"Idempotency-Key": ""}, {"Idempotency-Key": "short"}, {"Idempotency-Key": "bad key with spaces"}):
        r = await client.post(submit, headers={**bearer(tokens), **bad})
        assert r.status_code == 400 and r.json()["field"] == "Idempotency-Key", r.text


async def test_submission_numbers_and_idempotency(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    await attach_all(app, tokens, case)
    submit = f"{CASES}/{case['id']}/submit"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(submit, headers={**bearer(tokens), **key})
    assert first.status_code == 200, first.text
    body = first.json()
    match = NUMBER.fullmatch(body["number"])
    assert match and match.group(1) == numbering.china_day(dt.datetime.now(dt.UTC)).strftime("%Y%m%d")
    assert re.fullmatch(r"\d{6}", body["query_code"]) and body["case"]["state"] == "submitted"
    assert first.headers["idempotent-replayed"] == "false"
    assert [e["action"] for e in body["case"]["timeline"]] == ["submit"]

    again = await client.post(submit, headers={**bearer(tokens), **key})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert (again.json()["number"], again.json()["query_code"]) == (body["number"], body["query_code"])
    assert await AuditEntry.filter(action="case.submit", target_code=body["number"]).count() == 1
    assert await CaseEvent.filter(case_id=case["id"]).count() == 1
    stored = await Case.get(id=case["id"])
    assert stored.query_code_hash and body["query_code"] not in stored.query_code_hash
    assert stored.expires_at is None

    r = await client.post(submit, headers={**bearer(tokens), "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 409
    r = await client.patch(f"{CASES}/{case['id']}", json={"form_data": {}}, headers=bearer(tokens))
    assert r.status_code == 409
    # The same key on another case of the same applicant is a reused key, not a new submission.
    other = await draft(client, tokens)
    await attach_all(app, tokens, other)
    r = await client.post(f"{CASES}/{other['id']}/submit", headers={**bearer(tokens), **key})
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
    r = await client.post(f"{CASES}/{other['id']}/submit",
                          headers={**bearer(tokens), "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 200 and r.json()["number"] != body["number"]


async def test_twenty_concurrent_submissions_get_consecutive_numbers(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    who = principal_of(app, tokens)
    cases = []
    for _ in range(20):
        case = await services.create_draft(app.state.catalog, who, LICENCE, {"reason": "lost", "agent": "no"})
        for code in ("application", "void_notice"):
            await services.attach_material(who, case.id, code, await put_blob(app, code.encode()), "a.pdf",
                                           "application/pdf")
        cases.append(case)
    secret = app.state.settings.secret_key
    results = await asyncio.gather(*(workflow.apply(who, c.id, "submit", idempotency_key=f"concurrent-{c.id}",
                                                    secret=secret) for c in cases))
    numbers = sorted(r.case.number for r in results)
    assert len(set(numbers)) == 20
    assert len({n[:14] for n in numbers}) == 1  # one region, one day
    sequences = [int(n[14:]) for n in numbers]
    assert sequences == list(range(sequences[0], sequences[0] + 20))
    stored = sorted(await Case.filter(id__in=[c.id for c in cases]).values_list("number", flat=True))
    assert stored == numbers


# --------------------------------------------------------------------------- receipt, tracking


async def test_receipt_and_its_qr_code_lead_to_tracking(client: AsyncClient, app: Litestar) -> None:
    tokens, done = await submitted(client, app)
    case_id = done["case"]["id"]
    r = await client.get(f"{CASES}/{case_id}/receipt", headers=bearer(tokens))
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["number"] == done["number"] and receipt["query_code"] == done["query_code"]
    assert receipt["item_name"] == "营业执照遗失补领、损坏换发"
    assert receipt["tracking_url"] == (
        f"https://zw.example.cn/track?number={done['number']}&code={done['query_code']}"
    )
    submitted_at = dt.datetime.fromisoformat(receipt["submitted_at"])
    assert receipt["promised_date"] == deadlines.due_date(
        submitted_at, receipt["promised_limit"], receipt["promised_limit_unit"]).isoformat()
    assert dt.date.fromisoformat(receipt["promised_date"]) > numbering.china_day(submitted_at)
    assert r.headers["cache-control"] == "private, no-store"

    png = await client.get(f"{CASES}/{case_id}/receipt.png", headers=bearer(tokens))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [b.text for b in decoded] == [receipt["tracking_url"]]
    svg = await client.get(f"{CASES}/{case_id}/receipt.svg", headers=bearer(tokens))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content

    draft_case = await draft(client, tokens)
    assert (await client.get(f"{CASES}/{draft_case['id']}/receipt", headers=bearer(tokens))).status_code == 404


async def test_tracking_shows_the_case_and_nothing_personal(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    r = await client.put("/api/v1/me/profile", json={"name": "张追踪", "id_number": VALID_ID}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    _, done = await submitted(client, app, tokens)
    async with own_address_client(app, client) as anyone:
        r = await anyone.get("/api/v1/track", params={"number": done["number"], "code": done["query_code"]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["state"] == "submitted" and body["item_name"] == "营业执照遗失补领、损坏换发"
        assert [e["action"] for e in body["timeline"]] == ["submit"] and body["promised_date"]
        for personal in (tokens["phone"], "张追踪", VALID_ID, VALID_ID[:6] + "*", "citizen:", "applicant"):
            assert personal not in r.text, personal
        assert "query_code" not in r.text and "id" not in body

        wrong_code = await anyone.get("/api/v1/track", params={
            "number": done["number"], "code": f"{(int(done['query_code']) + 1) % 1_000_000:06d}"})
        wrong_number = await anyone.get("/api/v1/track", params={
            "number": "51190020000101000001", "code": done["query_code"]})
        malformed = await anyone.get("/api/v1/track", params={"number": "x", "code": "y"})
        assert wrong_code.status_code == wrong_number.status_code == malformed.status_code == 404
        # Indistinguishable but for the request id every response carries (X-Request-ID, request_id).
        tried = (wrong_code, wrong_number, malformed)
        same = [r.content.replace(r.headers["x-request-id"].encode(), b"") for r in tried]
        assert same[0] == same[1] == same[2]
        assert {**wrong_code.headers, "x-request-id": ""} == {**wrong_number.headers, "x-request-id": ""}


async def test_tracking_is_rate_limited_per_address(client: AsyncClient, app: Litestar) -> None:
    async with own_address_client(app, client) as one, own_address_client(app, client) as other:
        params = {"number": "51190020000101000001", "code": "000000"}
        answers = [(await one.get("/api/v1/track", params=params)).status_code for _ in range(31)]
        assert answers == [404] * 30 + [429]
        r = await one.get("/api/v1/track", params=params)
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60 and r.json()["message"]
        assert (await other.get("/api/v1/track", params=params)).status_code == 404


async def test_the_rate_limiter_counts_fixed_windows_in_the_database(app: Litestar) -> None:
    limiter = RateLimiter(f"t{uuid.uuid4().hex[:8]}", 2, 60)
    base = 1_800_000_000.0  # a window boundary (a multiple of 60 s)
    assert [await limiter.check("a", base + t) for t in (0.0, 1.0, 2.0)] == [0, 0, 58]
    assert await limiter.check("b", base + 2.0) == 0  # another key: its own count
    assert await limiter.check("a", base + 59.5) == 1  # still this window (refusals count nothing)
    assert await limiter.check("a", base + 60.0) == 0  # the next window
    assert (await RateLimitWindow.get(bucket=limiter.bucket("a", base))).hits == 2


# --------------------------------------------------------------------------- withdraw, files, expiry


async def test_a_draft_can_be_discarded_a_submitted_case_cannot(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    await attach_all(app, tokens, case)
    r = await client.delete(f"{CASES}/{case['id']}", headers=bearer(tokens))
    assert r.status_code == 204
    assert (await client.get(f"{CASES}/{case['id']}", headers=bearer(tokens))).status_code == 404
    assert (await client.get(CASES, headers=bearer(tokens))).json()["items"] == []
    assert (await client.delete(f"{CASES}/{case['id']}", headers=bearer(tokens))).status_code == 404

    _, done = await submitted(client, app, tokens)
    r = await client.delete(f"{CASES}/{done['case']['id']}", headers=bearer(tokens))
    assert r.status_code == 409 and "撤回" in r.json()["message"] and r.json()["field"] == "state"
    assert (await client.get(f"{CASES}/{done['case']['id']}", headers=bearer(tokens))).json()["state"] == "submitted"


async def test_withdraw(client: AsyncClient, app: Litestar) -> None:
    tokens, done = await submitted(client, app)
    case_id = done["case"]["id"]
    draft_case = await draft(client, tokens)
    assert (await client.post(f"{CASES}/{draft_case['id']}/withdraw", headers=bearer(tokens))).status_code == 409
    assert draft_case["allowed_actions"] == ["update", "discard", "submit"]
    assert done["case"]["allowed_actions"] == ["withdraw"]
    listed = (await client.get(CASES, headers=bearer(tokens))).json()["items"]
    assert {c["id"]: c["allowed_actions"] for c in listed} == {
        draft_case["id"]: ["update", "discard", "submit"], case_id: ["withdraw"]}
    r = await client.post(f"{CASES}/{case_id}/withdraw", headers=bearer(tokens))
    assert r.status_code == 200 and r.json()["state"] == "withdrawn" and r.json()["allowed_actions"] == []
    assert [(e["action"], e["from_state"], e["to_state"]) for e in r.json()["timeline"]] == [
        ("submit", "draft", "submitted"), ("withdraw", "submitted", "withdrawn")]
    again = await client.post(f"{CASES}/{case_id}/withdraw", headers=bearer(tokens))
    assert again.status_code == 200 and len(again.json()["timeline"]) == 2
    assert await AuditEntry.filter(action="case.withdraw", target_code=done["number"]).count() == 1
    r = await client.post(f"{CASES}/{case_id}/submit", headers={**bearer(tokens), "Idempotency-Key": "another-key"})
    assert r.status_code == 409
    async with own_address_client(app, client) as anyone:
        r = await anyone.get("/api/v1/track", params={"number": done["number"], "code": done["query_code"]})
        assert r.json()["state"] == "withdrawn" and r.json()["state_name"] == "已撤回"


async def test_materials_are_served_only_to_the_applicant(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    content = b"<html><script>alert(1)</script></html>" * 1000
    blob = await put_blob(app, content)
    await services.attach_material(principal_of(app, tokens), case["id"], "application", blob,
                                   'C:\\fake\\申请 "书".html', "text/html")
    body = (await client.get(f"{CASES}/{case['id']}", headers=bearer(tokens))).json()
    material = next(m for m in body["materials"] if m["code"] == "application")
    assert material["download_url"] == f"{CASES}/{case['id']}/materials/application/file"
    r = await client.get(material["download_url"], headers=bearer(tokens))
    assert r.status_code == 200 and r.content == content
    assert r.headers["content-type"] == "application/octet-stream"  # never rendered as HTML
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    other = await citizen_tokens(client, app)
    assert (await client.get(material["download_url"], headers=bearer(other))).status_code == 404
    await services.detach_material(principal_of(app, tokens), case["id"], "application")
    assert (await client.get(material["download_url"], headers=bearer(tokens))).status_code == 404


async def test_an_attached_file_can_be_taken_back_from_a_draft_only(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await draft(client, tokens)
    await attach_all(app, tokens, case)
    url = f"{CASES}/{case['id']}/materials/application/file"
    other = await citizen_tokens(client, app)
    assert (await client.delete(url, headers=bearer(other))).status_code == 404  # not theirs: no such case
    r = await client.delete(url, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    body = r.json()
    material = next(m for m in body["materials"] if m["code"] == "application")
    assert material["status"] == "missing" and material["download_url"] is None and material["size"] is None
    assert "application" in body["missing_required"]
    assert (await client.get(url, headers=bearer(tokens))).status_code == 404
    assert (await client.delete(url, headers=bearer(tokens))).status_code == 200  # again: nothing changes
    r = await client.delete(f"{CASES}/{case['id']}/materials/nope/file", headers=bearer(tokens))
    assert r.status_code == 404 and r.json()["field"] == "material_id"
    await attach_all(app, tokens, case)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    assert (await client.post(f"{CASES}/{case['id']}/submit", headers={**bearer(tokens), **key})).status_code == 200
    r = await client.delete(url, headers=bearer(tokens))
    assert r.status_code == 409 and r.json()["field"] == "state"  # submitted: the file stays


async def test_expired_drafts_are_deleted_and_their_blobs_swept(
    client: AsyncClient, app: Litestar, tmp_path: Path
) -> None:
    tokens = await citizen_tokens(client, app)
    who = principal_of(app, tokens)
    store = open_store(f"file://{tmp_path / 'blobs'}")

    async def one(data: bytes) -> AsyncIterator[bytes]:
        yield data

    kept_blob = await store.write(one(b"kept"))
    lost_blob = await store.write(one(b"abandoned"))
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    old = await services.create_draft(app.state.catalog, who, LICENCE, {"reason": "lost", "agent": "no"}, now=long_ago)
    await services.attach_material(who, old.id, "application", lost_blob, "a.pdf", "application/pdf")
    fresh = await services.create_draft(app.state.catalog, who, LICENCE, {"reason": "lost", "agent": "no"})
    await services.attach_material(who, fresh.id, "application", kept_blob, "b.pdf", "application/pdf")
    _, done = await submitted(client, app, tokens)

    count, keys = await services.expire_drafts()
    assert (count, keys) == (1, [lost_blob.key])
    assert not await Case.exists(id=old.id)
    assert await Case.exists(id=fresh.id) and await Case.exists(id=done["case"]["id"])
    removed = await store.sweep_orphans(services.referenced_blob, older_than=dt.timedelta(0))
    assert removed == 1
    assert not await store.exists(lost_blob.key) and await store.exists(kept_blob.key)
    assert await services.expire_drafts() == (0, [])


def test_draft_lifetime_is_configurable() -> None:
    from api.core.settings import ConfigurationError, Settings

    assert Settings.from_env({"ZHENGWU_SECRET_KEY": "k" * 40}).draft_ttl_days == 30
    assert Settings.from_env({"ZHENGWU_SECRET_KEY": "k" * 40, "ZHENGWU_DRAFT_TTL_DAYS": "7"}).draft_ttl_days == 7
    with pytest.raises(ConfigurationError, match="ZHENGWU_DRAFT_TTL_DAYS"):
        Settings.from_env({"ZHENGWU_SECRET_KEY": "k" * 40, "ZHENGWU_DRAFT_TTL_DAYS": "-1"})


def test_numbers_codes_and_promised_dates() -> None:
    day = dt.date(2026, 3, 2)
    assert numbering.case_number("511900", day, 42) == "51190020260302000042"
    with pytest.raises(ValueError):
        numbering.case_number("511900", day, 1_000_000)
    assert numbering.query_code("k" * 32, "1", "s") == numbering.query_code("k" * 32, "1", "s")
    # 2026-09-30 (Wed) + 3 working days: the National Day holiday is skipped, and Saturday
    # 10 October is an adjusted workday.
    start = dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.UTC)
    assert deadlines.due_date(start, 3, "working_day") == dt.date(2026, 10, 10)
    assert deadlines.due_date(start, 3, "natural_day") == dt.date(2026, 10, 3)
    assert deadlines.due_date(start, 0, "working_day") == dt.date(2026, 9, 30)
    # 23:30 UTC is already the next day in China.
    assert numbering.china_day(dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 1, 2)
    assert services.sanitise_filename("../../etc/passwd") == "passwd"
    assert services.sanitise_filename('a\x00b:"c".pdf') == "a_b_c_.pdf"
    assert services.sanitise_filename("") == "file"
    assert services.sanitise_filename("invoice\u202egpj.exe") == "invoicegpj.exe"  # no bidi override
    assert services.sanitise_filename("营业\u200b执照.jpg") == "营业执照.jpg"


def test_the_expected_completion_date_follows_the_city_calendar_and_the_stopped_clock() -> None:
    """What the receipt, the case and public tracking promise: counted from acceptance on the
    city's calendar (its overrides too), moved by every working day the clock stood still."""
    china = deadlines.CHINA
    accepted = dt.datetime(2026, 12, 7, 10, 0, tzinfo=china)  # a Monday
    case = Case(submitted_at=accepted - dt.timedelta(days=3), accepted_at=accepted, promised_limit=5,
                promised_limit_unit="working_day", extended_days=0, paused_days=0, paused_at=None, decided_at=None)
    plain = deadlines.Calendar()
    assert services.promised_date(case, plain) == dt.date(2026, 12, 14)  # Tue 8 … Mon 14
    closed = deadlines.Calendar({dt.date(2026, 12, 9): deadlines.Override(False, "城市停电")})
    assert services.promised_date(case, closed) == dt.date(2026, 12, 15)  # the override moves it one day
    case.paused_days, case.extended_days = 2, 1  # a correction stood two days; one day's extension
    assert services.promised_date(case, plain) == dt.date(2026, 12, 17)
    case.paused_at = dt.datetime(2026, 12, 16, 9, 0, tzinfo=china)  # stopped again, still open on Friday
    assert services.promised_date(case, plain, now=dt.datetime(2026, 12, 18, 9, 0, tzinfo=china)) == dt.date(
        2026, 12, 21)  # Thu 17 and Fri 18 stood still too: Mon 21
    case.paused_at, case.accepted_at = None, None  # before acceptance: counted from submission, the earliest
    assert services.promised_date(case, plain) == deadlines.add_working_days(
        plain, deadlines.due_date(accepted - dt.timedelta(days=3), 6, "working_day"), 2)
    case.decided_at = dt.datetime(2026, 12, 10, 1, 0, tzinfo=dt.UTC)
    assert services.promised_date(case, plain) == dt.date(2026, 12, 10)  # decided: the day it was
