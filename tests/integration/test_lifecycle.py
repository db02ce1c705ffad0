"""Starting, stopping and restarting the local stack: data survives, Ctrl-C is clean."""

import json
import signal
import time
from collections import Counter

import pytest

from tests.integration.conftest import day_count, submit

pytestmark = pytest.mark.integration

PERSISTENT = ("--throttle-rate", "0", "--batching-window", "0.2")


def test_data_survives_a_clean_stop_and_all_but_the_last_moments_a_crash(
    start_local_stack, http, tmp_path
):
    data_dir = tmp_path / "data"
    snapshots = ("--snapshot-interval", "0.2")
    # Given a stack with a few counted submissions
    stack = start_local_stack(*PERSISTENT, *snapshots, data_dir=data_dir)
    picks = Counter([3, 3, 7, 10])
    (day,) = {submit(http, stack, {"number": n}).json()["date"] for n in picks.elements()}
    stack.wait_until_aggregated()
    before = day_count(http, stack, day)
    assert before == picks

    # When it is stopped with Ctrl-C, then started again
    assert stack.stop(signal.SIGINT) == 0
    assert not (data_dir / "stack.json").exists()
    restarted = start_local_stack(*PERSISTENT, *snapshots, data_dir=data_dir)

    # Then the stats are the same, and the replayed stream counts nothing twice
    assert day_count(http, restarted, day) == before
    submit(http, restarted, {"number": 1})
    picks[1] += 1
    restarted.wait_until_aggregated()  # after the replay: the stream is in order
    assert restarted.rollup_histogram() == restarted.raw_histogram() == picks

    # When it crashes after its next snapshot
    snapshot = data_dir / "table.jsonl"
    deadline = time.monotonic() + 10
    while snapshot.read_text().count("aggregated_at") < picks.total():
        assert time.monotonic() < deadline, "no snapshot of the counted submission"
        time.sleep(0.1)
    restarted.stop(signal.SIGKILL)

    # Then a new start has everything up to that snapshot
    recovered = start_local_stack(*PERSISTENT, data_dir=data_dir)
    assert recovered.rollup_histogram() == recovered.raw_histogram() == picks
    assert recovered.stop() == 0


def test_an_ephemeral_stack_ignores_the_data_dir_and_throttles_as_told(
    start_local_stack, http, tmp_path
):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    item = {"pk": {"S": "SUB#left-over"}, "sk": {"S": "SUB"}, "number": {"N": "5"}}
    snapshot = data_dir / "table.jsonl"
    snapshot.write_text(json.dumps({"version": 1}) + "\n" + json.dumps(item) + "\n")

    stack = start_local_stack(
        "--ephemeral", "--throttle-rate", "1", "--throttle-burst", "2", data_dir=data_dir
    )
    responses = [http.get(stack.url("/api/daily-stats"), timeout=10) for _ in range(3)]

    assert stack.raw_histogram() == Counter()
    assert [r.status_code for r in responses] == [200, 200, 429]
    throttled = responses[-1]
    assert throttled.headers["Content-Type"] == "application/problem+json"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["status"] == 429
    assert stack.stop() == 0
    assert snapshot.read_text().count("left-over") == 1
