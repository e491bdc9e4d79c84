"""The staff console (/staff/) in Debian's Chromium at 1366×768, against the real server with the
demo seed (its demo staff accounts, password zhengwu-demo).

Each role's main path end to end: the window clerk asks for a one-time correction ticking a
material of the checklist, the citizen resupplies (over the API, as the PWA does), the clerk
accepts; the department's officer starts the review, suspends for a special procedure and resumes,
the approver approves and delivers. The administrator changes an item's draft, sees a problem at
its field, publishes, and the citizen's guide shows the change. Another department's officer gets
"not found" for the case's URL. The clerk accepts a case with the keyboard alone. A 409 (someone
else acted first) reloads the case and names who did what, keeping what was typed; a typed reason
survives a reload. Signed out after inactivity. Screenshots 60-… to 83-… in test-artifacts/.

The citizen is this module's own (their own phone number), signed in once through the real
endpoints (the server allows 10 codes an hour per address, shared with the other browser tests).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.citizens import SignedInCitizen
from tests.tus_helpers import pdf_bytes

DESKTOP = {
    "viewport": {"width": 1366, "height": 768},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "bypass_csp": True,  # Playwright's string predicates are eval'd; the CSP test below uses the real policy
}
PASSWORD = "zhengwu-demo"  # ZHENGWU_DEMO_PASSWORD's default: the demo staff accounts of `seed --demo`
PHONE = "13912340314"
NAME = "司马青衫"
# 企业注销登记 (W07, SCJGJ): this module's own item, so that its queue (filtered by item) holds only this
# module's cases, whatever the other browser tests leave in window W07's queue.
ITEM = "511A5001030000-511900000000-000-11511900MB00102256-1-00"
ANSWERS = {"mode": "simple", "entity": "company", "agent": "no"}
STALE = "办件已被他人处理，请刷新"  # api/workflow/services.py StaleVersion


def with_check_digit(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


class Citizen(SignedInCitizen):
    """The module's applicant over HTTP, as the citizen PWA calls the API."""

    def __init__(self, base: str) -> None:
        super().__init__(base, PHONE, NAME, with_check_digit("51190219850307121"))

    def upload(self, case_id: int, code: str) -> None:
        self.upload_file(case_id, code, pdf_bytes(3000), f"{code}.pdf")

    def submitted(self, item: str = ITEM, answers: dict | None = None) -> dict:
        draft = {"item_code": item, "answers": answers if answers is not None else ANSWERS}
        r = self.call("POST", "/api/v1/cases", json=draft)
        assert r.status_code == 201, r.text
        case = r.json()
        for m in case["materials"]:
            if m["required"] and m["source"] == "applicant":
                self.upload(case["id"], m["code"])
        r = self.call("POST", f"/api/v1/cases/{case['id']}/submit", headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 200, r.text
        return r.json()["case"]

    def case(self, case_id: int) -> dict:
        r = self.call("GET", f"/api/v1/cases/{case_id}")
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def citizen(server: str) -> Iterator[Citizen]:
    c = Citizen(server)
    yield c
    c.http.close()


def staff_token(server: str, username: str) -> dict:
    r = httpx.post(f"{server}/api/v1/auth/staff/token", json={"username": username, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def desk(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=server, **DESKTOP)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def new_page(ctx: BrowserContext) -> tuple[Page, list[str]]:
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def sign_in(page: Page, username: str, shot=None, name: str = "") -> None:
    page.goto("/staff/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    if shot:
        shot(page, name)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("[data-test=who]")).to_be_visible()


def open_case(page: Page, case_id: int) -> None:
    page.goto(f"/staff/cases/{case_id}")
    expect(page.locator("[data-test=state]")).to_be_visible()


def act(page: Page, action: str, fill: dict[str, str] | None = None) -> None:
    """Open an action's form with its button and confirm it (the fields named by their name attribute)."""
    page.locator(f".zw-toolbar [data-action={action}]").click()
    panel = page.locator(f"section[data-action={action}]")
    expect(panel).to_be_visible()
    for name, value in (fill or {}).items():
        panel.locator(f"[name={name}]").fill(value)
    panel.locator("[data-test=confirm]").click()
    expect(page.locator("[data-test=done]")).to_be_visible()


def state_of(page: Page) -> str:
    return page.locator("[data-test=state]").get_attribute("data-state") or ""


# --------------------------------------------------------------------------- each role's main path


def test_correction_resupply_accept_suspend_resume_approve_deliver(desk: BrowserContext, citizen: Citizen,
                                                                   server: str, shot) -> None:
    case = citizen.submitted()
    cid = case["id"]
    first = next(m for m in case["materials"] if m["required"] and m["source"] == "applicant")

    # The window clerk: the case is in the queue with its due date's colour.
    page, errors = new_page(desk)
    sign_in(page, "clerk-W07", shot, "60-staff-login")
    expect(page).to_have_url(re.compile(r"/staff/queue$"))
    page.goto(f"/staff/queue?item={ITEM}")
    row = page.locator(f"[data-case='{cid}']")
    expect(row).to_be_visible()
    tone = page.locator("tr", has=row).locator("[data-tone]")
    assert tone.get_attribute("data-tone") in ("normal", "warning")
    shot(page, "61-staff-clerk-queue", full_page=False)
    page.locator("[data-test=chart-toggle]").click()  # ECharts, in its own lazy chunk
    expect(page.locator("[data-test=queue-chart] canvas")).to_be_visible()
    row.click()
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "submitted")
    # Each material beside its checklist line, the first one open in the viewer (a PDF).
    # (a required certificate the platform could not fetch is missing, though it did not block submission)
    missing = sum(m["required"] and m["status"] == "missing" for m in case["materials"])
    expect(page.locator("[data-test=summary]")).to_contain_text(f"缺 {missing} 项必需材料")
    expect(page.locator("[data-test=viewer] iframe[data-test=pdf]")).to_have_attribute("src", re.compile(r"^blob:"))
    shot(page, "62-staff-case-checklist", full_page=False)

    # One-time correction: only the checklist's materials can be ticked; each says what is wrong.
    page.keyboard.press("c")
    panel = page.locator("section[data-action=request_correction]")
    expect(panel).to_be_visible()
    names = [n.strip() for n in panel.locator("[data-code]").all_inner_texts()]
    assert names == [m["name"] for m in case["materials"]]
    # What is missing is ticked to start with (here the business licence the platform could not fetch).
    for m in case["materials"]:
        box = panel.locator(f"[data-code='{m['code']}']")
        if m["required"] and m["status"] == "missing":
            expect(box).to_have_class(re.compile("is-checked"))
            box.click()
        else:
            expect(box).not_to_have_class(re.compile("is-checked"))
    panel.locator("[data-test=confirm]").click()
    expect(panel.locator("[role=alert]")).to_have_text("请至少勾选一项需要补正的材料")
    panel.locator(f"[data-code='{first['code']}']").click()
    panel.locator("[data-test=confirm]").click()
    expect(panel).to_contain_text("请写明这份材料的问题")
    panel.get_by_label(f"「{first['name']}」的问题").fill("签名处空白，请签字后重新上传")
    shot(page, "63-staff-correction-notice", full_page=False)
    panel.locator("[data-test=confirm]").click()
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "correction_requested")
    expect(page.locator("[data-test=clock]")).to_be_visible()  # waiting for the applicant: the clock stands still

    # The citizen resupplies the material (the PWA's calls).
    asked = citizen.case(cid)
    assert [m["code"] for m in asked["correction"]] == [first["code"]]
    citizen.upload(cid, first["code"])
    r = citizen.call("POST", f"/api/v1/cases/{cid}/actions/resupply", json={"version": citizen.case(cid)["version"]})
    assert r.status_code == 200, r.text

    # The clerk sees it resupplied beside its line and accepts.
    open_case(page, cid)
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "submitted")
    line = page.locator("[data-test=checklist] tr", has_text=first["name"])
    expect(line).to_contain_text("已补正")
    expect(line).to_contain_text("签名处空白")
    act(page, "accept")
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "accepted")
    page.get_by_role("tab", name=re.compile("文书")).click()
    expect(page.locator("[data-voucher=acceptance]")).to_be_visible()
    page.locator("[data-voucher=acceptance]").click()
    # The first voucher of a server process loads the CJK font: give it time on a busy machine.
    expect(page.locator("[data-test=viewer] iframe[data-test=pdf]")).to_have_attribute("src", re.compile(r"^blob:"),
                                                                                       timeout=40_000)
    expect(page.locator("[data-test=print]")).to_be_visible()
    shot(page, "64-staff-accepted-voucher", full_page=False)
    assert not errors, errors

    # The department's officer: start the review, suspend for a special procedure, resume.
    officer, officer_errors = new_page(desk.browser.new_context(base_url=server, **DESKTOP))
    sign_in(officer, "officer-SCJGJ")
    officer.goto(f"/staff/queue?item={ITEM}")
    expect(officer.locator(f"[data-case='{cid}']")).to_be_visible()
    shot(officer, "65-staff-officer-queue", full_page=False)
    open_case(officer, cid)
    act(officer, "start_review")
    expect(officer.locator("[data-test=state]")).to_have_attribute("data-state", "in_review")
    officer.locator(".zw-toolbar [data-action=suspend]").click()
    panel = officer.locator("section[data-action=suspend]")
    panel.locator("input").first.fill("现场勘验")
    officer.keyboard.press("Enter")
    panel.locator("[name=reason]").fill("需现场核实经营场所")
    panel.locator("[data-test=confirm]").click()
    expect(officer.locator("[data-test=state]")).to_have_attribute("data-state", "suspended")
    expect(officer.locator("[data-test=clock]")).to_contain_text("计时暂停中")
    shot(officer, "66-staff-suspended", full_page=False)
    act(officer, "resume", {"findings": "经营场所与登记一致"})
    expect(officer.locator("[data-test=state]")).to_have_attribute("data-state", "in_review")
    assert not officer_errors, officer_errors
    officer.context.close()

    # The approver approves with an opinion (typed, Ctrl+Enter) and delivers.
    approver, approver_errors = new_page(desk.browser.new_context(base_url=server, **DESKTOP))
    sign_in(approver, "approver-SCJGJ")
    open_case(approver, cid)
    # An extension, once, never past the legal limit: the server's refusal at the field, then granted.
    due = approver.locator("[data-test=due]").inner_text()
    approver.locator(".zw-toolbar [data-action=extend]").click()
    panel = approver.locator("section[data-action=extend]")
    panel.locator("input[name=days]").fill("5")
    panel.locator("input[name=days]").press("Tab")
    panel.locator("[name=reason]").fill("需补充专家意见")
    panel.locator("[data-test=confirm]").click()
    expect(panel.locator(".el-form-item", has=approver.locator("input[name=days]"))).to_contain_text(
        "延长后不能超过法定期限：最多还能延长 2 个工作日")
    panel.locator("input[name=days]").fill("2")
    panel.locator("input[name=days]").press("Tab")
    panel.locator("[data-test=confirm]").click()
    expect(approver.locator("[data-test=done]")).to_be_visible()
    expect(approver.locator("[data-test=due]")).not_to_have_text(due)
    approver.keyboard.press("p")
    panel = approver.locator("section[data-action=approve]")
    expect(panel).to_be_visible()
    approver.keyboard.type("材料齐全，准予补发")
    approver.keyboard.press("Control+Enter")
    expect(approver.locator("[data-test=state]")).to_have_attribute("data-state", "approved")
    # 送达 by express mail: the carrier and waybill fields appear for that method only.
    approver.locator(".zw-toolbar [data-action=deliver]").click()
    panel = approver.locator("section[data-action=deliver]")
    expect(panel.locator("[name=tracking_number]")).to_have_count(0)
    panel.get_by_text("邮寄送达").click()
    panel.locator("[name=carrier]").fill("中国邮政EMS")
    panel.locator("[name=tracking_number]").fill("EMS 1")
    panel.locator("[data-test=confirm]").click()
    expect(panel).to_contain_text("运单号应为 6 到 40 位字母、数字或连字符")
    panel.locator("[name=tracking_number]").fill("1151234567890")
    panel.locator("[data-test=confirm]").click()
    expect(approver.locator("[data-test=done]")).to_be_visible()
    expect(approver.locator("[data-test=state]")).to_have_attribute("data-state", "delivered")
    expect(approver.locator("[data-test=delivery]")).to_contain_text("邮寄送达 · 中国邮政EMS 1151234567890")
    approver.get_by_role("tab", name="办理记录").click()
    timeline = approver.locator(".el-timeline")
    for words in ("一次性告知补正", "提交补正材料", "受理", "开始审查", "特别程序（暂停计时）", "恢复审查", "批准",
                  "送达办结", "演示受理员 W07", "演示承办人 SCJGJ", "演示审批人 SCJGJ", "材料齐全，准予补发"):
        expect(timeline).to_contain_text(words)
    shot(approver, "67-staff-delivered-timeline")
    assert not approver_errors, approver_errors
    approver.context.close()
    assert citizen.case(cid)["state"] == "delivered"

    # The applicant, on the phone, sees how the licence was sent and the waybill number to follow it.
    phone = desk.browser.new_context(  # type: ignore[union-attr]
        base_url=server, service_workers="block", viewport={"width": 390, "height": 844}, is_mobile=True,
        storage_state=citizen.browser_storage())
    mine = phone.new_page()
    mine.goto(f"/cases/{cid}")
    sent = mine.get_by_test_id("delivery")
    expect(sent).to_have_attribute("data-method", "express")
    expect(sent).to_contain_text("邮寄送达")
    expect(sent).to_contain_text("中国邮政EMS")
    expect(mine.get_by_test_id("tracking-number")).to_have_text("1151234567890")
    shot(mine, "68-citizen-delivery")
    phone.close()


def test_another_departments_case_is_not_reachable_by_url(desk: BrowserContext, citizen: Citizen, server: str,
                                                         shot) -> None:
    cid = citizen.submitted()["id"]
    clerk = staff_token(server, "clerk-W07")
    r = httpx.post(f"{server}/api/v1/cases/{cid}/actions/accept", json={},
                   headers={"Authorization": f"Bearer {clerk['access_token']}"}, timeout=30)
    assert r.status_code == 200, r.text
    page, errors = new_page(desk)
    sign_in(page, "officer-GAJ")
    expect(page.locator("[data-test=queue]")).to_be_visible()
    expect(page.locator(f"[data-case='{cid}']")).to_have_count(0)
    page.goto(f"/staff/cases/{cid}")
    expect(page.locator("[data-test=case-error]")).to_contain_text("没有找到")
    expect(page.locator("[data-test=state]")).to_have_count(0)
    shot(page, "68-staff-other-department-not-found", full_page=False)
    # A clerk of another window category neither.
    page.locator("button", has_text="退出").click()
    sign_in(page, "clerk-W01")
    page.goto(f"/staff/cases/{cid}")
    expect(page.locator("[data-test=case-error]")).to_contain_text("没有找到")
    # An administrator is no case reader: the case screen is not theirs at all.
    page.locator("button", has_text="退出").click()
    sign_in(page, "admin")
    page.goto(f"/staff/cases/{cid}")
    expect(page.get_by_role("heading", name="没有找到")).to_be_visible()
    assert not errors, errors


def test_keyboard_only_acceptance(desk: BrowserContext, citizen: Citizen, shot) -> None:
    cid = citizen.submitted()["id"]
    page, errors = new_page(desk)
    page.goto(f"/staff/queue?item={ITEM}")  # signed out: the sign-in screen, then back to this queue
    expect(page.locator("input[name=username]")).to_be_focused()
    page.keyboard.type("clerk-W07")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator(f"[data-case='{cid}']")).to_be_visible()
    for _ in range(80):  # Tab through the screen to the case's link
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.dataset?.case") == str(cid):
            break
    else:
        pytest.fail("the case's link was never reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "submitted")
    page.keyboard.press("?")
    expect(page.locator("[data-test=legend]")).to_contain_text("受理")
    page.keyboard.press("a")
    confirm = page.locator("section[data-action=accept] [data-test=confirm]")
    expect(confirm).to_be_focused()
    shot(page, "69-staff-keyboard-accept", full_page=False)
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "accepted")
    expect(page.locator("[data-test=done]")).to_be_visible()
    # Usable at 1024 wide (a tablet): the checklist and the viewer stack, nothing is cut off.
    page.set_viewport_size({"width": 1024, "height": 768})
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "83-staff-case-1024-wide", full_page=False)
    assert not errors, errors


def test_conflict_reloads_and_says_who_and_typed_text_is_kept(desk: BrowserContext, citizen: Citizen, server: str,
                                                             shot) -> None:
    cid = citizen.submitted()["id"]
    page, errors = new_page(desk)
    sign_in(page, "clerk-W08")
    open_case(page, cid)
    # A typed reason survives a reload of the page (kept on this computer until sent).
    page.keyboard.press("r")
    page.locator("section[data-action=refuse] [name=reason]").fill("申请材料存在虚假内容")
    page.reload()
    expect(page.locator("[data-test=state]")).to_be_visible()
    page.keyboard.press("r")
    panel = page.locator("section[data-action=refuse]")
    expect(panel.locator("[data-test=restored]")).to_be_visible()
    expect(panel.locator("[name=reason]")).to_have_value("申请材料存在虚假内容")
    page.keyboard.press("Escape")
    # Another clerk writes an internal note meanwhile: the case's version moves on.
    other = staff_token(server, "clerk-W09")
    seen = citizen.case(cid)["version"]
    r = httpx.post(f"{server}/api/v1/cases/{cid}/actions/comment", json={"version": seen, "text": "申请人来电询问进度"},
                   headers={"Authorization": f"Bearer {other['access_token']}"}, timeout=30)
    assert r.status_code == 200, r.text
    page.keyboard.press("a")
    page.locator("section[data-action=accept] [data-test=confirm]").click()
    conflict = page.locator("[data-test=conflict]")
    expect(conflict).to_contain_text(STALE)
    expect(conflict).to_contain_text("演示受理员 W09")
    expect(conflict).to_contain_text("内部意见")
    shot(page, "70-staff-conflict", full_page=False)
    # The case shown is the current one: accepting now works.
    page.locator("section[data-action=accept] [data-test=confirm]").click()
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "accepted")
    assert not errors, errors


def test_admin_edits_an_item_publishes_and_the_citizen_guide_shows_it(desk: BrowserContext, browser: Browser,
                                                                      server: str, shot) -> None:
    found = httpx.get(f"{server}/api/v1/items", params={"q": "市长质量奖", "region": "all"}, timeout=30).json()["items"]
    code = found[0]["code"]
    summary = f"（{uuid.uuid4().hex[:6]}）本事项评审每年开展一次，请在 3 月底前申报。"
    page, errors = new_page(desk)
    sign_in(page, "admin")
    expect(page).to_have_url(re.compile(r"/staff/admin/items$"))
    shot(page, "71-staff-admin-items", full_page=False)
    page.goto(f"/staff/admin/items/{code}")
    page.locator("[data-test=create-draft]").click()
    name = page.locator("[name=name]")
    expect(name).to_have_value(found[0]["name"])
    # A problem is shown at its field (and listed).
    name.fill("")
    page.locator("[data-test=save]").click()
    page.locator("[data-test=validate]").click()
    expect(page.locator("[data-test=problems]")).to_contain_text("事项名称不能为空")
    expect(page.locator(".el-form-item", has=page.locator("[name=name]"))).to_contain_text("事项名称不能为空")
    shot(page, "72-staff-item-problem-at-field", full_page=False)
    name.fill(found[0]["name"])
    page.locator("[name=summary]").fill(summary)
    # A material of a situation, in its own tab.
    before = httpx.get(f"{server}/api/v1/items/{code}", timeout=30).json()
    situation, material = before["situations"][0]["code"], before["situations"][0]["materials"][0]
    renamed = f"{material['name']}（加盖公章）"
    page.get_by_role("tab", name="情形与材料").click()
    page.locator(f"input[name='material-{situation}-{material['code']}']").fill(renamed)
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=editor-message]")).to_contain_text("草稿已保存")
    page.locator("[data-test=validate]").click()
    expect(page.locator("[data-test=valid]")).to_be_visible()
    page.locator("[data-test=publish]").click()
    expect(page.locator("[data-test=editor-message]")).to_contain_text("已发布为第")
    shot(page, "73-staff-item-published", full_page=False)
    after = httpx.get(f"{server}/api/v1/items/{code}", timeout=30).json()
    assert after["summary"] == summary
    assert after["situations"][0]["materials"][0]["name"] == renamed
    assert after["questions"] == before["questions"]  # what was not edited is as it was
    assert not errors, errors

    # The citizen's guide (the PWA on a phone) shows the change.
    phone = browser.new_context(base_url=server, viewport={"width": 390, "height": 844}, locale="zh-CN")
    guide = phone.new_page()
    guide.goto(f"/items/{code}")
    expect(guide.get_by_text(summary)).to_be_visible()
    shot(guide, "74-citizen-guide-after-publish", full_page=False)
    phone.close()


def test_admin_screens(desk: BrowserContext, shot) -> None:
    page, errors = new_page(desk)
    sign_in(page, "admin")
    menu = page.locator(".zw-aside")
    for words in ("事项管理", "Excel 导入", "部门与窗口", "工作人员", "工作日历", "审计日志"):
        expect(menu).to_contain_text(words)
    for words in ("监察", "统计", "评价", "办件队列"):  # supervision, statistics and ratings come with their APIs
        expect(menu).not_to_contain_text(words)
    page.get_by_role("button", name="English").click()  # the locale switch: Element Plus's texts follow
    expect(menu).to_contain_text("Service items")
    expect(page.get_by_role("heading", name="Service items")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(menu).to_contain_text("事项管理")
    page.goto("/staff/admin/organisation")
    expect(page.locator("[data-test=departments]")).to_contain_text("巴中市市场监督管理局")
    shot(page, "75-staff-organisation", full_page=False)
    page.goto("/staff/admin/staff")
    expect(page.locator("[data-test=staff]")).to_contain_text("clerk-W07")
    shot(page, "76-staff-accounts", full_page=False)
    page.goto("/staff/admin/calendar")
    expect(page.locator("[data-test=calendar]")).to_be_visible()
    shot(page, "77-staff-calendar", full_page=False)
    page.goto("/staff/admin/audit")
    expect(page.locator("[data-test=audit] tbody tr").first).to_be_visible()
    page.get_by_label("对象编码").fill("admin")  # the seed's creation of this very account
    page.get_by_role("button", name="查询").click()
    expect(page.locator("[data-test=audit]")).to_contain_text("staff.create")
    expect(page.locator("[data-test=audit] tbody tr.el-table__row")).to_have_count(1)
    shot(page, "78-staff-audit", full_page=False)
    page.goto("/staff/admin/import")
    page.locator("[data-test=workbook]").set_input_files(
        files=[{"name": "bad.xlsx", "mimeType": "application/octet-stream", "buffer": b"not a workbook"}])
    page.locator("[data-test=import]").click()
    expect(page.get_by_role("alert")).to_contain_text("这不是有效的 Excel 工作簿")
    shot(page, "79-staff-import", full_page=False)
    assert not errors, errors


def test_walk_in_and_inactivity_sign_out(desk: BrowserContext, server: str, shot) -> None:
    page, errors = new_page(desk)
    sign_in(page, "clerk-W07")
    page.locator(".zw-aside").get_by_text("窗口代办").click()
    page.fill("input[name=phone]", "13912340315")
    page.fill("input[name=name]", "欧阳代办")
    page.fill("input[name=id_number]", with_check_digit("51190219700101002"))
    page.locator("[data-test=item] input").fill("营业执照遗失")
    page.get_by_role("option", name="营业执照遗失补领、损坏换发（巴中市市场监督管理局）").click()
    for _ in range(2):  # answer every question asked with its first option (answers may ask more)
        for group in page.locator(".el-radio-group").all():
            group.locator(".el-radio").first.click()
    page.get_by_role("button", name="开始代办").click()
    expect(page.locator("[data-scan]").first).to_be_attached()
    for box in page.locator("[data-scan]").all():
        box.set_input_files(files=[{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(2000)}])
    expect(page.locator("[data-test=submit-walk-in]")).to_be_enabled()
    shot(page, "80-staff-walk-in", full_page=False)
    page.locator("[data-test=submit-walk-in]").click()
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "submitted")
    expect(page.locator(".zw-muted").first).to_contain_text("窗口")

    # Fifteen minutes without activity (in any tab): signed out, with the reason.
    page.evaluate("localStorage.setItem('zw.staff.activity', String(Date.now() - 16 * 60 * 1000))")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    expect(page.get_by_text("长时间未操作，已自动退出")).to_be_visible()
    assert page.evaluate("localStorage.getItem('zw.staff.auth')") is None
    assert not errors, errors


def test_joint_approval_with_one_site_survey(desk: BrowserContext, citizen: Citizen, server: str, shot) -> None:
    """并联审批: the implementing department (ZJJ) schedules the one joint survey in the console, each
    department records its findings (ZJJ here, the others over the API), each approves its own part;
    the last approval approves the case."""
    found = httpx.get(f"{server}/api/v1/items", params={"q": "特殊建设工程消防设计审查", "region": "all", "limit": 50},
                      timeout=30).json()["items"]
    item = next(i["code"] for i in found if "-511900000000-" in i["code"])
    cid = citizen.submitted(item, {"special_design": "no"})["id"]
    clerk = staff_token(server, "clerk-W12")
    r = httpx.post(f"{server}/api/v1/cases/{cid}/actions/accept", json={},
                   headers={"Authorization": f"Bearer {clerk['access_token']}"}, timeout=30)
    assert r.status_code == 200, r.text

    def api_as(username: str):
        token = staff_token(server, username)["access_token"]
        return lambda method, path, **kw: httpx.request(method, f"{server}/api/v1/cases/{cid}{path}", timeout=30,
                                                        headers={"Authorization": f"Bearer {token}"}, **kw)

    page, errors = new_page(desk)
    sign_in(page, "officer-ZJJ")
    open_case(page, cid)
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "in_review")
    page.get_by_role("tab", name="并联审批").click()
    joint = page.locator("[data-test=joint]")
    expect(joint.locator(".el-table")).to_contain_text("消防")
    joint.locator("input[name=survey-date]").fill("2026-12-10")
    page.keyboard.press("Enter")
    joint.locator("input[name=survey-place]").fill("巴州区江北大道项目现场")
    joint.locator("input[name=attendees-ZJJ]").fill("张工，李工")
    joint.locator("[data-test=schedule]").click()
    expect(joint).to_contain_text("联合踏勘须由每个审批部门派员参加")  # the server's refusal, in the panel
    joint.locator("input[name=attendees-XFZD]").fill("王队长")
    joint.locator("input[name=attendees-ZRZYJ]").fill("赵科长、钱工")
    joint.locator("[data-test=schedule]").click()
    expect(joint).to_contain_text("还有 3 个部门未提交踏勘意见")
    expect(joint).to_contain_text("计时暂停中")
    joint.locator("textarea[name=findings]").fill("现场与设计图纸一致")
    joint.locator("[data-test=record-findings]").click()
    expect(joint).to_contain_text("还有 2 个部门未提交踏勘意见")
    shot(page, "81-staff-joint-survey", full_page=False)
    for department in ("XFZD", "ZRZYJ"):
        r = api_as(f"officer-{department}")("POST", "/survey/findings",
                                             json={"department": department, "findings": "符合要求"})
        assert r.status_code == 200, r.text
    page.reload()
    page.get_by_role("tab", name="并联审批").click()
    expect(joint).to_contain_text("踏勘已于")
    joint.locator("[data-sub=start_review]").click()
    expect(joint).to_contain_text("审查中")

    # Each department's approver decides its own part; the last one decides the case.
    for department in ("XFZD", "ZRZYJ"):
        officer = api_as(f"officer-{department}")
        part = next(d for d in officer("GET", "/departments").json()["departments"] if d["department"] == department)
        r = officer("POST", f"/departments/{department}/actions/start-review", json={"version": part["version"]})
        assert r.status_code == 200, r.text
        approver = api_as(f"approver-{department}")
        part = next(d for d in approver("GET", "/departments").json()["departments"] if d["department"] == department)
        r = approver("POST", f"/departments/{department}/actions/approve", json={"version": part["version"]})
        assert r.status_code == 200, r.text
    page.locator("button", has_text="退出").click()
    sign_in(page, "approver-ZJJ")
    open_case(page, cid)
    page.get_by_role("tab", name="并联审批").click()
    joint.locator("textarea[name=opinion]").fill("同意")
    joint.locator("[data-sub=approve]").click()
    expect(page.locator("[data-test=state]")).to_have_attribute("data-state", "approved")
    shot(page, "82-staff-joint-approved", full_page=False)
    assert not errors, errors


def test_the_console_under_its_csp_and_cold_load_time(browser: Browser, server: str) -> None:
    """Under the real Content-Security-Policy (no bypass), with tokens already stored: the time from
    navigation to the first queue row on a cold load (no cache), printed and kept as an artefact."""
    tokens = staff_token(server, "clerk-W07")
    pair = {"access": tokens["access_token"], "refresh": tokens["refresh_token"],
            "expiresAt": int(time.time() * 1000) + tokens["expires_in"] * 1000}
    ctx = browser.new_context(base_url=server, **{**DESKTOP, "bypass_csp": False})
    ctx.add_init_script(f"localStorage.setItem('zw.staff.auth', {json.dumps(json.dumps(pair))})")
    page, errors = new_page(ctx)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/staff/queue")
    expect(page.locator("[data-case]").first).to_be_visible()
    first_row = page.evaluate("performance.getEntriesByName('zw-first-queue-row')[0]?.startTime")
    assert first_row is not None
    csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert "frame-src blob:" in csp and "script-src 'self'" in csp
    sw = page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)")
    assert sw == 0  # the console registers no service worker: never cached offline
    print(f"staff console: first queue row {first_row:.0f} ms after navigation (cold load)")
    from tests.browser.conftest import ARTIFACTS
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "staff-first-row.txt").write_text(f"first queue row on a cold load: {first_row:.0f} ms\n")
    assert not violations, violations
    assert not errors, errors
    ctx.close()


def test_the_citizen_service_worker_leaves_the_console_alone(browser: Browser, server: str) -> None:
    """The citizen app's worker controls the whole origin (scope /), yet the console is never
    answered from it: its shell and its catalog reads go to the network, and offline it is gone."""
    ctx = browser.new_context(base_url=server, service_workers="allow", **DESKTOP)
    page, errors = new_page(ctx)
    page.goto("/")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
    with page.expect_response(re.compile(r"/staff/login$")) as shell:
        page.goto("/staff/login")
    assert not shell.value.from_service_worker
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.controller !== null")  # controlled, and still left alone
    marker = uuid.uuid4().hex[:8]
    page.evaluate(f"fetch('/api/v1/items?q={marker}').then((r) => r.json())")
    cached = page.evaluate("caches.open('zw-catalog-v1').then((c) => c.keys()).then((k) => k.map((r) => r.url))")
    assert not [u for u in cached if marker in u], cached
    ctx.set_offline(True)
    with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
        page.goto("/staff/queue")
    ctx.close()
    assert not errors, errors
