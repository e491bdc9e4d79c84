"""The citizen PWA on a phone: search → guide → questions → material list, life events,
elder mode, offline guides, deep links, language, and failures with a retry."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

# Text below 4.5:1 contrast against its background (see contrast.js).
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()


def _answer_all_questions(page: Page, choose=None) -> list[str]:
    """Walk the one-per-screen questions, taking `choose(code, values)` or the first option."""
    seen = []
    while True:
        page.wait_for_url(re.compile(r"/items/[^/]+/(questions(/[^/]+)?|materials)$"))
        if page.url.endswith("/materials"):
            return seen
        form = page.locator("form.question")
        expect(form).to_be_visible()
        code = page.url.rsplit("/", 1)[-1]
        options = form.locator("input[type=radio], input[type=checkbox]")
        if options.count():
            name = options.first.get_attribute("name")
            seen.append(name)
            values = [options.nth(i).get_attribute("value") for i in range(options.count())]
            value = (choose(name, values) if choose else None) or values[0]
            form.locator(f"input[value='{value}']").check()
        else:
            seen.append(code)
            form.locator("input").fill("1")
        form.get_by_test_id("next").click()
        # The next screen replaces this form (a different question) or shows the list.
        page.wait_for_function(
            "(prev) => location.pathname.endsWith('/materials') || "
            "(document.querySelector('form.question') && !location.pathname.endsWith('/' + prev))",
            arg=seen[-1],
        )


def test_search_pinyin_to_guide_questions_and_material_list(page: Page, shot) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="一件事一次办")).to_be_visible()
    search = page.get_by_label("搜索事项")
    expect(search).to_have_attribute("placeholder", re.compile("yyzz"))
    shot(page, "01-home")

    search.fill("yyzz")
    search.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=yyzz"))
    results = page.locator(".item-card")
    expect(results.first).to_be_visible()
    expect(page.locator(".item-card", has_text="营业执照").first).to_be_visible()
    shot(page, "02-search-yyzz")

    page.locator(".item-card", has_text="个体工商户设立登记（核发营业执照）").first.click()
    page.wait_for_url(re.compile(r"/items/[^/]+$"))
    expect(page.locator(".item-title")).to_have_text("个体工商户设立登记（核发营业执照）")
    for section in ("办理条件", "办理流程", "办理时限", "收费", "办理地点和时间", "设定依据"):
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(page.get_by_test_id("consult-phone")).to_have_attribute("href", re.compile(r"^tel:[\d+]+$"))
    qr = page.locator("img.qr")
    qr.scroll_into_view_if_needed()
    expect(qr).to_have_attribute("src", re.compile(r"^/api/v1/items/.+/qr\.svg$"))
    qr_loaded = "(() => { const i = document.querySelector('img.qr'); return i.complete && i.naturalWidth > 0; })()"
    page.wait_for_function(qr_loaded)
    shot(page, "03-guide")

    page.get_by_test_id("needs").click()
    page.wait_for_url(re.compile(r"/questions$"))
    expect(page.locator("form.question h1")).to_be_visible()
    shot(page, "04-question", full_page=False)

    # Food business → the situation with food materials; no agent.
    def choose(code: str, values: list[str]) -> str | None:
        return {"food": "yes", "agent": "no"}.get(code) if {"yes", "no"} >= set(values) else None

    asked = _answer_all_questions(page, choose)
    assert asked, "the item has questions"

    materials = page.get_by_test_id("material")
    expect(materials.first).to_be_visible()
    expect(page.get_by_test_id("situation")).to_contain_text("您的情形")
    # Source badges are words (not colour alone): something to upload and something fetched.
    expect(page.locator("[data-badge=upload]").first).to_have_text(re.compile("上传"))
    expect(page.locator("[data-badge=certificate]").first).to_have_text(re.compile("免提交·电子证照"))
    expect(page.get_by_test_id("spared")).to_contain_text(re.compile(r"免提交 \d+ 项材料"))
    expect(materials.first).to_contain_text(re.compile("原件|复印件"))
    expect(page.get_by_test_id("reason").first).to_be_visible()
    shot(page, "05-material-list")


def test_questions_skip_by_rule_and_back_keeps_answers(page: Page, shot) -> None:
    # 户口迁入: `spouse` is asked only when reason = kin, `rent` only when reason = house.
    found = page.request.get("/api/v1/items", params={"q": "户口迁入", "limit": 1}).json()["items"]
    assert found, "demo catalog has 户口迁入"
    code = found[0]["code"]
    guide = page.request.get(f"/api/v1/items/{code}").json()
    codes = [q["code"] for q in guide["questions"]]
    assert {"reason", "spouse", "rent"} <= set(codes)
    reason = next(q for q in guide["questions"] if q["code"] == "reason")
    other = next(o["value"] for o in reason["options"] if o["value"] not in ("kin", "house"))

    page.goto(f"/items/{code}/questions")
    expect(page.locator("form.question")).to_contain_text(reason["text"])
    expect(page.locator(".progress")).to_have_text(re.compile(r"第 1 题，共 \d+ 题"))
    page.locator(f"input[name=reason][value='{other}']").check()
    page.get_by_test_id("next").click()
    page.wait_for_url(re.compile(r"/questions/[^/]+$"))
    nxt = page.url.rsplit("/", 1)[-1]
    assert nxt not in ("spouse", "rent", "reason"), f"questions with a false ask_if are skipped, got {nxt}"
    expect(page.locator(".progress")).to_have_text(re.compile(r"第 2 题"))
    shot(page, "06-question-2", full_page=False)

    page.get_by_test_id("previous").click()
    page.wait_for_url(re.compile(r"/questions(/reason)?$"))
    expect(page.locator(f"input[name=reason][value='{other}']")).to_be_checked()

    # Changing the answer to "kin" brings in the spouse question.
    page.locator("input[name=reason][value='kin']").check()
    page.get_by_test_id("next").click()
    page.wait_for_url(re.compile(r"/questions/spouse$"))
    expect(page.locator(".progress")).to_have_text(re.compile(r"第 2 题"))


def test_server_422_is_shown_next_to_its_question(page: Page) -> None:
    found = page.request.get("/api/v1/items", params={"q": "营业执照遗失", "limit": 1}).json()["items"]
    code = found[0]["code"]
    guide = page.request.get(f"/api/v1/items/{code}").json()
    first = guide["questions"][0]["code"]
    page.goto("/")
    # An answer the server refuses (not one of the options), as a stale draft would carry.
    page.evaluate(
        "([code, q]) => sessionStorage.setItem('zw.answers', JSON.stringify({[code]: {[q]: 'not-an-option'}}))",
        [code, first],
    )
    with page.expect_response(lambda r: r.url.endswith("/material-list") and r.status == 422) as resp:
        page.goto(f"/items/{code}/materials")
    body = resp.value.json()
    assert body["field"] == first
    page.wait_for_url(re.compile(rf"/questions/{first}$"))
    expect(page.get_by_test_id("question-error")).to_have_text(re.compile(re.escape(body["message"])))


def test_life_event_lists_items_in_order(page: Page, shot) -> None:
    page.goto("/")
    tile = page.locator(".tile").first
    expect(tile).to_be_visible()
    code = tile.get_attribute("data-code")
    name = tile.locator(".tile-name").inner_text()
    tile.click()
    page.wait_for_url(f"**/life-events/{code}")
    expect(page.locator(".hdr-title")).to_have_text(name)
    detail = page.request.get(f"/api/v1/life-events/{code}").json()
    steps = page.locator(".step .item-card")
    expect(steps).to_have_count(len(detail["items"]))
    for i, item in enumerate(detail["items"]):
        expect(steps.nth(i)).to_contain_text(item["name"])
        expect(steps.nth(i)).to_contain_text(item["department"]["name"])
        expect(steps.nth(i)).to_contain_text("承诺时限")
    shot(page, "07-life-event")

    # The 企业 tab shows the enterprise life events only.
    page.goto("/")
    page.get_by_test_id("audience-legal_person").click()
    expect(page.get_by_test_id("audience-legal_person")).to_have_attribute("aria-pressed", "true")
    events = page.request.get("/api/v1/life-events").json()["items"]
    enterprise = [e for e in events if e["audience"] == "legal_person"]
    expect(page.locator(".tile")).to_have_count(len(enterprise))


def test_elder_mode_large_text_and_targets_remembered(page: Page, shot) -> None:
    page.goto("/")
    toggle = page.get_by_test_id("elder-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
    expect(toggle).to_have_attribute("aria-pressed", "true")

    def px(selector: str, prop: str) -> float:
        return float(page.eval_on_selector(selector, f"e => parseFloat(getComputedStyle(e).{prop})"))

    assert px("body", "fontSize") >= 18
    assert px("body", "lineHeight") / px("body", "fontSize") >= 1.3
    for target in (toggle, page.locator(".search-btn"), page.locator(".tile").first):
        box = target.bounding_box()
        assert box and box["width"] >= 60 and box["height"] >= 60, box
    # Simplified home: no popular list.
    expect(page.locator(".popular")).to_have_count(0)
    expect(page.locator(".tile").first).to_be_visible()
    low = page.evaluate(CONTRAST_JS)
    assert not low, f"text below 4.5:1 contrast in elder mode: {low[:5]}"
    shot(page, "08-elder-home")

    page.reload()
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))

    page.goto("/settings")
    page.get_by_test_id("font-30").check()
    page.wait_for_function("parseFloat(getComputedStyle(document.body).fontSize) >= 30")
    shot(page, "09-elder-settings-30px")
    page.get_by_test_id("elder-switch").uncheck()
    expect(page.locator("html")).not_to_have_class(re.compile(r"\belder\b"))


def test_guide_seen_once_opens_offline(context: BrowserContext, page: Page, shot) -> None:
    page.goto("/")
    # The service worker installs, precaches the shell and claims this page.
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=30_000)
    found = page.request.get("/api/v1/items", params={"q": "结婚登记", "limit": 1}).json()["items"]
    code = found[0]["code"]
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/items/{code}") and r.ok):
        page.goto(f"/items/{code}")
    expect(page.locator(".item-title")).to_have_text(found[0]["name"])

    context.set_offline(True)
    try:
        page.reload()
        expect(page.locator(".item-title")).to_have_text(found[0]["name"])
        expect(page.get_by_role("heading", name="办理时限", exact=True)).to_be_visible()
        expect(page.get_by_role("status").filter(has_text="离线")).to_be_visible()
        shot(page, "10-offline-guide", full_page=False)
    finally:
        context.set_offline(False)


def test_deep_link_reload(browser, server: str) -> None:
    # Without a service worker: the server itself answers /items/<code> with the app.
    ctx = browser.new_context(base_url=server, service_workers="block", viewport={"width": 390, "height": 844})
    try:
        page = ctx.new_page()
        found = page.request.get("/api/v1/items", params={"limit": 1}).json()["items"]
        code = found[0]["code"]
        resp = page.goto(f"/items/{code}")
        assert resp and resp.status == 200
        expect(page.locator(".item-title")).to_have_text(found[0]["name"])
        page.reload()
        expect(page.locator(".item-title")).to_have_text(found[0]["name"])
        page.goto("/no/such/page")
        expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    finally:
        ctx.close()


def test_english_is_switchable_and_remembered(page: Page) -> None:
    page.goto("/settings")
    page.get_by_test_id("locale-en").check()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/")
    expect(page.get_by_role("heading", name="Life events")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Search services")).to_be_visible()


def test_network_failure_shows_retry_then_recovers(page: Page, shot) -> None:
    page.route("**/api/v1/life-events", lambda route: route.abort("internetdisconnected"))
    page.goto("/")
    alert = page.get_by_role("alert").filter(has_text="网络")
    expect(alert).to_be_visible()
    shot(page, "11-network-error", full_page=False)
    page.unroute("**/api/v1/life-events")
    alert.get_by_role("button", name="重试").click()
    expect(page.locator(".tile").first).to_be_visible()


def test_browse_by_department_and_kind(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name=re.compile("按部门")).click()
    dept = page.locator(".dept").first
    expect(dept).to_be_visible()
    dept_name = dept.locator(".dept-name").inner_text()
    page.locator(".dept", has_text="市场监督管理局").first.click()
    page.wait_for_url(re.compile(r"/browse\?department="))
    expect(page.locator(".item-card").first).to_be_visible()
    assert dept_name

    page.goto("/kinds")
    expect(page.locator(".kind")).to_have_count(11)
    page.locator(".kind[data-kind='01']").click()
    page.wait_for_url(re.compile(r"/browse\?kind=01"))
    expect(page.locator(".hdr-title")).to_have_text("行政许可")
    cards = page.locator(".item-card")
    expect(cards.first).to_be_visible()
    total = page.request.get("/api/v1/items", params={"kind": "01", "limit": 1}).json()["total"]
    assert total > 20, "the demo catalog has more than one page of licensing items"
    expect(cards).to_have_count(20)
    # Infinite scroll: reaching the end of the list loads the next page (cursor=…).
    with page.expect_request(lambda r: "/api/v1/items?" in r.url and "cursor=" in r.url):
        cards.last.scroll_into_view_if_needed()
    expect(cards).to_have_count(min(total, 40))


def test_search_as_you_type_and_empty_state(page: Page, shot) -> None:
    page.goto("/search")
    box = page.get_by_label("搜索事项")
    expect(box).to_be_focused()
    box.press_sequentially("jhdj")
    page.wait_for_url(re.compile(r"/search\?q=jhdj$"))
    expect(page.locator(".item-card", has_text="结婚登记").first).to_be_visible()
    box.fill("zzqqxxwwyy")
    expect(page.get_by_text("没有找到“zzqqxxwwyy”相关的事项")).to_be_visible()
    shot(page, "12-search-empty", full_page=False)


def test_region_is_remembered_and_filters_items(page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("region").click()
    page.wait_for_url("**/region")
    county = page.locator(".option", has_text="通江县")
    code = county.get_attribute("data-code")
    with page.expect_request(lambda r: "/api/v1/items?" in r.url and f"region={code}" in r.url):
        county.click()
        page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_test_id("region")).to_contain_text("通江县")
    expect(page.locator(".popular .item-card").first).to_contain_text("通江县")
    page.reload()
    expect(page.get_by_test_id("region")).to_contain_text("通江县")


def test_keyboard_only_from_home_to_a_guide(page: Page) -> None:
    page.goto("/")
    expect(page.locator(".tile").first).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    search = page.get_by_label("搜索事项")
    for _ in range(10):
        if search.evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(search).to_be_focused()
    page.keyboard.type("jhdj")
    page.keyboard.press("Enter")
    # Wait for the results page: Home shows item cards too (popular items), and focusing one of
    # those just before the route changes left Enter pressed on a detached element (seen once).
    page.wait_for_url(re.compile(r"/search\?q=jhdj$"))
    first = page.locator(".item-card").first
    expect(first).to_be_visible()
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/items/[^/]+$"))
    needs = page.get_by_test_id("needs")
    expect(needs).to_be_visible()
    needs.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/questions$"))
    # The question heading takes focus; the options are reachable and chosen with the keyboard.
    radio = page.locator("form.question input[type=radio]").first
    radio.focus()
    page.keyboard.press("Space")
    expect(radio).to_be_checked()
