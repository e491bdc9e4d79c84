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
