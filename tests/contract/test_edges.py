"""What the edge answers itself: unknown routes, wrong methods, throttling, the
security headers of every answer, and the published document. Both modes, except
the throttling burst (full mode only)."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from infra.security_headers import SECURITY_HEADERS
from tests.contract.client import STATS, SUBMIT, Client, Document, assert_problem
from tests.contract.targets import Throttled

# A one-day read: the cheapest request the API serves.
CHEAP_READ = STATS + "?from=2001-01-01&to=2001-01-01"
BURST_WORKERS = 8


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nothing-here"), ("POST", "/api/submit-numbers"), ("GET", "/api/")],
)
def test_an_unknown_route_is_404(api: Client, method: str, path: str):
    assert_problem(api.request(method, path), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", SUBMIT, "POST"),
        ("PUT", SUBMIT, "POST"),
        ("DELETE", STATS, "GET"),
        ("POST", STATS, "GET"),
    ],
)
def test_a_wrong_method_is_405_with_the_allowed_one(
    api: Client, method: str, path: str, allowed: str
):
    response = api.request(method, path, headers={"Content-Type": "application/json"})

    assert_problem(response, 405)
    assert response.headers["Allow"] == allowed


def answers(api: Client) -> dict[str, requests.Response]:
    return {
        "the page": api.get("/"),
        "the document": api.get("/openapi.json"),
        "statistics": api.stats(),
        "a refusal": api.stats(**{"from": "2026-02-30"}),
        "an unknown route": api.get("/api/nothing-here"),
    }


def test_every_answer_carries_the_security_headers(api: Client):
    for what, response in answers(api).items():
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, f"{what}: {name}"


def test_api_answers_are_never_cached(api: Client):
    for what, response in answers(api).items():
        if what not in {"the page", "the document"}:
            assert response.headers["Cache-Control"] == "no-store", what


def test_the_site_is_served(api: Client):
    response = api.get("/")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text.lower()


def test_the_published_document_is_this_contract(api: Client, document: Document):
    response = api.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == document.raw


@pytest.mark.burst
def test_over_the_rate_limit_is_429_with_retry_after(throttled: Throttled):
    # When at most `burst` cheap reads are sent in parallel, until one is throttled
    client = throttled.client
    sent: list[requests.Response] = []

    def read(_: Any) -> requests.Response:
        return client.get(CHEAP_READ, retry_throttled=False)

    with ThreadPoolExecutor(BURST_WORKERS) as pool:
        for start in range(0, throttled.burst, BURST_WORKERS):
            sent += pool.map(read, range(start, min(start + BURST_WORKERS, throttled.burst)))
            if any(r.status_code == 429 for r in sent):
                break

    # Then the throttled answers are problems with a Retry-After in seconds
    statuses = {r.status_code for r in sent}
    assert statuses <= {200, 429}, statuses
    throttled_answers = [r for r in sent if r.status_code == 429]
    assert throttled_answers, f"no 429 within {len(sent)} requests"
    for response in throttled_answers:
        assert_problem(response, 429)
        assert int(response.headers["Retry-After"]) >= 1
