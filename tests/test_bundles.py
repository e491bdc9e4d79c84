"""一件事一次办: one application for a life event's items, on SQLite and PostgreSQL.

开办餐饮店 filed by a person for three items of three departments (个体工商户设立登记 at 市场监管,
the fire safety check at 消防, the shop sign at 城管): the one question they share (委托代理人?)
answered once, the power of attorney they all need uploaded once, every case created or none and
submitted or none, each with one Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.audit.models import AuditEntry
from api.cases import bundles, bundling, services
from api.cases.models import Bundle, Case, CaseMaterial
from api.identity.principal import Principal
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens

BUNDLES = "/api/v1/bundles"
EVENT = "open_restaurant"
SHOP = "511A5001040000-511900000000-000-11511900MB00102256-1-00"  # 个体工商户设立登记 (SCJGJ)
FIRE = "511A5022010000-511900000000-000-11511900MB0010313L-1-00"  # 公众聚集场所消防安全检查 (XFZD)
SIGN = "511A5013010000-511900000000-000-11511900MB0010268K-1-00"  # 户外招牌设置 (CGJ)
LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领: not of this event
BODY: dict[str, Any] = {
    "life_event": EVENT,
    "answers": {"agent": "yes"},  # asked by all three: answered once
    "items": [
        {"item_code": SHOP, "answers": {"mode": "person", "food": "yes"}},
        {"item_code": FIRE, "answers": {"mode": "pledge", "area": 120}},
        {"item_code": SIGN, "answers": {"type": "shop_sign"}},
    ],
}


@pytest.fixture(autouse=True)
async def _remove_bundles(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await remove_cases()
    await Bundle.all().delete()


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def principal_of(app: Litestar, tokens: dict) -> Principal:
    claims = app.state.tokens.verify_access(tokens["access_token"])
    return Principal("citizen", int(claims.subject.split(":")[1]), "citizen", "", "", claims.jti, claims.expires_at)


async def upload(app: Litestar, tokens: dict, case_id: int, code: str, content: bytes) -> None:
    """A file attached to one case material, as a finished tus upload does."""
    async def body() -> AsyncIterator[bytes]:
        yield content

    blob = await app.state.blobs.write(body())
    await services.attach_material(principal_of(app, tokens), case_id, code, blob, f"{code}.pdf", "application/pdf")


async def create(client: AsyncClient, tokens: dict, body: dict | None = None, headers: dict | None = None) -> Any:
    return await client.post(BUNDLES, json=body or BODY, headers={**bearer(tokens), **(headers or key())})


async def test_a_bundle_is_one_case_per_item_in_each_department(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    k = key()
    r = await create(client, tokens, headers=k)
    assert r.status_code == 201, r.text
    b = r.json()
    assert r.headers["idempotent-replayed"] == "false"
    assert b["state"] == "draft" and b["life_event_name"] == "开办餐饮店一件事" and b["allowed_actions"] == ["submit"]
    assert [(c["item_code"], c["department"], c["state"]) for c in b["cases"]] == [
        (SHOP, "SCJGJ", "draft"), (FIRE, "XFZD", "draft"), (SIGN, "CGJ", "draft")]
    assert all(c["department_name"] for c in b["cases"])
    # The shared question went to every item that asks it.
    for c in b["cases"]:
        case = (await client.get(f"/api/v1/cases/{c['case_id']}", headers=bearer(tokens))).json()
        assert case["answers"]["agent"] == "yes" and case["bundle_id"] == b["id"]
    # One power of attorney for the three; one business licence entry for the two that want it.
    by_key = {m["key"]: m for m in b["materials"]}
    poa = by_key["file:power_of_attorney:委托代理人授权委托书"]
    assert [s["case_id"] for s in poa["serves"]] == [c["case_id"] for c in b["cases"]]
    assert poa["upload_to"] == {"case_id": b["cases"][0]["case_id"], "code": "power_of_attorney"}
    assert poa["required"] is True and poa["status"] == "missing"
    licence = by_key["certificate:business_license"]
    assert len(licence["serves"]) == 2 and licence["source"] == "certificate"
    assert "certificate:business_license" not in b["missing_required"]  # fetched, never demanded
    assert poa["key"] in b["missing_required"]
    entries = await CaseMaterial.filter(case__bundle_id=b["id"]).count()
    assert sum(len(m["serves"]) for m in b["materials"]) == entries and len(b["materials"]) == entries - 3

    # A retry with the same key: the same bundle, nothing more written.
    again = await create(client, tokens, headers=k)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == b["id"]
    assert await Case.filter(bundle_id=b["id"]).count() == 3
    assert (await client.get(f"{BUNDLES}/{b['id']}", headers=bearer(tokens))).json()["cases"] == b["cases"]


async def test_items_that_cannot_be_applied_for_are_named_before_anything_is_written(
        client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    bad = {**BODY, "items": [*BODY["items"][:2], {"item_code": SIGN, "answers": {"type": "nope"}},
                             {"item_code": LICENCE, "answers": {}}]}
    cases_before, bundles_before = await Case.all().count(), await Bundle.all().count()
    r = await create(client, tokens, bad)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["message"].startswith("有 2 个事项不能一起申请")
    fields = [p["field"] for p in body["problems"]]
    assert fields == [f"items.{SIGN}", f"items.{LICENCE}"]
    assert "户外" in body["problems"][0]["message"] or "招牌" in body["problems"][0]["message"]
    assert "不属于「开办餐饮店一件事」" in body["problems"][1]["message"]
    assert (await Case.all().count(), await Bundle.all().count()) == (cases_before, bundles_before)
    # Bad input is 4xx: no items, an item twice, no key, an unknown life event, an enterprise not bound.
    assert (await create(client, tokens, {**BODY, "items": []})).status_code == 422
    assert (await create(client, tokens, {**BODY, "items": [BODY["items"][0]] * 2})).status_code == 400
    assert (await client.post(BUNDLES, json=BODY, headers=bearer(tokens))).json()["field"] == "Idempotency-Key"
    assert (await create(client, tokens, {**BODY, "life_event": "NOPE"})).status_code == 404
    r = await create(client, tokens, {**BODY, "enterprise_uscc": "91511900MA62000001"})
    assert r.status_code == 422 and r.json()["field"] == "enterprise_uscc"


async def test_cases_are_created_all_or_none(client: AsyncClient, app: Litestar,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while the third draft is written leaves neither the bundle nor the first two."""
    tokens = await citizen_tokens(client, app)
    real, calls = services.create_draft, []

    async def failing_third(*args: Any, **kwargs: Any) -> Case:
        calls.append(args[2])
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return await real(*args, **kwargs)

    monkeypatch.setattr(services, "create_draft", failing_third)
    before = await Case.all().count()
    with pytest.raises(RuntimeError):
        await bundles.create_bundle(app.state.catalog, principal_of(app, tokens), EVENT,
                                    [bundles.ItemRequest(i["item_code"], i["answers"]) for i in BODY["items"]],
                                    BODY["answers"], uuid.uuid4().hex)
    assert calls == [SHOP, FIRE, SIGN]
    assert await Case.all().count() == before and await Bundle.all().count() == 0


async def test_one_file_serves_every_item_and_submission_is_all_or_none(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    b = (await create(client, tokens)).json()
    poa = next(m for m in b["materials"] if m["key"].startswith("file:power_of_attorney"))
    target = poa["upload_to"]
    await upload(app, tokens, target["case_id"], target["code"], b"%PDF-1.4 the one power of attorney")
    shown = (await client.get(f"{BUNDLES}/{b['id']}", headers=bearer(tokens))).json()
    assert next(m for m in shown["materials"] if m["key"] == poa["key"])["status"] == "attached"
    # Every other required upload but one of the sign's.
    left_out = None
    for m in shown["materials"]:
        if m["status"] != "missing" or not m["required"] or m["source"] == "certificate":
            continue
        if left_out is None and m["serves"][0]["case_id"] == b["cases"][2]["case_id"]:
            left_out = m
            continue
        await upload(app, tokens, m["upload_to"]["case_id"], m["upload_to"]["code"], m["key"].encode())
    assert left_out is not None

    form = {"contact_name": "王小明", "contact_phone": "13800138000", "delivery": "window"}
    k = key()
    r = await client.post(f"{BUNDLES}/{b['id']}/submit", json={"form_data": form}, headers={**bearer(tokens), **k})
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert [p["field"] for p in problems] == [f"cases.{b['cases'][2]['case_id']}.{left_out['serves'][0]['code']}"]
    assert "招牌" in problems[0]["message"]
    # Nothing submitted, nothing copied: every case still a draft without a number.
    assert [c.state for c in await Case.filter(bundle_id=b["id"]).order_by("id")] == ["draft"] * 3
    assert await Case.filter(bundle_id=b["id"], number__isnull=False).count() == 0
    copies = await CaseMaterial.filter(case__bundle_id=b["id"], code="power_of_attorney", status="attached").count()
    assert copies == 1

    await upload(app, tokens, left_out["upload_to"]["case_id"], left_out["upload_to"]["code"], b"the sign")
    r = await client.post(f"{BUNDLES}/{b['id']}/submit", json={"form_data": form}, headers={**bearer(tokens), **k})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "submitted" and done["allowed_actions"] == [] and done["submitted_at"]
    assert [c["state"] for c in done["cases"]] == ["submitted"] * 3
    numbers = [c["number"] for c in done["cases"]]
    assert all(numbers) and len(set(numbers)) == 3
    # The one power of attorney is on all three cases (the same bytes, stored once).
    rows = await CaseMaterial.filter(case__bundle_id=b["id"], code="power_of_attorney").order_by("case_id")
    assert [m.status for m in rows] == ["attached"] * 3 and len({(m.sha256, m.blob_key) for m in rows}) == 1
    for c in await Case.filter(bundle_id=b["id"]):
        assert c.form_data == form and c.submitted_at is not None
        assert await AuditEntry.filter(action="case.submit", target_code=c.number).count() == 1
    # The retry answers the first submission and changes nothing; another key is a conflict.
    again = await client.post(f"{BUNDLES}/{b['id']}/submit", json={"form_data": {}}, headers={**bearer(tokens), **k})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert [c["number"] for c in again.json()["cases"]] == numbers
    other = await client.post(f"{BUNDLES}/{b['id']}/submit", json={"form_data": form},
                              headers={**bearer(tokens), **key()})
    assert other.status_code == 409


async def test_a_bundle_is_its_applicants_alone(client: AsyncClient, app: Litestar) -> None:
    mine, theirs = await citizen_tokens(client, app), await citizen_tokens(client, app)
    b = (await create(client, mine)).json()
    assert (await client.get(f"{BUNDLES}/{b['id']}", headers=bearer(theirs))).status_code == 404
    r = await client.post(f"{BUNDLES}/{b['id']}/submit", json={}, headers={**bearer(theirs), **key()})
    assert r.status_code == 404
    assert (await client.get(f"{BUNDLES}/999999999", headers=bearer(mine))).status_code == 404


async def test_the_same_key_at_once_makes_one_bundle(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    k = key()
    first, second = await asyncio.gather(create(client, tokens, headers=k), create(client, tokens, headers=k))
    assert {first.status_code, second.status_code} <= {200, 201} and first.json()["id"] == second.json()["id"]
    assert await Bundle.all().count() == 1 and await Case.filter(bundle_id=first.json()["id"]).count() == 3


async def test_my_cases_follow_the_chosen_subject(client: AsyncClient, app: Litestar) -> None:
    """Enterprise mode: 我的办件 lists what was filed as a person, or for one enterprise."""
    tokens = await citizen_tokens(client, app)
    b = (await create(client, tokens)).json()
    mine = (await client.get("/api/v1/cases", params={"subject": "self"}, headers=bearer(tokens))).json()["items"]
    assert {c["id"] for c in mine} == {c["case_id"] for c in b["cases"]}
    assert all(c["bundle_id"] == b["id"] and c["enterprise_uscc"] is None for c in mine)
    other = await client.get("/api/v1/cases", params={"subject": "91511900MA62000001"}, headers=bearer(tokens))
    assert other.status_code == 200 and other.json()["items"] == []


# --------------------------------------------------------------------------- the pure merge


def _member(case_id: int, code: str, name: str, source: str = "applicant", cert: str = "",
            status: str = "missing", required: bool = True) -> bundling.Member:
    return bundling.Member(case_id, f"item{case_id}", f"事项{case_id}", code, name, source, cert, required, status)


def test_materials_merge_by_certificate_type_or_by_code_and_name() -> None:
    groups = bundling.merge([
        _member(1, "id_card", "父母双方居民身份证", "certificate", "resident_id_card", "spared"),
        _member(1, "poa", "委托书"),
        _member(2, "guardian_id", "监护人居民身份证", "certificate", "resident_id_card", "spared"),
        _member(2, "poa", "委托书", status="attached"),
        _member(3, "poa", "授权委托书及受托人身份证件"),  # same code, another document: not merged
    ])
    assert [(g.key, [m.case_id for m in g.members]) for g in groups] == [
        ("certificate:resident_id_card", [1, 2]), ("file:poa:委托书", [1, 2]),
        ("file:poa:授权委托书及受托人身份证件", [3])]
    ids, poa, other = groups
    assert ids.status == "spared" and ids.upload_to is None and not ids.blocking
    assert ids.names == ["父母双方居民身份证", "监护人居民身份证"]
    assert poa.status == "attached" and poa.upload_to.case_id == 2 and not poa.blocking
    assert other.blocking and other.upload_to.case_id == 3
    assert [(a.case_id, b.case_id) for a, b in bundling.copies(groups)] == [(2, 1)]
