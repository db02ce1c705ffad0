"""The static site's budget and its CSP hygiene, checked without a browser.

The page must stay small (no build step, nothing minified) and must work under
`Content-Security-Policy: default-src 'self'`: no inline script or style, no
event-handler attributes, and no third-party URL.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
BUDGET_BYTES = 50 * 1000  # HTML + CSS + JS, uncompressed
PAGES = sorted(WEB.glob("*.html"))


def test_html_css_and_js_fit_the_budget() -> None:
    files = [p for p in WEB.iterdir() if p.suffix in {".html", ".css", ".js"}]
    total = sum(p.stat().st_size for p in files)
    assert {p.suffix for p in files} == {".html", ".css", ".js"}
    assert total <= BUDGET_BYTES, {p.name: p.stat().st_size for p in files}


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        where = f"<{tag}> at line {self.getpos()[0]}"
        if tag == "style":
            self.problems.append(f"{where}: inline <style>")
        if tag == "script" and not attributes.get("src"):
            self.problems.append(f"{where}: inline <script>")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"{where}: style attribute")
            if name.startswith("on"):
                self.problems.append(f"{where}: event-handler attribute {name}")
            if name in {"src", "href", "action"} and value and _leaves_the_origin(value):
                self.problems.append(f"{where}: third-party URL {value}")


def _leaves_the_origin(url: str) -> bool:
    return url.startswith(("//", "http:", "https:", "javascript:"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_works_under_a_self_only_csp(page: Path) -> None:
    audit = _Audit()
    audit.feed(page.read_text(encoding="utf-8"))
    assert audit.problems == []


def test_scripts_make_no_third_party_requests() -> None:
    for script in WEB.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        # the only absolute URL allowed is the SVG namespace, which is never fetched
        urls = set(re.findall(r"""["'`]((?:https?:)?//[^"'`]*)""", text))
        assert urls <= {"http://www.w3.org/2000/svg"}, (script.name, urls)
        assert "innerHTML" not in text, f"{script.name}: build DOM nodes, not HTML strings"
        assert "eval(" not in text, script.name
        assert "new Function" not in text, script.name
