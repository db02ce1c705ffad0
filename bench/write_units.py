"""Benchmark 2a: write capacity units per accepted submission, raw insert included,
exactly-once aggregation against a plain ADD counter, at several stream batch sizes.

Submissions go through the ingest handler and their stream records through the
aggregator, against moto. Every write request is metered from the sizes of the
items it touches, by DynamoDB's billing rules: a write costs 1 unit per 1 KB
(rounded up) of the larger of the item before and after it, and a write inside
a transaction costs twice that. moto's ReturnConsumedCapacity is asked for and
shown, but moto reports a fixed 1.0 per PutItem and nothing for transactions,
so the units come from the sizes. The plain counter (`AddCounter`, also the
other side of bench/aggregation.py) ADDs each batch's per-day histogram to the
rollup with one UpdateItem and no marker. No timing: the figures are exact counts.

    .venv/bin/python -m bench write_units
"""

import contextlib
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.common import fake_aws, item_size, print_table, write_results

TABLE = "bench-write-units"
SUBMISSIONS = 300
FIRST_DAY = "2026-03-02"
# (records per stream batch, distinct days in the stream)
SCENARIOS = ((1, 1), (10, 1), (100, 1), (100, 3))
WRITE_UNIT_BYTES = 1024
TRANSACTIONAL_FACTOR = 2
# The largest submission the API accepts, field by field: it gives the largest raw item.
BODY = {
    "number": 10,
    "timestamp": "2026-03-02T23:59:59.999999999+14:00",
    "location": {"latitude": -89.95, "longitude": -179.95},
}


def write_units(size_bytes: int, transactional: bool = False) -> int:
    units = max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))
    return units * (TRANSACTIONAL_FACTOR if transactional else 1)


class AddCounter:
    """The plain aggregator: one UpdateItem ADD per day and batch, no marker.

    Cheap, but a retried or replayed batch is counted again."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table
        self.units = 0

    def aggregate(self, records: Sequence[Mapping[str, Any]]) -> None:
        from shared.histogram import Histogram
        from shared.rollups import add_to_rollup
        from shared.submissions import pick_from_item

        by_day: dict[str, list[int]] = {}
        for record in records:
            pick = pick_from_item(record["dynamodb"]["NewImage"])
            by_day.setdefault(pick.date, []).append(pick.number)
        for day, numbers in by_day.items():
            update = add_to_rollup(self.table, day, 0, Histogram.of(numbers))
            response = self.client.update_item(**update, ReturnValues="ALL_NEW")
            self.units += write_units(item_size(response["Attributes"]))


@dataclass
class WriteMeter:
    """A DynamoDB client stand-in that meters every write it passes on."""

    client: Any
    units: dict[str, int] = field(default_factory=lambda: {"insert": 0, "marker": 0, "rollup": 0})
    transactions: int = 0
    largest: dict[str, int] = field(default_factory=lambda: {"raw": 0, "marked": 0, "rollup": 0})
    moto_reported: list[Any] = field(default_factory=list)
    inserted: list[dict[str, Any]] = field(default_factory=list)  # the raw items, in order

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _size(self, key: Mapping[str, Any]) -> int:
        item = self.client.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
        return item_size(item) if item else 0

    def put_item(self, **request: Any) -> Any:
        response = self.client.put_item(**request, ReturnConsumedCapacity="TOTAL")
        size = item_size(request["Item"])
        self.units["insert"] += write_units(size)
        self.largest["raw"] = max(self.largest["raw"], size)
        self.moto_reported.append(response.get("ConsumedCapacity"))
        self.inserted.append(request["Item"])
        return response

    def transact_write_items(self, **request: Any) -> Any:
        from shared.submissions import is_submission_key

        keys = [action["Update"]["Key"] for action in request["TransactItems"]]
        before = [self._size(key) for key in keys]
        response = self.client.transact_write_items(**request, ReturnConsumedCapacity="TOTAL")
        self.transactions += 1
        self.moto_reported.append(response.get("ConsumedCapacity"))
        for key, size_before in zip(keys, before, strict=True):
            size = max(size_before, self._size(key))
            kind = "marker" if is_submission_key(key) else "rollup"
            self.units[kind] += write_units(size, transactional=True)
            largest = "marked" if kind == "marker" else "rollup"
            self.largest[largest] = max(self.largest[largest], size)
        return response


def _submit_event(number: int, day: str, second: int) -> dict[str, Any]:
    """The API Gateway proxy event of one submission received on `day`."""
    from datetime import UTC, datetime, timedelta

    from tools.events import api_event

    received = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(seconds=second)
    return api_event("POST", "/api/submit-number", body={**BODY, "number": number}, at=received)


@contextmanager
def submitted(days: int) -> Iterator[tuple[Any, WriteMeter, list[dict[str, Any]]]]:
    """Inside a moto table: SUBMISSIONS accepted by the ingest handler over `days`
    days, written through a WriteMeter; yields (client, meter, their stream records)."""
    from datetime import date, timedelta

    from moto import mock_aws

    from infra.topology import TABLE as TOPOLOGY_TABLE
    from ingest.handler import make_submit_number
    from shared.aws import dynamodb
    from shared.submissions import SubmissionStore, submission_from_item
    from tools.events import submission_inserted

    request = TOPOLOGY_TABLE.create_table_request(TABLE)
    del request["StreamSpecification"]  # the stream's records are built from the items
    with mock_aws():
        client = dynamodb()
        client.create_table(**request)
        meter = WriteMeter(client)
        submit_number = make_submit_number(SubmissionStore(meter, TABLE))  # type: ignore[arg-type]
        first = date.fromisoformat(FIRST_DAY)
        day_names = [(first + timedelta(days=d)).isoformat() for d in range(days)]
        for i in range(SUBMISSIONS):
            event = _submit_event(i % 10 + 1, day_names[i % days], i)
            assert submit_number(event)["statusCode"] == 201
        records = [
            submission_inserted(submission_from_item(item), str(10**20 + i))
            for i, item in enumerate(meter.inserted)
        ]
        yield client, meter, records


def measure(batch_size: int, days: int) -> dict[str, Any]:
    """Both aggregators over the same submissions, each in a fresh table."""
    from shared.rollups import RollupStore
    from stats.aggregator import aggregate

    with submitted(days) as (_, meter, records):
        rollups = RollupStore(meter, TABLE)  # type: ignore[arg-type]
        for start in range(0, len(records), batch_size):
            response = aggregate(rollups, records[start : start + batch_size])
            assert response["batchItemFailures"] == []
    with submitted(days) as (client, plain, records):
        counter = AddCounter(client, TABLE)
        for start in range(0, len(records), batch_size):
            counter.aggregate(records[start : start + batch_size])
    reported = {json.dumps(r, sort_keys=True) for r in meter.moto_reported}
    return {
        "batch_size": batch_size,
        "days": days,
        "submissions": SUBMISSIONS,
        "transactions": meter.transactions,
        "units": dict(meter.units),
        "units_per_submission": sum(meter.units.values()) / SUBMISSIONS,
        "add_counter_units_per_submission": (plain.units["insert"] + counter.units) / SUBMISSIONS,
        "largest_item_bytes": dict(meter.largest),
        "moto_consumed_capacity_seen": sorted(reported),
    }


def run(quick: bool = False) -> dict[str, Any]:
    fake_aws(TABLE)
    scenarios = SCENARIOS[1:3] if quick else SCENARIOS
    # The handlers' metrics print their EMF documents to stdout: keep them out of the table.
    with contextlib.redirect_stdout(io.StringIO()):
        results = [measure(batch_size, days) for batch_size, days in scenarios]
    rows = [
        (
            r["batch_size"],
            r["days"],
            r["transactions"],
            r["units"]["insert"] / r["submissions"],
            r["units"]["marker"] / r["submissions"],
            r["units"]["rollup"] / r["submissions"],
            r["units_per_submission"],
            r["add_counter_units_per_submission"],
            r["units_per_submission"] / r["add_counter_units_per_submission"],
        )
        for r in results
    ]
    print_table(
        f"2a. write units per accepted submission ({SUBMISSIONS} submissions, largest valid body)",
        (
            *("batch", "days", "transactions", "raw put", "markers", "rollups"),
            *("exactly-once", "ADD counter", "ratio"),
        ),
        rows,
    )
    sizes = results[0]["largest_item_bytes"]
    print(
        f"\n  largest items: raw {sizes['raw']} B, marked {sizes['marked']} B,"
        f" rollup {sizes['rollup']} B (1 WCU per started KB; transactional writes x2)"
    )
    print(
        f"  moto's ConsumedCapacity answers: {', '.join(results[0]['moto_consumed_capacity_seen'])}"
    )
    figures = {"scenarios": results}
    write_results("write_units", figures)
    return figures
