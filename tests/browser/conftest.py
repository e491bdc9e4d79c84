"""Browser tests of the citizen PWA: Debian's Chromium driven by Playwright (Python) on a phone
viewport, against the real server (`zhengwu migrate`, `seed --demo`, `serve`) started here on a
free port. Needs: `apt-get install -y chromium` (no browser download) and a built PWA
(`cd pwa && npm ci && npm run build`). Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.processes import running_server, sqlite_env, zhengwu

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "pwa" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    # The built index.html has a Content-Security-Policy without 'unsafe-eval'; Playwright's
    # string predicates (wait_for_function) are eval'd in the page, so test contexts bypass it.
    # test_identity.py::test_content_security_policy_holds checks the app under the real policy.
    "bypass_csp": True,
}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (DIST / "index.html").exists():
        pytest.fail("pwa/dist is missing: run `cd pwa && npm ci && npm run build` first")
    var = tmp_path_factory.mktemp("zhengwu-browser")
    env = sqlite_env(var)
    for args in (["migrate"], ["seed", "--demo"]):
        done = zhengwu(*args, env=env)
        if done.returncode != 0:
            pytest.fail(f"zhengwu {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    with running_server(env, var / "serve.log") as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    exe = shutil.which("chromium")
    if not exe:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=server, service_workers="allow", **PHONE)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    errors: list[str] = []
    p = context.new_page()
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def shot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Page, name: str, full_page: bool = True) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)

    return take
