"""Applying online in the PWA: questions → material list → apply → form → checklist → photo and file
uploads (compressed on the phone, resumable with tus) → check answers → submit → receipt; an
upload cut by going offline that resumes where it stopped; a draft that survives a reload.

The module signs in once through the API (the sign-in screen has its own tests in
test_identity.py; the server allows 10 codes an hour per address) and hands the tokens from test
to test in the browser storage state, taking them back after each test because refresh tokens
rotate.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import ExifTags, Image
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from tests.browser.conftest import PHONE
from tests.tus_helpers import pdf_bytes

PHONE_NUMBER = "13912340077"
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()
MIB = 1024 * 1024
REISSUE = "补领婚姻登记证"  # id card fetched as a certificate (免提交, the original shown on the visit) + a photo
MARRIAGE = "内地居民结婚登记"  # a photo and a declaration (PDF accepted)
LICENCE = "营业执照遗失补领、损坏换发"  # for enterprises and individuals
USCC = "91511900MA6C7QJ5X4"  # a valid unified social credit code, bound only in this module


def gps_jpeg(width: int = 3000, height: int = 2000) -> bytes:
    """A camera-like JPEG: sideways pixels with Orientation 6, a phone model and a GPS position."""
    img = Image.effect_noise((width, height), 40).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "ZW-TestPhone"
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° clockwise to display
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (31.0, 51.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (106.0, 45.0, 0.0),
    })
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=92)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test photo carries GPS"
    return data


def item_code(page: Page, name: str) -> str:
    found = page.request.get("/api/v1/items", params={"q": name, "limit": 5}).json()["items"]
    match = [i for i in found if i["name"] == name]
    assert match, f"demo catalog has {name}"
    return match[0]["code"]


@pytest.fixture(scope="module")
def session(browser: Browser, server: str) -> Iterator[dict]:
    """Tokens of a citizen, as the app keeps them (localStorage zw.auth)."""
    ctx = browser.new_context(base_url=server)
    try:
        r = ctx.request.post("/api/v1/auth/otp", data={"phone": PHONE_NUMBER})
        assert r.ok, r.text()
        inbox = ctx.request.get("/api/v1/dev/sms", params={"phone": PHONE_NUMBER})
        code = inbox.json()["codes"][0]
        r = ctx.request.post("/api/v1/auth/token", data={"phone": PHONE_NUMBER, "code": code})
        assert r.ok, r.text()
        t = r.json()
        value = json.dumps({"access": t["access_token"], "refresh": t["refresh_token"],
                            "expiresAt": int(time.time() * 1000) + t["expires_in"] * 1000})
    finally:
        ctx.close()
    local = [{"name": "zw.auth", "value": value}]
    yield {"storage": {"cookies": [], "origins": [{"origin": server, "localStorage": local}]}}


def _context(browser: Browser, server: str, session: dict, service_workers: str) -> BrowserContext:
    ctx = browser.new_context(base_url=server, service_workers=service_workers, storage_state=session["storage"],
                              **PHONE)
    ctx.set_default_timeout(20_000)
    return ctx


@pytest.fixture
def app(browser: Browser, server: str, session: dict) -> Iterator[tuple[BrowserContext, Page]]:
    """A signed-in phone without a service worker (so that routes see every request)."""
    ctx = _context(browser, server, session, "block")
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield ctx, page
    session["storage"] = ctx.storage_state()  # the refresh token may have rotated
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def offline_app(browser: Browser, server: str, session: dict) -> Iterator[tuple[BrowserContext, Page]]:
    """A signed-in phone with the service worker, which serves the app shell offline."""
    ctx = _context(browser, server, session, "allow")
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield ctx, page
    ctx.set_offline(False)
    session["storage"] = ctx.storage_state()
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def access_token(page: Page) -> str:
    return json.loads(page.evaluate("() => localStorage.getItem('zw.auth')"))["access"]


def answer(page: Page, answers: dict[str, str]) -> None:
    """Answer the one-per-screen questions with the given values, ending on the material list."""
    while True:
        page.wait_for_url(re.compile(r"/items/[^/]+/(questions(/[^/]+)?|materials)$"))
        if page.url.endswith("/materials"):
            return
        form = page.locator("form.question")
        name = form.locator("input[type=radio]").first.get_attribute("name")
        form.locator(f"input[name='{name}'][value='{answers[name]}']").check()
        form.get_by_test_id("next").click()
        page.wait_for_function(
            "(prev) => location.pathname.endsWith('/materials') || "
            "(document.querySelector('form.question') && !document.querySelector(`input[name='${prev}']`))",
            arg=name,
        )


def start_application(page: Page, code: str, answers: dict[str, str], contact: str = "王小明") -> str:
    """From the questions to the checklist; returns the local draft's path (/apply/<id>)."""
    page.goto(f"/items/{code}/questions")
    answer(page, answers)
    page.get_by_test_id("apply").click()
    page.wait_for_url(re.compile(r"/apply/[0-9a-f-]{16,}$"))
    draft_path = re.sub(r"^https?://[^/]+", "", page.url)
    page.get_by_label("联系人姓名").fill(contact)
    page.get_by_label("联系电话").fill("13800138000")
    expect(page.get_by_test_id("delivery-window")).to_be_checked()  # the item's only way
    page.get_by_test_id("form-next").click()
    page.wait_for_url(re.compile(r"/materials$"))
    expect(page.get_by_test_id("apply-material").first).to_be_visible()
    return draft_path


def draft_case_id(page: Page) -> int:
    """The server case of the draft the page shows (read from the phone's IndexedDB)."""
    return page.evaluate(
        "() => new Promise((ok, bad) => { const r = indexedDB.open('zw-drafts'); r.onerror = bad;"
        " r.onsuccess = () => { const g = r.result.transaction('drafts').objectStore('drafts')"
        ".get(location.pathname.split('/')[2]); g.onsuccess = () => ok(g.result.caseId); }; })")


def material(page: Page, code: str):
    return page.locator(f"[data-testid=apply-material][data-code='{code}']")


def test_apply_with_a_photo_then_submit_and_receipt(app, shot) -> None:
    _, page = app
    uploads: list[Request] = []
    page.on("request", lambda r: uploads.append(r) if "/api/v1/uploads" in r.url else None)

    # Home → search → guide → questions → material list → apply.
    page.goto("/")
    search = page.get_by_label("搜索事项")
    search.fill(REISSUE)
    search.press("Enter")
    page.locator(".item-card", has_text=REISSUE).first.click()
    page.wait_for_url(re.compile(r"/items/[^/]+$"))
    code = page.url.rsplit("/", 1)[-1]
    page.get_by_test_id("needs").click()
    answer(page, {"type": "marriage", "archive": "yes"})
    expect(page.get_by_test_id("apply")).to_have_text("在线申请")
    page.get_by_test_id("apply").click()

    # The form: errors next to their fields, in words.
    page.wait_for_url(re.compile(r"/apply/[^/]+$"))
    expect(page.get_by_role("heading", name="申请人信息")).to_be_visible()
    expect(page.get_by_test_id("step-form")).to_have_attribute("aria-current", "step")
    page.get_by_test_id("form-next").click()
    phone_field = page.locator(".field", has=page.locator("#f-contact_phone"))
    expect(phone_field.locator(".error-text")).to_be_visible()
    expect(page.get_by_label("联系人姓名")).to_be_focused()
    page.get_by_label("联系人姓名").fill("王小明")
    page.get_by_label("联系电话").fill("13800138000")
    page.get_by_test_id("form-next").click()

    # The checklist: where each material comes from, in words.
    page.wait_for_url(re.compile(r"/materials$"))
    id_card, photo = material(page, "id_card"), material(page, "photo")
    # One instruction a material: fetched, and its original shown on the item's one visit.
    expect(id_card.get_by_test_id("material-instruction")).to_have_count(1)
    expect(id_card.locator("[data-badge=certificateOriginal]")).to_have_text(re.compile("免提交·到现场出示原件"))
    expect(id_card.get_by_test_id("material-state")).to_contain_text("免提交")
    expect(photo.get_by_test_id("material-state")).to_contain_text("未上传")
    expect(photo.get_by_test_id("camera-photo")).to_have_attribute("capture", "environment")
    expect(photo.get_by_test_id("material-formats")).to_have_text("格式：JPG、PNG；不超过 10 MB")
    expect(page.get_by_test_id("sync-status")).to_contain_text("已同步到服务器")
    shot(page, "40-apply-checklist")

    # Nothing to submit yet: the photo is missing, and the page says so next to it.
    page.get_by_test_id("materials-next").click()
    expect(photo.get_by_test_id("material-error")).to_have_text(re.compile("未上传"))

    # Take the photo (a 3000×2000 camera JPEG with GPS): compressed on the phone, then uploaded.
    original = gps_jpeg()
    photo.get_by_test_id("camera-photo").set_input_files(
        files=[{"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": original}])
    expect(photo.get_by_test_id("material-state")).to_contain_text("已上传")
    expect(photo).to_contain_text("IMG_0001.jpg")
    expect(page.get_by_test_id("materials-summary")).to_contain_text("必需材料已齐全")
    created = [r for r in uploads if r.method == "POST"]
    assert len(created) == 1
    sent = int(created[0].headers["upload-length"])
    assert sent < len(original) / 2, f"the photo was compressed on the phone ({sent} of {len(original)} bytes)"
    shot(page, "41-apply-uploaded")

    # Check your answers, then submit (the button is disabled while the submission is in flight).
    page.get_by_test_id("materials-next").click()
    page.wait_for_url(re.compile(r"/check$"))
    expect(page.get_by_test_id("check-answers")).to_contain_text("结婚证")
    expect(page.get_by_test_id("check-form")).to_contain_text("王小明")
    expect(page.get_by_test_id("check-form")).to_contain_text("窗口领取")
    expect(page.get_by_test_id("check-materials")).to_contain_text("已上传")
    shot(page, "42-apply-check")
    submits: list[Request] = []
    page.on("request", lambda r: submits.append(r) if r.url.endswith("/submit") else None)
    page.get_by_test_id("submit").dblclick()  # a double tap submits once

    # The receipt: number, query code, promised date, QR, tracking link.
    page.wait_for_url(re.compile(r"/receipt/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[-1])
    number = page.get_by_test_id("receipt-number")
    expect(number).to_have_text(re.compile(r"^\s*511900\d{14}\s*$"))
    query = page.get_by_test_id("receipt-code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", query), query
    expect(page.get_by_test_id("receipt-promised").locator("time")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=receipt-qr]');"
        " return i && i.complete && i.naturalWidth > 0; }")
    expect(page.get_by_test_id("track-link")).to_have_attribute(
        "href", f"/track?number={number.text_content().strip()}&code={query}")
    shot(page, "43-apply-receipt")
    assert len({r.headers.get("idempotency-key") for r in submits}) == 1, "one key for every submit request"

    # The stored photo: upright (orientation applied), bounded, with no EXIF and no GPS.
    headers = {"Authorization": f"Bearer {access_token(page)}"}
    case = page.request.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    assert case["state"] == "submitted" and case["item_code"] == code
    assert case["form_data"]["contact_name"] == "王小明"
    r = page.request.get(f"/api/v1/cases/{case_id}/materials/photo/file", headers=headers)
    assert r.ok, r.text()
    stored = r.body()
    img = Image.open(io.BytesIO(stored))
    assert img.format == "JPEG"
    assert img.height > img.width, "the sideways camera pixels were turned upright"
    assert max(img.size) <= 2000
    exif = img.getexif()
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and ExifTags.Base.Model not in exif
    assert b"ZW-TestPhone" not in stored and b"Exif\x00\x00" not in stored


def test_upload_cut_by_going_offline_resumes_where_it_stopped(app, shot) -> None:
    ctx, page = app
    code = item_code(page, MARRIAGE)
    start_application(page, code, {"military": "no", "remarry": "no"})
    statement = material(page, "statement")

    # Go offline when the third chunk is on its way: two MiB are acknowledged by then.
    log: list[tuple[str, int | None]] = []
    cut = {"done": False}

    def route(r: Route) -> None:
        req = r.request
        offset = req.headers.get("upload-offset")
        log.append((req.method, int(offset) if offset is not None else None))
        if req.method == "PATCH" and not cut["done"] and int(offset or 0) >= 2 * MIB:
            cut["done"] = True
            ctx.set_offline(True)
            r.abort("internetdisconnected")
            return
        r.continue_()

    page.route("**/api/v1/uploads**", route)
    pdf = pdf_bytes(5 * MIB + 12345)
    statement.get_by_test_id("file-statement").set_input_files(
        files=[{"name": "声明书.pdf", "mimeType": "application/pdf", "buffer": pdf}])

    expect(statement.get_by_test_id("material-state")).to_contain_text("等待上传（离线）")
    expect(page.get_by_test_id("queue-status")).to_contain_text("1 份材料等待上传（离线）")
    progress = statement.get_by_test_id("upload-progress")
    text = progress.get_by_test_id("progress-text")
    expect(text).to_contain_text(re.compile(r"已上传 [\d.]+ MB / 5\.0 MB（\d+%）"))
    assert 30 <= int(re.search(r"（(\d+)%）", text.inner_text()).group(1)) < 100
    shot(page, "44-upload-offline")

    # Typing offline is kept (and sent later).
    page.get_by_test_id("step-form").click()
    page.get_by_label("补充说明").fill("离线时补充的说明")
    expect(page.get_by_test_id("form-saved")).to_have_text("已保存在本机")
    page.get_by_test_id("step-materials").click()

    ctx.set_offline(False)
    expect(material(page, "statement").get_by_test_id("material-state")).to_contain_text("已上传", timeout=30_000)
    shot(page, "45-upload-resumed")

    posts = [o for m, o in log if m == "POST"]
    patches = [o for m, o in log if m == "PATCH"]
    assert len(posts) == 1, f"one upload, resumed (not started again): {log}"
    # The first MiB rode on the creating POST (creation-with-upload).
    assert patches[:2] == [MIB, 2 * MIB], log
    assert patches[2] == 2 * MIB, f"after the drop the upload went on from the acknowledged offset: {log}"
    assert patches == sorted(patches)

    headers = {"Authorization": f"Bearer {access_token(page)}"}
    case_id = draft_case_id(page)
    case = page.request.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    attached = {m["code"]: m for m in case["materials"]}["statement"]
    assert attached["status"] == "attached" and attached["size"] == len(pdf)
    # The note typed offline reaches the server too (sent a moment after typing).
    page.wait_for_function(
        "(id) => fetch(`/api/v1/cases/${id}`, {headers: {Authorization: 'Bearer '"
        " + JSON.parse(localStorage.getItem('zw.auth')).access}})"
        ".then(r => r.json()).then(c => c.form_data.note === '离线时补充的说明')",
        arg=case_id,
    )


def test_upload_progress_survives_a_reload_mid_upload(app, shot) -> None:
    _, page = app
    code = item_code(page, MARRIAGE)
    start_application(page, code, {"military": "no", "remarry": "yes"})

    # Hold the upload at 3 MiB (the connection keeps failing there) until the page has reloaded.
    log: list[tuple[str, int | None]] = []
    hold = {"on": True}

    def route(r: Route) -> None:
        offset = r.request.headers.get("upload-offset")
        log.append((r.request.method, int(offset) if offset is not None else None))
        if r.request.method == "PATCH" and hold["on"] and int(offset or 0) >= 3 * MIB:
            r.abort("connectionreset")
            return
        r.continue_()

    page.route("**/api/v1/uploads**", route)
    pdf = pdf_bytes(5 * MIB)
    with page.expect_event("requestfailed", lambda q: q.method == "PATCH"):
        material(page, "prior").get_by_test_id("file-prior").set_input_files(
            files=[{"name": "离婚证.pdf", "mimeType": "application/pdf", "buffer": pdf}])
    before_reload = len(log)

    page.reload()
    prior = material(page, "prior")
    text = prior.get_by_test_id("progress-text")
    expect(text).to_contain_text(re.compile(r"已上传 [34]\.\d MB / 5\.0 MB"))  # kept on the phone
    shot(page, "48-upload-progress-after-reload")
    hold["on"] = False
    expect(prior.get_by_test_id("material-state")).to_contain_text("已上传", timeout=40_000)

    after = log[before_reload:]
    assert not [m for m, _ in after if m == "POST"], f"the same upload went on after the reload: {log}"
    assert min(o for m, o in after if m == "PATCH") == 3 * MIB, log


def test_refused_file_shows_the_server_message_and_an_expired_token_is_refreshed(app, shot) -> None:
    _, page = app
    code = item_code(page, REISSUE)
    start_application(page, code, {"type": "marriage", "archive": "yes"})
    photo = material(page, "photo")

    # Not an image at all, whatever its name says: the server refuses it, in Chinese, here.
    photo.get_by_test_id("file-photo").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": b"this is not a picture" * 50}])
    expect(photo.get_by_test_id("material-state")).to_contain_text("未通过")
    error = photo.get_by_test_id("material-error")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text(re.compile(r"[\u4e00-\u9fff]"))
    expect(page.get_by_test_id("queue-status")).to_contain_text("1 份材料未通过检查")
    shot(page, "49-upload-refused")

    # Taken back from the phone: the material is simply missing again.
    page.get_by_test_id("remove-photo").click()
    expect(photo.get_by_test_id("material-state")).to_contain_text("未上传")
    expect(photo.get_by_test_id("material-error")).to_have_count(0)
    expect(page.get_by_test_id("queue-status")).to_have_count(0)

    # The access token has expired meanwhile: the upload refreshes it once and goes on.
    page.evaluate(
        "() => { const t = JSON.parse(localStorage.getItem('zw.auth'));"
        " t.access = t.access.slice(0, -4) + 'AAAA'; localStorage.setItem('zw.auth', JSON.stringify(t)); }")
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/api/v1/uploads" in r.url else None)
    png = io.BytesIO()
    Image.new("RGB", (600, 800), (200, 30, 30)).save(png, "PNG")
    photo.get_by_test_id("file-photo").set_input_files(
        files=[{"name": "合影.png", "mimeType": "image/png", "buffer": png.getvalue()}])
    expect(photo.get_by_test_id("material-state")).to_contain_text("已上传")
    expect(photo.get_by_test_id("material-error")).to_have_count(0)
    assert statuses[0] == 401 and 201 in statuses, statuses

    # Uploaded by mistake: taken back from the server too, not only from the phone.
    page.get_by_test_id("remove-photo").click()
    expect(photo.get_by_test_id("material-state")).to_contain_text("未上传")
    expect(page.get_by_test_id("materials-summary")).to_contain_text("还有 1 份必需材料未上传")
    headers = {"Authorization": f"Bearer {access_token(page)}"}
    case_id = draft_case_id(page)
    case = page.request.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    assert {m["code"]: m["status"] for m in case["materials"]}["photo"] == "missing"


def test_draft_with_a_queued_photo_survives_an_offline_reload_and_submits_when_online(offline_app, shot) -> None:
    ctx, page = offline_app
    page.goto("/")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=30_000)
    code = item_code(page, REISSUE)
    draft_path = start_application(page, code, {"type": "divorce", "archive": "yes"}, contact="李老伯")
    expect(page.get_by_test_id("sync-status")).to_contain_text("已同步到服务器")

    ctx.set_offline(True)
    photo = material(page, "photo")
    photo.get_by_test_id("camera-photo").set_input_files(
        files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg(1600, 1200)}])
    expect(photo.get_by_test_id("material-state")).to_contain_text("等待上传（离线）")
    expect(page.get_by_test_id("queue-status")).to_have_text("1 份材料等待上传（离线）")
    page.get_by_test_id("step-form").click()
    page.get_by_label("补充说明").fill("请尽快办理")
    expect(page.get_by_test_id("form-saved")).to_have_text("已保存在本机")

    page.reload()  # offline: the service worker serves the app, IndexedDB the draft
    expect(page.get_by_label("联系人姓名")).to_have_value("李老伯")
    expect(page.get_by_label("补充说明")).to_have_value("请尽快办理")
    expect(page.get_by_test_id("sync-status")).to_contain_text("离线")
    expect(page.get_by_test_id("queue-status")).to_have_text("1 份材料等待上传（离线）")
    page.get_by_test_id("step-check").click()
    expect(page.get_by_test_id("check-answers")).to_contain_text("离婚证")
    expect(page.get_by_test_id("check-materials")).to_contain_text("等待上传")
    page.get_by_test_id("step-materials").click()
    expect(material(page, "photo").get_by_test_id("material-state")).to_contain_text("等待上传（离线）")
    shot(page, "46-draft-after-offline-reload")

    # Submitted while still offline: noted on the phone, sent once online and the photo is up.
    page.get_by_test_id("step-check").click()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("submit-queued")).to_contain_text("联网并上传完材料后将自动提交")
    expect(page.get_by_test_id("submit")).to_be_disabled()
    shot(page, "50-submit-queued-offline")
    assert page.url.endswith(draft_path + "/check")

    ctx.set_offline(False)
    page.wait_for_url(re.compile(r"/receipt/\d+$"), timeout=30_000)
    expect(page.get_by_test_id("receipt-number")).to_have_text(re.compile(r"^\s*511900\d{14}\s*$"))
    case_id = int(page.url.rsplit("/", 1)[-1])
    headers = {"Authorization": f"Bearer {access_token(page)}"}
    case = page.request.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    assert case["state"] == "submitted"
    assert case["form_data"]["note"] == "请尽快办理"
    assert {m["code"]: m["status"] for m in case["materials"]}["photo"] == "attached"
    # The draft is gone from the phone once submitted.
    assert page.evaluate(
        "() => new Promise((ok) => { const r = indexedDB.open('zw-drafts');"
        " r.onsuccess = () => { const c = r.result.transaction('drafts').objectStore('drafts').count();"
        " c.onsuccess = () => ok(c.result); }; })") == 0


def test_applying_signed_out_goes_through_sign_in_and_comes_back(app) -> None:
    _, page = app
    page.goto("/")
    tokens = page.evaluate(
        "() => { const v = localStorage.getItem('zw.auth'); localStorage.removeItem('zw.auth'); return v; }")
    code = item_code(page, REISSUE)
    page.goto(f"/items/{code}/questions")
    answer(page, {"type": "marriage", "archive": "yes"})
    page.get_by_test_id("apply").click()
    page.wait_for_url(re.compile(r"/login\?redirect="))
    redirect = unquote(page.url.split("redirect=", 1)[1])
    assert redirect == f"/items/{code}/apply"
    # Signed in (the sign-in screen itself is tested in test_identity.py): back to applying.
    page.evaluate("(v) => localStorage.setItem('zw.auth', v)", tokens)
    page.goto(redirect)
    page.wait_for_url(re.compile(r"/apply/[0-9a-f-]{16,}$"))
    expect(page.get_by_role("heading", name="申请人信息")).to_be_visible()


def test_a_server_draft_from_my_cases_continues_on_the_phone(app) -> None:
    _, page = app
    page.goto("/")
    code = item_code(page, MARRIAGE)
    headers = {"Authorization": f"Bearer {access_token(page)}"}
    r = page.request.post("/api/v1/cases", headers=headers,
                          data={"item_code": code, "answers": {"military": "no", "remarry": "no"}})
    assert r.status == 201, r.text()
    case_id = r.json()["id"]
    r = page.request.patch(f"/api/v1/cases/{case_id}", headers=headers,
                           data={"form_data": {"contact_name": "赵四", "contact_phone": "13800138000"}})
    assert r.ok, r.text()

    page.goto(f"/apply/{case_id}")  # the link of a draft in 我的办件
    page.wait_for_url(re.compile(r"/apply/[0-9a-f-]{16,}$"))
    expect(page.get_by_label("联系人姓名")).to_have_value("赵四")
    page.get_by_test_id("step-materials").click()
    expect(material(page, "statement").get_by_test_id("material-state")).to_contain_text("未上传")
    expect(page.get_by_test_id("sync-status")).to_contain_text("已同步到服务器")
    # The same link again finds the phone's copy instead of making a second one.
    local = re.sub(r"/materials$", "", page.url)
    page.goto(f"/apply/{case_id}")
    page.wait_for_url(local)


def test_discarding_a_draft_stops_its_upload_and_deletes_it_on_the_server_and_the_phone(app, shot) -> None:
    _, page = app
    code = item_code(page, REISSUE)
    draft_path = start_application(page, code, {"type": "marriage", "archive": "no"}, contact="周阿姨")
    expect(page.get_by_test_id("sync-status")).to_contain_text("已同步到服务器")
    case_id = draft_case_id(page)
    local_id = draft_path.rsplit("/", 1)[-1]

    # The photo's upload is held on the line (never answered): it is in the queue when discarded.
    held: list[Route] = []
    page.route("**/api/v1/uploads**", lambda r: held.append(r))
    with page.expect_request(lambda q: "/api/v1/uploads" in q.url):
        material(page, "photo").get_by_test_id("camera-photo").set_input_files(
            files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg(1600, 1200)}])
    expect(material(page, "photo").get_by_test_id("material-state")).to_contain_text(re.compile("正在上传|等待上传"))

    # Confirmed in the page (no pop-up), and a second thought is possible.
    page.get_by_test_id("discard").click()
    confirm = page.get_by_test_id("discard-confirm")
    expect(confirm).to_contain_text("服务器上的申请草稿都会删除")
    expect(page.locator("#discard-confirm-title")).to_be_focused()
    page.get_by_test_id("discard-no").click()
    expect(confirm).to_have_count(0)
    expect(page.get_by_test_id("discard")).to_be_focused()
    page.get_by_test_id("discard").click()
    shot(page, "51-discard-confirm")

    # The held upload is aborted by the phone (not left running), then 我的办件 loads.
    with page.expect_event("requestfailed", lambda q: "/api/v1/uploads" in q.url), \
            page.expect_response(lambda r: re.search(r"/api/v1/cases(\?|$)", r.url) is not None
                                 and r.request.method == "GET"):
        page.get_by_test_id("discard-yes").click()
    page.wait_for_url(re.compile(r"/cases$"))
    expect(page.get_by_test_id("cases-notice")).to_contain_text("已放弃申请")
    expect(page.locator("[data-testid=case-card], [data-testid=cases-empty]").first).to_be_visible()
    expect(page.locator(f"[data-testid=case-card][data-case-id='{case_id}']")).to_have_count(0)

    headers = {"Authorization": f"Bearer {access_token(page)}"}
    assert page.request.get(f"/api/v1/cases/{case_id}", headers=headers).status == 404

    page.reload()
    expect(page.locator("[data-testid=case-card], [data-testid=cases-empty]").first).to_be_visible()
    expect(page.locator(f"[data-testid=case-card][data-case-id='{case_id}']")).to_have_count(0)
    expect(page.get_by_test_id("cases-notice")).to_have_count(0)  # said once, not on every visit
    left = page.evaluate(
        "(id) => new Promise((ok, bad) => { const r = indexedDB.open('zw-drafts'); r.onerror = bad;"
        " r.onsuccess = () => { const tx = r.result.transaction(['drafts', 'files']);"
        " const d = tx.objectStore('drafts').count(id);"
        " const f = tx.objectStore('files').index('draft').count(id);"
        " tx.oncomplete = () => ok([d.result, f.result]); }; })",
        local_id)
    assert left == [0, 0], f"draft and files left on the phone: {left}"
    page.goto(draft_path)
    expect(page.get_by_text("没有找到这份申请草稿")).to_be_visible()


def test_discarding_offline_is_refused_and_keeps_the_draft(app) -> None:
    ctx, page = app
    code = item_code(page, REISSUE)
    start_application(page, code, {"type": "divorce", "archive": "no"})
    expect(page.get_by_test_id("sync-status")).to_contain_text("已同步到服务器")
    case_id = draft_case_id(page)
    ctx.set_offline(True)
    page.get_by_test_id("discard").click()
    page.get_by_test_id("discard-yes").click()
    expect(page.get_by_test_id("discard-error")).to_contain_text("放弃申请需要联网")
    assert page.url.endswith("/materials")
    assert draft_case_id(page) == case_id  # still on the phone, as it was
    ctx.set_offline(False)
    headers = {"Authorization": f"Bearer {access_token(page)}"}
    assert page.request.get(f"/api/v1/cases/{case_id}", headers=headers).json()["state"] == "draft"


def test_a_citizen_bound_to_an_enterprise_applies_on_its_behalf(app) -> None:
    """Verifies the module's citizen and binds an enterprise: kept near the end of the module, since
    from here on the form is prefilled with the verified name."""
    _, page = app
    page.goto("/")
    headers = {"Authorization": f"Bearer {access_token(page)}"}
    first17 = "11010519800101001"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    id_number = first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    r = page.request.put("/api/v1/me/profile", headers=headers, data={"name": "王小明", "id_number": id_number})
    assert r.ok, r.text()
    r = page.request.post("/api/v1/me/enterprises", headers=headers,
                          data={"uscc": USCC, "name": "巴中示例商贸有限公司", "role": "legal_representative"})
    assert r.status in (200, 201), r.text()

    code = item_code(page, LICENCE)
    page.goto(f"/items/{code}/questions")
    answer(page, {"reason": "lost", "agent": "no"})
    page.get_by_test_id("apply").click()
    chooser = page.get_by_test_id("choose-applicant")
    expect(chooser).to_contain_text("代「巴中示例商贸有限公司」申请")
    expect(page.get_by_test_id(f"applicant-{USCC}")).to_be_checked()
    page.get_by_test_id("applicant-next").click()
    page.wait_for_url(re.compile(r"/apply/[0-9a-f-]{16,}$"))
    expect(page.get_by_test_id("form-applicant")).to_contain_text("巴中示例商贸有限公司")
    expect(page.get_by_label("联系人姓名")).to_have_value("王小明")  # from the real-name profile
    page.get_by_label("联系电话").fill("13800138000")
    page.get_by_test_id("delivery-window").check()
    page.get_by_test_id("form-next").click()
    page.wait_for_url(re.compile(r"/materials$"))
    expect(page.get_by_test_id("sync-status")).to_contain_text("已同步到服务器")
    case = page.request.get(f"/api/v1/cases/{draft_case_id(page)}", headers=headers).json()
    assert case["enterprise_uscc"] == USCC
    page.get_by_test_id("step-check").click()
    expect(page.get_by_test_id("check-form")).to_contain_text(USCC)


# Every visible text of the page's main part (own text nodes) with a computed size under 18 px.
SMALL_TEXT_JS = """() => [...document.querySelectorAll('main *')].filter(el => {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const r = el.getBoundingClientRect();
  return own && r.width > 1 && r.height > 1 && parseFloat(getComputedStyle(el).fontSize) < 18;
}).map(el => el.className + ': ' + el.textContent.trim().slice(0, 30))"""
TARGETS_JS = """(sel) => [...document.querySelectorAll(sel)]
  .map(b => { const r = b.getBoundingClientRect(); return [b.textContent.trim().slice(0, 12), r.width, r.height]; })"""


def test_elder_mode_on_the_apply_screens(app, shot) -> None:
    _, page = app
    page.goto("/")
    page.evaluate("() => { localStorage.setItem('zw.elder', 'true'); }")
    code = item_code(page, REISSUE)
    start_application(page, code, {"type": "marriage", "archive": "no"})
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
    assert page.evaluate(SMALL_TEXT_JS) == []
    targets = page.evaluate(TARGETS_JS, ".pick-btn, [data-testid=materials-next], .step-link, .page-actions .btn")
    assert targets and all(w >= 60 and h >= 60 for _, w, h in targets), targets
    low = page.evaluate(CONTRAST_JS)
    assert not low, f"text below 4.5:1 contrast: {low[:5]}"
    shot(page, "47-apply-elder")
    page.get_by_test_id("step-check").click()
    expect(page.get_by_test_id("submit")).to_be_visible()
    assert page.evaluate(SMALL_TEXT_JS) == []
    assert not page.evaluate(CONTRAST_JS)
    page.get_by_test_id("step-form").click()
    expect(page.get_by_label("联系人姓名")).to_be_visible()
    assert page.evaluate(SMALL_TEXT_JS) == []
    targets = page.evaluate(TARGETS_JS, ".option, .text-input, [data-testid=form-next]")
    assert all(h >= 60 for _, _, h in targets), targets
