"""The written vouchers (文书) of 行政许可法 §32 and §38, as PDFs: data in, bytes out. Pure-ish: no ORM, no
HTTP (it reads the font files and draws the QR code).

One typed input per kind, each carrying what the statute asks of it:

==============  ======================  ==========================================================
kind            document                required content
==============  ======================  ==========================================================
acceptance      受理通知书              dated; the promised date when there is one (§32 ⑤, §42)
refusal         不予受理决定书          reasons; the competent body when it is not ours (§32 ②);
                                        the rights to 行政复议 (60 days) and 行政诉讼 (6 months)
correction      补正材料通知书          every material and what is wrong with it, at once (§32 ④)
approval        准予行政许可决定书      dated; the licence issued within 10 days (§38, §44)
denial          不予行政许可决定书      reasons and the appeal rights (§38 ②)
==============  ======================  ==========================================================

Every voucher carries the case number, the issuing body, the date (China's calendar day) and a
QR code of the case's tracking link. ``render(voucher)`` gives the PDF; ``voucher_for(kind, case, …)``
builds the input from a case; ``sample(kind)`` is demo data (``zhengwu voucher-sample``).

The typeface is Noto Serif CJK SC (思源宋体, SIL OFL 1.1) from Debian's ``fonts-noto-cjk``, embedded as a
subset: a 宋体-like face, as Chinese official documents use, that covers GB 18030's common characters
(rare characters in names included), which the smaller GB2312-only Song fonts do not.

Rendering takes about a second of CPU (the font is parsed and subset): call it in a worker thread,
not on the event loop, and keep the bytes (the same voucher gives the same bytes).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import msgspec

from api.core.errors import Conflict, RuleViolation
from api.core.qr import qr_png
from api.workflow.deadlines import CHINA, china_day

__all__ = [
    "KINDS",
    "TITLES",
    "AcceptanceNotice",
    "ApprovalDecision",
    "CaseLike",
    "CorrectionNotice",
    "DenialDecision",
    "FontMissing",
    "MaterialProblem",
    "RefusalDecision",
    "Voucher",
    "filename",
    "render",
    "sample",
    "voucher_for",
]


# --------------------------------------------------------------------------- inputs


class MaterialProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a correction notice: the material, and what is wrong with it / what to bring."""

    name: str
    problem: str


class _Voucher(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    case_number: str  # 办件编号
    item_name: str  # 事项名称
    #: Printed as given: the full name on a document handed to the applicant; a masked one
    #: (``api.identity.ids.mask_name``) where others may see the PDF.
    applicant: str
    issuer: str  # the issuing body (落款), e.g. 某市市场监督管理局
    issued_on: dt.date  # China's calendar day of the decision
    received_on: dt.date  # the day the application was received
    tracking_url: str  # encoded in the QR code
    window: str = ""  # the department / window that handled it, e.g. 政务服务中心 12 号窗口
    document_number: str = ""  # 文书编号 (GB/T 39046 T6 受理文书编号), printed under the title when set
    contact: str = ""  # 联系电话 or address, printed when set


class AcceptanceNotice(_Voucher, frozen=True, kw_only=True, tag="acceptance"):
    promised_date: dt.date | None = None  # 承诺办结日期
    # 容缺受理: the secondary materials the applicant promised to make up, and by when.
    owed: tuple[str, ...] = ()
    makeup_due: dt.date | None = None


class RefusalDecision(_Voucher, frozen=True, kw_only=True, tag="refusal"):
    reasons: tuple[str, ...]
    competent_body: str = ""  # the body to apply to when the matter is not ours (§32 ②)
    review_body: str = ""  # 行政复议机关 (default: 有管辖权的行政复议机关)
    court: str = ""  # 人民法院 (default: 有管辖权的人民法院)

    def __post_init__(self) -> None:
        _require_reasons(self.reasons, "不予受理决定书")


class CorrectionNotice(_Voucher, frozen=True, kw_only=True, tag="correction"):
    materials: tuple[MaterialProblem, ...]
    deadline: dt.date | None = None  # 补正期限

    def __post_init__(self) -> None:
        if not self.materials:
            raise RuleViolation("补正材料通知书必须列明需要补正的全部材料",
                                "a correction notice lists its materials", "materials")
        blank = [m.name or str(i) for i, m in enumerate(self.materials, 1)
                 if not (m.name.strip() and m.problem.strip())]
        if blank:
            raise RuleViolation("每项需补正的材料都要写明材料名称和存在的问题",
                                "every material needs a name and a problem", "materials", problems=blank)


class ApprovalDecision(_Voucher, frozen=True, kw_only=True, tag="approval"):
    accepted_on: dt.date | None = None  # 受理日期
    result_name: str = ""  # 结果名称 (the licence), e.g. 食品经营许可证
    licence_number: str = ""  # 证书编号
    valid_until: dt.date | None = None
    delivery: str = ""  # how the licence reaches the applicant, e.g. 窗口领取 / 邮寄送达


class DenialDecision(_Voucher, frozen=True, kw_only=True, tag="denial"):
    reasons: tuple[str, ...]
    accepted_on: dt.date | None = None
    review_body: str = ""
    court: str = ""

    def __post_init__(self) -> None:
        _require_reasons(self.reasons, "不予行政许可决定书")


def _require_reasons(reasons: Sequence[str], title: str) -> None:
    # 行政许可法 §38 ②; DESIGN §5 counts "a refusal without a reason" as an irregularity.
    if not [r for r in reasons if r.strip()]:
        raise RuleViolation(f"{title}必须说明理由", "a refusal or denial states its reasons", "reasons")


Voucher = AcceptanceNotice | RefusalDecision | CorrectionNotice | ApprovalDecision | DenialDecision

_TYPES: dict[str, type[_Voucher]] = {
    "acceptance": AcceptanceNotice,
    "refusal": RefusalDecision,
    "correction": CorrectionNotice,
    "approval": ApprovalDecision,
    "denial": DenialDecision,
}
KINDS = tuple(_TYPES)
TITLES = {
    "acceptance": "受理通知书",
    "refusal": "不予受理决定书",
    "correction": "补正材料通知书",
    "approval": "准予行政许可决定书",
    "denial": "不予行政许可决定书",
}


def _kind(voucher: _Voucher) -> str:
    return type(voucher).__struct_config__.tag  # type: ignore[return-value]


def filename(voucher: Voucher) -> str:
    """受理通知书-330102202612040000001.pdf (for Content-Disposition)."""
    return f"{TITLES[_kind(voucher)]}-{voucher.case_number}.pdf"


# --------------------------------------------------------------------------- from a case


class CaseLike(Protocol):
    """What ``voucher_for`` reads of a case (``api.cases.models.Case`` has it; no ORM import here)."""

    number: str | None
    item_name: str
    submitted_at: dt.datetime | None


def voucher_for(
    kind: str, case: CaseLike, *, applicant: str, issuer: str, tracking_url: str, issued_at: dt.datetime,
    **details: Any,
) -> Voucher:
    """The voucher of ``kind`` for a submitted case.

    ``applicant``: the name to print (citizen's real name, or the enterprise's name); ``issuer``: the
    implementing body; ``tracking_url``: the case's tracking link with its query code (the receipt's);
    ``issued_at``: the moment of the decision (its China day is printed). ``details`` are the kind's
    own fields: ``window``, ``document_number``, ``contact`` for all; ``promised_date`` (acceptance);
    ``reasons``, ``competent_body``, ``review_body``, ``court`` (refusal, denial); ``materials`` as
    ``MaterialProblem``s and ``deadline`` (correction); ``accepted_on`` (approval, denial);
    ``result_name``, ``licence_number``, ``valid_until``, ``delivery`` (approval). A voucher is a
    tagged msgspec struct (``kind``): it can be queued as JSON and decoded with ``type=Voucher``.
    Example, in the workflow service::

        voucher = vouchers.voucher_for(
            "correction", case, applicant=citizen.name, issuer=item.implementing_body,
            tracking_url=tracking_url, issued_at=event.at, window="政务服务中心 12 号窗口",
            materials=[vouchers.MaterialProblem(name=m.name, problem=note) for m, note in problems],
            deadline=deadlines.due_date(event.at, 5, "working_day"))
        pdf = await anyio.to_thread.run_sync(vouchers.render, voucher)
    """
    if kind not in _TYPES:
        raise ValueError(f"unknown voucher kind {kind!r}; one of {', '.join(KINDS)}")
    if case.number is None or case.submitted_at is None:
        raise Conflict("草稿尚未提交，没有文书", "a draft has no vouchers", "case")
    for key in ("reasons", "materials"):
        if key in details:
            details[key] = tuple(details[key])
    voucher = _TYPES[kind](
        case_number=case.number, item_name=case.item_name, applicant=applicant, issuer=issuer,
        issued_on=china_day(issued_at), received_on=china_day(case.submitted_at), tracking_url=tracking_url,
        **details,
    )
    return voucher  # type: ignore[return-value]


# --------------------------------------------------------------------------- the font


class FontMissing(RuntimeError):
    """The CJK font is not installed (it comes from Debian's fonts-noto-cjk)."""


#: Where distributions put Noto Serif CJK (Debian/Ubuntu first: the Dockerfile and `make install`).
FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),  # Debian, Ubuntu: fonts-noto-cjk
    Path("/usr/share/fonts/noto-cjk"),  # Arch: noto-fonts-cjk
    Path("/usr/share/fonts/google-noto-serif-cjk-fonts"),  # Fedora
)
_FONT_FILES = {"": "NotoSerifCJK-Regular.ttc", "B": "NotoSerifCJK-Bold.ttc"}
_FACE = "Noto Serif CJK SC"  # the collection also holds the JP, KR, TC and HK faces


@functools.cache
def font_files() -> dict[str, tuple[Path, int]]:
    """style → (file, face index of the Simplified Chinese face); raises FontMissing."""
    from fontTools.ttLib import TTCollection

    found: dict[str, tuple[Path, int]] = {}
    for style, name in _FONT_FILES.items():
        path = next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
        if path is None:
            raise FontMissing(
                f"{name} not found in {', '.join(map(str, FONT_DIRS))}: install the CJK font "
                "(Debian/Ubuntu: apt-get install fonts-noto-cjk)"
            )
        collection = TTCollection(str(path), lazy=True)
        try:
            names = [face["name"].getDebugName(1) or "" for face in collection.fonts]
        finally:
            collection.close()
        index = next((i for i, name in enumerate(names) if name.startswith(_FACE)), None)
        if index is None:
            raise FontMissing(f"{path} has no {_FACE} face")
        found[style] = (path, index)
    return found


# --------------------------------------------------------------------------- line breaking

#: May not begin a line (closing punctuation, 行首禁则) / may not end one (opening, 行尾禁则).
_NO_START = frozenset("，。、；：？！）》」』】〕〉〗”’…—·％,.;:?!)]}%")
_NO_END = frozenset("（《「『【〔〈〖“‘([{")
#: A run of Latin letters and digits (a case number, a date, a URL) is one unbreakable token unless it
#: is longer than a line; any other character is a token of its own (Chinese breaks between characters).
_TOKENS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_/:%@#&=?+~]*| +|.", re.DOTALL)


def wrap(text: str, measure: Callable[[str], float], first: float, rest: float | None = None) -> list[str]:
    """Break ``text`` into lines no wider than ``first`` (the first line) and ``rest`` (the others).

    Between any two Chinese characters, never inside a Latin/digit run (unless longer than a line),
    never with closing punctuation at a line start or opening punctuation at a line end: the character
    before it moves down with it. Explicit newlines are kept.
    """
    rest = first if rest is None else rest
    lines: list[str] = []
    for n, part in enumerate(text.split("\n")):
        lines += _wrap_one(part, measure, first if n == 0 else rest, rest)
    return lines


def _wrap_one(text: str, measure: Callable[[str], float], first: float, rest: float) -> list[str]:
    tokens: list[str] = []
    for tok in _TOKENS.findall(text):
        tokens += list(tok) if len(tok) > 1 and measure(tok) > rest else [tok]
    lines: list[list[str]] = [[]]
    width, limit = 0.0, first
    for tok in tokens:
        line = lines[-1]
        if tok.isspace() and not line:
            continue  # no space at a line start
        w = measure(tok)
        if line and width + w > limit and not tok.isspace():
            carry: list[str] = []
            if tok in _NO_START and len(line) > 1:
                carry.append(line.pop())
            while len(line) > 1 and line[-1] in _NO_END:
                carry.insert(0, line.pop())
            lines.append(carry)
            line, limit = carry, rest
            width = sum(measure(t) for t in carry)
        line.append(tok)
        width += w
    return ["".join(line).strip(" ") for line in lines]


# --------------------------------------------------------------------------- layout

# A4, in mm. Margins after GB/T 9704 (党政机关公文格式), a little narrower; body 12 pt, 宋体-like.
_LEFT, _RIGHT, _TOP, _BOTTOM = 28.0, 26.0, 30.0, 28.0
_BODY_PT, _LEADING = 12.0, 1.8
_RED = (200, 16, 24)
_GREY = (110, 110, 110)
_PT = 25.4 / 72  # mm per point


def _china_date(day: dt.date) -> str:
    # GB/T 9704: dates in Arabic numerals, no leading zeros.
    return f"{day.year}年{day.month}月{day.day}日"


def _appeal(review_body: str, court: str) -> str:
    # 行政复议法 (2023) §20: 60 days; 行政诉讼法 §46: 6 months, from knowing of the decision.
    return (
        f"如不服本决定，可以自收到本决定书之日起六十日内依法向{review_body or '有管辖权的行政复议机关'}申请行政复议，"
        f"也可以自收到本决定书之日起六个月内依法向{court or '有管辖权的人民法院'}提起行政诉讼。"
    )


#: Where a correction notice's table of materials goes among the body's paragraphs.
_MATERIALS_TABLE = object()


def _body(v: Voucher) -> list[str | object]:
    """The body: paragraphs, and for a correction notice the table of materials (``_MATERIALS_TABLE``)."""
    applied = f"你（单位）于{_china_date(v.received_on)}提出的{v.item_name}申请（办件编号：{v.case_number}）"
    parts: list[str | object] = []
    if isinstance(v, AcceptanceNotice) and v.owed:
        parts.append(
            f"{applied}，经审查，申请的主要材料齐全、符合法定形式，所缺次要材料你（单位）已书面承诺限期补齐。"
            "本机关决定予以容缺受理。"
        )
        due = f"{_china_date(v.makeup_due)}前" if v.makeup_due else "承诺期限内"
        parts.append(f"请于{due}补齐下列材料，逾期未补齐的，本次申请终止办理：")
        parts += _numbered(v.owed)
    elif isinstance(v, AcceptanceNotice):
        parts.append(
            f"{applied}，经审查，申请材料齐全、符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款"
            "第（五）项的规定，本机关决定予以受理。"
        )
    if isinstance(v, AcceptanceNotice):
        if v.promised_date:
            parts.append(
                f"本机关将于{_china_date(v.promised_date)}前作出是否准予行政许可的决定；依法需要听证、招标、拍卖、"
                "检验、检测、检疫、鉴定和专家评审的，所需时间不计算在内。"
            )
    elif isinstance(v, RefusalDecision):
        parts.append(f"{applied}，经审查，有下列情形，根据《中华人民共和国行政许可法》第三十二条第一款的规定，"
                     "本机关决定不予受理：")
        parts += _numbered(v.reasons)
        if v.competent_body:
            parts.append(f"该申请事项不属于本机关职权范围，请向{v.competent_body}提出申请。")
        parts.append(_appeal(v.review_body, v.court))
    elif isinstance(v, CorrectionNotice):
        parts.append(
            f"{applied}，经审查，申请材料不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条"
            f"第一款第（四）项的规定，现一次性告知你需要补正的全部材料（共{len(v.materials)}项）："
        )
        parts.append(_MATERIALS_TABLE)
        until = f"请于{_china_date(v.deadline)}前" if v.deadline else "请"
        parts.append(f"{until}按上述要求一次性补正全部材料。补正材料齐全、符合法定形式的，以本机关收到全部"
                     "补正材料之日为受理日期，办理时限自该日起计算。")
    elif isinstance(v, ApprovalDecision):
        accepted = f"，本机关已于{_china_date(v.accepted_on)}受理" if v.accepted_on else ""
        parts.append(
            f"{applied}{accepted}。经审查，该申请符合法定条件、标准。根据《中华人民共和国行政许可法》第三十八条"
            "第一款的规定，本机关决定准予行政许可。"
        )
        licence = v.result_name or "行政许可证件"
        if v.licence_number:
            parts.append(f"证件名称：{licence}；证件编号：{v.licence_number}。")
        if v.valid_until:
            parts.append(f"有效期至{_china_date(v.valid_until)}。")
        delivery = f"（{v.delivery}）" if v.delivery else ""
        parts.append(f"本机关将自本决定作出之日起十日内向你颁发、送达{licence}{delivery}。")
    elif isinstance(v, DenialDecision):
        accepted = f"，本机关已于{_china_date(v.accepted_on)}受理" if v.accepted_on else ""
        parts.append(f"{applied}{accepted}。经审查，该申请不符合法定条件、标准，理由如下：")
        parts += _numbered(v.reasons)
        parts.append("根据《中华人民共和国行政许可法》第三十八条第二款的规定，本机关决定不予行政许可。")
        parts.append(_appeal(v.review_body, v.court))
    parts.append("你可以扫描本文书上的二维码，随时查询办件进度。")
    return parts


def _numbered(reasons: Sequence[str]) -> list[str]:
    kept = [r.strip() for r in reasons if r.strip()]
    return [f"{i}. {r}" if len(kept) > 1 else r for i, r in enumerate(kept, 1)]


def render(voucher: Voucher) -> bytes:
    """The voucher as a PDF (A4, the CJK font embedded as a subset, the tracking QR as an image)."""
    from fpdf import FPDF, FontFace
    from fpdf.enums import TableCellFillMode, WrapMode, XPos, YPos

    kind = _kind(voucher)
    title = TITLES[kind]

    class Document(FPDF):
        def header(self) -> None:
            if self.page == 1:
                return  # the first page has the red head instead
            self.set_font("song", "", 9)
            self.set_text_color(*_GREY)
            self.set_xy(_LEFT, 14)
            self.cell(self.epw / 2, 5, f"{voucher.issuer}　{title}（续）")
            self.cell(self.epw / 2, 5, f"办件编号：{voucher.case_number}", align="R")
            self.set_draw_color(*_GREY)
            self.set_line_width(0.2)
            self.line(_LEFT, 20, self.w - _RIGHT, 20)
            self.set_text_color(0)
            self.set_xy(_LEFT, _TOP)

        def footer(self) -> None:
            self.set_font("song", "", 9)
            self.set_text_color(*_GREY)
            self.set_xy(_LEFT, self.h - 18)
            self.cell(self.epw / 2, 5, f"办件编号：{voucher.case_number}")
            self.cell(self.epw / 2, 5, f"第 {self.page} 页　共 {{nb}} 页", align="R")
            self.set_text_color(0)

    pdf = Document(format="A4", unit="mm")
    for style, (path, index) in font_files().items():
        pdf.add_font("song", style=style, fname=str(path), collection_font_number=index)
    pdf.set_margins(_LEFT, _TOP, _RIGHT)
    pdf.set_auto_page_break(True, margin=_BOTTOM)
    pdf.set_title(title)
    pdf.set_author(voucher.issuer)
    pdf.set_subject(f"{voucher.item_name}（办件编号：{voucher.case_number}）")
    pdf.set_creator("zhengwu 智慧政务")
    pdf.set_lang("zh-CN")
    # The same voucher gives the same bytes (cacheable, comparable): the date is the decision's.
    pdf.set_creation_date(dt.datetime.combine(voucher.issued_on, dt.time(), CHINA))
    pdf.alias_nb_pages()
    pdf.add_page()

    lh = _BODY_PT * _PT * _LEADING
    # 红头: the issuing body in red over a red rule, then the title.
    pdf.set_font("song", "B", 20)
    pdf.set_text_color(*_RED)
    for line in wrap(voucher.issuer, pdf.get_string_width, pdf.epw):
        pdf.cell(pdf.epw, 11, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*_RED)
    pdf.set_line_width(0.6)
    pdf.line(_LEFT, pdf.get_y() + 2, pdf.w - _RIGHT, pdf.get_y() + 2)
    pdf.set_text_color(0)
    pdf.ln(7)
    pdf.set_font("song", "B", 18)
    pdf.cell(pdf.epw, 10, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("song", "", _BODY_PT)
    if voucher.document_number:
        pdf.cell(pdf.epw, lh, voucher.document_number, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(lh * 0.6)

    _lines(pdf, f"{voucher.applicant}：", lh, indent=0, justify=False)
    for part in _body(voucher):
        if isinstance(part, str):
            _lines(pdf, part, lh)
        elif isinstance(voucher, CorrectionNotice):
            _materials_table(pdf, voucher.materials, lh, FontFace, TableCellFillMode, WrapMode)
    decided = isinstance(voucher, ApprovalDecision | DenialDecision)
    facts = [("办理窗口" if decided else "受理窗口", voucher.window), ("联系方式", voucher.contact)]
    for label, value in facts:
        if value:
            _lines(pdf, f"{label}：{value}", lh)

    _signature(pdf, voucher, lh)
    return bytes(pdf.output())


def _lines(pdf: Any, text: str, lh: float, *, indent: float = 2, justify: bool = True) -> None:
    """A paragraph: the first line indented by ``indent`` characters (首行缩进), lines justified."""
    em = pdf.get_string_width("中")
    first = pdf.epw - indent * em
    lines = wrap(text, pdf.get_string_width, first, pdf.epw)
    for n, line in enumerate(lines):
        offset = indent * em if n == 0 else 0.0
        width = pdf.epw - offset
        spacing = 0.0
        if justify and n < len(lines) - 1 and len(line) > 1:
            # Spread the slack over the gaps (两端对齐); Tc is in points, fpdf writes it as given.
            spacing = (width - pdf.get_string_width(line)) / (len(line) - 1)
        if pdf.will_page_break(lh):
            pdf.add_page()
        pdf.set_x(pdf.l_margin + offset)
        pdf.set_char_spacing(spacing / _PT)
        pdf.cell(width, lh, line, new_x="LMARGIN", new_y="NEXT")
        pdf.set_char_spacing(0)


def _materials_table(pdf: Any, materials: Sequence[MaterialProblem], lh: float, FontFace: Any,
                     TableCellFillMode: Any, WrapMode: Any) -> None:
    """序号 | 材料名称 | 存在的问题及补正要求; the heading row repeats on every page."""
    widths = (14.0, 54.0, pdf.epw - 68.0)
    pad = 1.6
    row_lh = lh * 0.8
    pdf.ln(1)
    pdf.set_font("song", "", _BODY_PT - 1.5)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.25)
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    with pdf.table(
        col_widths=widths, width=pdf.epw, line_height=row_lh, padding=pad, text_align=("CENTER", "LEFT", "LEFT"),
        headings_style=heading, wrapmode=WrapMode.CHAR, repeat_headings=1, v_align="TOP",
        cell_fill_mode=TableCellFillMode.NONE,
    ) as table:
        row = table.row()
        for text in ("序号", "材料名称", "存在的问题及补正要求"):
            row.cell(text)
        for i, m in enumerate(materials, 1):
            row = table.row()
            row.cell(str(i))
            # Broken here with the punctuation rules; the margin keeps fpdf from re-breaking the lines.
            for text, w in ((m.name, widths[1]), (m.problem, widths[2])):
                row.cell("\n".join(wrap(text.strip(), pdf.get_string_width, w - 2 * pad - 1.0)))
    pdf.set_font("song", "", _BODY_PT)
    pdf.ln(lh * 0.4)


def _signature(pdf: Any, voucher: Voucher, lh: float) -> None:
    """落款: the issuing body and the date at the bottom right; the tracking QR at the left."""
    qr = 26.0
    block = 6 + max(qr + 6, 3 * lh)
    if pdf.will_page_break(block):
        pdf.add_page()
    pdf.ln(6)
    top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(voucher.tracking_url)), x=pdf.l_margin, y=top, w=qr, h=qr)
    pdf.set_font("song", "", 8)
    pdf.set_text_color(*_GREY)
    pdf.set_xy(pdf.l_margin, top + qr)
    pdf.cell(qr, 4, "扫码查询办件进度", align="C")
    pdf.set_text_color(0)
    pdf.set_font("song", "", _BODY_PT + 1)
    # The body's name centred over the date, the date four characters from the right (GB/T 9704).
    em = pdf.get_string_width("中")
    date = _china_date(voucher.issued_on)
    date_w = pdf.get_string_width(date)
    right = pdf.w - pdf.r_margin - 4 * em
    name_lines = wrap(voucher.issuer, pdf.get_string_width, pdf.epw - qr - 10)
    name_w = max(pdf.get_string_width(line) for line in name_lines)
    centre = right - date_w / 2
    y = top + qr - (len(name_lines) + 1) * lh
    for line in name_lines:
        x = min(centre - name_w / 2, pdf.w - pdf.r_margin - name_w)
        pdf.set_xy(x, y)
        pdf.cell(name_w, lh, line, align="C")
        y += lh
    pdf.set_xy(right - date_w, y)
    pdf.cell(date_w, lh, date)
    pdf.set_font("song", "", _BODY_PT)


# --------------------------------------------------------------------------- demo data


_SAMPLE_MARKS = {"acceptance": "受", "refusal": "不受", "correction": "补", "approval": "准许", "denial": "不许"}


def sample(kind: str, materials: int = 3) -> Voucher:
    """A voucher of ``kind`` with demo data (``zhengwu voucher-sample``); ``materials`` for a correction."""
    if kind not in _TYPES:
        raise ValueError(f"unknown voucher kind {kind!r}; one of {', '.join(KINDS)}")
    common: dict[str, Any] = dict(
        case_number="330102202612040000017", item_name="食品经营许可（新办）", applicant="杭州喆园餐饮管理有限公司",
        issuer="杭州市上城区市场监督管理局", issued_on=dt.date(2026, 12, 4), received_on=dt.date(2026, 12, 3),
        tracking_url="https://zhengwu.example.cn/track?number=330102202612040000017&code=7Q4K2M",
        window="上城区政务服务中心 12 号综合窗口", contact="0571-87000000",
        document_number=f"上市监{_SAMPLE_MARKS[kind]}字〔2026〕第 0017 号",
    )
    problems = [
        ("营业执照复印件", "复印件模糊，统一社会信用代码无法辨认，请提供清晰的复印件并加盖公章。"),
        ("法定代表人身份证明", "身份证已过有效期（2026年10月31日），请提供有效期内的身份证件。"),
        ("经营场所平面布局图",
         "未标明食品处理区、非食品处理区的面积和设备布局，请按《食品经营许可审查通则》要求重新绘制。"),
        ("食品安全管理制度文本", "缺少从业人员健康管理、进货查验记录两项制度，请补充后签字确认。"),
        ("食品安全管理人员培训证明", "未提供，请提交近一年内的培训考核合格证明。"),
    ]
    if kind == "acceptance":
        return AcceptanceNotice(**common, promised_date=dt.date(2026, 12, 18))
    if kind == "refusal":
        return RefusalDecision(
            **common, reasons=("申请经营的项目为网络食品交易第三方平台，不属于本机关受理的许可事项。",),
            competent_body="浙江省市场监督管理局", review_body="杭州市上城区人民政府", court="杭州市上城区人民法院",
        )
    if kind == "correction":
        listed = [MaterialProblem(name=f"{problems[i % 5][0]}" + (f"（第 {i // 5 + 1} 份）" if i >= 5 else ""),
                                  problem=problems[i % 5][1]) for i in range(materials)]
        return CorrectionNotice(**common, materials=tuple(listed), deadline=dt.date(2026, 12, 11))
    if kind == "approval":
        return ApprovalDecision(
            **common, accepted_on=dt.date(2026, 12, 3), result_name="食品经营许可证",
            licence_number="JY13301020012345", valid_until=dt.date(2031, 12, 3), delivery="窗口领取或邮寄送达",
        )
    return DenialDecision(
        **common, accepted_on=dt.date(2026, 12, 3),
        reasons=("现场核查发现经营场所与厕所的距离不足规定要求，不符合食品经营许可审查的场所条件。",
                 "申请人未能提供与经营项目相适应的冷藏冷冻设备。"),
        review_body="杭州市上城区人民政府", court="杭州市上城区人民法院",
    )
