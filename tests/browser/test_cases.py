"""我的办件, case detail (timeline, promised date, receipt, materials, withdrawal), public tracking
from the receipt's QR code, the scanner and elder mode on these screens.

The buttons of a case (continue a draft, withdraw; discard, change and submit on the apply
screens) come from the `allowed_actions` the server sends with it, never from its state: some
tests change that list in the answers on their way to the page (page.route) to show that.

Cases are made over HTTP against the test server the way the app makes them: a draft, its
materials uploaded with tus, then submitted. The citizen signs in ONCE for the module through the
real endpoints (the development SMS inbox; the server allows 10 codes an hour per address) and the
browser gets the tokens in its storage. Refresh tokens rotate, so signed-in contexts store their
state back for the next test (as test_identity.py does).

The server's ZHENGWU_PUBLIC_URL is left at its default (http://127.0.0.1:8000) while it listens on
a free port, so the URLs in its QR codes name another origin than the page's. A deployment serves
the PWA at its PUBLIC_URL; the tests therefore open the QR code's path and query on the test
server, after checking the decoded QR is exactly PUBLIC_URL + that path.

The scanner tests need a camera: they use their own Chromium with Chromium's fake capture device
(`--use-fake-device-for-media-stream`), which without a permission grant gives a real
NotAllowedError, and with one plays a video file made here from a QR code image.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import qrcode
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Route, expect

from tests.browser.citizens import SignedInCitizen
from tests.browser.conftest import CHROMIUM_ARGS, PHONE
from tests.tus_helpers import pdf_bytes

PHONE_NUMBER = "13912340205"
MASKED_PHONE = "139****0205"
NAME = "欧阳明月"
LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领 (demo seed)
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
NOT_FOUND = "没有找到这个办件，请核对办件编号和查询码"  # api/cases/controllers.py _NOT_FOUND
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()  # texts below 4.5:1


def with_check_digit(first17: str) -> str:
    """A resident ID number with a correct GB 11643 check character."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


ID_NUMBER = with_check_digit("11010519800101123")


def zh_date(iso: str) -> str:
    y, m, d = (int(p) for p in iso[:10].split("-"))
    return f"{y}年{m}月{d}日"


def decode_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1, found
    return found[0].text


# --------------------------------------------------------------------------- API side


class Citizen(SignedInCitizen):
    """The module's citizen over HTTP (bearer token), as the PWA would call the API."""

    def __init__(self, base: str) -> None:
        super().__init__(base, PHONE_NUMBER, NAME, ID_NUMBER)

    def draft(self) -> dict:
        body = {"item_code": LICENCE, "answers": {"reason": "lost", "agent": "no"}}
        r = self.call("POST", "/api/v1/cases", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def upload(self, case: dict, code: str, data: bytes, filename: str) -> None:
        self.upload_file(case["id"], code, data, filename)

    def submitted(self) -> tuple[dict, dict[str, bytes]]:
        """A submitted case (its submit answer) and the bytes uploaded per material code."""
        return self.submit(self.draft())

    def submit(self, case: dict) -> tuple[dict, dict[str, bytes]]:
        """Upload a draft's required materials and submit it: its submit answer and the bytes."""
        files = {}
        for m in case["materials"]:
            if m["required"] and m["source"] == "applicant":
                files[m["code"]] = pdf_bytes(3000)
                self.upload(case, m["code"], files[m["code"]], f"{m['code']}.pdf")
        r = self.call("POST", f"/api/v1/cases/{case['id']}/submit", headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 200, r.text
        return r.json(), files

    def receipt(self, case_id: int) -> dict:
        r = self.call("GET", f"/api/v1/cases/{case_id}/receipt")
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def citizen(server: str) -> Iterator[Citizen]:
    c = Citizen(server)
    yield c
    c.http.close()


@pytest.fixture(scope="module")
def session(server: str, citizen: Citizen) -> dict:
    """Browser storage holding the citizen's tokens (src/api.js, key zw.auth)."""
    return {"storage": citizen.browser_storage()}


def _new_page(ctx: BrowserContext) -> tuple[Page, list[str]]:
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


@pytest.fixture
def signed_in(browser: Browser, server: str, session: dict) -> Iterator[Page]:
    ctx = browser.new_context(base_url=server, service_workers="block", storage_state=session["storage"], **PHONE)
    ctx.set_default_timeout(15_000)
    page, errors = _new_page(ctx)
    yield page
    session["storage"] = ctx.storage_state()  # the refresh token may have rotated
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def signed_out(browser: Browser, server: str) -> Iterator[Page]:
    ctx = browser.new_context(base_url=server, service_workers="block", **PHONE)
    ctx.set_default_timeout(15_000)
    page, errors = _new_page(ctx)
    yield page
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def _no_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def on_dialog(d: Dialog) -> None:
        seen.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    return seen


# --------------------------------------------------------------------------- 我的办件 and detail


def test_my_cases_list_and_detail_with_timeline(signed_in: Page, citizen: Citizen, shot) -> None:
    page = signed_in
    dialogs = _no_dialogs(page)
    done, files = citizen.submitted()
    case = done["case"]
    draft = citizen.draft()
    receipt = citizen.receipt(case["id"])

    # Two ways in: 我的 → 我的办件, and the bottom navigation.
    page.goto("/me")
    page.get_by_test_id("me-cases").click()
    page.wait_for_url(re.compile(r"/cases$"))
    page.goto("/")
    page.get_by_test_id("nav-cases").click()
    page.wait_for_url(re.compile(r"/cases$"))
    expect(page.get_by_role("heading", name="我的办件")).to_be_visible()
    expect(page.get_by_test_id("nav-cases")).to_have_attribute("aria-current", "page")

    card = page.locator(f"[data-testid=case-card][data-case-id='{case['id']}']")
    expect(card).to_contain_text(case["item_name"])
    expect(card).to_contain_text(done["number"])
    badge = card.get_by_test_id("case-state")
    expect(badge).to_have_text(re.compile(r"已提交，等待受理"))  # words, and an icon (SVG) beside them
    expect(badge.locator("svg.lucide")).to_have_count(1)
    # The draft is listed too (newest first) and continues in the apply flow.
    draft_card = page.locator(f"[data-testid=case-card][data-case-id='{draft['id']}']")
    expect(draft_card.get_by_test_id("case-state")).to_have_text(re.compile("草稿"))
    expect(draft_card).to_contain_text("继续申请")
    expect(draft_card).to_have_attribute("href", f"/apply/{draft['id']}")
    ids = [int(x) for x in page.locator("[data-testid=case-card]").evaluate_all(
        "els => els.map(e => e.dataset.caseId)")]
    assert ids.index(draft["id"]) < ids.index(case["id"]), "newest first"
    shot(page, "60-my-cases")

    card.click()
    page.wait_for_url(re.compile(rf"/cases/{case['id']}$"))
    expect(page.get_by_test_id("case-item-name")).to_have_text(case["item_name"])
    expect(page.get_by_test_id("detail-number")).to_have_text(done["number"])
    expect(page.get_by_test_id("promised-date")).to_contain_text(zh_date(receipt["promised_date"]))
    entries = page.get_by_test_id("timeline-entry")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("提交申请")
    expect(entries.first).to_contain_text("（当前）")
    expect(entries.first.get_by_test_id("case-state")).to_have_text(re.compile("已提交，等待受理"))
    # The receipt: query code and its QR image (fetched with the token, shown from a blob: URL).
    expect(page.get_by_test_id("query-code")).to_have_text(receipt["query_code"])
    qr = page.get_by_test_id("receipt-qr")
    expect(qr).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    expect(page.get_by_test_id("open-tracking")).to_have_attribute(
        "href", f"/track?number={done['number']}&code={receipt['query_code']}")

    # Materials: each uploaded one downloads byte for byte.
    code = next(iter(files))
    material = page.locator(f"[data-testid=material][data-code='{code}']")
    expect(material).to_contain_text("已上传")
    with page.expect_download() as dl:
        material.get_by_test_id("download").click()
    assert dl.value.suggested_filename == f"{code}.pdf"
    assert Path(dl.value.path()).read_bytes() == files[code]
    shot(page, "61-case-detail-timeline")

    # Withdraw: confirmed in the page (no pop-up); "keep it" changes nothing.
    page.get_by_test_id("withdraw").click()
    confirm = page.get_by_test_id("withdraw-confirm")
    expect(confirm).to_contain_text("确定撤回这个申请吗？")
    expect(page.locator("#withdraw-confirm-title")).to_be_focused()
    page.get_by_test_id("withdraw-no").click()
    expect(confirm).to_have_count(0)
    expect(page.get_by_test_id("withdraw")).to_be_focused()
    page.get_by_test_id("withdraw").click()
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/cases/{case['id']}/withdraw") and r.ok):
        page.get_by_test_id("withdraw-yes").click()
    expect(page.get_by_test_id("withdraw-done")).to_have_text("已撤回申请")
    expect(page.locator(".state-line").get_by_test_id("case-state")).to_have_text(re.compile(r"已撤回"))
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("撤回申请")
    expect(entries.first).to_contain_text("（当前）")
    expect(page.get_by_test_id("withdraw")).to_have_count(0)  # nothing left to withdraw
    expect(page.get_by_test_id("promised-date")).to_have_count(0)  # nothing will be completed now
    assert not dialogs, dialogs


def test_a_draft_detail_continues_in_the_apply_flow(signed_in: Page, citizen: Citizen) -> None:
    page = signed_in
    draft = citizen.draft()
    page.goto(f"/cases/{draft['id']}")
    expect(page.locator(".state-line").get_by_test_id("case-state")).to_have_text(re.compile("草稿"))
    expect(page.get_by_test_id("continue-apply")).to_have_attribute("href", f"/apply/{draft['id']}")
    expect(page.get_by_test_id("timeline-empty")).to_have_text("还没有办理记录")
    expect(page.get_by_test_id("receipt")).to_have_count(0)
    expect(page.get_by_test_id("withdraw")).to_have_count(0)
    # 继续申请 hands the draft to the apply flow, which takes it onto this phone and opens its form.
    page.get_by_test_id("continue-apply").click()
    page.wait_for_url(re.compile(r"/apply/[0-9a-f]{8}-[0-9a-f-]{27}$"))  # the phone's draft id (a UUID)


def _rewrite_case(page: Page, case_id: int, change) -> None:
    """Pass the case's answers (detail and list) to the page with `change(case)` applied."""
    def detail(route: Route) -> None:
        body = route.fetch().json()
        change(body)
        route.fulfill(json=body)

    def listing(route: Route) -> None:
        body = route.fetch().json()
        for item in body["items"]:
            if item["id"] == case_id:
                change(item)
        route.fulfill(json=body)

    page.route(re.compile(rf"/api/v1/cases/{case_id}$"), detail)
    page.route(re.compile(r"/api/v1/cases(\?.*)?$"), listing)


def test_buttons_follow_the_allowed_actions_not_the_state(signed_in: Page, citizen: Citizen) -> None:
    page = signed_in
    done, _ = citizen.submitted()
    case_id = done["case"]["id"]
    allowed: dict = {"actions": []}

    def say(c: dict) -> None:
        if allowed["actions"] is None:
            c.pop("allowed_actions", None)
        else:
            c["allowed_actions"] = allowed["actions"]

    _rewrite_case(page, case_id, say)
    # Submitted, but the server allows nothing: no withdrawal offered.
    page.goto(f"/cases/{case_id}")
    expect(page.get_by_test_id("query-code")).to_be_visible()
    expect(page.locator(".state-line").get_by_test_id("case-state")).to_have_text(re.compile("已提交"))
    expect(page.get_by_test_id("withdraw")).to_have_count(0)
    # An answer that does not say (an older server): no guess either.
    allowed["actions"] = None
    page.reload()
    expect(page.get_by_test_id("query-code")).to_be_visible()
    expect(page.get_by_test_id("withdraw")).to_have_count(0)
    # Actions this PWA does not know yet are passed over; the one it knows shows.
    allowed["actions"] = ["rate", "withdraw", "resupply"]
    page.reload()
    expect(page.get_by_test_id("withdraw")).to_have_text("撤回申请")
    expect(page.get_by_test_id("continue-apply")).to_have_count(0)

    # A draft the server does not let the citizen change: listed and shown, never continued.
    draft = citizen.draft()
    allowed["actions"] = ["discard"]
    _rewrite_case(page, draft["id"], say)
    page.goto("/cases")
    card = page.locator(f"[data-testid=case-card][data-case-id='{draft['id']}']")
    expect(card.get_by_test_id("case-state")).to_have_text(re.compile("草稿"))
    expect(card).to_have_attribute("href", f"/cases/{draft['id']}")
    expect(card).not_to_contain_text("继续申请")
    card.click()
    page.wait_for_url(re.compile(rf"/cases/{draft['id']}$"))
    expect(page.locator(".state-line").get_by_test_id("case-state")).to_have_text(re.compile("草稿"))
    expect(page.get_by_test_id("continue-apply")).to_have_count(0)
    expect(page.get_by_test_id("withdraw")).to_have_count(0)
    # Opened as /apply/<case id> anyway (an old link): the apply flow sends it to its detail.
    page.goto(f"/apply/{draft['id']}")
    page.wait_for_url(re.compile(rf"/cases/{draft['id']}$"))
    expect(page.get_by_test_id("case-item-name")).to_be_visible()
    page.unroute_all(behavior="wait")  # no rewrite left half done when the context closes


def test_a_refused_withdrawal_draws_what_the_case_allows_now(signed_in: Page, citizen: Citizen) -> None:
    """The page offered a withdrawal the server no longer allows (here: a stale answer claims it
    for a draft): the refusal is shown by the state, and the button goes with the fresh answer."""
    page = signed_in
    draft = citizen.draft()
    stale = {"left": 1}

    def claim_withdraw(c: dict) -> None:
        if stale["left"]:
            stale["left"] -= 1
            c["allowed_actions"] = ["withdraw"]

    _rewrite_case(page, draft["id"], claim_withdraw)
    page.goto(f"/cases/{draft['id']}")
    page.get_by_test_id("withdraw").click()
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/cases/{draft['id']}/withdraw") and r.status == 409):
        page.get_by_test_id("withdraw-yes").click()
    expect(page.get_by_test_id("withdraw-refused")).to_contain_text("这个办件现在不能撤回")
    expect(page.locator("#state-title")).to_be_focused()
    expect(page.get_by_test_id("withdraw")).to_have_count(0)
    expect(page.get_by_test_id("withdraw-confirm")).to_have_count(0)
    expect(page.get_by_test_id("continue-apply")).to_be_visible()  # what the fresh answer allows
    page.unroute_all(behavior="wait")


def test_a_draft_submitted_elsewhere_stops_offering_changes(signed_in: Page, citizen: Citizen) -> None:
    """The phone holds a server draft; it is submitted on another device; the next change the
    phone sends is refused, and from then on the apply screens offer what the case allows."""
    page = signed_in
    draft = citizen.draft()
    page.goto(f"/cases/{draft['id']}")
    page.get_by_test_id("continue-apply").click()
    page.wait_for_url(re.compile(r"/apply/[0-9a-f]{8}-[0-9a-f-]{27}$"))
    note = page.locator("#f-note")
    expect(note).to_be_enabled()
    expect(page.get_by_test_id("discard")).to_be_visible()
    expect(page.get_by_test_id("sync-status")).to_contain_text("已同步到服务器")

    citizen.submit(draft)  # on another device
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.url.endswith(f"/api/v1/cases/{draft['id']}")
                              and r.status == 409):
        note.fill("补充说明")
    notice = page.get_by_test_id("actions-note")
    expect(notice).to_contain_text("这份申请现在不能再修改或提交。")
    expect(note).to_be_disabled()
    expect(page.get_by_test_id("discard")).to_have_count(0)
    page.get_by_test_id("form-next").click()
    page.wait_for_url(re.compile(r"/materials$"))
    expect(page.get_by_test_id("apply-material").first).to_be_visible()
    expect(page.locator("[data-testid=apply-material] input[type=file]")).to_have_count(0)
    page.get_by_test_id("step-check").click()
    expect(page.get_by_test_id("submit")).to_have_count(0)
    notice.get_by_role("link", name="查看办件").click()
    page.wait_for_url(re.compile(rf"/cases/{draft['id']}$"))
    expect(page.get_by_test_id("withdraw")).to_be_visible()  # what a submitted case allows


def test_my_cases_pages_on_as_the_list_scrolls(signed_in: Page, citizen: Citizen) -> None:
    """Keyset paging: 20 a page; scrolling to the end loads the rest, each case once."""
    page = signed_in

    def all_ids() -> list[int]:
        ids, cursor = [], None
        while True:
            r = citizen.call("GET", "/api/v1/cases", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
            ids += [c["id"] for c in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                return ids

    for _ in range(max(0, 41 - len(all_ids()))):
        citizen.draft()
    expected = all_ids()
    assert len(expected) > 40, "three pages at least"

    page.goto("/cases")
    cards = page.get_by_test_id("case-card")
    expect(cards).to_have_count(20)
    while cards.count() < len(expected):
        before = cards.count()
        page.get_by_test_id("case-list").locator("li").last.scroll_into_view_if_needed()
        expect(cards).not_to_have_count(before)
    expect(page.get_by_text("没有更多了")).to_be_visible()
    shown = [int(x) for x in cards.evaluate_all("els => els.map(e => e.dataset.caseId)")]
    assert shown == expected


def test_signed_out_cases_go_to_sign_in(signed_out: Page) -> None:
    signed_out.goto("/cases")
    signed_out.wait_for_url(re.compile(r"/login\?redirect=(%2F|/)cases$"))


# --------------------------------------------------------------------------- public tracking


def test_tracking_from_the_receipt_qr_shows_progress_and_nothing_personal(
    signed_out: Page, citizen: Citizen, server: str, shot
) -> None:
    page = signed_out
    done, _ = citizen.submitted()
    receipt = citizen.receipt(done["case"]["id"])
    r = citizen.call("GET", receipt["qr_png_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    link = decode_qr(r.content)
    assert link == receipt["tracking_url"]
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == DEFAULT_PUBLIC_URL and parts.path == "/track"

    calls: list[tuple[str, str | None]] = []
    page.on("request", lambda q: calls.append((q.url, q.headers.get("authorization")))
            if "/api/" in q.url else None)
    with page.expect_response(lambda resp: "/api/v1/track?" in resp.url and resp.ok):
        page.goto(f"{parts.path}?{parts.query}")  # looked up at once, without pressing anything
    result = page.get_by_test_id("track-result")
    expect(page.get_by_test_id("track-item")).to_have_text(receipt["item_name"])
    expect(page.get_by_test_id("track-item")).to_be_focused()
    expect(result.get_by_test_id("case-state")).to_have_text(re.compile(r"已提交，等待受理"))
    expect(page.get_by_test_id("track-number")).to_have_text(receipt["number"])
    expect(page.get_by_test_id("track-promised")).to_contain_text(zh_date(receipt["promised_date"]))
    expect(page.get_by_test_id("timeline-entry")).to_have_count(1)
    expect(page.get_by_test_id("timeline-entry")).to_contain_text("提交申请")
    shot(page, "62-track-result")

    # Nothing personal anywhere in the page, and nothing signed in was asked for.
    for text in (page.locator("body").inner_text(), page.content()):
        for secret in (NAME, PHONE_NUMBER, MASKED_PHONE, ID_NUMBER, ID_NUMBER[:6] + "*" * 8, "欧阳"):
            assert secret not in text
    assert calls and all("/api/v1/track?" in u and auth is None for u, auth in calls), calls

    # A wrong query code and a wrong number get the same answer.
    wrong_code = f"{(int(receipt['query_code']) + 1) % 1_000_000:06d}"
    page.get_by_test_id("track-again").click()
    expect(page.get_by_label("办件编号")).to_be_focused()
    page.get_by_label("办件编号").fill(receipt["number"])
    page.get_by_label("查询码").fill(wrong_code)
    with page.expect_response(lambda resp: "/api/v1/track?" in resp.url and resp.status == 404) as first:
        page.get_by_test_id("track-submit").click()
    error = page.get_by_test_id("track-error")
    expect(error).to_have_text(re.compile(re.escape(NOT_FOUND)))
    by_code = error.inner_text()
    wrong_number = receipt["number"][:-6] + f"{(int(receipt['number'][-6:]) + 500) % 1_000_000:06d}"
    page.get_by_label("办件编号").fill(wrong_number)
    page.get_by_label("查询码").fill(receipt["query_code"])
    with page.expect_response(lambda resp: "/api/v1/track?" in resp.url and resp.status == 404) as second:
        page.get_by_label("查询码").press("Enter")  # the form works from the keyboard
    expect(error).to_have_text(by_code)
    # A wrong code and a wrong number get the same answer (each names its own request id).
    same = [{k: v for k, v in r.value.json().items() if k != "request_id"} for r in (first, second)]
    assert same[0] == same[1]
    expect(page.get_by_test_id("track-result")).to_have_count(0)


def test_tracking_form_checks_and_rate_limit(signed_out: Page) -> None:
    page = signed_out
    page.goto("/track")
    requests: list[str] = []
    page.on("request", lambda q: requests.append(q.url) if "/api/v1/track" in q.url else None)
    page.get_by_test_id("track-submit").click()
    number_field = page.locator(".field", has=page.locator("#tr-number"))
    expect(number_field.get_by_test_id("number-error")).to_have_text(re.compile("请输入办件编号"))
    expect(page.locator(".field", has=page.locator("#tr-code")).get_by_test_id("code-error")).to_have_text(
        re.compile("请输入查询码"))
    expect(page.get_by_label("办件编号")).to_be_focused()
    expect(page.get_by_label("办件编号")).to_have_attribute("aria-invalid", "true")
    # A screen reader reads the error, then the hint, with the field.
    expect(page.get_by_label("办件编号")).to_have_accessible_description(re.compile("请输入办件编号.*"))
    expect(page.get_by_label("办件编号")).to_have_attribute("aria-describedby", "tr-number-error tr-number-hint")
    page.get_by_label("办件编号").fill("5119 0020 2611 2800 0001")  # as printed, in groups
    page.get_by_label("查询码").fill("12345")
    page.get_by_test_id("track-submit").click()
    expect(page.get_by_test_id("code-error")).to_have_text(re.compile("查询码应为 6 位数字"))
    expect(page.get_by_test_id("number-error")).to_have_count(0)
    expect(page.get_by_label("办件编号")).to_have_attribute("aria-describedby", "tr-number-hint")
    expect(page.get_by_label("办件编号")).not_to_have_attribute("aria-invalid", re.compile(".*"))
    assert not requests, "nothing is sent before the fields are right"

    # 429: the server's Retry-After is shown as the wait, and the button waits too.
    page.route("**/api/v1/track?*", lambda route: route.fulfill(
        status=429, headers={"Retry-After": "30", "Content-Type": "application/json"},
        body=json.dumps({"status_code": 429, "message": "查询太频繁，请稍后再试",
                         "detail": "too many tracking requests"})))
    page.get_by_label("查询码").fill("123456")
    page.get_by_test_id("track-submit").click()
    expect(page.get_by_test_id("track-error")).to_have_text(re.compile(r"查询太频繁，请 (30|29|28) 秒后再试"))
    expect(page.get_by_test_id("track-submit")).to_be_disabled()


def test_tracking_in_english(signed_out: Page, citizen: Citizen) -> None:
    page = signed_out
    done, _ = citizen.submitted()
    receipt = citizen.receipt(done["case"]["id"])
    page.add_init_script("localStorage.setItem('zw.locale', JSON.stringify('en'));")
    page.goto(f"/track?number={receipt['number']}&code={receipt['query_code']}")
    result = page.get_by_test_id("track-result")
    expect(result.get_by_test_id("case-state")).to_have_text(re.compile(r"Submitted, awaiting acceptance"))
    expect(page.get_by_role("heading", name="Progress")).to_be_visible()
    expect(page.get_by_test_id("timeline-entry")).to_contain_text("Application submitted (current)")
    expect(page.get_by_test_id("track-promised")).to_contain_text(re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}"))
    page.get_by_test_id("track-again").click()
    page.get_by_label("Case number").fill(receipt["number"])
    page.get_by_label("Query code").fill("12")
    page.get_by_label("Query code").press("Enter")
    expect(page.get_by_test_id("code-error")).to_have_text(re.compile("A query code has 6 digits"))


# --------------------------------------------------------------------------- elder mode


# Smallest text and tap targets of the visible page (computed styles, laid-out boxes).
# (the skip link waits off-screen until focused: not shown, not measured)
MEASURE_JS = """() => {
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && r.right > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const texts = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !visible(el) || el.closest('[aria-hidden=true]')) continue;
    texts.push([parseFloat(getComputedStyle(el).fontSize), n.textContent.trim().slice(0, 20)]);
  }
  const taps = [...document.querySelectorAll('a, button, input, select, textarea')].filter(visible)
    .map((el) => { const r = el.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height),
      el.textContent.trim().slice(0, 12) || el.id]; });
  return { texts, taps, elder: document.documentElement.classList.contains('elder') };
}"""
ELDER_INIT = "localStorage.setItem('zw.elder', 'true'); localStorage.setItem('zw.fontSize', '18');"


def _elder_sizes(page: Page, where: str) -> None:
    """适老化 (MIIT): text ≥ 18 px and tap targets ≥ 60×60 px."""
    m = page.evaluate(MEASURE_JS)
    assert m["elder"], "elder mode is on"
    small = [t for t in m["texts"] if t[0] < 18]
    assert not small, f"{where}: text under 18 px: {small}"
    tiny = [t for t in m["taps"] if t[0] < 60 or t[1] < 60]
    assert not tiny, f"{where}: tap targets under 60×60 px: {tiny}"
    low = page.evaluate(CONTRAST_JS)
    assert not low, f"{where}: text below 4.5:1 contrast: {low[:5]}"


def test_tracking_in_elder_mode_has_large_text_and_targets(signed_out: Page, citizen: Citizen, shot) -> None:
    page = signed_out
    dialogs = _no_dialogs(page)
    done, _ = citizen.submitted()
    receipt = citizen.receipt(done["case"]["id"])
    page.add_init_script(ELDER_INIT)

    page.goto("/track")
    expect(page.get_by_test_id("track-form")).to_be_visible()
    page.get_by_test_id("track-submit").click()  # field errors are large too
    expect(page.get_by_test_id("number-error")).to_be_visible()
    _elder_sizes(page, "form")
    page.get_by_label("办件编号").fill(receipt["number"])
    page.get_by_label("查询码").fill(receipt["query_code"])
    page.get_by_test_id("track-submit").click()
    expect(page.get_by_test_id("track-item")).to_have_text(receipt["item_name"])
    _elder_sizes(page, "result")
    shot(page, "64-track-elder")
    assert not dialogs, dialogs


def test_my_cases_detail_and_scan_in_elder_mode(signed_in: Page, citizen: Citizen) -> None:
    page = signed_in
    dialogs = _no_dialogs(page)
    done, _ = citizen.submitted()
    page.add_init_script(ELDER_INIT)
    page.goto("/cases")
    expect(page.locator(f"[data-testid=case-card][data-case-id='{done['case']['id']}']")).to_be_visible()
    _elder_sizes(page, "my cases")
    page.goto(f"/cases/{done['case']['id']}")
    expect(page.get_by_test_id("query-code")).to_be_visible()
    page.get_by_test_id("withdraw").click()  # the confirmation is in the page, large too
    expect(page.get_by_test_id("withdraw-confirm")).to_be_visible()
    _elder_sizes(page, "case detail")
    page.goto("/scan")
    expect(page.get_by_test_id("scan-problem")).to_be_visible()  # this browser has no camera
    _elder_sizes(page, "scan")
    assert not dialogs, dialogs


# --------------------------------------------------------------------------- scanning


def _y4m(image: Image.Image, path: Path, size: int = 480) -> None:
    """One-frame YUV4MPEG2 video (Chromium loops it as the fake camera) showing `image`."""
    frame = Image.new("L", (size, size), 255)
    img = image.convert("L")
    img.thumbnail((size - 40, size - 40))
    frame.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
    chroma = bytes([128]) * ((size // 2) * (size // 2))
    path.write_bytes(f"YUV4MPEG2 W{size} H{size} F15:1 Ip A1:1 C420jpeg\n".encode()
                     + b"FRAME\n" + frame.tobytes() + chroma + chroma)


@pytest.fixture(scope="module")
def camera_browser(browser: Browser, server: str,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Browser, str]]:
    """Chromium with a fake camera that shows the QR code of an item guide of this server
    (launched through the session's Playwright: only one sync Playwright may run)."""
    guide_url = f"{server}/items/{LICENCE}"  # what the item QR says where PUBLIC_URL is this server
    video = tmp_path_factory.mktemp("camera") / "qr.y4m"
    _y4m(qrcode.make(guide_url, border=4).get_image(), video)
    exe = shutil.which("chromium")
    assert exe, "Debian's chromium is not installed"
    b = browser.browser_type.launch(executable_path=exe, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"])
    yield b, guide_url
    b.close()


def test_scan_without_camera_permission_offers_manual_entry(
    camera_browser: tuple[Browser, str], server: str, shot
) -> None:
    browser, _ = camera_browser
    ctx = browser.new_context(base_url=server, service_workers="block", **PHONE)  # no camera grant
    ctx.set_default_timeout(15_000)
    try:
        page, errors = _new_page(ctx)
        item_qr = httpx.get(f"{server}/api/v1/items/{LICENCE}/qr.png", timeout=30)
        assert item_qr.status_code == 200
        decoded = decode_qr(item_qr.content)
        assert decoded == f"{DEFAULT_PUBLIC_URL}/items/{LICENCE}"

        page.goto("/")
        page.get_by_test_id("home-scan").click()
        page.wait_for_url(re.compile(r"/scan$"))
        problem = page.get_by_test_id("scan-problem")
        expect(problem).to_have_attribute("data-problem", "denied")
        expect(problem).to_contain_text("没有相机权限")
        expect(problem).to_contain_text("手动输入")
        manual = page.get_by_label("二维码内容、网址或办件编号")
        expect(manual).to_be_visible()
        shot(page, "63-scan-denied")

        # Another site's address, even with our path: shown as text, not opened, no link.
        foreign = f"https://example.com/items/{LICENCE}"
        manual.fill(foreign)
        page.get_by_test_id("scan-manual-go").click()
        result = page.get_by_test_id("scan-result")
        expect(result).to_have_attribute("data-reason", "foreign")
        expect(result.get_by_test_id("scan-text")).to_have_text(foreign)
        expect(result.locator("a")).to_have_count(0)
        assert urlsplit(page.url).path == "/scan"
        shot(page, "65-scan-foreign")

        # The item QR's URL typed in (on this server's origin) opens the guide.
        manual.fill(f"{server}{urlsplit(decoded).path}")
        manual.press("Enter")
        page.wait_for_url(re.compile(rf"/items/{re.escape(LICENCE)}$"))
        guide = httpx.get(f"{server}/api/v1/items/{LICENCE}", timeout=30).json()
        expect(page.get_by_role("heading", level=1)).to_have_text(guide["short_name"] or guide["name"])
        assert not errors, errors
    finally:
        ctx.close()


def test_scanning_an_item_qr_with_the_camera_opens_the_guide(camera_browser: tuple[Browser, str], server: str,
                                                             shot) -> None:
    """The whole path under the real Content-Security-Policy: camera → decoder (BarcodeDetector is
    not on Linux Chromium, so qr-scanner and its blob: worker) → our URL → the guide."""
    browser, guide_url = camera_browser
    ctx = browser.new_context(base_url=server, service_workers="block", permissions=["camera"],
                              **{k: v for k, v in PHONE.items() if k != "bypass_csp"})
    ctx.set_default_timeout(20_000)
    try:
        page, errors = _new_page(ctx)
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto("/scan")
        expect(page.get_by_test_id("scan-status")).to_have_text(re.compile("将二维码放入框内|已识别"))
        shot(page, "66-scan-camera", full_page=False)
        page.wait_for_url(re.compile(rf"/items/{re.escape(LICENCE)}$"))
        assert guide_url.endswith(urlsplit(page.url).path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert not violations, violations
        assert not errors, errors
    finally:
        ctx.close()


def test_scanning_a_receipt_with_the_native_detector_opens_tracking(
    camera_browser: tuple[Browser, str], server: str, citizen: Citizen
) -> None:
    """Where the browser has BarcodeDetector (Chrome on Android) it is used and qr-scanner is never
    loaded. Linux Chromium has none, so a stand-in reads the receipt's tracking link (on this
    server's origin) from the camera frames."""
    browser, _ = camera_browser
    done, _ = citizen.submitted()
    receipt = citizen.receipt(done["case"]["id"])
    parts = urlsplit(receipt["tracking_url"])
    link = f"{server}{parts.path}?{parts.query}"
    ctx = browser.new_context(base_url=server, service_workers="block", permissions=["camera"], **PHONE)
    ctx.set_default_timeout(15_000)
    stand_in = """window.BarcodeDetector = class {
      static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
      async detect(source) { return source && source.videoWidth ? [{ rawValue: QR_TEXT, format: "qr_code" }] : []; }
    };"""
    # and the streams the page opens, to see them released
    keep_streams = """const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    window.__streams = [];
    navigator.mediaDevices.getUserMedia = async (c) => {
      const s = await gum(c); window.__streams.push(s); return s; };"""
    ctx.add_init_script(f"(() => {{ const QR_TEXT = {json.dumps(link)}; {stand_in} {keep_streams} }})();")
    try:
        page, errors = _new_page(ctx)
        scripts: list[str] = []
        page.on("request", lambda q: scripts.append(q.url) if q.resource_type == "script" else None)
        page.goto("/scan")
        page.wait_for_url(re.compile(r"/track\?number=\d{20}&code=\d{6}$"))
        expect(page.get_by_test_id("track-item")).to_have_text(receipt["item_name"])
        expect(page.get_by_test_id("track-number")).to_have_text(receipt["number"])
        assert not [u for u in scripts if "qr-scanner" in u], scripts
        # Gone from the scan screen, the camera is released.
        assert page.evaluate("() => window.__streams.flatMap((s) => s.getTracks()).map((t) => t.readyState)") == [
            "ended"]

        assert not errors, errors
    finally:
        ctx.close()


def test_a_typed_case_number_opens_tracking_with_it_filled_in(signed_out: Page) -> None:
    page = signed_out
    page.goto("/scan")
    expect(page.get_by_test_id("scan-problem")).to_have_attribute("data-problem", "noCamera")  # no device here
    page.get_by_label("二维码内容、网址或办件编号").fill("51190020261128000042")
    page.get_by_test_id("scan-manual-go").click()
    page.wait_for_url(re.compile(r"/track\?number=51190020261128000042$"))
    expect(page.get_by_label("办件编号")).to_have_value("51190020261128000042")
    expect(page.get_by_label("查询码")).to_be_focused()
    expect(page.get_by_test_id("track-result")).to_have_count(0)


def test_a_qr_picture_from_the_album_is_read(signed_out: Page, server: str, tmp_path: Path) -> None:
    """No camera: a saved picture of a QR code is read by qr-scanner (Linux Chromium has no
    BarcodeDetector), and a picture without one says so."""
    page = signed_out
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), "white").save(blank)
    picture = tmp_path / "qr.png"
    qrcode.make(f"{server}/items/{LICENCE}").save(picture)
    page.goto("/scan")
    expect(page.get_by_test_id("scan-problem")).to_have_attribute("data-problem", "noCamera")
    page.get_by_test_id("scan-image-input").set_input_files(str(blank))
    expect(page.get_by_test_id("scan-image-error")).to_have_text(re.compile("这张图片里没有找到二维码"))
    page.get_by_test_id("scan-image-input").set_input_files(str(picture))
    page.wait_for_url(re.compile(rf"/items/{re.escape(LICENCE)}$"))
