"""Benchmark: write capacity units per accepted submission, raw insert plus
exactly-once aggregation, at several stream batch sizes.

Submissions go through the ingest handler and their stream records through the
aggregator, against moto. Every write request is metered from the sizes of the
items it touches, by DynamoDB's billing rules: a write costs 1 unit per 1 KB
(rounded up) of the larger of the item before and after it, and a write inside
a transaction costs twice that. moto's ReturnConsumedCapacity is asked for and
shown, but moto reports a fixed 1.0 per PutItem and nothing for transactions,
so the units come from the sizes. No timing: the figures are exact counts.

    .venv/bin/python -m bench.write_units
"""

import contextlib
import io
import json
import math
from collections.abc import Iterator, Mapping
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


@dataclass
class WriteMeter:
    """A DynamoDB client stand-in that meters every write it passes on."""

    client: Any
    units: dict[str, int] = field(default_factory=lambda: {"insert": 0, "marker": 0, "rollup": 0})
    transactions: int = 0
    largest: dict[str, int] = field(default_factory=lambda: {"raw": 0, "marked": 0, "rollup": 0})
    moto_reported: list[Any] = field(default_factory=list)

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
        return response

    def transact_write_items(self, **request: Any) -> Any:
        keys = [action["Update"]["Key"] for action in request["TransactItems"]]
        before = [self._size(key) for key in keys]
        response = self.client.transact_write_items(**request, ReturnConsumedCapacity="TOTAL")
        self.transactions += 1
        self.moto_reported.append(response.get("ConsumedCapacity"))
        for key, size_before in zip(keys, before, strict=True):
            size = max(size_before, self._size(key))
            kind = "marker" if key["pk"]["S"].startswith("SUB#") else "rollup"
            self.units[kind] += write_units(size, transactional=True)
            largest = "marked" if kind == "marker" else "rollup"
            self.largest[largest] = max(self.largest[largest], size)
        return response


def _submit_event(number: int, day: str, second: int) -> dict[str, Any]:
    """The API Gateway proxy event of one submission received on `day`."""
    from datetime import UTC, datetime, timedelta

    received = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(seconds=second)
    return {
        "httpMethod": "POST",
        "path": "/api/submit-number",
        "headers": {"Content-Type": "application/json"},
        "requestContext": {"requestTimeEpoch": int(received.timestamp() * 1000)},
        "body": json.dumps({**BODY, "number": number}),
        "isBase64Encoded": False,
    }


def _insert_records(client: Any) -> list[dict[str, Any]]:
    """The stream's INSERT records (NEW_IMAGE) of the raw submissions."""
    items = client.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    # In order of submission: the second of the day is unique, the days interleave.
    items.sort(key=lambda item: (item["received_at"]["S"][11:], item["date"]["S"]))
    return [
        {
            "eventName": "INSERT",
            "dynamodb": {
                "Keys": {"pk": item["pk"], "sk": item["sk"]},
                "NewImage": item,
                "SequenceNumber": str(10**20 + i),
            },
        }
        for i, item in enumerate(items)
        if item["pk"]["S"].startswith("SUB#")
    ]


@contextmanager
def submitted(days: int) -> Iterator[tuple[Any, Any, list[dict[str, Any]]]]:
    """Inside a moto table: SUBMISSIONS accepted by the ingest handler over `days`
    days, written through a WriteMeter; yields (client, meter, stream records)."""
    from datetime import date, timedelta

    from moto import mock_aws

    from infra.topology import TABLE as TOPOLOGY_TABLE
    from ingest.handler import make_submit_number
    from shared.aws import dynamodb
    from shared.submissions import SubmissionStore

    request = TOPOLOGY_TABLE.create_table_request(TABLE)
    del request["StreamSpecification"]  # the stream's records are built from the items
    with mock_aws():
        client = dynamodb()
        client.create_table(**request)
        meter: Any = WriteMeter(client)
        submit_number = make_submit_number(SubmissionStore(meter, TABLE))
        day_names = [
            (date.fromisoformat(FIRST_DAY) + timedelta(days=d)).isoformat() for d in range(days)
        ]
        for i in range(SUBMISSIONS):
            event = _submit_event(i % 10 + 1, day_names[i % days], i)
            assert submit_number(event)["statusCode"] == 201
        yield client, meter, _insert_records(client)


def measure(batch_size: int, days: int) -> dict[str, Any]:
    from shared.rollups import RollupStore
    from stats.aggregator import aggregate

    with submitted(days) as (_, meter, records):
        rollups = RollupStore(meter, TABLE)
        for start in range(0, len(records), batch_size):
            response = aggregate(rollups, records[start : start + batch_size])
            assert response["batchItemFailures"] == []

    units = dict(meter.units)
    total = sum(units.values())
    reported = {json.dumps(r, sort_keys=True) for r in meter.moto_reported}
    return {
        "batch_size": batch_size,
        "days": days,
        "submissions": SUBMISSIONS,
        "transactions": meter.transactions,
        "units": units,
        "units_per_submission": total / SUBMISSIONS,
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
        )
        for r in results
    ]
    print_table(
        f"write units per accepted submission ({SUBMISSIONS} submissions, largest valid body)",
        ("batch", "days", "transactions", "raw put", "markers", "rollups", "WCU / submission"),
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


if __name__ == "__main__":
    run()
