"""A citizen's journey to the end on a phone (issues #19 and #15): the sign-in page that says why
and goes back where it came from, contact details filled in from the account, the item's full
name on the apply pages; a one-time correction notice → re-upload only its materials → 提交补正;
一件事一次办 for 开办餐饮店 with a shared material uploaded once and cases in three departments;
我的证照 with its verification QR code and 谁用了我的数据 after a clerk read a certificate;
enterprise mode; elder mode measured on every new screen; no emoji as icons anywhere.

The module's citizen signs in ONCE, through the sign-in page itself (the server allows 10 codes an
hour per address, shared by every browser test module); the demo citizen 李明 signs in through the
endpoints. API calls a test makes for the citizen take the page's own current token (the page
refreshes it; a second refresher would end the session). Screenshots 80-… in test-artifacts/.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import ARTIFACTS, PHONE
from tests.browser.test_apply import SMALL_TEXT_JS, TARGETS_JS, access_token, answer
from tests.tus_helpers import metadata, pdf_bytes

PHONE_NUMBER = "13912340312"
LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领、损坏换发
LICENCE_NAME = "营业执照遗失补领、损坏换发"
SHOP = "511A5001040000-511900000000-000-11511900MB00102256-1-00"  # 个体工商户设立登记 (市场监管)
FOOD = "511A5001060000-511900000000-000-11511900MB00102256-1-00"  # 食品经营许可
FIRE = "511A5022010000-511900000000-000-11511900MB0010313L-1-00"  # 消防安全检查 (消防)
SIGN = "511A5013010000-511900000000-000-11511900MB0010268K-1-00"  # 户外招牌设置 (城管)
BIRTH = "511F1100030000-511900000000-000-11511900MB00100574-1-00"  # 出生登记（新生儿入户）
LI_MING = "13800138000"  # demo: 居民户口簿 and 结婚证
DEMO_PASSWORD = "zhengwu-demo"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()
POA = "file:power_of_attorney:委托代理人授权委托书"

# A visible control whose text is an emoji alone (or whose only content is one), or an icon-only
# control without an accessible name; and any emoji at all in the page's visible text.
EMOJI_JS = r"""() => {
  const emoji = /[\p{Extended_Pictographic}\u{1F1E6}-\u{1F1FF}]/u;
  const onlyEmoji = /^[\p{Extended_Pictographic}\p{Emoji_Presentation}\uFE0F\u200D\s]+$/u;
  const visible = (el) => !!el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden';
  const bad = [];
  for (const el of document.querySelectorAll('a, button, label, summary, [role=button], [role=link]')) {
    if (!visible(el)) continue;
    const text = el.innerText.trim();
    const inputs = [...el.querySelectorAll('input')].map(i => i.getAttribute('aria-label') || '').join('');
    const name = el.getAttribute('aria-label') || text || inputs;
    if (text && onlyEmoji.test(text)) bad.push('emoji-only control: ' + text);
    if (!name.trim()) bad.push('control without a name: ' + el.outerHTML.slice(0, 80));
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement && visible(n.parentElement) && emoji.test(n.textContent)) {
      bad.push('emoji in text: ' + n.textContent.trim().slice(0, 30));
    }
  }
  return bad;
}"""


def _page(ctx: BrowserContext) -> tuple[Page, list[str]]:
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def _context(browser: Browser, server: str, storage: dict | None = None) -> BrowserContext:
    ctx = browser.new_context(base_url=server, service_workers="block", storage_state=storage, **PHONE)
    ctx.set_default_timeout(20_000)
    return ctx


def call(page: Page, method: str, path: str, **kw) -> dict:
    """The API as the signed-in page's citizen, with the page's current access token."""
    for attempt in (1, 2):
        headers = {"Authorization": f"Bearer {access_token(page)}", **kw.get("headers", {})}
        r = page.request.fetch(path, method=method, headers=headers, data=kw.get("data"))
        if r.status != 401 or attempt == 2:
            assert r.ok, f"{method} {path}: {r.status} {r.text()}"
            return r.json() if r.body() else {}
        page.goto("/me")  # the app refreshes its token on the way
        expect(page.get_by_test_id("me-phone")).to_be_visible()
    raise AssertionError("unreachable")


def upload(page: Page, case_id: int, code: str, data: bytes, filename: str) -> None:
    tus = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {access_token(page)}"}
    r = page.request.post("/api/v1/uploads", headers={
        **tus, "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata(case_id=case_id, material_id=code, filename=filename)})
    assert r.status == 201, r.text()
    r = page.request.patch(r.headers["location"], data=data, headers={
        **tus, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert r.status == 204, r.text()


def staff_token(server: str, username: str) -> str:
    r = httpx.post(f"{server}/api/v1/auth/staff/token", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def measure_elder(page: Page, targets: str) -> None:
    """适老化 on the page as it is: no text under 18 px, targets ≥ 60 × 60, contrast ≥ 4.5:1."""
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
    assert page.evaluate(SMALL_TEXT_JS) == []
    found = page.evaluate(TARGETS_JS, targets)
    assert found and all(w >= 60 and h >= 60 for _, w, h in found), found
    low = page.evaluate(CONTRAST_JS)
    assert not low, f"text below 4.5:1 contrast: {low[:5]}"


def no_emoji(page: Page) -> None:
    assert page.evaluate(EMOJI_JS) == []


# --------------------------------------------------------------------------- the module's citizen


@pytest.fixture(scope="module")
def session(browser: Browser, server: str) -> Iterator[dict]:
    """Sign in from 在线申请 through the sign-in page: it says why, its 返回 goes back to the
    material list, and after sign-in the application form has the phone filled in."""
    ARTIFACTS.mkdir(exist_ok=True)
    ctx = _context(browser, server)
    page, errors = _page(ctx)
    try:
        page.goto(f"/items/{LICENCE}/questions")
        answer(page, {"reason": "lost", "agent": "no"})
        page.get_by_test_id("apply").click()
        page.wait_for_url(re.compile(r"/login\?redirect="))
        expect(page.get_by_test_id("login-reason")).to_contain_text(f"登录后继续申请「{LICENCE_NAME}」")
        no_emoji(page)
        page.screenshot(path=str(ARTIFACTS / "80-sign-in-with-context.png"), full_page=True)
        page.get_by_role("button", name="返回").click()
        page.wait_for_url(re.compile(rf"/items/{re.escape(LICENCE)}/materials$"))
        expect(page.get_by_test_id("apply")).to_be_visible()

        page.get_by_test_id("apply").click()
        page.wait_for_url(re.compile(r"/login\?redirect="))
        page.get_by_label("手机号码").fill(PHONE_NUMBER)
        page.get_by_test_id("send-code").click()
        expect(page.get_by_test_id("code-sent")).not_to_be_empty()
        code = page.request.get("/api/v1/dev/sms", params={"phone": PHONE_NUMBER}).json()["codes"][0]
        page.get_by_label("短信验证码").fill(code)
        page.get_by_test_id("sign-in").click()
        page.wait_for_url(re.compile(r"/apply/[0-9a-f-]{16,}$"))  # back to the application
        expect(page.get_by_label("联系电话")).to_have_value(PHONE_NUMBER)  # from the account
        subtitle = page.get_by_test_id("header-subtitle")
        expect(subtitle).to_have_text(LICENCE_NAME)  # the full name, never only an ellipsis
        assert subtitle.evaluate("el => el.scrollWidth <= el.clientWidth")
        page.get_by_label("联系人姓名").fill("欧阳小明")
        page.get_by_test_id("delivery-window").check()
        page.get_by_test_id("form-next").click()
        page.wait_for_url(re.compile(r"/materials$"))
        expect(page.get_by_test_id("apply-material").first).to_be_visible()
        expect(page.get_by_test_id("apply-material").first.locator(".pick-btn svg.lucide").first).to_be_visible()
        no_emoji(page)  # the 拍照 / 选择文件 buttons: Lucide icons beside their words
        page.screenshot(path=str(ARTIFACTS / "81-apply-materials-icons.png"), full_page=True)
        state = {"storage": ctx.storage_state()}
        assert not errors, errors
    finally:
        ctx.close()
    yield state


@pytest.fixture
def signed_in(browser: Browser, server: str, session: dict) -> Iterator[Page]:
    ctx = _context(browser, server, session["storage"])
    page, errors = _page(ctx)
    page.goto("/")
    yield page
    session["storage"] = ctx.storage_state()  # the refresh token may have rotated
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def submitted_licence(page: Page) -> dict:
    body = {"item_code": LICENCE, "answers": {"reason": "lost", "agent": "no"}}
    case = call(page, "POST", "/api/v1/cases", data=body)
    for m in case["materials"]:
        if m["required"] and m["source"] == "applicant":
            upload(page, case["id"], m["code"], pdf_bytes(3000), f"{m['code']}.pdf")
    return call(page, "POST", f"/api/v1/cases/{case['id']}/submit", headers={"Idempotency-Key": uuid.uuid4().hex})


def test_correction_notice_reupload_and_resupply(signed_in: Page, server: str, shot) -> None:
    page = signed_in
    done = submitted_licence(page)
    case = done["case"]
    clerk = {"Authorization": f"Bearer {staff_token(server, 'clerk-W07')}"}  # 经济发展 window: this item's
    r = httpx.post(f"{server}/api/v1/cases/{case['id']}/actions/request-correction", headers=clerk, json={
        "version": case["version"], "materials": [{"code": "application", "problem": "申请书缺少法定代表人签名"}]})
    assert r.status_code == 200, r.text

    page.goto(f"/cases/{case['id']}")
    expect(page.get_by_test_id("correction-waiting")).to_contain_text("等待您补正，计时已暂停")
    expect(page.get_by_test_id("clock-paused")).to_contain_text("等待您补正材料")
    expect(page.locator("[data-testid=voucher][data-kind=correction]")).to_be_visible()  # 补正材料通知书
    no_emoji(page)
    shot(page, "82-case-waiting-for-correction")

    page.get_by_test_id("open-correction").click()
    page.wait_for_url(re.compile(rf"/cases/{case['id']}/correction$"))
    items = page.get_by_test_id("correction-material")
    expect(items).to_have_count(1)  # exactly the notice's list
    expect(items.first).to_have_attribute("data-code", "application")
    expect(items.first).to_contain_text("申请书缺少法定代表人签名")
    expect(page.get_by_test_id("resupply")).to_be_disabled()
    shot(page, "83-correction-notice")
    page.get_by_test_id("file-application").set_input_files(
        files=[{"name": "signed.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(4000)}])
    expect(items.first.get_by_test_id("correction-state")).to_have_attribute("data-fixed", "true")
    expect(page.get_by_test_id("correction-left")).to_have_text("需补正的材料都已重新上传")

    page.evaluate("() => localStorage.setItem('zw.elder', 'true')")
    page.reload()
    expect(page.get_by_test_id("resupply")).to_be_enabled()
    measure_elder(page, ".pick-btn, [data-testid=resupply], .back-link")
    no_emoji(page)
    shot(page, "84-correction-elder")
    page.evaluate("() => localStorage.setItem('zw.elder', 'false')")

    page.get_by_test_id("resupply").click()
    page.wait_for_url(re.compile(rf"/cases/{case['id']}\?notice=resupplied$"))
    expect(page.get_by_test_id("withdraw-done")).to_have_text("补正已提交，计时恢复")
    now = call(page, "GET", f"/api/v1/cases/{case['id']}")
    assert now["state"] == "submitted" and now["clock_paused"] is False and now["correction"] is None
    expect(page.get_by_test_id("correction-waiting")).to_have_count(0)
    expect(page.get_by_test_id("pauses")).to_contain_text("补正材料")
    expect(page.get_by_test_id("paused-days")).to_have_text("暂停不足 1 个工作日，办理时限不受影响")
    shot(page, "85-case-after-resupply")
    page.evaluate("() => localStorage.setItem('zw.elder', 'true')")
    page.reload()
    expect(page.get_by_test_id("clock")).to_be_visible()
    measure_elder(page, "[data-testid=open-voucher], [data-testid=download]")
    page.evaluate("() => localStorage.setItem('zw.elder', 'false')")


def test_a_bundle_for_opening_a_restaurant(signed_in: Page, shot) -> None:
    """一件事一次办: three items of three departments; the power of attorney all three need is
    uploaded once; one submission files them all."""
    page = signed_in
    page.goto("/life-events/open_restaurant")
    page.get_by_test_id("bundle-start").click()
    page.wait_for_url(re.compile(r"/life-events/open_restaurant/bundle$"))
    # 燃气报装 is for enterprises only: shown, with why, and left out.
    gas = page.locator("[data-testid=bundle-item]", has=page.get_by_test_id("bundle-item-why"))
    expect(gas.first).to_contain_text("只能以企业身份申请")
    expect(gas.first.locator("input")).to_be_disabled()
    page.locator(f"[data-testid=bundle-item][data-code='{FOOD}'] input").uncheck()

    answers = {f"{SHOP}|mode": "person", "agent": "yes", f"{SHOP}|food": "yes", f"{FIRE}|mode": "pledge",
               f"{FIRE}|area": "120", f"{SIGN}|type": "shop_sign"}
    shared = page.locator("[data-testid=bundle-question][data-key=agent]")
    expect(shared).to_contain_text("3 个事项共用")  # asked once for all three
    for key, value in answers.items():
        block = page.locator(f"[data-testid=bundle-question][data-key='{key}']")
        radio = block.locator(f"input[type=radio][value='{value}']")
        if radio.count():
            radio.check()
        else:
            block.locator("input").fill(value)
    expect(page.get_by_test_id("bundle-question")).to_have_count(len(answers))
    no_emoji(page)
    shot(page, "86-bundle-questions")
    # Elder mode, and nothing typed is lost on a reload (the answers are kept in the tab).
    page.evaluate("() => localStorage.setItem('zw.elder', 'true')")
    page.reload()
    expect(page.locator(f"[data-testid=bundle-question][data-key='{FIRE}|area'] input")).to_have_value("120")
    measure_elder(page, ".option, [data-testid=bundle-next]")
    page.evaluate("() => localStorage.setItem('zw.elder', 'false')")
    page.reload()
    expect(page.locator("[data-testid=bundle-question][data-key=agent] input[value=yes]")).to_be_checked()
    page.get_by_test_id("bundle-next").click()
    poa = page.locator(f"[data-testid=bundle-material][data-key='{POA}']")
    expect(poa.get_by_test_id("bundle-serves")).to_contain_text("用于 3 个事项")
    expect(page.get_by_test_id("bundle-merged")).to_contain_text("已合并")
    shot(page, "87-bundle-combined-list")
    page.get_by_test_id("bundle-create").click()
    page.wait_for_url(re.compile(r"/bundles/\d+$"))
    bundle_id = int(page.url.rsplit("/", 1)[-1])

    uploads = page.get_by_test_id("bundle-upload")
    expect(uploads.first).to_be_visible()
    shared_upload = page.locator(f"[data-testid=bundle-upload][data-key='{POA}'] [data-testid=bundle-serves]")
    expect(shared_upload).to_contain_text("用于 3 个事项")
    tus_posts: list[str] = []
    page.on("request", lambda r: tus_posts.append(r.url)
            if r.method == "POST" and "/api/v1/uploads" in r.url else None)
    keys = uploads.evaluate_all(
        "els => els.filter(e => e.querySelector('input[type=file]')).map(e => e.dataset.key)")
    for n, key in enumerate(keys):
        item = page.locator(f"[data-testid=bundle-upload][data-key='{key}']")
        item.locator("input[type=file]:not([capture])").set_input_files(
            files=[{"name": f"m{n}.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(2000 + n)}])
        expect(item).to_have_attribute("data-status", "attached")
    assert len(tus_posts) == len(keys), "each material uploaded once, the shared one too"

    page.evaluate("() => localStorage.setItem('zw.elder', 'true')")
    page.reload()
    expect(page.get_by_test_id("bundle-form")).to_be_visible()
    measure_elder(page, ".option, .text-input, [data-testid=bundle-submit]")
    no_emoji(page)
    shot(page, "88-bundle-form-elder")
    page.evaluate("() => localStorage.setItem('zw.elder', 'false')")
    page.reload()

    expect(page.get_by_label("联系电话")).to_have_value(PHONE_NUMBER)
    page.get_by_label("联系人姓名").fill("欧阳小明")
    page.get_by_test_id("bundle-submit").click()
    expect(page.get_by_test_id("bundle-submitted")).to_have_text(re.compile("已提交，各部门同时办理"))
    rows = page.get_by_test_id("bundle-case")
    expect(rows).to_have_count(3)
    assert sorted(rows.evaluate_all("els => els.map(e => e.dataset.department)")) == ["CGJ", "SCJGJ", "XFZD"]
    expect(page.get_by_test_id("bundle-case-number")).to_have_count(3)
    shot(page, "89-bundle-tracking")

    b = call(page, "GET", f"/api/v1/bundles/{bundle_id}")
    assert [c["state"] for c in b["cases"]] == ["submitted"] * 3
    hashes = set()
    for c in b["cases"]:
        case = call(page, "GET", f"/api/v1/cases/{c['case_id']}")
        assert case["bundle_id"] == bundle_id
        [m] = [m for m in case["materials"] if m["code"] == "power_of_attorney"]
        assert m["status"] == "attached"
        hashes.add(m["sha256"])
    assert len(hashes) == 1, "one file serves all three"


def test_enterprise_mode_switches_what_the_app_shows(signed_in: Page, shot) -> None:
    page = signed_in
    first17 = "11010519800101002"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    id_number = first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    call(page, "PUT", "/api/v1/me/profile", data={"name": "欧阳小明", "id_number": id_number})
    uscc = "91511900MB77731296"  # bound only here (test_apply binds another)
    call(page, "POST", "/api/v1/me/enterprises", data={"uscc": uscc, "name": "巴中小明餐饮有限公司",
                                                         "role": "legal_representative"})
    page.goto("/me")
    page.get_by_test_id(f"subject-{uscc}").check()
    expect(page.get_by_test_id("subject-saved")).to_contain_text("巴中小明餐饮有限公司")
    shot(page, "90-enterprise-mode")
    page.goto("/")
    expect(page.get_by_test_id("subject-banner")).to_contain_text("巴中小明餐饮有限公司")
    expect(page.get_by_test_id("audience-legal_person")).to_have_attribute("aria-pressed", "true")
    page.goto("/cases")
    expect(page.get_by_test_id("cases-subject")).to_contain_text("巴中小明餐饮有限公司")
    expect(page.get_by_test_id("cases-empty")).to_be_visible()  # nothing filed for it yet
    page.goto("/me")
    page.get_by_test_id("subject-self").check()
    page.goto("/cases")
    expect(page.get_by_test_id("case-card").first).to_be_visible()  # the person's own again


# --------------------------------------------------------------------------- 李明: certificates


@pytest.fixture(scope="module")
def li_ming(browser: Browser, server: str) -> Iterator[dict]:
    r = httpx.post(f"{server}/api/v1/auth/otp", json={"phone": LI_MING})
    assert r.status_code == 202, r.text
    code = httpx.get(f"{server}/api/v1/dev/sms", params={"phone": LI_MING}).json()["codes"][0]
    t = httpx.post(f"{server}/api/v1/auth/token", json={"phone": LI_MING, "code": code}).json()
    value = json.dumps({"access": t["access_token"], "refresh": t["refresh_token"], "expiresAt": 0, "phone": LI_MING})
    local = [{"name": "zw.auth", "value": value}]
    yield {"storage": {"cookies": [], "origins": [{"origin": server, "localStorage": local}]}}


def test_certificates_their_qr_and_who_used_my_data(browser: Browser, server: str, li_ming: dict, shot) -> None:
    ctx = _context(browser, server, li_ming["storage"])
    page, errors = _page(ctx)
    try:
        page.goto("/me")
        expect(page.get_by_test_id("me-phone")).to_be_visible()
        case = call(page, "POST", "/api/v1/cases", data={"item_code": BIRTH, "answers": {
            "born": "cn", "married": "yes", "follow": "father"}})
        done = call(page, "POST", f"/api/v1/cases/{case['id']}/submit", headers={"Idempotency-Key": uuid.uuid4().hex})
        clerk = {"Authorization": f"Bearer {staff_token(server, 'clerk-W01')}"}  # 社会事务 window
        r = httpx.get(f"{server}/api/v1/cases/{case['id']}/materials/parent_household/certificate", headers=clerk,
                      params={"purpose": "受理时核对户籍信息"})
        assert r.status_code == 200, r.text

        page.get_by_test_id("me-data-access").click()
        page.wait_for_url(re.compile(r"/data-access$"))
        newest = page.get_by_test_id("access").first
        expect(newest.get_by_test_id("access-who")).to_have_text(re.compile("窗口工作人员$"))
        expect(newest.get_by_test_id("access-purpose")).to_have_text("受理时核对户籍信息")
        expect(newest.get_by_test_id("access-case")).to_have_text(done["number"])
        expect(page.get_by_test_id("access").nth(1).get_by_test_id("access-who")).to_have_text("本人")
        no_emoji(page)
        shot(page, "91-who-used-my-data")

        page.goto("/certificates")
        household = page.locator("[data-testid=certificate][data-type=household_register]")
        expect(household.get_by_test_id("certificate-state")).to_have_text("有效")
        household.get_by_test_id("show-qr").click()
        qr = household.get_by_test_id("certificate-qr")
        expect(qr).to_be_visible()
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=qr.element_handle())
        qr.evaluate("el => el.scrollIntoView({ block: 'center' })")  # clear of the bottom navigation
        png = qr.screenshot()
        (ARTIFACTS / "92-certificate-qr-only.png").write_bytes(png)
        [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
        url = urlsplit(found.text)
        assert f"{url.scheme}://{url.netloc}" == DEFAULT_PUBLIC_URL and url.path == "/verify"
        no_emoji(page)
        shot(page, "92-my-certificates-qr")

        page.evaluate("() => localStorage.setItem('zw.elder', 'true')")
        page.reload()
        measure_elder(page, "[data-testid=show-qr], .data-link")
        page.goto("/data-access")
        expect(page.get_by_test_id("access").first).to_be_visible()
        assert page.evaluate(SMALL_TEXT_JS) == [] and not page.evaluate(CONTRAST_JS)
        page.evaluate("() => localStorage.setItem('zw.elder', 'false')")

        # The QR code opens the public verification: anyone, signed in or not, sees it is valid.
        anyone = _context(browser, server)
        other, other_errors = _page(anyone)
        try:
            other.goto(f"{url.path}?{url.query}")
            expect(other.get_by_test_id("verify-result")).to_have_attribute("data-state", "valid")
            expect(other.get_by_test_id("verify-state")).to_have_text("有效")
            assert "李明" not in other.content()
            no_emoji(other)
            shot(other, "93-public-verification")
            other.evaluate("() => localStorage.setItem('zw.elder', 'true')")
            other.goto("/verify")
            measure_elder(other, ".text-input, [data-testid=verify]")
            assert not other_errors, other_errors
        finally:
            anyone.close()
        assert not errors, errors
    finally:
        ctx.close()


def test_no_emoji_as_icons_on_the_public_screens(page: Page) -> None:
    """A phone without an emoji font draws emoji as empty boxes: every icon is Lucide's SVG."""
    for path in ("/", "/life-events/newborn", "/life-events/open_restaurant/bundle", f"/items/{LICENCE}",
                 "/departments", "/kinds", "/track", "/verify", "/login?redirect=/cases"):
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
        page.wait_for_load_state("networkidle")
        no_emoji(page)
    page.goto("/")
    tiles = page.locator(".tile")
    expect(tiles.first).to_be_visible()
    assert tiles.first.locator("svg.lucide").count() == 1  # the life event's pictogram is an SVG
