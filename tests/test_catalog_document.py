"""The demo catalog is complete and valid, and validation catches what would mislead a citizen."""

from collections import Counter

import msgspec
import pytest

from api.catalog import codes
from api.catalog.demo import load_source
from api.catalog.document import (
    CatalogDocument,
    ItemDoc,
    MaterialDoc,
    OptionDoc,
    PlaceDoc,
    QuestionDoc,
    SituationDoc,
    validate_document,
    validate_item,
)
from api.catalog.synthetic import synthetic_document


def test_demo_catalog_is_valid(demo: CatalogDocument) -> None:
    assert validate_document(demo) == []


def test_demo_catalog_meets_the_size_and_coverage_targets(demo: CatalogDocument) -> None:
    source = load_source()
    city_departments = {d.code for d in source.departments}
    basic_items = [i for i in demo.items if i.department in city_departments]
    assert len(city_departments) >= 36
    assert len(source.counties) == 5
    assert len(basic_items) >= 80
    assert sum(len(i.situations) for i in basic_items) >= 200
    assert set(Counter(i.kind for i in basic_items)) == set(codes.ITEM_KINDS)  # all of the "10+1"
    assert len(demo.windows) == 14
    assert {w.category for w in demo.windows} == set(codes.WINDOW_CATEGORIES)
    departments_of = {i.basic_code: i.department for i in basic_items}
    assert len(demo.life_events) >= 15
    for event in demo.life_events:
        assert len(event.items) >= 2, event.code
        assert len({departments_of[b] for b in event.items}) >= 2, f"{event.code} spans one department"
    assert {e.audience for e in demo.life_events} == set(codes.AUDIENCES)


def test_every_basic_item_is_also_implemented_by_counties(demo: CatalogDocument) -> None:
    by_basic = Counter(i.basic_code for i in demo.items)
    assert max(by_basic.values()) == 6  # the city and its five counties/districts
    codes_ = [i.code for i in demo.items]
    assert len(set(codes_)) == len(codes_)
    assert min(len(c) for c in codes_) >= 36


def _item(**changes: object) -> ItemDoc:
    base = ItemDoc(
        code="511A0000010000-511900000000-000-X-1-00",
        basic_code="511A0000010000",
        department="SCJGJ",
        name="测试事项",
        kind="01",
        audiences=["natural_person"],
        legal_limit=20,
        promised_limit=5,
        questions=[
            QuestionDoc(code="who", text="谁来办？", options=[OptionDoc("self", "本人"), OptionDoc("agent", "代理人")]),
        ],
        situations=[
            SituationDoc(code="self", name="本人办理", rule={"q": "who", "eq": "self"},
                         materials=[MaterialDoc(code="id", name="身份证")]),
        ],
    )
    return msgspec.structs.replace(base, **changes)


def _messages(item: ItemDoc) -> list[str]:
    return [f"{p.field}:{p.message}" for p in validate_item(item)]


def test_an_answer_path_without_a_situation_is_reported() -> None:
    problems = _messages(_item())
    assert any("找不到对应的办理情形" in p and "who=agent" in p for p in problems)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "11"}, "kind"),
        ({"promised_limit": 30}, "promised_limit"),
        ({"audiences": ["alien"]}, "audiences"),
        ({"situations": []}, "situations"),
        ({"online_depth": 9}, "online_depth"),
        ({"case_type": "2", "promised_limit": 0}, "promised_limit"),
    ],
)
def test_invalid_item_fields_are_named(changes: dict, field: str) -> None:
    assert any(p.startswith(f"{field}:") for p in _messages(_item(**changes)))


def test_rules_must_name_existing_questions_and_certificates_must_be_typed() -> None:
    item = _item(
        situations=[
            SituationDoc(code="x", name="x", rule={"q": "nope", "eq": 1},
                         materials=[MaterialDoc(code="id", name="身份证", source="certificate")]),
            SituationDoc(code="any", name="其他", materials=[MaterialDoc(code="a", name="申请书")]),
        ]
    )
    problems = _messages(item)
    assert any(p.startswith("rule:") and "nope" in p for p in problems)
    assert any(p.startswith("certificate_type:") for p in problems)


def test_synthetic_catalog_has_exactly_the_requested_size() -> None:
    doc = synthetic_document(5933)
    assert len(doc.items) == 5933
    assert len({i.code for i in doc.items}) == 5933
    assert validate_document(doc) == []


# --------------------------------------------------------------------------- one instruction a material

def _with_material(trips: int, material: MaterialDoc, **changes: object) -> ItemDoc:
    any_situation = SituationDoc(code="any", name="办理", materials=[material])
    return _item(questions=[], situations=[any_situation], trips=trips, **changes)


def _original_messages(item: ItemDoc) -> list[str]:
    return [p.message for p in validate_item(item) if p.field == "bring_original"]


def test_a_zero_trip_item_may_not_ask_for_an_original() -> None:
    """零跑腿 and 需带原件 together tell a citizen two things; checking paper needs a visit."""
    item = _with_material(0, MaterialDoc(code="id", name="申请人居民身份证", source="certificate",
                                         certificate_type="id_card", bring_original=True))
    [message] = _original_messages(item)
    assert "到现场 0 次" in message and "「申请人居民身份证」" in message and "至少 1 次" in message
    uploaded = _with_material(0, MaterialDoc(code="inv", name="发票原件", bring_original=True))
    assert len(_original_messages(uploaded)) == 1
    assert _original_messages(_with_material(1, MaterialDoc(code="inv", name="发票原件", bring_original=True))) == []


def test_a_fetched_certificate_asks_for_its_original_only_where_the_item_says() -> None:
    fetched = MaterialDoc(code="id", name="居民身份证", source="certificate", certificate_type="id_card",
                          bring_original=True)
    [message] = _original_messages(_with_material(1, fetched))  # a visit, but nowhere named
    assert "免提交" in message and "办理地点" in message
    placed = _with_material(1, fetched, places=[PlaceDoc(name="市政务服务中心", address="巴州区江北大道")])
    assert _original_messages(placed) == []
    assert _original_messages(_with_material(0, msgspec.structs.replace(fetched, bring_original=False))) == []


def _contradictions(items: list[ItemDoc]) -> list[str]:
    """Written out apart from validate_item: what a citizen would read as two instructions."""
    found = []
    for item in items:
        for s in item.situations:
            for m in s.materials:
                if m.bring_original and (item.trips == 0 or (m.source == "certificate" and not item.places)):
                    found.append(f"{item.name} / {s.code} / {m.code}")
    return found


def test_no_demo_or_synthetic_item_contradicts_itself(demo: CatalogDocument) -> None:
    assert _contradictions(demo.items) == []
    assert _contradictions(synthetic_document(5933).items) == []
    social_card = [i for i in demo.items if i.name.startswith("社会保障卡")]
    assert social_card and all(i.trips == 0 for i in social_card)
    assert not any(m.bring_original for i in social_card for s in i.situations for m in s.materials)
