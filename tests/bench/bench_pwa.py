"""PWA home page on a cheap phone: first paint, largest paint and "usable" (life events rendered and
clickable) in headless Chromium under CDP network emulation of slow 4G (150 ms RTT, 1.6 Mbit/s down,
750 kbit/s up) and 4× CPU throttling; cold (empty cache, no service worker) and warm (the service
worker's precache). Also the gzipped JavaScript and CSS of the home route from the build manifest.

    python tests/bench/bench_pwa.py [--runs 5]

Prints medians and every run; figures, not assertions. Needs a built pwa/dist and Debian's
chromium (the same one the browser tests drive).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.processes import running_server, sqlite_env, zhengwu  # noqa: E402

SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
CPU_SLOWDOWN = 4
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}
# Largest contentful paint, observed from the start (buffered) until read.
LCP_OBSERVER = """
window.__lcp = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__lcp = Math.max(window.__lcp, e.startTime);
}).observe({ type: "largest-contentful-paint", buffered: true });
"""


def home_route_sizes() -> tuple[int, int]:
    """Gzipped bytes of the JS and CSS the home route loads (entry + its static imports)."""
    dist = ROOT / "pwa" / "dist"
    manifest = json.loads((dist / ".vite" / "manifest.json").read_text())
    entry = next(k for k, v in manifest.items() if v.get("isEntry"))
    js = css = 0
    seen: set[str] = set()
    stack = [entry]
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        chunk = manifest[key]
        js += len(gzip.compress((dist / chunk["file"]).read_bytes(), 9))
        css += sum(len(gzip.compress((dist / f).read_bytes(), 9)) for f in chunk.get("css", []))
        stack.extend(chunk.get("imports", []))
    return js, css


def measure(page: Page, url: str) -> dict[str, float]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    page.add_init_script(LCP_OBSERVER)
    page.goto(url, wait_until="commit")
    page.locator("a.tile").first.wait_for(state="visible", timeout=60_000)
    usable = page.evaluate("performance.now()")
    fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0")
    lcp = page.evaluate("window.__lcp")
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    return {"fcp": fcp, "lcp": lcp, "usable": usable}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = shutil.which("chromium")
    if not exe or not (ROOT / "pwa" / "dist" / "index.html").exists():
        raise SystemExit("needs Debian's chromium and a built pwa/dist (make install)")
    js, css = home_route_sizes()
    var = Path(tempfile.mkdtemp(prefix="zhengwu-bench-pwa-"))
    env = sqlite_env(var, ZHENGWU_MAINTENANCE_INTERVAL="0")
    for step in (["migrate"], ["seed", "--demo"]):
        if zhengwu(*step, env=env).returncode:
            raise SystemExit(f"zhengwu {' '.join(step)} failed")
    cold: list[dict[str, float]] = []
    warm: list[dict[str, float]] = []
    with running_server(env, var / "serve.log") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(args.runs):
            context = browser.new_context(**PHONE)  # a new profile: empty HTTP cache, no service worker
            page = context.new_page()
            cold.append(measure(page, base + "/"))
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            page.close()
            page = context.new_page()  # same profile: the service worker serves the shell
            warm.append(measure(page, base + "/"))
            context.close()
        browser.close()
    shutil.rmtree(var, ignore_errors=True)

    def row(label: str, runs: list[dict[str, float]]) -> None:
        med = {k: statistics.median(r[k] for r in runs) for k in ("fcp", "lcp", "usable")}
        every = ", ".join(f"{r['usable']:.0f}" for r in runs)
        print(f"  {label:5} FCP {med['fcp']:6.0f} ms   LCP {med['lcp']:6.0f} ms   usable {med['usable']:6.0f} ms"
              f"   (usable per run: {every})")

    print(f"\nPWA home on a phone: slow 4G (150 ms RTT, 1.6 Mbit/s) + {CPU_SLOWDOWN}× CPU throttle, "
          f"median of {args.runs}")
    row("cold", cold)
    row("warm", warm)
    print(f"  home route: {js / 1024:.1f} KB gzipped JS (budget 150), {css / 1024:.1f} KB gzipped CSS (budget 60)")


if __name__ == "__main__":
    main()
