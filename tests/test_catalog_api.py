"""The public catalog API, on SQLite and PostgreSQL, as the PWA and a hall poster use it."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from httpx import AsyncClient
from PIL import Image

from api.catalog import codes
from api.catalog.document import CatalogDocument, ItemDoc

CITY = "511900000000"


def first_item(demo: CatalogDocument, predicate) -> ItemDoc:  # type: ignore[no-untyped-def]
    return next(i for i in demo.items if predicate(i))


async def test_health_reports_the_database(client: AsyncClient) -> None:
    r = await client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert set(body["worker"]) == {"last_tick_at", "running"}  # the background worker's last tick, for operators


async def test_life_events_for_individuals_and_enterprises(client: AsyncClient, demo: CatalogDocument) -> None:
    r = await client.get("/api/v1/life-events")
    assert r.status_code == 200
    events = r.json()["items"]
    assert len(events) == len(demo.life_events)
    people = (await client.get("/api/v1/life-events", params={"audience": "natural_person"})).json()["items"]
    assert people and all(e["audience"] == "natural_person" for e in people)
    bad = await client.get("/api/v1/life-events", params={"audience": "martian"})
    assert bad.status_code == 400 and bad.json()["field"] == "audience"


async def test_life_event_lists_its_items_in_order_for_a_region(client: AsyncClient, demo: CatalogDocument) -> None:
    event = demo.life_events[0]
    r = await client.get(f"/api/v1/life-events/{event.code}")
    assert r.status_code == 200
    body = r.json()
    assert [i["basic_code"] for i in body["items"]] == event.items
    assert {i["region_code"] for i in body["items"]} == {CITY}
    assert len({i["department"]["code"] for i in body["items"]}) >= 2


async def test_departments_and_regions(client: AsyncClient) -> None:
    regions = (await client.get("/api/v1/regions")).json()["items"]
    assert regions[0] == {"code": CITY, "name": "巴中市", "level": "city"}
    assert len(regions) == 6
    city = (await client.get("/api/v1/departments")).json()["items"]
    assert len(city) >= 36 and all(d["region_code"] == CITY for d in city)
    county = (await client.get("/api/v1/departments", params={"region": regions[1]["code"]})).json()["items"]
    assert county and all(d["level"] == "county" and d["parent"] for d in county)


async def test_search_by_pinyin_initials(client: AsyncClient) -> None:
    r = await client.get("/api/v1/items", params={"q": "yyzz"})
    assert r.status_code == 200
    items = r.json()["items"]
    assert items and "营业执照" in items[0]["name"] + items[0]["short_name"] + items[0]["summary"]
    jhdj = (await client.get("/api/v1/items", params={"q": "jhdj"})).json()["items"]
    assert any("结婚登记" in i["name"] for i in jhdj)


async def test_filters_and_keyset_pagination(client: AsyncClient, demo: CatalogDocument) -> None:
    everything = (await client.get("/api/v1/items", params={"limit": 100, "region": CITY})).json()
    seen, cursor = [], None
    while True:
        params = {"limit": 9, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/items", params=params)).json()
        seen += [i["code"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == everything["total"]
    licences = (await client.get("/api/v1/items", params={"kind": "01", "limit": 100})).json()["items"]
    assert licences and {i["kind_name"] for i in licences} == {"行政许可"}
    market = (await client.get("/api/v1/items", params={"department": "SCJGJ", "limit": 100})).json()["items"]
    assert market and {i["department"]["code"] for i in market} == {"SCJGJ"}
    event = demo.life_events[0]
    bundled = (await client.get("/api/v1/items", params={"life_event": event.code})).json()["items"]
    assert {i["basic_code"] for i in bundled} == set(event.items)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "99"}, "kind"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
        ({"department": "NOPE"}, "department"),
        ({"life_event": "nope"}, "life_event"),
        ({"region": "999999999999"}, "region"),
        ({"audience": "martian"}, "audience"),
        ({"q": "长" * 51}, "q"),
    ],
)
async def test_bad_query_values_name_the_parameter(client: AsyncClient, params: dict, field: str) -> None:
    r = await client.get("/api/v1/items", params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == field
    assert body["message"] and body["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


async def test_guide_has_every_section(client: AsyncClient, demo: CatalogDocument) -> None:
    item = first_item(demo, lambda i: i.kind == "01" and len(i.situations) > 1)
    r = await client.get(f"/api/v1/items/{item.code}")
    assert r.status_code == 200
    guide = r.json()
    assert guide["name"] == item.name and guide["kind_name"] == codes.ITEM_KINDS[item.kind][0]
    for section in ("legal_basis", "conditions", "process", "legal_limit", "promised_limit", "case_type_name",
                    "result_name", "places", "consult_phone", "complaint_phone", "trips", "online_depth_name",
                    "delivery_ways", "faq", "questions", "situations", "implementations", "version"):
        assert section in guide
    assert guide["legal_limit"] >= guide["promised_limit"]
    assert [s["code"] for s in guide["situations"]] == [s.code for s in item.situations]
    assert all(s["materials"] for s in guide["situations"])
    assert guide["pwa_path"] == f"/items/{item.code}"


async def test_guide_lists_the_other_regions_implementing_the_item(
    client: AsyncClient, demo: CatalogDocument
) -> None:
    basic = next(b for b in {i.basic_code for i in demo.items} if sum(i.basic_code == b for i in demo.items) == 6)
    city = first_item(demo, lambda i: i.basic_code == basic)
    guide = (await client.get(f"/api/v1/items/{city.code}")).json()
    regions = [impl["region_code"] for impl in guide["implementations"]]
    assert len(regions) == 6 and regions[0] == CITY
    county = guide["implementations"][1]
    county_guide = (await client.get(f"/api/v1/items/{county['code']}")).json()
    assert county_guide["department"]["code"] == county["department"]["code"] != guide["department"]["code"]
    assert county_guide["region_name"] != "巴中市"


async def test_unknown_item_is_a_404_in_chinese_and_english(client: AsyncClient) -> None:
    for path in ("/api/v1/items/NOPE", "/api/v1/items/NOPE/qr.svg", "/api/v1/life-events/nope"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "没有找到" in r.json()["message"] and "not found" in r.json()["detail"]
    r = await client.post("/api/v1/items/NOPE/material-list", json={"answers": {}})
    assert r.status_code == 404


def _answers_for(item: ItemDoc, situation_index: int) -> dict | None:
    """Answers (from the sampled combinations) that select the given situation."""
    import itertools

    from api.catalog import rules
    from api.catalog.document import _samples

    pools = [_samples(q, item) for q in item.questions]
    for combo in itertools.product(*pools):
        answers: dict = {}
        for q, v in zip(item.questions, combo, strict=True):
            if rules.evaluate(q.ask_if, answers):
                answers[q.code] = v
        chosen = next(i for i, s in enumerate(item.situations) if rules.evaluate(s.rule, answers))
        if chosen == situation_index:
            return answers
    return None


async def test_material_list_follows_the_answers(client: AsyncClient, demo: CatalogDocument) -> None:
    item = first_item(demo, lambda i: len(i.situations) >= 2 and i.questions and i.situations[0].rule)
    for index, situation in enumerate(item.situations):
        answers = _answers_for(item, index)
        if answers is None:
            continue
        r = await client.post(f"/api/v1/items/{item.code}/material-list", json={"answers": answers})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["situation"]["code"] == situation.code
        from api.catalog import rules

        expected = [m.code for m in situation.materials if rules.evaluate(m.condition, answers)]
        assert [m["code"] for m in body["materials"]] == expected
        assert all(m["reason"] for m in body["materials"])
        assert body["spared_count"] == sum(m["source"] == "certificate" for m in body["materials"])


async def test_conditional_material_says_which_answer_requires_it(
    client: AsyncClient, demo: CatalogDocument
) -> None:
    from api.catalog import rules

    for item in demo.items:
        for index, situation in enumerate(item.situations):
            conditional = [m for m in situation.materials if m.condition]
            if not conditional:
                continue
            answers = _answers_for(item, index)
            if answers is None or not rules.evaluate(conditional[0].condition, answers):
                continue
            r = await client.post(f"/api/v1/items/{item.code}/material-list", json={"answers": answers})
            listed = {m["code"]: m for m in r.json()["materials"]}
            reason = listed[conditional[0].code]["reason"]
            assert reason.startswith("因为您回答了「")
            assert listed[conditional[0].code]["conditional"] is True
            return
    pytest.fail("the demo catalog has no conditional material that some answers trigger")


async def test_certificate_materials_are_marked_spared(client: AsyncClient, demo: CatalogDocument) -> None:
    # The first situation (reachable by some answers) whose list has a certificate-sourced material.
    item, answers = next(
        (i, a)
        for i in demo.items
        for n, s in enumerate(i.situations)
        if any(m.source == "certificate" and m.condition is None for m in s.materials)
        and (a := _answers_for(i, n)) is not None
    )
    body = (await client.post(f"/api/v1/items/{item.code}/material-list", json={"answers": answers})).json()
    spared = [m for m in body["materials"] if m["source"] == "certificate"]
    assert spared and body["spared_count"] == len(spared)
    assert all(m["source_name"] == "电子证照免提交" and m["certificate_type_name"] for m in spared)


async def test_bad_answers_are_422_naming_the_question(client: AsyncClient, demo: CatalogDocument) -> None:
    item = first_item(demo, lambda i: any(q.datatype == "single" and q.required and not q.ask_if
                                          for q in i.questions))
    q = next(q for q in item.questions if q.datatype == "single" and q.required and not q.ask_if)
    url = f"/api/v1/items/{item.code}/material-list"
    missing = await client.post(url, json={"answers": {}})
    assert missing.status_code == 422
    assert missing.json()["field"] == item.questions[0].code
    assert "请回答" in missing.json()["message"]
    wrong = await client.post(url, json={"answers": {q.code: "not-an-option"}})
    assert wrong.status_code == 422 and wrong.json()["field"] == q.code
    unknown = await client.post(url, json={"answers": {"shoe_size": 42}})
    assert unknown.status_code == 422 and unknown.json()["field"] == "shoe_size"
    garbage = await client.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400
    extra = await client.post(url, json={"answers": {}, "admin": True})
    assert extra.status_code == 400


async def test_qr_codes_point_at_the_item_page(client: AsyncClient, demo: CatalogDocument) -> None:
    item = demo.items[0]
    png = await client.get(f"/api/v1/items/{item.code}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [d.text for d in decoded] == [f"https://zw.example.cn/items/{item.code}"]
    svg = await client.get(f"/api/v1/items/{item.code}/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<svg") and "<path" in svg.text


async def test_openapi_documents_every_public_route(client: AsyncClient) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/api/v1/health", "/api/v1/life-events", "/api/v1/life-events/{code}", "/api/v1/departments",
                 "/api/v1/items", "/api/v1/items/{code}", "/api/v1/items/{code}/material-list",
                 "/api/v1/items/{code}/qr.svg", "/api/v1/items/{code}/qr.png"):
        assert path in paths, path
    guide = paths["/api/v1/items/{code}"]["get"]["responses"]["200"]
    assert "ItemGuide" in str(guide)


async def test_responses_carry_security_headers(client: AsyncClient) -> None:
    r = await client.get("/api/v1/life-events")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
