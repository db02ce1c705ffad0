"""Benchmark 5: the web app's weight and how fast it shows up.

- bytes: every file the page loads (HTML, CSS, JS, icon) as stored in web/,
  raw and gzip-compressed;
- timings: the page served by the local stack (its real headers and API) in
  Debian's headless Chromium via Playwright, a fresh browser context per run:
  first contentful paint, DOMContentLoaded, load, and "interactive" = the first
  statistics rendered (the stats section leaves aria-busy), the moment the
  page answers with data. Median of RUNS.
"""

import gzip
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, median, print_table, write_results
from tools.browser import CHROMIUM, CHROMIUM_ARGS

WEB = ROOT / "web"
RUNS = 10
SEED_SUBMISSIONS = 30

# Records when the stats section first stops being busy after the first load.
READY_SCRIPT = """
window.__bench = {};
new MutationObserver((changes, observer) => {
  const stats = document.getElementById("stats");
  if (!stats) return;
  if (stats.getAttribute("aria-busy") === "true") window.__bench.busy = true;
  else if (window.__bench.busy && window.__bench.ready === undefined) {
    window.__bench.ready = performance.now();
    observer.disconnect();
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["aria-busy"] });
"""

TIMINGS_SCRIPT = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const resources = performance.getEntriesByType("resource");
  return {
    first_contentful_paint: fcp ? fcp.startTime : null,
    dom_content_loaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    interactive: window.__bench.ready ?? null,
    requests: resources.length + 1,
    transferred: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
  };
}"""


def page_files() -> dict[str, dict[str, int]]:
    """The files the page loads, by kind: raw and gzip bytes."""
    kinds = {"html": "*.html", "css": "*.css", "js": "*.js", "icon": "*.svg"}
    sizes = {}
    for kind, pattern in kinds.items():
        files = sorted(WEB.glob(pattern))
        data = [f.read_bytes() for f in files]
        sizes[kind] = {
            "files": len(files),
            "bytes": sum(len(d) for d in data),
            "gzip_bytes": sum(len(gzip.compress(d, 9)) for d in data),
        }
    return sizes


def _timings(url: str, runs: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    samples = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            for _ in range(runs + 1):  # the first run warms the stack and the browser
                context = browser.new_context()
                page = context.new_page()
                page.add_init_script(READY_SCRIPT)
                page.goto(url, wait_until="load")
                page.wait_for_function("() => window.__bench.ready !== undefined", timeout=15_000)
                samples.append(page.evaluate(TIMINGS_SCRIPT))
                context.close()
        finally:
            browser.close()
    return samples[1:]


def run(quick: bool = False) -> dict[str, Any]:
    import requests

    from tools.launcher import start

    sizes = page_files()
    runs = 3 if quick else RUNS
    with tempfile.TemporaryDirectory() as folder:
        stack = start(Path(folder) / "stack", "--ephemeral", "--throttle-rate", "0")
        try:
            with requests.Session() as session:  # some data, so the charts draw
                for n in range(SEED_SUBMISSIONS):
                    session.post(
                        stack.url("/api/submit-number"), json={"number": n % 10 + 1}, timeout=10
                    ).raise_for_status()
            samples = _timings(stack.url("/"), runs)
        finally:
            stack.stop()
    keys = ("first_contentful_paint", "dom_content_loaded", "load", "interactive")
    timings = {key: median(s[key] for s in samples) for key in keys}
    timings["requests"] = samples[0]["requests"]
    timings["transferred_bytes"] = samples[0]["transferred"]

    total = {
        "bytes": sum(s["bytes"] for s in sizes.values()),
        "gzip_bytes": sum(s["gzip_bytes"] for s in sizes.values()),
    }
    print_table(
        "5a. web app weight (web/, as stored)",
        ("kind", "files", "bytes", "gzip bytes"),
        [(k, s["files"], s["bytes"], s["gzip_bytes"]) for k, s in sizes.items()]
        + [("total", sum(s["files"] for s in sizes.values()), total["bytes"], total["gzip_bytes"])],
    )
    print_table(
        f"5b. page load in headless Chromium from the local stack (ms, median of {runs})",
        ("first contentful paint", "DOMContentLoaded", "load", "interactive (stats shown)"),
        [tuple(timings[k] for k in keys)],
    )
    print(f"  {timings['requests']} requests, {timings['transferred_bytes']:,} bytes transferred")
    figures = {"sizes": sizes, "total": total, "runs": runs, "timings_ms": timings}
    write_results("web", figures)
    return figures
