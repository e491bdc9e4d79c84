"""Excel import/export of the service catalog (one workbook, one sheet per kind of row).

Sheets: 部门, 窗口, 证照类型, 一件事, 事项 (one row per implementation), 问题, 情形, 材料, 流程 (an
item's declared flow steps; none = the default flow). Child rows name their parents by code
(``item``; materials also ``situation``) so administrators can sort and
filter freely; the document order is the row order. Headers read "中文名 field_name" and are matched
by the english name, so columns may be reordered, and optional columns may be deleted.

Cell conventions (chosen so that export → import is exact, see ``_Codec`` subclasses):

* text: as is; an empty cell is the empty string;
* integers and booleans: native Excel values (是/否, TRUE/FALSE, 1/0 are also accepted);
* lists of codes or words: one per line (JSON list when an entry is empty, has surrounding
  spaces or a line break, so nothing is lost);
* structured lists (process, places, options, faq …): a JSON list, one element per line;
* rules (rule, condition, ask_if): a JSON object; an empty cell means "always";
* an option of several fields (tolerated_missing): a JSON object; an empty cell is its default.

``read_workbook`` collects every problem (cell format, missing columns, duplicates, dangling
references, and then everything ``validate_document`` finds) and raises them together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import msgspec
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from api.catalog.document import (
    CatalogDocument,
    CertificateTypeDoc,
    DepartmentDoc,
    FlowStepDoc,
    ItemDoc,
    LifeEventDoc,
    MaterialDoc,
    QuestionDoc,
    SituationDoc,
    WindowDoc,
    validate_document,
)

Progress = Callable[[int, int], None]

_PROGRESS_EVERY = 500  # rows between progress callbacks: often enough for a bar, cheap enough


class RowProblem(msgspec.Struct, frozen=True):
    """One thing wrong with an imported workbook. ``row`` is the Excel row number (1 = header,
    0 = the sheet as a whole); ``column`` is the english field name of the column."""

    sheet: str
    row: int
    column: str
    message: str  # Chinese, self-contained: 第 12 行「事项类型」…


class CatalogImportError(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(format_report(problems))
        self.problems = problems


def format_report(problems: Sequence[RowProblem]) -> str:
    """A readable Chinese report, one line per problem, in workbook order."""
    lines = [f"导入失败，共发现 {len(problems)} 个问题：" if problems else "未发现问题。"]
    lines.extend(f"【{p.sheet}】{p.message}" if p.sheet else p.message for p in problems)
    return "\n".join(lines)


# --------------------------------------------------------------------------- cell codecs


class _CellError(Exception):
    """A cell whose content cannot be read; the message says what is expected."""


_MISSING: Any = msgspec.NODEFAULT  # "cell empty: use the field's default"


def _shown(raw: Any) -> str:
    text = str(raw)
    return text if len(text) <= 40 else text[:40] + "…"


class _Codec:
    width = 16

    def write(self, value: Any) -> Any:
        raise NotImplementedError

    def read(self, raw: Any) -> Any:
        raise NotImplementedError


class _Text(_Codec):
    def write(self, value: str) -> Any:
        return value or None

    def read(self, raw: Any) -> str:
        # Exact round trip needs "" for an empty cell even where the field default is not "".
        if raw is None:
            return ""
        if isinstance(raw, str):
            return raw
        if isinstance(raw, bool):
            return "TRUE" if raw else "FALSE"
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))  # Excel turned a code such as 511900000000 into a number
        if isinstance(raw, dt.datetime) and raw.time() == dt.time():
            return raw.date().isoformat()
        if isinstance(raw, dt.date | dt.time):
            return raw.isoformat()
        return str(raw)


class _Int(_Codec):
    width = 10

    def write(self, value: int) -> Any:
        return value

    def read(self, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return _MISSING
        if isinstance(raw, bool):
            raise _CellError(f"应为整数，实际为 “{_shown(raw)}”")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str) and re.fullmatch(r"[+-]?\d+", raw.strip()):
            return int(raw.strip())
        raise _CellError(f"应为整数，实际为 “{_shown(raw)}”")


class _OptionalInt(_Int):
    def write(self, value: int | None) -> Any:
        return value

    def read(self, raw: Any) -> Any:
        value = super().read(raw)
        return None if value is _MISSING else value


_TRUE = {"是", "true", "y", "yes", "1", "√", "✓"}
_FALSE = {"否", "false", "n", "no", "0", "×", "✗"}


class _Bool(_Codec):
    width = 10

    def write(self, value: bool) -> Any:
        return value

    def read(self, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return _MISSING
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            text = raw.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise _CellError(f"应为 是/否（或 TRUE/FALSE），实际为 “{_shown(raw)}”")


def _json_error(exc: Exception) -> str:
    return f"不是有效的 JSON（{exc}）"


class _Lines(_Codec):
    """list[str], one entry per line; a JSON list when lines could not carry it exactly."""

    width = 22

    def write(self, value: list[str]) -> Any:
        if not value:
            return None
        lossy = value[0].startswith("[") or any(
            not s or s != s.strip() or "\n" in s or "\r" in s for s in value
        )
        return msgspec.json.encode(value).decode() if lossy else "\n".join(value)

    def read(self, raw: Any) -> Any:
        if raw is None:
            return []
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return [_Text().read(raw)]
        if not isinstance(raw, str):
            raise _CellError(f"应为每行一项的文本，实际为 “{_shown(raw)}”")
        if raw.lstrip().startswith("["):
            try:
                return msgspec.json.decode(raw, type=list[str])
            except msgspec.MsgspecError as exc:
                raise _CellError(_json_error(exc)) from None
        return [s for s in (line.strip() for line in raw.split("\n")) if s]


class _JsonList(_Codec):
    """list[Struct] as a JSON list with one element per line, so each step/option is a line."""

    width = 48

    def __init__(self, type_: Any, example: str) -> None:
        self.type = type_
        self.example = example

    def write(self, value: list[Any]) -> Any:
        if not value:
            return None
        return "[\n" + ",\n".join(msgspec.json.encode(v).decode() for v in value) + "\n]"

    def read(self, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return []
        if not isinstance(raw, str):
            raise _CellError(f"应为 JSON 列表（如 {self.example}），实际为 “{_shown(raw)}”")
        try:
            return msgspec.json.decode(raw, type=self.type)
        except msgspec.MsgspecError as exc:
            raise _CellError(f"{_json_error(exc)}，应为 JSON 列表，如 {self.example}") from None


class _Rule(_Codec):
    """An answer rule: JSON object, empty cell = None (always holds). ``{}`` stays ``{}``."""

    width = 36

    def write(self, value: dict[str, Any] | None) -> Any:
        return None if value is None else msgspec.json.encode(value).decode()

    def read(self, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        example = '{"q": "问题编码", "eq": "选项值"}'
        if not isinstance(raw, str):
            raise _CellError(f"应为 JSON 对象（如 {example}），实际为 “{_shown(raw)}”")
        try:
            value = msgspec.json.decode(raw)
        except msgspec.MsgspecError as exc:
            raise _CellError(f"{_json_error(exc)}，应为 JSON 对象，如 {example}") from None
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _CellError(f"应为 JSON 对象（如 {example}），实际为 “{_shown(raw)}”")
        return value


class _Object(_Codec):
    """A struct of options as a JSON object; an empty cell is the struct's default (and the
    default is written as an empty cell)."""

    width = 36

    def __init__(self, type_: Any, example: str) -> None:
        self.type = type_
        self.example = example

    def write(self, value: Any) -> Any:
        return None if value == self.type() else msgspec.json.encode(value).decode()

    def read(self, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return self.type()
        if not isinstance(raw, str):
            raise _CellError(f"应为 JSON 对象（如 {self.example}），实际为 “{_shown(raw)}”")
        try:
            return msgspec.json.decode(raw, type=self.type)
        except msgspec.MsgspecError as exc:
            raise _CellError(f"{_json_error(exc)}，应为 JSON 对象，如 {self.example}") from None


class _AnyJson(_Codec):
    """Fallback for field types added to the document later: any JSON msgspec can decode."""

    width = 30

    def __init__(self, type_: Any) -> None:
        self.type = type_

    def write(self, value: Any) -> Any:
        return msgspec.json.encode(value).decode()

    def read(self, raw: Any) -> Any:
        if raw is None:
            return _MISSING
        try:
            return msgspec.json.decode(str(raw), type=self.type)
        except msgspec.MsgspecError as exc:
            raise _CellError(_json_error(exc)) from None


_EXAMPLES = {
    "process": '[{"name": "受理", "description": "…"}]',
    "places": '[{"name": "政务服务中心", "address": "…", "hours": "…"}]',
    "special_procedures": '[{"kind": "publicity", "name": "公示", "limit": 5, "counted": false}]',
    "tolerated_missing": '{"allowed": true, "materials": ["材料编码"], "deadline": 5}',
    "faq": '[{"question": "…", "answer": "…"}]',
    "options": '[{"value": "yes", "label": "是"}]',
}


def _codec_for(name: str, type_: Any) -> _Codec:
    if type_ is str:
        return _Text()
    if type_ is bool:
        return _Bool()
    if type_ is int:
        return _Int()
    args = get_args(type_)
    if type_ == int | None:
        return _OptionalInt()
    if get_origin(type_) is list and args == (str,):
        return _Lines()
    if get_origin(type_) is list and isinstance(args[0], type) and issubclass(args[0], msgspec.Struct):
        return _JsonList(type_, _EXAMPLES.get(name, "[{…}]"))
    if type(None) in args and any(get_origin(a) is dict for a in args):
        return _Rule()
    if isinstance(type_, type) and issubclass(type_, msgspec.Struct):
        return _Object(type_, _EXAMPLES.get(name, "{…}"))
    return _AnyJson(type_)


# --------------------------------------------------------------------------- sheet layout

LABELS: dict[str, str] = {
    # shared
    "code": "编码", "name": "名称", "short_name": "简称", "description": "说明", "phone": "电话",
    "address": "地址", "hours": "办公时间", "sort_order": "排序", "item": "事项实施编码",
    "situation": "情形编码",
    # 部门 / 窗口 / 证照类型 / 一件事
    "region_code": "行政区划代码", "level": "层级", "region_name": "行政区划名称", "parent": "上级部门编码",
    "uscc": "统一社会信用代码", "category": "窗口类别", "location": "位置", "issuer": "发证机关",
    "holder": "持证主体", "audience": "服务对象", "stage": "人生阶段", "icon": "图标",
    "items": "包含事项（基本编码）",
    # 事项
    "basic_code": "基本编码", "department": "实施部门", "kind": "事项类型", "audiences": "服务对象",
    "keywords": "关键词", "summary": "事项概述", "exercise_level": "行使层级",
    "implementer_nature": "实施主体性质", "legal_basis": "设定依据", "conditions": "受理条件",
    "process": "办理流程", "legal_limit": "法定时限", "legal_limit_unit": "法定时限单位",
    "legal_limit_note": "法定时限说明", "promised_limit": "承诺时限", "promised_limit_unit": "承诺时限单位",
    "promised_limit_note": "承诺时限说明", "case_type": "办件类型", "charges": "是否收费",
    "fee_standard": "收费标准", "fee_basis": "收费依据", "result_name": "审批结果名称",
    "result_certificate_type": "结果证照类型", "delivery_ways": "送达方式", "handling_forms": "办理形式",
    "places": "办理地点", "window": "受理窗口", "consult_phone": "咨询电话", "complaint_phone": "投诉电话",
    "online_depth": "网办深度", "trips": "到现场次数", "appointment": "支持预约",
    "online_payment": "网上支付", "quantity_limit": "数量限制", "intermediary_services": "中介服务",
    "special_procedures": "特别程序", "faq": "常见问题", "popularity": "热度",
    "tolerated_missing": "容缺受理", "joint_departments": "并联审批部门",
    # 问题 / 情形 / 材料
    "text": "问题", "datatype": "问题类型", "required": "必填", "help": "填写说明", "options": "选项",
    "ask_if": "提问条件", "rule": "适用条件", "original_count": "原件份数", "copy_count": "复印件份数",
    "condition": "提交条件", "electronic_accepted": "接受电子材料", "bring_original": "须带原件核验",
    "issuing_body": "出具单位", "source": "材料来源", "certificate_type": "证照类型",
    "template_url": "空白表格", "sample_url": "示例样表", "accepted_types": "可上传格式",
    "max_size_mb": "大小上限（MB）",
    # 流程
    "role": "办理角色", "owner": "承办窗口或部门", "limit": "环节时限（工作日）",
    # fields validate_document names that are whole child sheets, not columns
    "questions": "问题", "situations": "办理情形", "materials": "材料清单", "flow": "办理环节",
}
SHEET_LABELS: dict[str, dict[str, str]] = {  # where the shared label would be ambiguous
    "部门": {"code": "部门编码", "name": "部门名称"},
    "窗口": {"code": "窗口编码", "name": "窗口名称"},
    "证照类型": {"code": "证照类型编码", "name": "证照名称"},
    "一件事": {"code": "一件事编码", "name": "一件事名称"},
    "事项": {"code": "实施编码", "name": "事项名称"},
    "问题": {"code": "问题编码"},
    "情形": {"code": "情形编码", "name": "情形名称", "promised_limit": "情形承诺时限"},
    "材料": {"code": "材料编码", "name": "材料名称", "required": "必须提交"},
    "流程": {"code": "环节编码", "name": "环节名称"},
}
_WIDE = {"summary", "conditions", "legal_basis", "description", "text", "help", "fee_standard",
         "fee_basis", "legal_limit_note", "promised_limit_note", "address", "quantity_limit",
         "intermediary_services", "name", "result_name", "issuing_body", "location"}
_CHILDREN = {"questions", "situations", "materials", "flow"}  # fields that are sheets of their own


@dataclass(frozen=True)
class _Column:
    field: str
    label: str
    codec: _Codec
    default: Any  # _MISSING when the field is required
    key: bool  # part of the row's identity: must be non-empty
    width: float

    @property
    def header(self) -> str:
        return f"{self.label} {self.field}"

    @property
    def required(self) -> bool:
        return self.default is _MISSING


@dataclass(frozen=True)
class _Sheet:
    name: str
    attr: str  # CatalogDocument attribute / validate_document's "where" prefix
    struct: type[msgspec.Struct]
    parents: tuple[str, ...]  # link columns naming the parent rows
    columns: tuple[_Column, ...]

    def column(self, field: str) -> _Column | None:
        return next((c for c in self.columns if c.field == field), None)

    def label(self, field: str) -> str:
        column = self.column(field)
        return column.label if column else LABELS.get(field, field)


def _sheet(name: str, attr: str, struct: type[msgspec.Struct], parents: tuple[str, ...] = ()) -> _Sheet:
    labels = {**LABELS, **SHEET_LABELS.get(name, {})}

    def width(field: str, codec: _Codec) -> float:
        if field == "item" or (attr == "items" and field == "code"):
            base = 56  # implementation codes are ~55 characters
        elif field in _WIDE:
            base = 40
        else:
            base = codec.width
        header = f"{labels.get(field, field)} {field}"
        return max(base, sum(2 if ord(c) > 0x2E7F else 1 for c in header) + 2)  # CJK is double width

    columns = [_Column(p, labels[p], _Text(), _MISSING, True, width(p, _Text())) for p in parents]
    for f in msgspec.structs.fields(struct):
        if f.name in _CHILDREN:
            continue
        default = f.default if f.default_factory is msgspec.NODEFAULT else f.default_factory()
        codec = _codec_for(f.name, f.type)
        columns.append(_Column(f.name, labels.get(f.name, f.name), codec, default, f.name == "code",
                               width(f.name, codec)))
    return _Sheet(name, attr, struct, parents, tuple(columns))


SHEETS: tuple[_Sheet, ...] = (
    _sheet("部门", "departments", DepartmentDoc),
    _sheet("窗口", "windows", WindowDoc),
    _sheet("证照类型", "certificate_types", CertificateTypeDoc),
    _sheet("一件事", "life_events", LifeEventDoc),
    _sheet("事项", "items", ItemDoc),
    _sheet("问题", "questions", QuestionDoc, ("item",)),
    _sheet("情形", "situations", SituationDoc, ("item",)),
    _sheet("材料", "materials", MaterialDoc, ("item", "situation")),
    _sheet("流程", "flow", FlowStepDoc, ("item",)),
)
_BY_ATTR = {s.attr: s for s in SHEETS}

_README = (
    "本工作簿为服务事项目录的导入/导出格式。",
    "第一行为表头，格式为“中文名 字段名”，导入时按字段名识别，可调整列的顺序；非必需的列可以删除。",
    "“问题”“情形”“材料”“流程”表通过“事项实施编码”“情形编码”与“事项”表关联，行的先后顺序即目录中的顺序。",
    "“流程”表列出事项的办理环节（accept 受理 → initial_review 初审 → review 审查 → decide 决定 → deliver 送达），"
    "办理角色为 clerk / officer / approver，时限以工作日计；事项没有流程行时按默认流程办理。",
    "多项内容（服务对象、关键词、送达方式、办理形式、可上传格式、一件事包含的事项）每行填写一项。",
    "办理流程、办理地点、特别程序、常见问题、选项为 JSON 列表，每个元素占一行；容缺受理为 JSON 对象，留空表示不允许。",
    "适用条件、提交条件、提问条件为 JSON 对象，例如 {\"q\": \"agent\", \"eq\": \"yes\"}；留空表示无条件。",
    "是/否 列填写 TRUE/FALSE 或 是/否。导入时会一次性报告全部问题，全部修正后才会导入。",
)


# --------------------------------------------------------------------------- export


def _rows(doc: CatalogDocument, sheet: _Sheet) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(parent codes, struct) for every row of the sheet, in document order."""
    if sheet.attr == "questions":
        return (((i.code,), q) for i in doc.items for q in i.questions)
    if sheet.attr == "situations":
        return (((i.code,), s) for i in doc.items for s in i.situations)
    if sheet.attr == "flow":
        return (((i.code,), f) for i in doc.items for f in i.flow)
    if sheet.attr == "materials":
        return (((i.code, s.code), m) for i in doc.items for s in i.situations for m in s.materials)
    return (((), x) for x in getattr(doc, sheet.attr))


def _count(doc: CatalogDocument, sheet: _Sheet) -> int:
    if sheet.attr == "questions":
        return sum(len(i.questions) for i in doc.items)
    if sheet.attr == "situations":
        return sum(len(i.situations) for i in doc.items)
    if sheet.attr == "flow":
        return sum(len(i.flow) for i in doc.items)
    if sheet.attr == "materials":
        return sum(len(s.materials) for i in doc.items for s in i.situations)
    return len(getattr(doc, sheet.attr))


def export_workbook(doc: CatalogDocument, path: Path, progress: Progress | None = None) -> None:
    """Write the catalog as an .xlsx workbook (write-only mode: constant memory, fast)."""
    wb = Workbook(write_only=True)
    counts = {s.attr: _count(doc, s) for s in SHEETS}
    total, done = sum(counts.values()), 0
    bold = Font(bold=True)

    readme = wb.create_sheet("说明")
    readme.column_dimensions["A"].width = 110
    for line in _README:
        readme.append([line])

    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.name)
        ws.freeze_panes = "A2"
        # Write-only sheets carry no <dimension>; without it a read-only open parses the whole
        # sheet just to size it, and progress has no total. The writer asks for this method.
        ref = f"A1:{get_column_letter(len(sheet.columns))}{counts[sheet.attr] + 1}"
        ws.calculate_dimension = lambda ref=ref: ref
        for n, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[get_column_letter(n)].width = column.width
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(ws, column.header)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        writers = [(c.field, c.codec.write) for c in sheet.columns[len(sheet.parents):]]
        for row_number, (parents, obj) in enumerate(_rows(doc, sheet), start=2):
            values = [*parents, *(write(getattr(obj, field)) for field, write in writers)]
            ws.append([_safe(ws, v, sheet, row_number) for v in values])
            done += 1
            if progress and done % _PROGRESS_EVERY == 0:
                progress(done, total)
    wb.save(path)
    if progress:
        progress(total, total)


def _safe(ws: Any, value: Any, sheet: _Sheet, row: int) -> Any:
    if not isinstance(value, str):
        return value
    if value.startswith("=") and len(value) > 1:
        # Keep text such as "=见附件" a string: openpyxl would otherwise write it as a formula.
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"
        return cell
    if ILLEGAL_CHARACTERS_RE.search(value):
        raise ValueError(f"【{sheet.name}】第 {row} 行含有 Excel 无法保存的控制字符：{value[:40]!r}")
    return value


# --------------------------------------------------------------------------- import


@dataclass
class _Row:
    number: int
    parents: tuple[str, ...]
    code: str
    values: dict[str, Any]


class _Reader:
    def __init__(self, progress: Progress | None) -> None:
        self.problems: list[RowProblem] = []
        self.flagged: set[tuple[str, int, str]] = set()  # cells already reported
        self.missing_columns: set[tuple[str, str]] = set()
        self.broken: set[str] = set()  # sheets missing or without their key columns
        self.progress = progress
        self.done = 0
        self.total = 0

    def problem(self, sheet: _Sheet | str, row: int, column: str, message: str) -> None:
        name = sheet if isinstance(sheet, str) else sheet.name
        self.problems.append(RowProblem(name, row, column, message))
        self.flagged.add((name, row, column))

    def cell_problem(self, sheet: _Sheet, row: int, column: str, detail: str) -> None:
        self.problem(sheet, row, column, f"第 {row} 行「{sheet.label(column)}」{detail}")

    def tick(self) -> None:
        self.done += 1
        if self.progress and self.done % _PROGRESS_EVERY == 0:
            self.progress(self.done, max(self.total, self.done))

    def header(self, sheet: _Sheet, cells: Sequence[Any]) -> dict[int, _Column]:
        by_field = {c.field: c for c in sheet.columns}
        by_label = {c.label: c for c in sheet.columns}
        found: dict[int, _Column] = {}
        seen: dict[str, int] = {}
        for index, raw in enumerate(cells):
            text = "" if raw is None else str(raw).strip()
            if not text:
                continue
            token = text.split()[-1].lower()
            column = by_field.get(token) or by_label.get(text)
            letter = get_column_letter(index + 1)
            if column is None:
                self.problem(sheet, 1, text, f"第 1 行（表头）{letter} 列“{text}”无法识别，"
                             f"表头应为“中文名 字段名”，如“{sheet.columns[0].header}”")
                continue
            if column.field in seen:
                self.problem(sheet, 1, column.field, f"第 1 行（表头）{letter} 列「{column.label}」"
                             f"与 {get_column_letter(seen[column.field] + 1)} 列重复")
                continue
            seen[column.field] = index
            found[index] = column
        for column in sheet.columns:
            if column.field not in seen and (column.required or column.key):
                self.problem(sheet, 1, column.field,
                             f"缺少必需的列「{column.label}」（表头应为“{column.header}”）")
                self.missing_columns.add((sheet.name, column.field))
                if column.key:
                    self.broken.add(sheet.attr)
        return found

    def read_sheet(self, sheet: _Sheet, rows: Iterable[Sequence[Any]]) -> list[_Row]:
        iterator = iter(rows)
        first = next(iterator, None)
        columns = self.header(sheet, first or ())
        if sheet.attr in self.broken:
            return []
        out: list[_Row] = []
        for number, cells in enumerate(iterator, start=2):
            self.tick()
            if all(v is None for v in cells):
                continue  # blank rows in the middle or at the end are not data
            values: dict[str, Any] = {}
            for index, column in columns.items():
                raw = cells[index] if index < len(cells) else None
                try:
                    value = column.codec.read(raw)
                except _CellError as exc:
                    self.cell_problem(sheet, number, column.field, str(exc))
                    continue
                if value is not _MISSING:
                    values[column.field] = value
            empty_keys = [c for c in sheet.columns if c.key and not values.get(c.field)]
            for column in empty_keys:
                self.cell_problem(sheet, number, column.field, "不能为空")
            if not empty_keys:  # a row that cannot be named cannot be placed in the catalog
                parents = tuple(values.pop(p) for p in sheet.parents)
                out.append(_Row(number, parents, values["code"], values))
        return out

    def build(self, sheet: _Sheet, row: _Row) -> Any:
        kwargs = {}
        for column in sheet.columns[len(sheet.parents):]:
            if column.field in row.values:
                kwargs[column.field] = row.values[column.field]
            elif column.required:
                kwargs[column.field] = column.codec.read(None)  # placeholder; already reported
        return sheet.struct(**kwargs)

    def unique(self, sheet: _Sheet, rows: list[_Row]) -> list[_Row]:
        """Drop rows whose key repeats an earlier row, reporting each (validation would only
        report the key once, without the row)."""
        first: dict[tuple[str, ...], int] = {}
        kept: list[_Row] = []
        for row in rows:
            key = (*row.parents, row.code)
            if key in first:
                scope = "，".join(f"{sheet.label(p)} {v}" for p, v in zip(sheet.parents, row.parents, strict=True))
                self.cell_problem(sheet, row.number, "code", f"“{row.code}”重复{f'（{scope}）' if scope else ''}"
                                  f"：与第 {first[key]} 行相同，编码必须唯一")
                continue
            first[key] = row.number
            kept.append(row)
        return kept


def read_workbook(path: Path, progress: Progress | None = None, *, validate: bool = True) -> CatalogDocument:
    """Read a workbook written by ``export_workbook`` (possibly edited). All or nothing: raises
    ``CatalogImportError`` with every problem found, or returns a document that validates.
    ``validate=False`` skips ``validate_document`` (only the workbook's own form is checked), for
    callers that validate later or want to load a draft catalog."""
    reader = _Reader(progress)
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        # wb[name] builds a new worksheet object, which reads the sheet's dimension: do it once.
        sheets = {s.attr: wb[s.name] for s in SHEETS if s.name in wb.sheetnames}
        reader.total = sum(max((ws.max_row or 1) - 1, 0) for ws in sheets.values())
        rows: dict[str, list[_Row]] = {}
        for sheet in SHEETS:
            ws = sheets.get(sheet.attr)
            if ws is None:
                reader.problem(sheet, 0, "", f"缺少工作表「{sheet.name}」")
                reader.broken.add(sheet.attr)
                rows[sheet.attr] = []
                continue
            rows[sheet.attr] = reader.unique(sheet, reader.read_sheet(sheet, ws.iter_rows(values_only=True)))
    finally:
        wb.close()

    doc, locations = _assemble(reader, rows)
    if validate and not reader.broken:
        # With a sheet or key column missing, validation would only repeat the consequence
        # thousands of times; report the structural problem and the cell problems.
        _map_validation(reader, doc, locations)
    if progress:
        progress(reader.done, max(reader.total, reader.done))
    if reader.problems:
        order = {s.name: n for n, s in enumerate(SHEETS)}
        problems = sorted(reader.problems, key=lambda p: (order.get(p.sheet, -1), p.row))
        raise CatalogImportError(problems)
    return doc


Locations = dict[str, tuple[str, int]]  # validate_document's "where" → (sheet name, row)


def _assemble(reader: _Reader, rows: dict[str, list[_Row]]) -> tuple[CatalogDocument, Locations]:
    """Build the document in row order; ``locations`` maps validate_document's "where" to a row."""
    locations: Locations = {}
    top: dict[str, list[Any]] = {}
    for attr in ("departments", "windows", "certificate_types", "life_events", "items"):
        sheet = _BY_ATTR[attr]
        top[attr] = []
        for row in rows[attr]:
            obj = reader.build(sheet, row)
            if attr == "items":
                obj.questions, obj.situations, obj.flow = [], [], []
            top[attr].append(obj)
            locations[f"{attr}[{row.code}]"] = (sheet.name, row.number)
    items = {i.code: i for i in top["items"]}

    def parent_item(sheet: _Sheet, row: _Row) -> ItemDoc | None:
        item = items.get(row.parents[0])
        if item is None and "items" not in reader.broken:
            reader.cell_problem(sheet, row.number, "item",
                                f"指向的事项“{row.parents[0]}”在「事项」表中不存在")
        return item

    for attr in ("questions", "situations", "flow"):
        sheet = _BY_ATTR[attr]
        for row in rows[attr]:
            item = parent_item(sheet, row)
            if item is None:
                continue
            obj = reader.build(sheet, row)
            if attr == "situations":
                obj.materials = []
            getattr(item, attr).append(obj)
            locations[f"items[{item.code}]/{attr}[{row.code}]"] = (sheet.name, row.number)

    situations = {(i.code, s.code): s for i in top["items"] for s in i.situations}
    sheet = _BY_ATTR["materials"]
    for row in rows["materials"]:
        item = parent_item(sheet, row)
        if item is None:
            continue
        situation = situations.get((item.code, row.parents[1]))
        if situation is None:
            if "situations" not in reader.broken:
                reader.cell_problem(sheet, row.number, "situation", f"指向的情形“{row.parents[1]}”"
                                    f"在「情形」表中不存在（事项 {item.code}）")
            continue
        situation.materials.append(reader.build(sheet, row))
        locations[f"items[{item.code}]/situations[{situation.code}]/materials[{row.code}]"] = (
            sheet.name, row.number)
    return CatalogDocument(**top), locations


def _map_validation(reader: _Reader, doc: CatalogDocument, locations: Locations) -> None:
    by_name = {s.name: s for s in SHEETS}
    for p in validate_document(doc):
        name, row = locations.get(p.where, ("", 0))
        if (name, row, p.field) in reader.flagged or (name, p.field) in reader.missing_columns:
            continue  # the cell could not be read: its placeholder value is not the real problem
        if not name:
            reader.problem("", 0, p.field, f"{p.where} {p.field}：{p.message}")
            continue
        reader.cell_problem(by_name[name], row, p.field, f"：{p.message}")
