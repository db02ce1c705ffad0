"""The local stack's API throttle (infra/local/throttle.py): API Gateway's token
bucket, its burst then its rate; and AWS WAF's per-IP rate rule."""

import json

import pytest

from infra.local.throttle import TokenBucket, WafRateRule, retry_after
from infra.topology import SUBMIT_NUMBER_ROUTE
from infra.waf import rate_limited_problem


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_allows_the_burst_then_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)

    assert [bucket.take() for _ in range(3)] == [0, 0, 0]
    wait = bucket.take()
    assert wait == pytest.approx(0.5)
    assert retry_after(wait) == "1"

    clock.now += 0.5
    assert bucket.take() == 0
    assert bucket.take() > 0


def test_a_zero_rate_never_throttles():
    bucket = TokenBucket(rate=0, burst=1)

    assert all(bucket.take() == 0 for _ in range(1000))


def test_the_waf_rule_counts_submissions_per_address_over_a_trailing_window():
    clock = Clock()
    rule = WafRateRule(SUBMIT_NUMBER_ROUTE, limit=2, window_seconds=60, clock=clock)
    path = SUBMIT_NUMBER_ROUTE.path

    assert [rule.blocks("POST", path, "127.0.0.2") for _ in range(2)] == [False, False]
    assert not rule.blocks("POST", path, "127.0.0.3")  # another address has its own count
    clock.now += 30
    assert rule.blocks("POST", path + "/", "127.0.0.2")
    clock.now += 31  # the first two are out of the window, the blocked one is not
    assert not rule.blocks("POST", path, "127.0.0.2")
    clock.now += 1
    assert rule.blocks("POST", path, "127.0.0.2")


def test_the_waf_rule_ignores_other_methods_and_paths():
    rule = WafRateRule(SUBMIT_NUMBER_ROUTE, limit=0, window_seconds=60)

    assert not rule.blocks("GET", SUBMIT_NUMBER_ROUTE.path, "127.0.0.2")
    assert not rule.blocks("POST", "/api/stats", "127.0.0.2")
    assert rule.blocks("POST", SUBMIT_NUMBER_ROUTE.path, "127.0.0.2")


def test_the_waf_answer_is_the_web_acls_custom_response():
    answer = WafRateRule(SUBMIT_NUMBER_ROUTE, limit=1, window_seconds=120).answer()

    assert answer.status == 429
    assert dict(answer.headers) == {
        "Content-Type": "application/json",
        "Retry-After": "120",
        "Cache-Control": "no-store",
    }
    assert json.loads(answer.body) == rate_limited_problem(120)
    assert answer.body.startswith(b'{"type":"about:blank","title":')  # compact, as WAF's
