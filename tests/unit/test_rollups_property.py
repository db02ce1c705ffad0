"""Property: whatever the batching, the faults and the re-deliveries, once every
record has been acknowledged the rollups equal the histograms of the raw
submissions, and replaying the whole stream again changes nothing: with the
day's rollup in one item or spread over several parts."""

import os
import random
from contextlib import suppress
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.rollups import RollupStore
from shared.submissions import SubmissionStore
from stats.aggregator import aggregate
from tests.support.dynamo import (
    TABLE_NAME,
    emulated_table,
    raw_histograms,
    rollup_histograms,
    unmarked_submissions,
)
from tests.support.faults import Fault, FaultyClient, InvocationTimedOut, skipped_waits
from tests.support.stream import Record, deliver, store_submissions

DAYS = ("2026-02-28", "2026-03-01", "2026-03-02")
# `make mutation` runs this test once per mutant it covers: fewer examples there.
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "50"))

picks = st.lists(
    st.tuples(st.sampled_from(DAYS), st.integers(min_value=1, max_value=10)),
    min_size=1,
    max_size=30,
)
faults = st.lists(st.sampled_from(Fault), max_size=12)
# A stray delivery: some records again, in any order, duplicates included.
stray_deliveries = st.lists(
    st.lists(st.integers(min_value=0, max_value=29), min_size=1, max_size=12), max_size=4
)


def _stray(records: list[Record], positions: list[int]) -> list[Record]:
    return [records[p % len(records)] for p in positions]


def _deliver_stray(rollups: RollupStore, batch: list[Record]) -> None:
    """A duplicate delivery (e.g. a concurrent or replayed invocation) whose
    outcome nobody waits for: it may fail or die, the in-order delivery covers it."""
    with suppress(InvocationTimedOut):
        aggregate(rollups, batch)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    picks=picks,
    batch_size=st.integers(min_value=1, max_value=12),
    faults=faults,
    strays_before=stray_deliveries,
    strays_after=stray_deliveries,
    parts=st.integers(min_value=1, max_value=4),
    rng=st.randoms(use_true_random=False),
)
def test_rollups_equal_raw_counts_whatever_the_delivery(
    picks: list[tuple[str, int]],
    batch_size: int,
    faults: list[Fault],
    strays_before: list[list[int]],
    strays_after: list[list[int]],
    parts: int,
    rng: random.Random,
) -> None:
    with emulated_table(stream=False) as client:
        faulty = FaultyClient(client)
        rollups = RollupStore(
            faulty.as_dynamodb(), TABLE_NAME, parts=parts, backoff=skipped_waits(), rng=rng
        )
        aggregator = partial(aggregate, rollups)
        # Given raw submissions and a write path that fails as scripted
        records = store_submissions(SubmissionStore(client, TABLE_NAME), picks)
        faulty.inject(faults)

        # When stray duplicates arrive, Lambda delivers the stream in order
        # until every record is acknowledged, and more duplicates follow
        for positions in strays_before:
            _deliver_stray(rollups, _stray(records, positions))
        deliver(records, aggregator, batch_size)
        for positions in strays_after:
            _deliver_stray(rollups, _stray(records, positions))

        # Then every submission is counted exactly once
        counted = rollup_histograms(client)
        assert counted == raw_histograms(client)
        assert unmarked_submissions(client) == []

        # And replaying the whole stream again is a no-op
        deliver(records, aggregator, batch_size)
        assert rollup_histograms(client) == counted
