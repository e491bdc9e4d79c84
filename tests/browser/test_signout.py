"""Signing out on a shared phone: the citizen's local drafts and photos go with them, after a
warning in the page when photos have not been uploaded yet."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PHONE
from tests.browser.test_apply import REISSUE, gps_jpeg, item_code, material, start_application

PHONE_NUMBER = "13912340078"
LOCAL_DRAFTS = (
    "() => new Promise((ok, bad) => { const r = indexedDB.open('zw-drafts'); r.onerror = bad;"
    " r.onsuccess = () => { const t = r.result.transaction(['drafts', 'files']);"
    " const d = t.objectStore('drafts').count(), f = t.objectStore('files').count();"
    " t.oncomplete = () => ok([d.result, f.result]); }; })"
)


@pytest.fixture
def phone(browser: Browser, server: str) -> Iterator[tuple[BrowserContext, Page]]:
    """A signed-in phone (tokens as the app keeps them) without a service worker."""
    api = browser.new_context(base_url=server)
    try:
        assert api.request.post("/api/v1/auth/otp", data={"phone": PHONE_NUMBER}).ok
        code = api.request.get("/api/v1/dev/sms", params={"phone": PHONE_NUMBER}).json()["codes"][0]
        t = api.request.post("/api/v1/auth/token", data={"phone": PHONE_NUMBER, "code": code}).json()
    finally:
        api.close()
    value = json.dumps({"access": t["access_token"], "refresh": t["refresh_token"],
                        "expiresAt": int(time.time() * 1000) + t["expires_in"] * 1000})
    state = {"cookies": [], "origins": [{"origin": server, "localStorage": [{"name": "zw.auth", "value": value}]}]}
    ctx = browser.new_context(base_url=server, service_workers="block", storage_state=state, **PHONE)
    ctx.set_default_timeout(20_000)
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield ctx, page
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def test_signing_out_warns_about_photos_not_uploaded_then_deletes_the_local_drafts(phone, shot) -> None:
    _ctx, page = phone
    page.goto("/")
    start_application(page, item_code(page, REISSUE), {"type": "divorce", "archive": "yes"})
    expect(page.get_by_test_id("sync-status")).to_contain_text("已同步到服务器")
    page.route("**/api/v1/uploads**", lambda route: route.abort())  # the photo cannot leave the phone
    photo = material(page, "photo")
    photo.get_by_test_id("camera-photo").set_input_files(
        files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg(800, 600)}])
    # Queued (compression is asynchronous: "not uploaded" alone is true before the file is stored).
    expect(photo.get_by_test_id("material-state")).to_contain_text(re.compile("等待上传|正在上传"))
    assert page.evaluate(LOCAL_DRAFTS) == [1, 1]

    page.goto("/me")
    page.get_by_test_id("sign-out").click()
    warning = page.get_by_test_id("sign-out-confirm")
    expect(warning).to_contain_text("本机还有 1 份材料没有上传")
    expect(page.locator("#sign-out-confirm-title")).to_be_focused()
    shot(page, "70-sign-out-warning")
    page.get_by_test_id("sign-out-no").click()  # changed their mind: nothing is deleted
    expect(page.get_by_test_id("sign-out")).to_be_focused()
    assert page.evaluate(LOCAL_DRAFTS) == [1, 1]

    page.get_by_test_id("sign-out").click()
    page.get_by_test_id("sign-out-yes").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    assert page.evaluate(LOCAL_DRAFTS) == [0, 0]
    assert page.evaluate("() => localStorage.getItem('zw.auth')") is None
