"""The local stack's API throttle (infra/local/throttle.py): API Gateway's token
bucket, its burst then its rate."""

import pytest

from infra.local.throttle import TokenBucket, retry_after


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
