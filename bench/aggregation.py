"""Benchmark 2: what aggregation costs, exactly-once against a plain ADD counter.

- write units per accepted submission, raw insert included, at several stream
  batch sizes: the exactly-once side is bench/write_units.py's measurement (the
  aggregator's transactions, metered from item sizes); the other side is a plain
  aggregator that ADDs each batch's per-day histogram to the rollup with one
  UpdateItem, metered the same way;
- exactness: every batch delivered twice (as a retried batch is), how far each
  side's rollups drift from the raw counts;
- throughput: stream records per second through the aggregator handler
  (lambda_handler, batches of 100) against moto in process, beside the plain
  ADD aggregator over the same records, and the write requests per batch. moto
  deep-copies the whole table for every action of a transaction (its rollback),
  so its exactly-once rate falls with the table's size: a floor, not DynamoDB's
  rate. The requests per batch are what carries over to DynamoDB.
"""

import contextlib
import io
import os
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bench.common import fake_aws, item_size, median, print_table, write_results
from bench.write_units import SCENARIOS, SUBMISSIONS, submitted, write_units
from bench.write_units import measure as measure_exactly_once

TABLE = "bench-write-units"  # bench.write_units meters this table
THROUGHPUT_TABLE = "bench-aggregation"
ADD_TABLE = "bench-aggregation-add"
THROUGHPUT_RECORDS = 500
THROUGHPUT_BATCH = 100
THROUGHPUT_DAYS = 3
REPEATS = 3


class AddCounter:
    """The plain aggregator: one UpdateItem ADD per day and batch, no marker.

    Cheap, but a retried or replayed batch is counted again."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table
        self.units = 0

    def aggregate(self, records: Sequence[Mapping[str, Any]], meter: bool = True) -> None:
        from datetime import date

        from shared.histogram import Histogram
        from shared.rollups import rollup_partition
        from shared.submissions import pick_from_item

        by_day: dict[str, list[int]] = {}
        for record in records:
            pick = pick_from_item(record["dynamodb"]["NewImage"])
            by_day.setdefault(pick.date, []).append(pick.number)
        for day, numbers in by_day.items():
            histogram = Histogram.of(numbers)
            added = [n for n, count in histogram.items() if count]
            key = {"pk": {"S": rollup_partition(date.fromisoformat(day))}, "sk": {"S": day}}
            response = self.client.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="ADD " + ", ".join(f"n{n} :n{n}" for n in added),
                ExpressionAttributeValues={f":n{n}": {"N": str(histogram[n])} for n in added},
                ReturnValues="ALL_NEW",
            )
            if meter:
                self.units += write_units(item_size(response["Attributes"]))


def _rollup_total(client: Any, table: str) -> int:
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return sum(
        int(value["N"])
        for item in items
        if item["pk"]["S"].startswith("ROLLUP#")
        for name, value in item.items()
        if name.startswith("n") and name[1:].isdigit()
    )


def measure_add_counter(batch_size: int, days: int) -> dict[str, Any]:
    """The plain ADD aggregator over the same submissions as bench.write_units."""
    with submitted(days) as (client, meter, records):
        counter = AddCounter(client, TABLE)
        for start in range(0, len(records), batch_size):
            counter.aggregate(records[start : start + batch_size])
    units = {"insert": meter.units["insert"], "rollup": counter.units}
    return {
        "batch_size": batch_size,
        "days": days,
        "submissions": SUBMISSIONS,
        "units": units,
        "units_per_submission": sum(units.values()) / SUBMISSIONS,
    }


def _stream_records(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """INSERT records of `count` raw submissions over THROUGHPUT_DAYS days."""
    from infra.local.events import submission_inserted
    from shared.submissions import Pick, Submission

    records = []
    for i in range(count):
        day = f"2026-04-0{1 + i % THROUGHPUT_DAYS}"
        pick = Pick(f"{rng.getrandbits(128):032x}", day, rng.randint(1, 10))
        submission = Submission(
            pick,
            received_at=f"{day}T12:00:00.000+00:00",
            body_hash=f"{rng.getrandbits(256):064x}",
        )
        records.append(submission_inserted(submission, str(10**20 + i)))
    return records


def _batches(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [records[i : i + THROUGHPUT_BATCH] for i in range(0, len(records), THROUGHPUT_BATCH)]


def measure_throughput(count: int, repeats: int) -> dict[str, Any]:
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
            for name in (THROUGHPUT_TABLE, ADD_TABLE):
                request = TOPOLOGY_TABLE.create_table_request(name)
                del request["StreamSpecification"]
                client.create_table(**request)
            records = _stream_records(count, rng)
            for record in records:  # the raw items the markers go on
                backend.put_item(THROUGHPUT_TABLE, record["dynamodb"]["NewImage"])
            # The handler, built on this table (bench.write_units builds one on a meter).
            aggregator = make_handler(RollupStore(client, THROUGHPUT_TABLE))
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
                counter.aggregate(batch, meter=False)
            add_rates.append(count / (time.perf_counter() - start))
            requests["add_counter"] = calls.take()

            # Exactness: every batch delivered a second time, as a retry would.
            for batch in _batches(records):
                aggregator({"Records": batch}, LambdaContext.timeless())
                counter.aggregate(batch, meter=False)
            drift = {
                "exactly_once": _rollup_total(client, THROUGHPUT_TABLE) - count,
                "add_counter": _rollup_total(client, ADD_TABLE) - count,
            }
    batches = len(_batches(records))
    return {
        "records": count,
        "batch_size": THROUGHPUT_BATCH,
        "days": THROUGHPUT_DAYS,
        "repeats": repeats,
        "exactly_once_records_per_second": median(exact_rates),
        "add_counter_records_per_second": median(add_rates),
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
    scenarios = SCENARIOS[1:3] if quick else SCENARIOS
    # The handlers print their EMF metric documents to stdout: keep them out of the tables.
    with contextlib.redirect_stdout(io.StringIO()):
        exact = [measure_exactly_once(b, d) for b, d in scenarios]
        plain = [measure_add_counter(b, d) for b, d in scenarios]
        throughput = measure_throughput(
            THROUGHPUT_RECORDS // (4 if quick else 1), 1 if quick else REPEATS
        )
    rows = [
        (
            e["batch_size"],
            e["days"],
            e["units_per_submission"],
            p["units_per_submission"],
            e["units_per_submission"] / p["units_per_submission"],
        )
        for e, p in zip(exact, plain, strict=True)
    ]
    print_table(
        f"2a. write units per accepted submission, raw put included ({SUBMISSIONS} submissions)",
        ("batch", "days", "exactly-once", "ADD counter", "ratio"),
        rows,
    )
    t = throughput
    print_table(
        f"2b. aggregation throughput, {t['records']} records in batches of {t['batch_size']}"
        f" over {t['days']} days (moto in process, median of {t['repeats']})",
        ("aggregator", "records/s", "writes/batch", "over-count, every batch delivered twice"),
        [
            (
                "exactly-once (handler)",
                t["exactly_once_records_per_second"],
                t["write_requests_per_batch"]["exactly_once"],
                t["overcount_after_redelivering_every_batch"]["exactly_once"],
            ),
            (
                "plain ADD counter",
                t["add_counter_records_per_second"],
                t["write_requests_per_batch"]["add_counter"],
                t["overcount_after_redelivering_every_batch"]["add_counter"],
            ),
        ],
    )
    figures = {"exactly_once": exact, "add_counter": plain, "throughput": throughput}
    write_results("aggregation", figures)
    return figures
