"""Search as Chinese users type it: characters, full pinyin, pinyin initials; exact names first."""

import pytest

from api.catalog.document import CatalogDocument
from api.catalog.search import CursorError, Entry, Filters, SearchIndex, decode_cursor, encode_cursor, pinyin_forms

CITY = "511900000000"


@pytest.fixture(scope="module")
def index(demo: CatalogDocument) -> SearchIndex:
    departments = {d.code: d for d in demo.departments}
    return SearchIndex(
        Entry(
            code=i.code, basic_code=i.basic_code, name=i.name, short_name=i.short_name, keywords=i.keywords,
            department_code=i.department, department_name=departments[i.department].name,
            department_short_name=departments[i.department].short_name,
            region_code=departments[i.department].region_code, kind=i.kind, audiences=i.audiences,
            popularity=i.popularity,
        )
        for i in demo.items
    )


def names(index: SearchIndex, query: str, **filters: object) -> list[str]:
    found, _, _ = index.search(query, Filters(**{"region": CITY, **filters}), 50)  # type: ignore[arg-type]
    return [e.name for e in found]


def test_pinyin_forms() -> None:
    assert pinyin_forms("营业执照") == ("yingyezhizhao", "yyzz")
    assert pinyin_forms("结婚登记") == ("jiehundengji", "jhdj")
    assert pinyin_forms("A类证明") == ("aleizhengming", "alzm")
    # Polyphones are read in context, as people say them.
    assert pinyin_forms("银行开户") == ("yinhangkaihu", "yhkh")
    assert pinyin_forms("重庆") == ("chongqing", "cq")


def test_initials_find_business_licence_items(index: SearchIndex) -> None:
    found = names(index, "yyzz")
    assert found and all("营业执照" in n or "营业执照" in n.replace("（", "") for n in found[:3])


def test_initials_find_marriage_registration(index: SearchIndex) -> None:
    assert any("结婚登记" in n for n in names(index, "jhdj")[:3])


def test_full_pinyin_and_characters_find_the_same_items(index: SearchIndex) -> None:
    by_chars = set(names(index, "结婚登记"))
    assert by_chars and by_chars <= set(names(index, "jiehundengji"))


def test_characters_anywhere_in_the_name(index: SearchIndex) -> None:
    assert all("登记" in n or "登记" in n for n in names(index, "登记")[:10])


def test_exact_name_ranks_first(index: SearchIndex, demo: CatalogDocument) -> None:
    target = next(i.name for i in demo.items if "营业执照" in i.name)
    assert names(index, target)[0] == target


def test_keywords_and_department_names_match(index: SearchIndex) -> None:
    # 市场监管 appears in no item name, only in the department's.
    found = names(index, "市场监督管理局")
    assert found
    assert len(names(index, "市场监督管理局", department="SCJGJ")) == len(found)


def test_every_token_must_match(index: SearchIndex) -> None:
    both = names(index, "营业执照 补")
    assert both and all("补" in n for n in both)


def test_filters_by_region_kind_and_audience(index: SearchIndex) -> None:
    everywhere, _, _ = index.search("", Filters(), 10_000)
    city, _, _ = index.search("", Filters(region=CITY), 10_000)
    assert len(everywhere) > len(city) > 0
    licences, _, _ = index.search("", Filters(region=CITY, kind="01"), 10_000)
    assert licences and all(e.kind == "01" for e in licences)
    enterprise, _, _ = index.search("", Filters(region=CITY, audience="legal_person"), 10_000)
    assert enterprise and all("legal_person" in e.audiences for e in enterprise)


def test_keyset_pages_cover_every_result_once(index: SearchIndex) -> None:
    filters = Filters(region=CITY)
    everything, total, _ = index.search("", filters, 10_000)
    seen: list[str] = []
    after = None
    while True:
        page, _, after = index.search("", filters, 7, after)
        seen += [e.code for e in page]
        if after is None:
            break
    assert seen == [e.code for e in everything]
    assert len(seen) == total


def test_nonsense_finds_nothing(index: SearchIndex) -> None:
    assert names(index, "zzzzqqq") == []
    assert names(index, "火星移民") == []


def test_cursor_round_trip_and_garbage() -> None:
    key = (-950, -80, 6, "abc")
    assert decode_cursor(encode_cursor(key)) == key
    with pytest.raises(CursorError):
        decode_cursor("not-a-cursor")
