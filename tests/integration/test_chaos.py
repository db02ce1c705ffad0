"""Under chaos (failed, re-delivered and timed-out stream batches), the rollups
still count every accepted submission exactly once."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from random import Random

import pytest
import requests

from tests.support.local_stack import submit
from tools.launcher import FAST_OPTIONS

pytestmark = pytest.mark.integration

SUBMISSIONS = 500
CLIENTS = 50


@pytest.mark.parametrize("parallelization_factor", [1, 4])
def test_500_concurrent_submissions_under_chaos_are_counted_exactly(
    start_local_stack, parallelization_factor
):
    stack = start_local_stack(
        *FAST_OPTIONS,
        *("--chaos", "0.3", "--chaos-seed", "7"),
        *("--parallelization-factor", str(parallelization_factor)),
    )
    rng = Random(7)
    picks = [rng.randint(1, 10) for _ in range(SUBMISSIONS)]

    with ThreadPoolExecutor(CLIENTS) as pool:
        responses = list(
            pool.map(lambda n: submit(requests, stack, {"number": n}, timeout=60), picks)
        )

    accepted = Counter(r.json()["number"] for r in responses if r.status_code == 201)
    refused = Counter(r.status_code for r in responses if r.status_code != 201)
    assert sum(accepted.values()) == SUBMISSIONS, (refused, [r.text for r in responses][:3])
    stack.wait_until_aggregated(timeout=90)
    assert stack.raw_histogram() == accepted
    assert stack.rollup_histogram() == accepted
    total = requests.get(stack.url("/api/daily-stats"), timeout=10).json()["total"]
    assert total["count"] == SUBMISSIONS
    assert not (stack.data_dir / "dead-letters.jsonl").exists()
    assert stack.stop() == 0
    assert "chaos: " in stack.stderr.read_text()
