"""Excel import/export of the catalog: exact round trips, and every problem of an edited workbook
reported at its sheet, row and column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from api.catalog.demo import demo_document
from api.catalog.document import (
    CatalogDocument,
    CertificateTypeDoc,
    DepartmentDoc,
    FaqDoc,
    FlowStepDoc,
    ItemDoc,
    LifeEventDoc,
    MaterialDoc,
    OptionDoc,
    PlaceDoc,
    QuestionDoc,
    SituationDoc,
    SpecialProcedureDoc,
    StepDoc,
    WindowDoc,
    validate_document,
)
from api.catalog.excel import (
    SHEETS,
    CatalogImportError,
    RowProblem,
    export_workbook,
    format_report,
    read_workbook,
)

ITEM_A = "511A0001000000-511900000000-000-TEST-1-00"
ITEM_B = "511B0002000000-511900000000-000-TEST-1-00"


def edge_document() -> CatalogDocument:
    """A small valid catalog whose values are awkward for a spreadsheet."""
    yes_no = [OptionDoc(value="no", label="否"), OptionDoc(value="yes", label="是")]
    item_a = ItemDoc(
        code=ITEM_A, basic_code="511A0001000000", department="D1", name="建设工程=规划许可",
        kind="01", audiences=["legal_person", "natural_person"],
        keywords=["", " 前后空格 ", "两\n行", "[方括号]"],  # lines cannot carry these: JSON
        summary="第一行\n第二行\n\n第四行（含空行）", legal_basis="  leading and trailing  ",
        process=[StepDoc(name="受理"), StepDoc(name="审查", description="多行\n说明")],
        legal_limit=20, promised_limit=10, promised_limit_unit="natural_day", charges=True,
        fee_standard="=按面积计收", delivery_ways=["window", "electronic"], handling_forms=["1"],
        places=[PlaceDoc(name="大厅", address="", hours="9:00–17:00")], window="W1",
        consult_phone="0827-1234567", online_depth=3, trips=2, appointment=True,
        special_procedures=[SpecialProcedureDoc(kind="expert_review", name="专家评审", limit=15, counted=True,
                                                basis=""), SpecialProcedureDoc(kind="other", name="其他\n程序")],
        joint_departments=["D2"],
        faq=[FaqDoc(question="要多久？", answer="一般 10 个工作日。\n加急另议。")],
        popularity=2**40,
        questions=[
            QuestionDoc(code="area", text="建筑面积（平方米）", datatype="number", help="按图纸\n填写"),
            QuestionDoc(code="agent", text="是否委托代理？", options=yes_no),
            QuestionDoc(code="note", text="补充说明", datatype="text", required=False,
                        ask_if={"q": "agent", "eq": "yes"}),
        ],
        situations=[
            SituationDoc(
                code="large", name="大型项目", rule={"q": "area", "gte": 150.5}, promised_limit=0,
                materials=[
                    MaterialDoc(code="plan", name="设计图纸", original_count=2, copy_count=0,
                                condition={"all": [{"q": "agent", "eq": "yes"}, {"q": "area", "gt": 1000}]},
                                accepted_types=["application/pdf"], max_size_mb=200),
                    MaterialDoc(code="licence", name="营业执照", source="certificate",
                                certificate_type="business_license", electronic_accepted=False,
                                bring_original=True, required=False, accepted_types=[]),
                ],
            ),
            SituationDoc(
                code="small", name="一般项目", description="面积\n小于 150.5", rule=None, promised_limit=5,
                fee_standard="免费",
                materials=[MaterialDoc(code="form", name="申请表", template_url="https://example.org/a.docx")],
            ),
        ],
    )
    item_b = ItemDoc(
        code=ITEM_B, basic_code="511B0002000000", department="D2", name="证明开具", kind="20",
        audiences=["natural_person"], case_type="1", exercise_level="", implementer_nature="",
        flow=[FlowStepDoc(code="accept", role="clerk", owner="W1"),
              FlowStepDoc(code="decide", role="clerk", name="当场\n办结", limit=0)],
        situations=[SituationDoc(code="only", name="唯一情形", materials=[MaterialDoc(code="id", name="身份证")])],
    )
    return CatalogDocument(
        departments=[
            DepartmentDoc(code="D1", name="市自然资源局", region_code="511900000000", level="city",
                          uscc="11511900MB0010225X", phone="0827-1234567", sort_order=3),
            DepartmentDoc(code="D2", name="县民政局", region_code="511921000000", level="county", parent="D1"),
        ],
        windows=[WindowDoc(code="W1", name="综合窗口", category="social_affairs", hours="9:00\n14:00")],
        certificate_types=[CertificateTypeDoc(code="business_license", name="营业执照", holder="legal_person")],
        life_events=[
            LifeEventDoc(code="build", name="建房一件事", audience="legal_person",
                         items=["511A0001000000", "511B0002000000"]),
            LifeEventDoc(code="empty", name="空的一件事", audience="natural_person", description="尚无\n事项"),
        ],
        items=[item_a, item_b],
    )


def test_edge_document_is_valid() -> None:
    assert validate_document(edge_document()) == []


# --------------------------------------------------------------------------- helpers


def export(doc: CatalogDocument, tmp_path: Path, name: str = "catalog.xlsx") -> Path:
    path = tmp_path / name
    export_workbook(doc, path)
    return path


def column_of(ws: Worksheet, field: str) -> int:
    for cell in ws[1]:
        if cell.value and str(cell.value).split()[-1] == field:
            return cell.column
    raise AssertionError(f"no column {field} in {ws.title}")


def set_cell(ws: Worksheet, row: int, field: str, value: Any) -> None:
    ws.cell(row=row, column=column_of(ws, field)).value = value  # cell(value=None) would keep the old


def row_of(ws: Worksheet, **match: str) -> int:
    columns = {f: column_of(ws, f) for f in match}
    for row in range(2, ws.max_row + 1):
        if all(ws.cell(row=row, column=c).value == match[f] for f, c in columns.items()):
            return row
    raise AssertionError(f"no row {match} in {ws.title}")


def edit(path: Path, change: Callable[[Any], None]) -> None:
    wb = load_workbook(path)
    change(wb)
    wb.save(path)


def problems_of(path: Path) -> list[RowProblem]:
    with pytest.raises(CatalogImportError) as info:
        read_workbook(path)
    return info.value.problems


def where(problems: list[RowProblem]) -> set[tuple[str, int, str]]:
    return {(p.sheet, p.row, p.column) for p in problems}


# --------------------------------------------------------------------------- round trips


def test_demo_round_trip(tmp_path: Path) -> None:
    doc = demo_document()
    calls: list[tuple[int, int]] = []
    path = tmp_path / "demo.xlsx"
    export_workbook(doc, path, progress=lambda done, total: calls.append((done, total)))
    rows = len(doc.departments) + len(doc.windows) + len(doc.certificate_types) + len(doc.life_events) + sum(
        1 + len(i.questions) + len(i.situations) + sum(len(s.materials) for s in i.situations) + len(i.flow)
        for i in doc.items
    )
    assert calls[-1] == (rows, rows)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    read_calls: list[tuple[int, int]] = []
    assert read_workbook(path, lambda d, t: read_calls.append((d, t)), validate=False) == doc
    assert read_calls[-1] == (rows, rows)
    # The demo catalog is edited by others and is meant to validate; either way the import must
    # report exactly what validate_document finds, and return the document when it finds nothing.
    expected = validate_document(doc)
    if expected:
        assert len(problems_of(path)) == len(expected)
    else:
        assert read_workbook(path) == doc


def test_edge_document_round_trip(tmp_path: Path) -> None:
    doc = edge_document()
    assert read_workbook(export(doc, tmp_path)) == doc


def test_empty_rule_object_is_not_none(tmp_path: Path) -> None:
    doc = edge_document()
    doc.items[1].situations[0].rule = {}
    doc.items[1].situations[0].materials[0].condition = {}
    path = export(doc, tmp_path)
    back = read_workbook(path, validate=False)
    assert back == doc
    assert back.items[1].situations[0].rule == {}
    assert back.items[0].situations[1].rule is None
    # {} is not a valid rule: the import reports it where it is, in rule and condition cells.
    assert where(problems_of(path)) == {("情形", 4, "rule"), ("材料", 5, "condition")}


def test_empty_document_round_trip(tmp_path: Path) -> None:
    assert read_workbook(export(CatalogDocument(), tmp_path)) == CatalogDocument()


def test_workbook_layout(tmp_path: Path) -> None:
    wb = load_workbook(export(edge_document(), tmp_path))
    assert [s.name for s in SHEETS] == wb.sheetnames[1:]
    for sheet in SHEETS:
        ws = wb[sheet.name]
        assert ws.freeze_panes == "A2"
        assert all(c.value and c.font.bold for c in ws[1])
        assert all(ws.column_dimensions[c.column_letter].width >= 10 for c in ws[1])
    items = wb["事项"]
    assert items.cell(row=1, column=1).value == "实施编码 code"
    fee = items.cell(row=2, column=column_of(items, "fee_standard"))
    assert (fee.value, fee.data_type) == ("=按面积计收", "s")  # text, not a formula
    assert items.cell(row=2, column=column_of(items, "delivery_ways")).value == "window\nelectronic"
    assert items.cell(row=2, column=column_of(items, "charges")).value is True


def test_every_field_has_a_column_with_a_chinese_label() -> None:
    # Guards "nothing lost" when document.py grows a field: it gets a column (and needs a label).
    for sheet in SHEETS:
        children = {"questions", "situations", "materials", "flow"}  # sheets of their own
        fields = {f.name for f in msgspec.structs.fields(sheet.struct)} - children
        assert fields <= {c.field for c in sheet.columns}
        assert all(c.label != c.field for c in sheet.columns), sheet.name


def test_shuffled_headers_and_deleted_optional_column(tmp_path: Path) -> None:
    doc = edge_document()
    path = export(doc, tmp_path)

    def shuffle(wb: Any) -> None:
        for sheet in SHEETS:
            ws = wb[sheet.name]
            rows = [[(c.value, c.data_type) for c in r] for r in ws.iter_rows()]
            ws.delete_rows(1, ws.max_row)
            for n, r in enumerate(rows, start=1):
                for m, (value, data_type) in enumerate(reversed(r), start=1):  # reversed column order
                    cell = ws.cell(row=n, column=m)
                    cell.value = value
                    cell.data_type = data_type  # keeps "=按面积计收" text, as Excel would
        items = wb["事项"]
        items.delete_cols(column_of(items, "popularity"))

    edit(path, shuffle)
    assert column_of(load_workbook(path)["事项"], "code") != 1
    back = read_workbook(path)
    assert [i.popularity for i in back.items] == [0, 0]  # the field default
    for item in back.items:
        item.popularity = next(i.popularity for i in doc.items if i.code == item.code)
    assert back == doc


def test_administrator_style_values_are_accepted(tmp_path: Path) -> None:
    path = export(edge_document(), tmp_path)

    def retype(wb: Any) -> None:
        set_cell(wb["事项"], 2, "legal_limit", " 30 ")  # number typed as text
        set_cell(wb["事项"], 2, "charges", "否")
        set_cell(wb["事项"], 2, "delivery_ways", "window\r\n express \n\n")
        set_cell(wb["部门"], 2, "region_code", 511900000000)  # Excel turned the code into a number
        set_cell(wb["材料"], 2, "required", 0)
        set_cell(wb["情形"], 3, "promised_limit", None)

    edit(path, retype)
    back = read_workbook(path)
    item = back.items[0]
    assert (item.legal_limit, item.charges, item.delivery_ways) == (30, False, ["window", "express"])
    assert back.departments[0].region_code == "511900000000"
    assert item.situations[0].materials[0].required is False
    assert item.situations[1].promised_limit is None


# --------------------------------------------------------------------------- corrupt workbooks


def bad_kind(wb: Any) -> None:
    set_cell(wb["事项"], 2, "kind", "11")


def bad_limit(wb: Any) -> None:
    set_cell(wb["事项"], 3, "legal_limit", "十五天")


def broken_rule(wb: Any) -> None:
    set_cell(wb["情形"], 2, "rule", '{"q": "area", "gte": ')


def unknown_situation(wb: Any) -> None:
    set_cell(wb["材料"], 4, "situation", "medium")


def missing_column(wb: Any) -> None:
    ws = wb["问题"]
    ws.delete_cols(column_of(ws, "text"))


def duplicate_item(wb: Any) -> None:
    ws = wb["事项"]
    ws.append([c.value for c in ws[2]])


def bad_boolean(wb: Any) -> None:
    set_cell(wb["材料"], 2, "required", "也许")


def unknown_item(wb: Any) -> None:
    set_cell(wb["问题"], 3, "item", "511Z-no-such-item")


def bad_source(wb: Any) -> None:  # well-formed cell, caught by validate_document
    set_cell(wb["材料"], 3, "source", "cloud")


def unknown_header(wb: Any) -> None:
    wb["窗口"].cell(row=1, column=20, value="备注 remark")


Location = tuple[str, int, str]

# name: (edit, where the problem is reported, part of its message, true consequences elsewhere).
# A dropped row's consequences are reported too (they are true of the catalog as imported, and
# they vanish with the cause), but nothing about cells that could not be read.
CORRUPTIONS: dict[str, tuple[Callable[[Any], None], Location, str, set[Location]]] = {
    "kind": (bad_kind, ("事项", 2, "kind"), "第 2 行「事项类型」：事项类型代码无效：11（应为 01–10 或 20）", set()),
    "limit": (bad_limit, ("事项", 3, "legal_limit"), "第 3 行「法定时限」应为整数，实际为 “十五天”", set()),
    "rule": (broken_rule, ("情形", 2, "rule"), "不是有效的 JSON", set()),
    # the material was the only one of situation "small"
    "situation": (unknown_situation, ("材料", 4, "situation"), "情形“medium”在「情形」表中不存在",
                  {("情形", 3, "materials")}),
    "column": (missing_column, ("问题", 1, "text"), "缺少必需的列「问题」（表头应为“问题 text”）", set()),
    "duplicate": (duplicate_item, ("事项", 4, "code"), f"“{ITEM_A}”重复：与第 2 行相同", set()),
    "boolean": (bad_boolean, ("材料", 2, "required"), "应为 是/否（或 TRUE/FALSE），实际为 “也许”", set()),
    # question "agent" is lost, and an ask_if and a condition refer to it
    "item": (unknown_item, ("问题", 3, "item"), "事项“511Z-no-such-item”在「事项」表中不存在",
             {("问题", 4, "ask_if"), ("材料", 2, "condition")}),
    "source": (bad_source, ("材料", 3, "source"), "材料来源无效：cloud", set()),
    "header": (unknown_header, ("窗口", 1, "备注 remark"), "T 列“备注 remark”无法识别", set()),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_each_problem_is_located(tmp_path: Path, name: str) -> None:
    change, location, fragment, consequences = CORRUPTIONS[name]
    path = export(edge_document(), tmp_path)
    edit(path, change)
    problems = problems_of(path)
    assert where(problems) == {location, *consequences}
    assert fragment in next(p.message for p in problems if (p.sheet, p.row, p.column) == location)


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    path = export(edge_document(), tmp_path)

    def everything(wb: Any) -> None:
        for change, *_ in CORRUPTIONS.values():
            change(wb)

    edit(path, everything)
    with pytest.raises(CatalogImportError) as info:
        read_workbook(path)
    problems = info.value.problems
    expected = {loc for _, location, _, consequences in CORRUPTIONS.values() for loc in (location, *consequences)}
    assert where(problems) == expected
    assert len(problems) == len(expected)
    order = [s.name for s in SHEETS]
    assert problems == sorted(problems, key=lambda p: (order.index(p.sheet), p.row))
    report = format_report(problems)
    assert report.splitlines()[0] == f"导入失败，共发现 {len(expected)} 个问题："
    assert len(report.splitlines()) == len(expected) + 1
    assert "【事项】第 3 行「法定时限」应为整数，实际为 “十五天”" in report.splitlines()
    assert str(info.value) == report


def test_missing_sheet_is_reported_without_a_flood(tmp_path: Path) -> None:
    path = export(edge_document(), tmp_path)
    edit(path, lambda wb: wb.remove(wb["情形"]))
    # Every material now points at a situation that is not there, but the cause is one sheet.
    assert problems_of(path) == [RowProblem("情形", 0, "", "缺少工作表「情形」")]


def test_validation_problems_map_to_rows(tmp_path: Path) -> None:
    doc = edge_document()
    doc.items[1].department = "NOPE"
    doc.items[0].situations[0].materials[1].certificate_type = "passport"
    doc.items[0].questions[1].options = doc.items[0].questions[1].options[:1]
    doc.life_events[0].items.append("511X")
    path = export(doc, tmp_path)
    problems = problems_of(path)
    assert where(problems) == {
        ("一件事", 2, "items"),
        ("事项", 3, "department"),
        ("问题", 3, "options"),
        ("材料", 3, "certificate_type"),
    }
    assert len(problems) == len(validate_document(doc))


def test_round_trip_is_deterministic(tmp_path: Path) -> None:
    # Exporting what was imported gives the same cells: nothing drifts across edit cycles.
    first = export(edge_document(), tmp_path, "a.xlsx")
    second = export(read_workbook(first), tmp_path, "b.xlsx")

    def cells(path: Path) -> list[list[Any]]:
        wb = load_workbook(path)
        return [list(r) for s in SHEETS for r in wb[s.name].iter_rows(values_only=True)]

    assert cells(first) == cells(second)
    assert read_workbook(second) == edge_document()


def test_child_keys_must_be_present_and_unique(tmp_path: Path) -> None:
    path = export(edge_document(), tmp_path)

    def change(wb: Any) -> None:
        ws = wb["材料"]
        ws.append([c.value for c in ws[2]])  # row 6 repeats material "plan" of situation "large"
        set_cell(ws, 3, "code", None)

    edit(path, change)
    problems = problems_of(path)
    assert where(problems) == {("材料", 3, "code"), ("材料", 6, "code")}
    by_row = {p.row: p.message for p in problems}
    assert by_row[3] == "第 3 行「材料编码」不能为空"
    assert by_row[6] == (f"第 6 行「材料编码」“plan”重复（事项实施编码 {ITEM_A}，情形编码 large）"
                         "：与第 2 行相同，编码必须唯一")


def test_blank_rows_and_chinese_only_headers(tmp_path: Path) -> None:
    path = export(edge_document(), tmp_path)

    def change(wb: Any) -> None:
        ws = wb["部门"]
        ws.insert_rows(3, amount=2)  # blank rows between the two departments
        ws.cell(row=1, column=column_of(ws, "name")).value = "部门名称"  # label without field name

    edit(path, change)
    assert read_workbook(path) == edge_document()


def test_flow_rows_and_options_are_located(tmp_path: Path) -> None:
    path = export(edge_document(), tmp_path)

    def change(wb: Any) -> None:
        flow = wb["流程"]
        set_cell(flow, row_of(flow, code="decide"), "role", "approver")  # fine: 即办件 may use an approver
        set_cell(flow, row_of(flow, code="accept"), "role", "officer")
        set_cell(flow, row_of(flow, code="accept"), "owner", "W9")
        flow.append([ITEM_B, "review", "officer", "", "", 1])  # review after decide
        items = wb["事项"]
        set_cell(items, row_of(items, code=ITEM_A), "tolerated_missing", "{允许}")
        set_cell(items, row_of(items, code=ITEM_B), "joint_departments", "D9")

    edit(path, change)
    problems = problems_of(path)
    assert where(problems) == {
        ("流程", 2, "role"), ("流程", 2, "owner"), ("流程", 4, "code"),
        ("事项", 2, "tolerated_missing"), ("事项", 3, "joint_departments"), ("事项", 3, "flow"),
    }
    report = format_report(problems)
    assert "【流程】第 2 行「办理角色」：「受理」环节只能由窗口人员（clerk）办理，不能是 officer" in report
    assert "【流程】第 2 行「承办窗口或部门」：承办部门不存在：W9" in report  # an officer's owner is a department
    assert "【事项】第 3 行「并联审批部门」：并联审批部门不存在：D9" in report
    # item B's limit is 0: the new review day is one too many
    assert "【事项】第 3 行「办理环节」：各环节时限合计 1 个工作日，超过承诺时限 0 个工作日" in report


def test_flow_sheet_layout(tmp_path: Path) -> None:
    wb = load_workbook(export(edge_document(), tmp_path))
    flow = wb["流程"]
    assert [c.value for c in flow[1]] == [
        "事项实施编码 item", "环节编码 code", "办理角色 role", "环节名称 name", "承办窗口或部门 owner",
        "环节时限（工作日） limit"]
    assert [c.value for c in flow[2]] == [ITEM_B, "accept", "clerk", None, "W1", 0]
    items = wb["事项"]
    # An option left at its default is an empty cell; the joint departments one a line.
    assert items.cell(row=2, column=column_of(items, "tolerated_missing")).value is None
    assert items.cell(row=2, column=column_of(items, "joint_departments")).value == "D2"
