"""Flows as data (办理流程): the default flow, the validation of declared flows, special procedures,
容缺受理 and 并联审批 departments. Pure: documents only, no database (the API side is in
tests/test_catalog_flow_admin.py)."""

from __future__ import annotations

import msgspec
import pytest

from api.catalog.demo import demo_document
from api.catalog.document import (
    CatalogDocument,
    CertificateTypeDoc,
    DepartmentDoc,
    ItemDoc,
    MaterialDoc,
    SituationDoc,
    SpecialProcedureDoc,
    ToleratedMissingDoc,
    WindowDoc,
    validate_document,
    validate_item,
)
from api.catalog.flows import FlowStepDoc, default_flow, flow_of, working_day_budget

CODE = "511A0009000000-511900000000-000-FLOWTEST-1-00"


def item(**changes: object) -> ItemDoc:
    base = ItemDoc(
        code=CODE, basic_code="511A0009000000", department="D1", name="流程测试事项", kind="01",
        audiences=["legal_person"], promised_limit=10, legal_limit=20, window="W1",
        situations=[
            SituationDoc(code="only", name="唯一情形", materials=[
                MaterialDoc(code="form", name="申请表"),
                MaterialDoc(code="plan", name="设计方案"),
                MaterialDoc(code="extra", name="补充说明", required=False),
                MaterialDoc(code="licence", name="营业执照", source="certificate", certificate_type="bl"),
            ]),
        ],
    )
    return msgspec.structs.replace(base, **changes)


def steps(*spec: tuple[str, str, int]) -> list[FlowStepDoc]:
    return [FlowStepDoc(code=c, role=r, limit=n) for c, r, n in spec]


GOOD = steps(("accept", "clerk", 1), ("initial_review", "officer", 2), ("review", "officer", 4),
             ("decide", "approver", 2), ("deliver", "clerk", 1))


def catalog(*items: ItemDoc) -> CatalogDocument:
    return CatalogDocument(
        departments=[DepartmentDoc(code=c, name=f"部门{c}", region_code="511900000000", level="city")
                     for c in ("D1", "D2", "D3")],
        windows=[WindowDoc(code="W1", name="综合窗口", category="engineering_construction")],
        certificate_types=[CertificateTypeDoc(code="bl", name="营业执照", holder="legal_person")],
        items=list(items),
    )


def messages(doc: ItemDoc) -> list[tuple[str, str, str]]:
    return [(p.where, p.field, p.message) for p in validate_document(catalog(doc))]


# --------------------------------------------------------------------------- the default flow


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 10, 20, 90])
def test_the_default_flow_fits_the_promised_limit(limit: int) -> None:
    doc = item(promised_limit=limit, legal_limit=limit)
    flow = flow_of(doc)
    assert [(s.code, s.role) for s in flow] == [
        ("accept", "clerk"), ("review", "officer"), ("decide", "approver"), ("deliver", "clerk")]
    assert [s.name for s in flow] == ["受理", "审查", "决定", "送达"]
    assert [s.owner for s in flow] == ["W1", "D1", "D1", "W1"]  # the item's window and its department
    assert sum(s.limit for s in flow) == limit
    assert validate_item(msgspec.structs.replace(doc, flow=flow)) == []  # the default passes its own rules


def test_the_default_flow_gives_the_window_a_day_each_when_there_is_time() -> None:
    assert [s.limit for s in flow_of(item(promised_limit=10))] == [1, 6, 2, 1]
    assert [s.limit for s in flow_of(item(promised_limit=3, legal_limit=3))] == [1, 1, 1, 0]


def test_an_on_the_spot_item_is_accepted_and_decided_at_the_window_the_same_day() -> None:
    flow = flow_of(item(case_type="1", promised_limit=1))
    assert [(s.code, s.role, s.owner, s.limit) for s in flow] == [
        ("accept", "clerk", "W1", 0), ("decide", "clerk", "W1", 0)]


def test_natural_days_are_held_to_five_working_days_in_seven() -> None:
    assert working_day_budget(30, "natural_day") == 21
    assert working_day_budget(30, "working_day") == 30
    assert sum(s.limit for s in flow_of(item(promised_limit=30, legal_limit=30,
                                             promised_limit_unit="natural_day"))) == 21


def test_a_situation_with_its_own_limit_gets_a_default_flow_of_that_limit() -> None:
    doc = item(situations=[*item().situations, SituationDoc(
        code="urgent", name="加急", promised_limit=2, materials=[MaterialDoc(code="form", name="申请表")])])
    assert sum(s.limit for s in flow_of(doc, "urgent")) == 2
    assert sum(s.limit for s in flow_of(doc, "only")) == 10
    assert sum(s.limit for s in flow_of(doc)) == 10


def test_a_declared_flow_is_returned_with_names_and_owners_filled_in() -> None:
    doc = item(flow=[FlowStepDoc(code="accept", role="clerk", limit=1),
                     FlowStepDoc(code="review", role="officer", owner="D2", name="技术审查", limit=5),
                     FlowStepDoc(code="decide", role="approver", limit=2)])
    assert [(s.name, s.owner) for s in flow_of(doc)] == [("受理", "W1"), ("技术审查", "D2"), ("决定", "D1")]
    assert doc.flow[0].owner == ""  # the document keeps what was declared
    assert default_flow(doc) != flow_of(doc)


# --------------------------------------------------------------------------- validation of a declared flow


def test_a_good_flow_passes() -> None:
    assert messages(item(flow=GOOD)) == []


def test_a_flow_longer_than_the_promised_limit_is_refused() -> None:
    long = [msgspec.structs.replace(s, limit=s.limit + 1) if s.code == "review" else s for s in GOOD]
    assert messages(item(flow=long)) == [
        (f"items[{CODE}]", "flow", "各环节时限合计 11 个工作日，超过承诺时限 10 个工作日")]


def test_a_flow_longer_than_a_situations_own_limit_is_refused() -> None:
    doc = item(flow=GOOD, situations=[msgspec.structs.replace(item().situations[0], promised_limit=8)])
    assert messages(doc) == [
        (f"items[{CODE}]", "flow", "各环节时限合计 10 个工作日，超过情形「唯一情形」的承诺时限 8 个工作日")]


def test_natural_days_name_the_working_days_they_hold() -> None:
    doc = item(flow=GOOD, promised_limit=10, promised_limit_unit="natural_day")
    assert messages(doc) == [(f"items[{CODE}]", "flow", "各环节时限合计 10 个工作日，超过承诺时限 10 个自然日"
                                                        "（按每 7 个自然日 5 个工作日计，可用 7 个工作日）")]


def test_steps_out_of_order_are_refused_where_they_stand() -> None:
    swapped = [GOOD[0], GOOD[3], GOOD[2], GOOD[4]]  # decide before review
    order = "环节应按 受理 → 初审 → 审查 → 决定 → 送达 排列，每个环节至多出现一次"
    assert (f"items[{CODE}]/flow[review]", "code", f"第 3 个环节「审查」的顺序不对：{order}") in messages(
        item(flow=swapped))
    assert messages(item(flow=GOOD[1:]))[0] == (f"items[{CODE}]", "flow", "流程必须从「受理」环节开始")
    assert (f"items[{CODE}]", "flow", "流程必须包含「决定」环节") in messages(item(flow=GOOD[:3]))
    assert (f"items[{CODE}]", "flow", "承诺件（或有初审的流程）必须包含「审查」环节") in messages(
        item(flow=[GOOD[0], GOOD[3]]))
    assert messages(item(flow=[*GOOD[:2], GOOD[1], *GOOD[2:4]]))[0][2].startswith("第 3 个环节「初审」的顺序不对")
    assert messages(item(flow=[*GOOD[:1], FlowStepDoc(code="approve", role="approver"), *GOOD[3:]])) == [
        (f"items[{CODE}]/flow[approve]", "code",
         "未知的环节：approve（应为 accept / initial_review / review / decide / deliver）"),
        (f"items[{CODE}]", "flow", "承诺件（或有初审的流程）必须包含「审查」环节"),
    ]


def test_roles_must_fit_the_step() -> None:
    wrong = [msgspec.structs.replace(GOOD[0], role="officer"), *GOOD[1:3],
             msgspec.structs.replace(GOOD[3], role="clerk"), msgspec.structs.replace(GOOD[4], role="approver")]
    assert messages(item(flow=wrong)) == [
        (f"items[{CODE}]/flow[accept]", "role", "「受理」环节只能由窗口人员（clerk）办理，不能是 officer"),
        (f"items[{CODE}]/flow[decide]", "role", "「决定」环节只能由审批人员（approver）办理，不能是 clerk"),
        (f"items[{CODE}]/flow[deliver]", "role",
         "「送达」环节只能由窗口人员（clerk）或承办人员（officer）办理，不能是 approver"),
    ]
    # An on-the-spot item (即办件) is decided by the clerk at the window.
    on_the_spot = item(case_type="1", promised_limit=1, flow=steps(("accept", "clerk", 0), ("decide", "clerk", 1)))
    assert messages(on_the_spot) == []


def test_owners_must_exist() -> None:
    flow = [msgspec.structs.replace(GOOD[0], owner="W9"), msgspec.structs.replace(GOOD[1], owner="D2"),
            msgspec.structs.replace(GOOD[2], owner="NOSUCH"), *GOOD[3:]]
    assert messages(item(flow=flow)) == [
        (f"items[{CODE}]/flow[accept]", "owner", "承办窗口不存在：W9"),
        (f"items[{CODE}]/flow[review]", "owner", "承办部门不存在：NOSUCH"),
    ]


def test_a_negative_step_limit_is_refused() -> None:
    flow = [*GOOD[:4], msgspec.structs.replace(GOOD[4], limit=-1)]
    assert (f"items[{CODE}]/flow[deliver]", "limit", "环节时限不能为负数") in messages(item(flow=flow))


# --------------------------------------------------------------------------- special procedures, 容缺, 并联


def test_special_procedures_have_a_known_kind_and_other_has_a_name() -> None:
    doc = item(special_procedures=[
        SpecialProcedureDoc(kind="site_survey", limit=2, counted=True),
        SpecialProcedureDoc(kind="other"),
        SpecialProcedureDoc(kind="lottery", name="抽签", limit=-1),
    ])
    assert messages(doc) == [
        (f"items[{CODE}]/special_procedures[2]", "name", "种类为「其他」的特别程序必须填写名称"),
        (f"items[{CODE}]/special_procedures[3]", "kind",
         "特别程序种类无效：lottery（应为 extension / site_survey / expert_review / hearing / inspection / "
         "publicity / other）"),
        (f"items[{CODE}]/special_procedures[3]", "limit", "特别程序时限不能为负数"),
    ]


def test_tolerated_missing_materials() -> None:
    ok = ToleratedMissingDoc(allowed=True, materials=["plan"], deadline=5)
    assert messages(item(tolerated_missing=ok)) == []
    where = f"items[{CODE}]"
    bad = ToleratedMissingDoc(allowed=True, materials=["plan", "nope", "extra", "licence"], deadline=11)
    assert messages(item(tolerated_missing=bad)) == [
        (where, "tolerated_missing", "容缺材料不在任何情形的材料清单中：nope"),
        (where, "tolerated_missing", "材料 extra 并非必须提交的材料，无需容缺"),
        (where, "tolerated_missing", "材料 licence 可通过电子证照获取，无需容缺"),
        (where, "tolerated_missing", "容缺补正时限（11 个工作日）不能超过承诺时限（可用 10 个工作日）"),
    ]
    everything = ToleratedMissingDoc(allowed=True, materials=["form", "plan"], deadline=0)
    applicant_only = [SituationDoc(code="only", name="唯一情形", materials=item().situations[0].materials[:3])]
    assert messages(item(tolerated_missing=everything, situations=applicant_only)) == [
        (f"{where}/situations[only]", "tolerated_missing",
         "情形「唯一情形」的必须提交材料全部列为容缺：主要材料齐全才能容缺受理"),
        (where, "tolerated_missing", "容缺补正时限至少为 1 个工作日"),
    ]
    assert messages(item(tolerated_missing=ToleratedMissingDoc(allowed=True))) == [
        (where, "tolerated_missing", "允许容缺受理时必须列出可容缺的材料"),
        (where, "tolerated_missing", "容缺补正时限至少为 1 个工作日"),
    ]
    assert messages(item(tolerated_missing=ToleratedMissingDoc(materials=["plan"]))) == [
        (where, "tolerated_missing", "未允许容缺受理，不应填写容缺材料或补正时限")]


def test_joint_departments_exist_and_are_other_departments() -> None:
    assert messages(item(joint_departments=["D2", "D3"])) == []
    where = f"items[{CODE}]"
    assert messages(item(joint_departments=["D2", "D2", "D1", "D9"])) == [
        (where, "joint_departments", "并联审批部门不存在：D9"),
        (where, "joint_departments", "并联审批部门重复"),
        (where, "joint_departments", "并联审批部门不能包含实施部门本身"),
    ]


# --------------------------------------------------------------------------- the demo catalog


def test_the_demo_catalog_is_valid_and_has_explicit_and_joint_flows() -> None:
    demo = demo_document()
    assert validate_document(demo) == []
    declared = [i for i in demo.items if i.flow]
    joint = [i for i in demo.items if i.joint_departments]
    assert declared and joint and any(i.tolerated_missing.allowed for i in demo.items)
    assert {i.window for i in joint if i.window} == {"W12"}  # 工程建设 window
    for i in demo.items:
        assert sum(s.limit for s in flow_of(i)) <= working_day_budget(i.promised_limit, i.promised_limit_unit)
    for p in (p for i in demo.items for p in i.special_procedures):
        assert p.kind == "other" or p.name  # every demo procedure keeps its own name


def test_flows_round_trip_through_json() -> None:
    demo = demo_document()
    assert msgspec.json.decode(msgspec.json.encode(demo), type=CatalogDocument) == demo
