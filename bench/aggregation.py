"""Benchmark 2b: aggregation throughput and exactness, exactly-once against the
plain ADD counter of bench/write_units.py (which meters both sides' write units).

- throughput: stream records per second through the aggregator handler
  (lambda_handler, batches of 100) against moto in process, beside the plain
  ADD aggregator over the same records, and the write requests per batch. moto
  deep-copies the whole table for every action of a transaction (its rollback),
  so its exactly-once rate falls with the table's size: a floor, not DynamoDB's
  rate. The requests per batch are what carries over to DynamoDB;
- exactness: every batch delivered twice (as a retried batch is), how far each
  side's rollups drift from the raw counts.
"""

import contextlib
import io
import os
import random
import time
from typing import Any

from bench.common import fake_aws, median, print_table, write_results
from bench.write_units import AddCounter

TABLE = "bench-aggregation"
ADD_TABLE = "bench-aggregation-add"
RECORDS = 500
BATCH = 100
DAYS = 3
REPEATS = 3


def _stream_records(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """INSERT records of `count` raw submissions over DAYS days."""
    from shared.submissions import Pick, Submission
    from tools.events import submission_inserted

    records = []
    for i in range(count):
        day = f"2026-04-0{1 + i % DAYS}"
        pick = Pick(f"{rng.getrandbits(128):032x}", day, rng.randint(1, 10))
        submission = Submission(
            pick,
            received_at=f"{day}T12:00:00.000+00:00",
            body_hash=f"{rng.getrandbits(256):064x}",
        )
        records.append(submission_inserted(submission, str(10**20 + i)))
    return records


def _rollup_total(client: Any, table: str) -> int:
    from shared.rollups import histogram_of, is_rollup_key

    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return sum(histogram_of(item).count for item in items if is_rollup_key(item))


def _batches(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [records[i : i + BATCH] for i in range(0, len(records), BATCH)]


def measure(count: int, repeats: int) -> dict[str, Any]:
    """Records per second through both aggregators, alternating, each repeat in a
    fresh moto; then the drift of each after every batch is delivered again."""
    from moto import mock_aws
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from infra.local.events import LambdaContext
    from infra.topology import TABLE as TOPOLOGY_TABLE
    from shared.aws import dynamodb
    from shared.rollups import RollupStore
    from stats.aggregator import make_handler

    rng = random.Random(2)
    exact_rates, add_rates = [], []
    requests = {"exactly_once": 0, "add_counter": 0}
    for _ in range(repeats):
        with mock_aws():
            client = dynamodb()
            backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
            for name in (TABLE, ADD_TABLE):
                request = TOPOLOGY_TABLE.create_table_request(name)
                del request["StreamSpecification"]
                client.create_table(**request)
            records = _stream_records(count, rng)
            for record in records:  # the raw items the markers go on
                backend.put_item(TABLE, record["dynamodb"]["NewImage"])
            aggregator = make_handler(RollupStore(client, TABLE))
            calls = _CallCounter(client)

            start = time.perf_counter()
            for batch in _batches(records):
                result = aggregator({"Records": batch}, LambdaContext.timeless())
                assert result == {"batchItemFailures": []}, result
            exact_rates.append(count / (time.perf_counter() - start))
            requests["exactly_once"] = calls.take()

            counter = AddCounter(client, ADD_TABLE)
            start = time.perf_counter()
            for batch in _batches(records):
                counter.aggregate(batch)
            add_rates.append(count / (time.perf_counter() - start))
            requests["add_counter"] = calls.take()

            # Exactness: every batch delivered a second time, as a retry would.
            for batch in _batches(records):
                aggregator({"Records": batch}, LambdaContext.timeless())
                counter.aggregate(batch)
            drift = {
                "exactly_once": _rollup_total(client, TABLE) - count,
                "add_counter": _rollup_total(client, ADD_TABLE) - count,
            }
    batches = len(_batches(records))
    return {
        "records": count,
        "batch_size": BATCH,
        "days": DAYS,
        "repeats": repeats,
        "records_per_second": {
            "exactly_once": median(exact_rates),
            "add_counter": median(add_rates),
        },
        "write_requests_per_batch": {k: v / batches for k, v in requests.items()},
        "overcount_after_redelivering_every_batch": drift,
    }


class _CallCounter:
    """Counts the write requests a client sends (both aggregators share it)."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        for operation in ("TransactWriteItems", "UpdateItem"):
            client.meta.events.register(f"after-call.dynamodb.{operation}", self._count)

    def _count(self, **_: Any) -> None:
        self.count += 1

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


def run(quick: bool = False) -> dict[str, Any]:
    fake_aws(TABLE)
    # The handlers print their EMF metric documents to stdout: keep them out of the tables.
    with contextlib.redirect_stdout(io.StringIO()):
        t = measure(RECORDS // (4 if quick else 1), 1 if quick else REPEATS)
    print_table(
        f"2b. aggregation throughput, {t['records']} records in batches of {t['batch_size']}"
        f" over {t['days']} days (moto in process, median of {t['repeats']})",
        ("aggregator", "records/s", "writes/batch", "over-count, every batch delivered twice"),
        [
            (
                label,
                t["records_per_second"][side],
                t["write_requests_per_batch"][side],
                t["overcount_after_redelivering_every_batch"][side],
            )
            for side, label in (
                ("exactly_once", "exactly-once (handler)"),
                ("add_counter", "plain ADD counter"),
            )
        ],
    )
    write_results("aggregation", t)
    return t
