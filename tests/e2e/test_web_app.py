"""The web app in headless Chromium against the real local stack.

Playwright's routing only injects failures (API down, 5xx, 429, a lost answer);
everything else is the real page, handlers, table, stream and aggregator.
"""

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import Page, Request, Route, expect

from infra.local.demo import seed
from infra.topology import WEB_STATS_CALLS_PER_PICK
from shared.submissions import Pick, Submission
from tests.support.page_errors import BrowserErrors
from tools.launcher import FAST_OPTIONS, LaunchedStack, start

pytestmark = pytest.mark.e2e

SUBMIT = "**/api/submit-number"
DAILY_STATS = "**/api/daily-stats?*"
AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def total_count(page: Page) -> int:
    return int(page.locator("#total-count").inner_text().replace(",", ""))


def times_picked(page: Page, number: int) -> str:
    return page.locator("#hist-table tbody tr").nth(number - 1).locator("td").inner_text()


def expect_included(page: Page, number: int, before: int) -> None:
    """The stats were refreshed until they counted the pick: exactly once."""
    expect(page.locator("#stats-feedback")).to_contain_text("yours included")
    expect(page.locator("#total-count")).to_have_text(str(before + 1))
    expect(page.locator("#stats-body")).to_be_visible()
    assert int(times_picked(page, number)) >= 1


def problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "content_type": "application/problem+json",
        "body": json.dumps(
            {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        ),
    }


def test_pick_submit_and_the_stats_include_it(app: Page, base_url: str, output_dir: Path) -> None:
    # Given the page with its statistics, and a log of every request it makes
    requests: list[str] = []
    app.on("request", lambda request: requests.append(request.url))
    stats_reads = len([url for url in requests if "/api/daily-stats" in url])
    before = total_count(app)

    # When a number is picked and submitted
    app.get_by_role("radio", name="7", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()

    # Then the live region says it was saved, and the stats poll until they count it
    feedback = app.get_by_role("status").filter(has_text="Thank you")
    expect(feedback).to_contain_text("You picked 7")
    expect_included(app, 7, before)
    # one number, or (other tests pick today too) the numbers tied for most picked
    expect(app.locator("#total-mode")).to_have_text(
        re.compile(r"^(10|[1-9])((, (10|[1-9]))* and (10|[1-9]) \(tie\))?$")
    )
    expect(app.locator("#hist-chart svg rect.bar")).to_have_count(10)
    expect(app.locator("#days-table tbody tr")).to_have_count(7)
    expect(app.get_by_role("radio", name="7", exact=True)).to_be_checked()

    # And the pick read the stats no more often than the API's throttle is priced for
    stats_reads = len([url for url in requests if "/api/daily-stats" in url]) - stats_reads
    assert 1 <= stats_reads <= WEB_STATS_CALLS_PER_PICK
    # And the page never talked to anyone but its own origin
    assert requests, "no request was recorded"
    assert all(url.startswith(base_url + "/") for url in requests), requests
    app.screenshot(path=output_dir / "web-after-submission.png", full_page=True)


def test_a_late_stream_bounds_the_stats_polling(app: Page) -> None:
    """The API's daily-stats throttle is priced on WEB_STATS_CALLS_PER_PICK reads per
    pick (infra/topology.py): even when the stats never show the pick, the page stops."""
    # Given a stream that is late: every stats read answers what was true before the pick
    reads: list[str] = []
    before: dict[str, str] = {}

    def as_before_the_pick(route: Route, request: Request) -> None:
        reads.append(request.url)
        if "body" not in before:
            before["body"] = route.fetch().text()
        route.fulfill(status=200, content_type="application/json", body=before["body"])

    app.route(DAILY_STATS, as_before_the_pick)

    # When a number is picked and submitted
    app.get_by_role("radio", name="9", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()

    # Then the page polls a bounded number of times, then says the stats will follow
    expect(app.locator("#submit-feedback")).to_contain_text("You picked 9")
    expect(app.locator("#stats-feedback")).to_contain_text("will include it shortly")
    assert len(reads) == WEB_STATS_CALLS_PER_PICK, reads


def test_keyboard_only(app: Page) -> None:
    before = total_count(app)
    # Tab: the skip link, then into the radio group (the first radio takes focus)
    app.keyboard.press("Tab")
    expect(app.get_by_role("link", name="Skip to content")).to_be_focused()
    app.keyboard.press("Tab")
    expect(app.get_by_role("radio", name="1", exact=True)).to_be_focused()
    app.keyboard.press("Space")
    for _ in range(2):
        app.keyboard.press("ArrowRight")  # arrows move the choice within the group
    three = app.get_by_role("radio", name="3", exact=True)
    expect(three).to_be_focused()
    expect(three).to_be_checked()
    # the focused choice is visibly marked (its label carries the focus outline)
    outline = app.locator("label[for=n3]").evaluate("label => getComputedStyle(label).outlineStyle")
    assert outline != "none"

    app.keyboard.press("Tab")
    expect(app.get_by_role("checkbox", name="Share my approximate location")).to_be_focused()
    app.keyboard.press("Tab")
    expect(app.get_by_role("button", name="Submit my pick")).to_be_focused()
    app.keyboard.press("Enter")

    expect(app.locator("#submit-feedback")).to_contain_text("You picked 3")
    expect_included(app, 3, before)
    expect(app.get_by_role("button", name="Submit my pick")).to_be_focused()


def test_submitting_without_a_pick_says_so(app: Page) -> None:
    sent: list[Request] = []
    app.on("request", lambda request: sent.append(request) if request.method == "POST" else None)
    app.get_by_role("button", name="Submit my pick").click()
    expect(app.locator("#submit-feedback")).to_contain_text("Choose a number from 1 to 10 first")
    expect(app.get_by_role("radio", name="1", exact=True)).to_be_focused()
    assert sent == []


def test_server_error_shows_the_problem_and_keeps_the_selection(
    app: Page, browser_errors: BrowserErrors
) -> None:
    # Given a server that fails the first submission with a 500 problem
    browser_errors.allow_failed_api_requests = True
    keys: list[str | None] = []

    def fail_once(route: Route, request: Request) -> None:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fulfill(
                **problem(500, "Internal Server Error", "The request could not be completed.")
            )
        else:
            route.continue_()

    app.route(SUBMIT, fail_once)
    before = total_count(app)

    # When a pick is submitted
    app.get_by_role("radio", name="5", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()

    # Then the error says what the server said, and the pick is still selected
    feedback = app.locator("#submit-feedback")
    expect(feedback).to_contain_text("Your pick was not saved")
    expect(feedback).to_contain_text("The request could not be completed")
    expect(feedback).to_have_class(re.compile(r"\berror\b"))
    expect(app.get_by_role("radio", name="5", exact=True)).to_be_checked()
    assert len(keys) == 1  # a 500 is reported, not retried on its own

    # And submitting again sends the same pick with the same key, counted once
    app.get_by_role("button", name="Submit my pick").click()
    expect(feedback).to_contain_text("You picked 5")
    expect_included(app, 5, before)
    assert keys[0] is not None
    assert keys == [keys[0]] * 2


def test_client_error_shows_the_problem_detail_and_fields(
    app: Page, browser_errors: BrowserErrors
) -> None:
    browser_errors.allow_failed_api_requests = True
    detail = "'number' must be smaller than or equal to 10."
    errors = [{"field": "number", "pointer": "#/number", "detail": "too big"}]
    app.route(
        SUBMIT, lambda route: route.fulfill(**problem(400, "Bad Request", detail, errors=errors))
    )

    app.get_by_role("radio", name="10", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()

    feedback = app.locator("#submit-feedback")
    expect(feedback).to_contain_text(f"Bad Request: {detail}")
    expect(feedback.get_by_role("listitem")).to_have_text("number: too big")
    expect(app.get_by_role("radio", name="10", exact=True)).to_be_checked()


def test_api_down_shows_errors_for_stats_and_submission(
    page: Page, browser_errors: BrowserErrors
) -> None:
    # Given an API that cannot be reached at all
    browser_errors.allow_failed_api_requests = True
    attempts: list[str] = []

    def unreachable(route: Route, request: Request) -> None:
        attempts.append(request.method)
        route.abort("connectionrefused")

    page.route("**/api/**", unreachable)

    # When the page opens, the stats say they could not be loaded
    page.goto("/")
    stats = page.locator("#stats-feedback")
    expect(stats).to_contain_text("The statistics could not be loaded")
    expect(stats).to_contain_text("could not be reached")
    expect(page.locator("#stats-body")).to_be_hidden()

    # And a submission is retried (bounded), then reported; the pick stays selected
    page.get_by_role("radio", name="2", exact=True).check()
    page.get_by_role("button", name="Submit my pick").click()
    feedback = page.locator("#submit-feedback")
    expect(feedback).to_contain_text("Your pick was not saved")
    expect(feedback).to_contain_text("tried 4 times")
    expect(page.get_by_role("radio", name="2", exact=True)).to_be_checked()
    assert attempts.count("POST") == 4


def test_a_lost_answer_is_retried_with_the_same_key_and_counted_once(
    app: Page, browser_errors: BrowserErrors, local_stack: LaunchedStack
) -> None:
    # Given a network that loses the answer to the first submission after the
    # server has stored it (the worst case for counting twice)
    browser_errors.allow_failed_api_requests = True
    keys: list[str | None] = []
    statuses: list[int] = []

    def lose_first_answer(route: Route, request: Request) -> None:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) == 1:
            statuses.append(route.fetch().status)  # reaches the real stack
            route.abort("connectionreset")
        else:
            response = route.fetch()
            statuses.append(response.status)
            route.fulfill(response=response)

    app.route(SUBMIT, lose_first_answer)
    before = total_count(app)
    stored_before = local_stack.raw_histogram()[8]

    # When a pick is submitted
    app.get_by_role("radio", name="8", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()

    # Then the retry carries the same key, the server answers it as a replay,
    # and the stats count the pick exactly once
    expect(app.locator("#submit-feedback")).to_contain_text("You picked 8")
    assert len(keys) == 2
    assert keys[0]
    assert keys[1] == keys[0]
    assert statuses == [201, 200]
    expect_included(app, 8, before)
    app.get_by_role("button", name="Show").click()
    expect(app.locator("#stats-feedback")).to_contain_text(re.compile(rf"^{before + 1} picks? "))
    expect(app.locator("#total-count")).to_have_text(str(before + 1))
    # And the table holds one raw submission for it, counted once by the rollups
    local_stack.wait_until_aggregated()
    assert local_stack.raw_histogram()[8] == stored_before + 1
    assert local_stack.rollup_histogram()[8] == stored_before + 1


def test_throttling_backs_off_and_retries_with_the_same_key(
    app: Page, browser_errors: BrowserErrors
) -> None:
    # Given an API that throttles the first two attempts (Retry-After: 1)
    browser_errors.allow_failed_api_requests = True
    keys: list[str | None] = []
    throttled = problem(429, "Too Many Requests", "Slow down.")
    throttled["headers"] = {"Retry-After": "1"}

    def throttle_twice(route: Route, request: Request) -> None:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) <= 2:
            route.fulfill(**throttled)
        else:
            route.continue_()

    app.route(SUBMIT, throttle_twice)
    before = total_count(app)

    app.get_by_role("radio", name="4", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()

    # Then the user is told it is retrying, and it goes through with one key
    expect(app.locator("#submit-feedback")).to_contain_text("The server is busy; trying again")
    expect(app.locator("#submit-feedback")).to_contain_text("You picked 4")
    assert len(keys) == 3
    assert len(set(keys)) == 1
    expect_included(app, 4, before)


def test_throttling_gives_up_and_says_so(app: Page, browser_errors: BrowserErrors) -> None:
    browser_errors.allow_failed_api_requests = True
    keys: list[str | None] = []
    throttled = problem(429, "Too Many Requests", "Slow down.")
    throttled["headers"] = {"Retry-After": "1"}

    def always_throttle(route: Route, request: Request) -> None:
        keys.append(request.headers.get("idempotency-key"))
        route.fulfill(**throttled)

    app.route(SUBMIT, always_throttle)
    app.get_by_role("radio", name="6", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()

    feedback = app.locator("#submit-feedback")
    expect(feedback).to_contain_text("too many requests (tried 4 times)")
    expect(feedback).to_have_class(re.compile(r"\berror\b"))
    expect(app.get_by_role("radio", name="6", exact=True)).to_be_checked()
    assert len(keys) == 4
    assert len(set(keys)) == 1


@pytest.fixture
def waf_stack(tmp_path: Path) -> Iterator[LaunchedStack]:
    """A stack whose WAF lets one submission per address a minute through."""
    waf = ("--waf", "--waf-rate-limit", "1", "--waf-window", "60")
    stack = start(tmp_path / "waf-stack", *FAST_OPTIONS, *waf)
    yield stack
    stack.stop()


def test_the_waf_limit_says_too_many_and_when_to_retry(
    page: Page, browser_errors: BrowserErrors, waf_stack: LaunchedStack
) -> None:
    browser_errors.allow_failed_api_requests = True
    page.goto(waf_stack.url("/"))
    submit = page.get_by_role("button", name="Submit my pick")
    page.get_by_role("radio", name="3", exact=True).check()
    submit.click()
    expect(page.locator("#submit-feedback")).to_contain_text("You picked 3")

    page.get_by_role("radio", name="5", exact=True).check()
    submit.click()

    # WAF's Retry-After (the window) is longer than the app waits: it says so at once.
    feedback = page.locator("#submit-feedback")
    expect(feedback).to_contain_text("too many requests")
    expect(feedback).to_contain_text("try again in 60 seconds")
    expect(feedback).to_have_class(re.compile(r"\berror\b"))


def test_location_is_asked_for_only_when_ticked(app: Page, base_url: str) -> None:
    # Count the page's calls to the geolocation API (an init script is not
    # subject to the page's CSP, and runs before the page's own scripts).
    app.context.add_init_script(
        """
        window.__locationAsked = 0;
        const ask = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
        navigator.geolocation.getCurrentPosition = (...args) => {
          window.__locationAsked += 1;
          return ask(...args);
        };
        """
    )
    app.context.grant_permissions(["geolocation"], origin=base_url)
    app.context.set_geolocation({"latitude": 48.85837, "longitude": 2.29448})
    app.reload()
    bodies: list[dict[str, Any]] = []
    app.on(
        "request",
        lambda request: (
            bodies.append(json.loads(request.post_data or "{}"))
            if request.method == "POST"
            else None
        ),
    )

    # Without the box ticked: no location asked for, none sent
    app.get_by_role("radio", name="9", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()
    expect(app.locator("#submit-feedback")).to_contain_text("You picked 9")
    assert app.evaluate("window.__locationAsked") == 0
    assert "location" not in bodies[-1]

    # Ticked: asked once, and sent rounded to 0.1 degree
    app.get_by_role("checkbox", name="Share my approximate location").check()
    app.get_by_role("radio", name="1", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()
    expect(app.locator("#submit-feedback")).to_contain_text("You picked 1")
    assert app.evaluate("window.__locationAsked") == 1
    assert bodies[-1]["location"] == {"latitude": 48.9, "longitude": 2.3}
    expect(app.locator("#stats-feedback")).to_contain_text("yours included")


def test_date_range_and_empty_state(app: Page) -> None:
    app.get_by_label("From").fill("2001-01-01")
    app.get_by_label("To").fill("2001-01-07")
    app.get_by_role("button", name="Show").click()
    expect(app.locator("#stats-feedback")).to_contain_text(
        "No picks between 2001-01-01 and 2001-01-07"
    )
    expect(app.locator("#stats-body")).to_be_hidden()

    app.get_by_label("From").fill("2001-02-01")
    app.get_by_role("button", name="Show").click()
    expect(app.locator("#stats-feedback")).to_contain_text("must not be after the end day")
    expect(app.get_by_label("From")).to_have_attribute("aria-invalid", "true")


@pytest.mark.parametrize(
    ("day", "picked", "shown"),
    [
        ("2002-03-01", [7, 1], "1 and 7 (tie)"),
        ("2002-03-02", [10, 4, 1, 9, 10, 4, 1], "1, 4 and 10 (tie)"),
        ("2002-03-03", [3, 7, 10, 7], "7"),
    ],
    ids=["two-way-tie", "three-way-tie", "single-mode"],
)
def test_most_picked_names_every_number_tied_for_it(
    app: Page, local_stack: LaunchedStack, day: str, picked: list[int], shown: str
) -> None:
    # Given a past day's picks, imported into the table as an operator would
    received = f"{day}T12:00:00.000+00:00"
    seed(
        local_stack.dynamodb(),
        local_stack.table_name,
        [Submission(Pick(uuid.uuid4().hex, day, n), received, body_hash="") for n in picked],
    )
    local_stack.wait_until_aggregated()

    # When the page shows that day
    app.get_by_label("From").fill(day)
    app.get_by_label("To").fill(day)
    app.get_by_role("button", name="Show").click()

    # Then "Most picked" names every number with the top count (the API's `mode`
    # alone names the smallest), and says when it is a tie
    expect(app.locator("#total-count")).to_have_text(str(len(picked)))
    expect(app.locator("#total-mode")).to_have_text(shown)


def test_fits_320_pixels(app: Page) -> None:
    app.set_viewport_size({"width": 320, "height": 800})
    app.get_by_role("radio", name="2", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()
    expect(app.locator("#stats-feedback")).to_contain_text("yours included")
    width = app.evaluate("document.documentElement.scrollWidth")
    assert width <= 320


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(
    app: Page, color_scheme: Literal["light", "dark"]
) -> None:
    # Given the page in that colour scheme, with a submission and its charts shown
    app.emulate_media(color_scheme=color_scheme)
    app.get_by_role("radio", name="6", exact=True).check()
    app.get_by_role("button", name="Submit my pick").click()
    expect(app.locator("#stats-feedback")).to_contain_text("yours included")

    # axe-core is evaluated through the DevTools protocol, which the page's CSP
    # does not govern; an injected <script> (add_script_tag) would be inline and
    # blocked by script-src 'self'. The page itself keeps its real CSP.
    app.evaluate(AXE_SOURCE.read_text() + "\n;undefined")
    results = app.evaluate("axe.run(document)")
    blocking = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert results["testEngine"]["name"] == "axe-core"
    assert results["passes"], "axe checked nothing"
    assert blocking == [], json.dumps(blocking, indent=2)
