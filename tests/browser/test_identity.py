"""Sign-in, 我的 (profile, enterprises), transparent token refresh and sign-out in the PWA.

The server allows 10 sign-in codes per hour from one address, and every browser test comes from
127.0.0.1: this module signs in ONCE (the `session` fixture, which also exercises the sign-in
screen) and hands the browser storage state from test to test. Refresh tokens rotate, so each test
stores its context's state back for the next one; sign-out, which ends the session, runs last.
The other sign-in screen tests stub /auth/otp instead of asking for real codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from tests.browser.conftest import ARTIFACTS, PHONE

PHONE_NUMBER = "13912340001"
MASKED_PHONE = "139****0001"
VALID_ID = "11010519491231002X"
MASKED_ID = "110105********002X"
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()


def with_check_digit(first17: str) -> str:
    """A resident ID number with a correct GB 11643 check character."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def _field(page: Page, input_id: str):
    """The form field (label, error, input) holding the input: errors must appear inside it."""
    return page.locator(".field", has=page.locator(f"#{input_id}"))


def _stored_tokens(page: Page) -> dict | None:
    raw = page.evaluate("() => localStorage.getItem('zw.auth')")
    return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def session(browser: Browser, server: str) -> Iterator[dict]:
    """Sign in once through the sign-in screen (wrong code first, then the right one)."""
    ctx = browser.new_context(base_url=server, service_workers="block", **PHONE)
    ctx.set_default_timeout(15_000)
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto("/me")
        page.wait_for_url(re.compile(r"/login\?redirect=(%2F|/)me$"))
        expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()

        page.get_by_label("手机号码").fill(PHONE_NUMBER)
        send = page.get_by_test_id("send-code")
        expect(send).to_have_text("获取验证码")
        send.click()
        expect(page.get_by_test_id("code-sent")).to_contain_text(MASKED_PHONE)
        expect(send).to_be_disabled()
        expect(send).to_have_text(re.compile(r"^\s*(60|59|58) 秒后重新获取\s*$"))

        code_input = page.get_by_label("短信验证码")
        expect(code_input).to_be_focused()
        expect(code_input).to_have_attribute("inputmode", "numeric")
        expect(code_input).to_have_attribute("autocomplete", "one-time-code")
        inbox = page.request.get("/api/v1/dev/sms", params={"phone": PHONE_NUMBER})
        assert inbox.ok, inbox.text()
        code = inbox.json()["codes"][0]

        code_input.fill("000000" if code != "000000" else "111111")
        page.get_by_test_id("sign-in").click()
        error = _field(page, "code").get_by_test_id("code-error")
        expect(error).to_have_text(re.compile("验证码不正确或已过期"))
        expect(code_input).to_have_attribute("aria-invalid", "true")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "20-sign-in-wrong-code.png"))

        code_input.fill(code)
        code_input.press("Enter")  # the form submits from the keyboard
        page.wait_for_url(re.compile(r"/me$"))
        expect(page.get_by_test_id("me-phone")).to_have_text(MASKED_PHONE)
        assert _stored_tokens(page), "tokens are kept in localStorage"
        assert not errors, f"uncaught errors in the page: {errors}"
        state = {"storage": ctx.storage_state()}
    finally:
        ctx.close()
    yield state


@pytest.fixture
def me_context(browser: Browser, server: str, session: dict) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=server, service_workers="block", storage_state=session["storage"], **PHONE)
    ctx.set_default_timeout(15_000)
    yield ctx
    session["storage"] = ctx.storage_state()  # the refresh token may have rotated
    ctx.close()


@pytest.fixture
def me_page(me_context: BrowserContext) -> Iterator[Page]:
    errors: list[str] = []
    p = me_context.new_page()
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    assert not errors, f"uncaught errors in the page: {errors}"


def test_signed_in_me_shows_the_masked_phone(me_page: Page, shot) -> None:
    page = me_page
    page.goto("/")
    page.get_by_test_id("nav-me").click()
    page.wait_for_url(re.compile(r"/me$"))
    expect(page.get_by_test_id("me-phone")).to_have_text(MASKED_PHONE)
    expect(page.get_by_test_id("me-verified")).to_contain_text("未实名认证")
    expect(page.get_by_test_id("nav-me")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("bind-needs-verified")).to_be_visible()
    assert PHONE_NUMBER not in page.locator("body").inner_text()
    shot(page, "21-me-unverified")


def test_real_name_profile_and_enterprise(me_page: Page, shot) -> None:
    page = me_page
    profile_requests: list[Request] = []
    page.on("request", lambda r: profile_requests.append(r) if r.url.endswith("/api/v1/me/profile") else None)
    page.goto("/me")
    name = page.get_by_label("姓名")
    id_input = page.get_by_label("身份证号码")
    name.fill("张三")

    # A wrong check digit is caught before sending, next to the field.
    id_input.fill("110105194912310021")
    page.get_by_test_id("save-profile").click()
    error = _field(page, "pf-id").get_by_test_id("id-error")
    expect(error).to_have_text(re.compile("身份证号码校验位不正确"))
    expect(id_input).to_have_attribute("aria-invalid", "true")
    expect(id_input).to_be_focused()
    assert not profile_requests, "an ID number with a wrong check digit is not sent"
    shot(page, "22-me-id-checksum", full_page=False)

    # The server checks more (here: the region code): its message is shown next to the field.
    bad_region = with_check_digit("99010519491231002")
    id_input.fill(bad_region)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/me/profile") and r.status == 400) as resp:
        page.get_by_test_id("save-profile").click()
    body = resp.value.json()
    assert body["field"] == "id_number"
    expect(error).to_have_text(re.compile(re.escape(body["message"])))
    assert body["message"] == "身份证号码的地区码无效"

    # A valid number: saved, shown masked only; the full number is nowhere in the page.
    id_input.fill(VALID_ID.lower())
    with page.expect_response(lambda r: r.url.endswith("/api/v1/me/profile") and r.ok):
        page.get_by_test_id("save-profile").click()
    expect(page.get_by_test_id("me-id-number")).to_have_text(MASKED_ID)
    expect(page.get_by_test_id("me-name")).to_have_text("张三")
    expect(page.get_by_test_id("me-verified")).to_contain_text("已实名认证")
    expect(page.get_by_test_id("profile-saved")).to_have_text("实名信息已保存")
    for text in (page.locator("body").inner_text(), page.content()):
        assert VALID_ID not in text.upper()
    values = page.eval_on_selector_all("input", "els => els.map(e => e.value.toUpperCase())")
    assert all(VALID_ID not in v for v in values), values
    shot(page, "23-me-verified")

    # Enterprises: the server's check-digit message next to the code, then a valid binding.
    bind = page.get_by_test_id("bind-form")
    expect(bind).to_be_visible()
    page.get_by_label("统一社会信用代码").fill("91110000802100433A")
    page.get_by_label("企业名称").fill("巴中示例科技有限公司")
    page.get_by_test_id("role-agent").check()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/me/enterprises") and r.status == 400):
        page.get_by_test_id("bind").click()
    uscc_error = _field(page, "en-uscc").get_by_test_id("uscc-error")
    expect(uscc_error).to_have_text(re.compile("统一社会信用代码校验位不正确"))

    page.get_by_label("统一社会信用代码").fill("91110000802100433B")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/me/enterprises") and r.status == 201):
        page.get_by_test_id("bind").click()
    enterprise = page.get_by_test_id("enterprise")
    expect(enterprise).to_have_count(1)
    expect(enterprise).to_contain_text("巴中示例科技有限公司")
    expect(enterprise).to_contain_text("91110000802100433B")
    expect(enterprise).to_contain_text("经办人")
    shot(page, "24-me-enterprise")


def test_expired_access_token_is_refreshed_transparently(me_page: Page) -> None:
    page = me_page
    page.goto("/me")
    expect(page.get_by_test_id("me-phone")).to_have_text(MASKED_PHONE)
    before = _stored_tokens(page)
    assert before
    page.evaluate(
        "() => { const t = JSON.parse(localStorage.getItem('zw.auth'));"
        " t.access = t.access.slice(0, -6) + 'broken'; localStorage.setItem('zw.auth', JSON.stringify(t)); }"
    )
    statuses: list[tuple[str, int]] = []
    page.on("response", lambda r: statuses.append((r.url.split("/api/v1")[-1], r.status)))
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/refresh") and r.ok):
        page.reload()
    expect(page.get_by_test_id("me-phone")).to_have_text(MASKED_PHONE)
    expect(page.get_by_test_id("me-id-number")).to_have_text(MASKED_ID)
    assert page.url.endswith("/me")
    calls = [s for s in statuses if s[0] in ("/me", "/auth/refresh")]
    assert calls == [("/me", 401), ("/auth/refresh", 200), ("/me", 200)], calls
    after = _stored_tokens(page)
    assert after and after["refresh"] != before["refresh"], "the refresh token rotated"
    assert not after["access"].endswith("broken")


def test_sign_in_screen_errors_elder_mode_and_english(context: BrowserContext, page: Page, shot) -> None:
    """No real code is requested here: /auth/otp answers 429 through a stub."""
    page.goto("/")
    page.evaluate("() => localStorage.setItem('zw.elder', 'true')")
    page.goto("/login")
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
    phone = page.get_by_label("手机号码")
    phone.fill("12345")
    page.get_by_test_id("send-code").click()
    expect(_field(page, "phone").get_by_test_id("phone-error")).to_have_text("请输入正确的 11 位手机号码")
    expect(phone).to_have_attribute("aria-invalid", "true")

    def too_many(route) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "120"},
            content_type="application/json",
            body=json.dumps({"status_code": 429, "message": "验证码已发送，请稍后再获取",
                             "detail": "wait before requesting another code"}),
        )

    page.route("**/api/v1/auth/otp", too_many)
    phone.fill("13912340002")
    send = page.get_by_test_id("send-code")
    send.click()
    expect(_field(page, "phone").get_by_test_id("phone-error")).to_have_text("验证码已发送，请稍后再获取")
    expect(send).to_have_text(re.compile(r"^\s*(120|119|118) 秒后重新获取\s*$"))
    expect(send).to_be_disabled()

    # Elder mode: big targets, readable contrast, and no pop-ups (messages are inline).
    for target in (phone, page.get_by_label("短信验证码"), page.get_by_test_id("sign-in")):
        box = target.bounding_box()
        assert box and box["height"] >= 60, box
    assert page.locator("[role=dialog], .van-popup, .van-toast").count() == 0
    low = page.evaluate(CONTRAST_JS)
    assert not low, f"text below 4.5:1 contrast: {low[:5]}"
    shot(page, "25-sign-in-elder-429", full_page=False)

    # Submitting without a code says so next to the code field.
    page.get_by_test_id("sign-in").click()
    expect(_field(page, "code").get_by_test_id("code-error")).to_have_text("请输入 6 位数字验证码")

    page.evaluate("() => localStorage.setItem('zw.locale', JSON.stringify('en'))")
    page.evaluate("() => sessionStorage.clear()")
    page.reload()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_test_id("send-code")).to_have_text("Get code")
    expect(page.get_by_label("Code from the text message")).to_be_visible()


def test_content_security_policy_holds(browser: Browser, server: str) -> None:
    """Under the built index.html's real policy (no bypass) the app runs without violations."""
    ctx = browser.new_context(base_url=server, service_workers="allow",
                              **{k: v for k, v in PHONE.items() if k != "bypass_csp"})
    try:
        page = ctx.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto("/")
        csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
        assert csp and "script-src 'self'" in csp and "unsafe-eval" not in csp
        expect(page.locator(".tile").first).to_be_visible()
        page.locator(".tile").first.click()
        expect(page.locator(".step .item-card").first).to_be_visible()
        page.locator(".step .item-card").first.click()
        expect(page.locator("img.qr")).to_have_count(1)
        page.goto("/me")
        page.wait_for_url(re.compile(r"/login\?redirect="))
        expect(page.get_by_test_id("send-code")).to_be_visible()
        assert not problems, problems
    finally:
        ctx.close()


def test_sign_out_ends_the_session(me_page: Page, shot) -> None:
    """Last: signing out revokes this module's session on the server."""
    page = me_page
    page.goto("/me")
    expect(page.get_by_test_id("me-phone")).to_have_text(MASKED_PHONE)
    tokens = _stored_tokens(page)
    assert tokens
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/logout") and r.status == 204):
        page.get_by_test_id("sign-out").click()
    page.wait_for_url(re.compile(r"/$"))
    assert _stored_tokens(page) is None

    page.goto("/me")
    page.wait_for_url(re.compile(r"/login\?redirect=(%2F|/)me$"))
    expect(page.get_by_test_id("login-form")).to_be_visible()
    shot(page, "26-signed-out-to-sign-in", full_page=False)

    # The server forgot the session too: neither old token works any more.
    old_access = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access']}"})
    assert old_access.status == 401
    old_refresh = page.request.post("/api/v1/auth/refresh", data={"refresh_token": tokens["refresh"]})
    assert old_refresh.status == 401
