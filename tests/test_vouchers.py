"""Vouchers (文书) as a person gets them: a PDF that opens, shows Chinese text that can be selected and
searched (pdftotext reads it: real text, not outlines), spans pages when long, and whose QR code a
phone decodes to the case's tracking link."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import subprocess
from pathlib import Path

import msgspec
import pikepdf
import pytest
import zxingcpp
from PIL import Image

from api.core.errors import Conflict, RuleViolation
from api.identity.ids import mask_name
from api.workflow import vouchers
from api.workflow.vouchers import CorrectionNotice, MaterialProblem, RefusalDecision, render, sample, wrap
from tests.processes import sqlite_env, zhengwu

NO_LINE_START = "，。、；：？！）》」』】〕"


def text_of(pdf: bytes, page: int | None = None, *, raw: bool = False) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    done = subprocess.run(["pdftotext", *(["-raw"] if raw else []), *pages, "-", "-"], input=pdf,
                          capture_output=True, check=True)
    return done.stdout.decode()


def page_images(pdf: bytes, tmp_path: Path, dpi: int = 100) -> list[Image.Image]:
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-", str(tmp_path / "page")], input=pdf, check=True)
    return [Image.open(p).convert("RGB") for p in sorted(tmp_path.glob("page-*.png"))]


def page_count(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return len(doc.pages)


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return {kind: render(sample(kind)) for kind in vouchers.KINDS}


@pytest.mark.parametrize("kind", vouchers.KINDS)
def test_each_kind_renders_with_its_title_case_number_issuer_and_date(
    kind: str, rendered: dict[str, bytes], tmp_path: Path
) -> None:
    pdf = rendered[kind]
    voucher = sample(kind)
    assert pdf.startswith(b"%PDF-")
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert doc.check_pdf_syntax() == []  # structurally sound (what viewers need)
        assert str(doc.docinfo["/Title"]) == vouchers.TITLES[kind]
    text = text_of(pdf)
    for expected in (vouchers.TITLES[kind], voucher.case_number, voucher.issuer, voucher.applicant, "2026年12月4日",
                     voucher.item_name, voucher.window):
        assert expected in text
    # The font is embedded as a subset (the PDF shows the same on any machine).
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("NotoSerifCJKSC" in row[0] and row[-5:-2] == ["yes", "yes", "yes"] for row in rows)
    assert len(pdf) < 200_000

    (image,) = page_images(pdf, tmp_path)
    assert image.width > 700 and image.height > 1000  # A4 at 100 dpi
    colours = image.getcolors(maxcolors=1 << 20) or []
    dark = sum(n for n, (r, g, b) in colours if r + g + b < 200)
    red = sum(n for n, (r, g, b) in colours if r > 150 and g < 80 and b < 80)
    assert dark > 5_000 and red > 500  # text and the red head are drawn


@pytest.mark.parametrize("kind", ["refusal", "denial"])
def test_refusals_give_their_reasons_and_the_appeal_rights(kind: str, rendered: dict[str, bytes]) -> None:
    text = "".join(text_of(rendered[kind]).split())
    voucher = sample(kind)
    assert isinstance(voucher, RefusalDecision | vouchers.DenialDecision)
    for reason in voucher.reasons:
        assert "".join(reason.split()) in text
    assert "六十日内" in text and "申请行政复议" in text and voucher.review_body in text
    assert "六个月内" in text and "提起行政诉讼" in text and voucher.court in text


def test_a_refusal_names_the_competent_body(rendered: dict[str, bytes]) -> None:
    assert "请向浙江省市场监督管理局提出申请" in "".join(text_of(rendered["refusal"]).split())


def test_acceptance_states_the_promised_date(rendered: dict[str, bytes]) -> None:
    assert "本机关将于2026年12月18日前作出" in "".join(text_of(rendered["acceptance"]).split())


def test_the_qr_code_decodes_to_the_tracking_link(rendered: dict[str, bytes], tmp_path: Path) -> None:
    for kind in ("acceptance", "correction"):
        (tmp_path / kind).mkdir()
        (image,) = page_images(rendered[kind], tmp_path / kind, 150)
        assert [b.text for b in zxingcpp.read_barcodes(image)] == [sample(kind).tracking_url]


def test_a_correction_notice_of_30_materials_spans_pages_with_header_and_footer(tmp_path: Path) -> None:
    base = sample("correction")
    materials = tuple(
        MaterialProblem(name=f"第{i}项证明材料",
                        problem=f"第{i}项材料缺少签字盖章，请由经办人签字并加盖单位公章后重新提交。")
        for i in range(1, 31)
    )
    pdf = render(msgspec.structs.replace(base, materials=materials))
    pages = page_count(pdf)
    assert pages >= 2
    whole = text_of(pdf)
    assert "（共30项）" in whole
    for m in materials:
        assert m.name in whole
    for page in range(1, pages + 1):
        text = "".join(text_of(pdf, page).split())
        assert base.case_number in text  # the footer on every page
        assert f"第{page}页共{pages}页" in text
        if page > 1:
            assert "补正材料通知书（续）" in text  # the running head
    # The table's heading row repeats where the table continues on a new page.
    assert "材料名称" in text_of(pdf, 2)
    # The signature and the QR come once, at the end.
    assert whole.count("扫码查询办件进度") == 1
    last = page_images(pdf, tmp_path, 150)[-1]
    assert [b.text for b in zxingcpp.read_barcodes(last)] == [base.tracking_url]


def test_materials_that_wrap_in_their_cell_keep_all_their_text(rendered: dict[str, bytes]) -> None:
    text = "".join(text_of(rendered["correction"], raw=True).split())
    for m in sample("correction").materials:
        assert "".join(m.name.split()) in text
        assert "".join(m.problem.split()) in text


def test_no_line_of_any_voucher_starts_with_closing_punctuation(rendered: dict[str, bytes]) -> None:
    for kind, pdf in rendered.items():
        lines = [line.strip() for line in text_of(pdf, raw=True).splitlines() if line.strip()]
        assert not [line for line in lines if line[0] in NO_LINE_START], kind


def test_the_same_voucher_gives_the_same_bytes(rendered: dict[str, bytes]) -> None:
    assert render(sample("acceptance")) == rendered["acceptance"]


# --------------------------------------------------------------------------- line breaking


def width(text: str) -> float:
    return sum(0.5 if c.isascii() else 1.0 for c in text)  # Latin half width, Chinese full width


def test_wrap_breaks_between_chinese_characters_and_never_inside_a_number() -> None:
    text = "你于2026年12月3日提出的申请（办件编号：330102202612040000017）已受理。"
    lines = wrap(text, width, 12)
    assert "".join(lines) == text
    assert all(width(line) <= 12 for line in lines)
    assert any("330102202612040000017" in line for line in lines)


def test_wrap_keeps_closing_punctuation_off_a_line_start_and_opening_off_a_line_end() -> None:
    # 8 characters a line: the 9th is "，" and the 17th "《"; the character before "，" moves down with it.
    lines = wrap("一二三四五六七八，一二三四五六《法律》条文", width, 8)
    assert lines[0] == "一二三四五六七" and lines[1].startswith("八，")
    assert all(line[0] not in NO_LINE_START and line[-1] not in "（《“" for line in lines)
    assert "".join(lines) == "一二三四五六七八，一二三四五六《法律》条文"


def test_wrap_splits_a_token_longer_than_a_line_and_indents_the_first_line() -> None:
    url = "https://zhengwu.example.cn/track?number=330102202612040000017"
    lines = wrap(url, width, 10)
    assert "".join(lines) == url and all(width(line) <= 10 for line in lines)
    first, *rest = wrap("一" * 20, width, 8, 10)
    assert len(first) == 8 and [len(line) for line in rest] == [10, 2]
    assert wrap("第一段\n第二段", width, 10) == ["第一段", "第二段"]


# --------------------------------------------------------------------------- inputs


def test_a_refusal_without_reasons_or_a_notice_without_materials_is_refused() -> None:
    common = {f: getattr(sample("refusal"), f) for f in ("case_number", "item_name", "applicant", "issuer",
                                                           "issued_on", "received_on", "tracking_url")}
    with pytest.raises(RuleViolation) as refused:
        RefusalDecision(**common, reasons=("  ",))
    assert refused.value.field == "reasons" and "理由" in refused.value.message
    with pytest.raises(RuleViolation):
        vouchers.DenialDecision(**common, reasons=())
    with pytest.raises(RuleViolation):
        CorrectionNotice(**common, materials=())
    with pytest.raises(RuleViolation) as blank:
        CorrectionNotice(**common, materials=(MaterialProblem(name="营业执照", problem="过期"),
                                              MaterialProblem(name="章程", problem="")))
    assert blank.value.problems == ["章程"]


@dataclasses.dataclass
class SubmittedCase:  # what voucher_for reads of api.cases.models.Case
    number: str | None
    item_name: str
    submitted_at: dt.datetime | None


def test_voucher_for_a_case_dates_it_in_china_and_refuses_a_draft() -> None:
    submitted = dt.datetime(2026, 12, 3, 17, 30, tzinfo=dt.UTC)
    case = SubmittedCase("330102202612040000017", "食品经营许可（新办）", submitted)
    voucher = vouchers.voucher_for(
        "correction", case, applicant=mask_name("张三丰"), issuer="杭州市上城区市场监督管理局",
        tracking_url="https://zhengwu.example.cn/track?number=330102202612040000017&code=7Q4K2M",
        issued_at=dt.datetime(2026, 12, 4, 16, 5, tzinfo=dt.UTC),
        materials=[MaterialProblem(name="营业执照复印件", problem="模糊不清")], deadline=dt.date(2026, 12, 11),
    )
    assert isinstance(voucher, CorrectionNotice)
    assert voucher.received_on == dt.date(2026, 12, 4)  # 01:30 in China
    assert voucher.issued_on == dt.date(2026, 12, 5)  # 00:05 in China
    assert voucher.applicant == "张**"
    assert vouchers.filename(voucher) == "补正材料通知书-330102202612040000017.pdf"
    with pytest.raises(Conflict):
        vouchers.voucher_for("acceptance", SubmittedCase(None, "x", None), applicant="张三", issuer="某局",
                             tracking_url="https://x", issued_at=dt.datetime.now(dt.UTC))
    with pytest.raises(ValueError):
        vouchers.voucher_for("receipt", case, applicant="张三", issuer="某局", tracking_url="https://x",
                             issued_at=dt.datetime.now(dt.UTC))


def test_a_voucher_travels_as_json_with_its_kind() -> None:
    for kind in vouchers.KINDS:
        voucher = sample(kind)
        encoded = msgspec.json.encode(voucher)
        assert msgspec.json.decode(encoded)["kind"] == kind
        assert msgspec.json.decode(encoded, type=vouchers.Voucher) == voucher


def test_names_are_masked_for_documents_others_may_see() -> None:
    assert [mask_name(n) for n in ("张", "张三", "张三丰", "欧阳修远")] == ["*", "张*", "张**", "欧***"]


def test_the_voucher_sample_command_writes_a_pdf(tmp_path: Path) -> None:
    out = tmp_path / "notice.pdf"
    done = zhengwu("voucher-sample", "correction", str(out), "--materials", "30", env=sqlite_env(tmp_path))
    assert done.returncode == 0, done.stderr
    pdf = out.read_bytes()
    assert page_count(pdf) >= 2 and "补正材料通知书" in text_of(pdf, 1)
    assert zhengwu("voucher-sample", "receipt", str(out), env=sqlite_env(tmp_path)).returncode != 0
