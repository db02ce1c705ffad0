"""`make demo`: a realistic history straight into the table, counted by the stream."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from infra import REPO_ROOT

pytestmark = pytest.mark.integration

DEMO = (sys.executable, "-m", "infra.local.demo")


def test_the_demo_history_is_counted_by_the_stream_and_shows_in_the_stats(start_local_stack, http):
    stack = start_local_stack("--ephemeral", "--throttle-rate", "0")

    result = subprocess.run(
        [*DEMO, "--data-dir", str(stack.data_dir), "--submissions", "400", "--days", "7"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "seeded 400 submissions over 7 days" in result.stdout

    stack.wait_until_aggregated()
    today = datetime.now(UTC).date()
    week = http.get(
        stack.url(f"/api/daily-stats?from={today - timedelta(days=6)}&to={today}"), timeout=10
    ).json()
    assert week["total"]["count"] == 400
    assert all(day["count"] > 0 for day in week["days"])
    # The human bias the demo models: 7 is the most picked number.
    assert week["total"]["mode"] == 7
    assert stack.rollup_histogram() == stack.raw_histogram()
