"""Benchmark 1: what a 30-day daily-stats read costs as the data grows.

Both sides read the same submissions in the same run:
- rollups: GET /api/daily-stats through the stats handler, which reads one
  rollup item per day (one Query per month);
- seed: the seed's approach, kept here in the harness only: raw submissions
  partitioned by day (pk = DATE#<day>), one paginated Query per day, the
  statistics counted in code.
Items and bytes come from the actual responses; read units follow DynamoDB's
billing (0.5 unit per 4 KB, eventually consistent, rounded up per request).
moto reports a fixed ConsumedCapacity whatever the size, so it is not used.
Wall times are moto's (in process, Query made partition-local as in DynamoDB):
they compare the two read paths on one machine, not DynamoDB's latency.
"""

import contextlib
import io
import os
import random
import uuid
from datetime import date, timedelta
from typing import Any

from bench.common import (
    fake_aws,
    item_size,
    median,
    partition_local_queries,
    print_table,
    read_units,
    timed,
    write_results,
)

TABLE = "bench-read-cost"
SEED_TABLE = "bench-read-cost-seed"
FIRST_DAY = date(2026, 1, 15)  # 30 days across a month boundary: the rollups' worst case
DAYS = 30
# submissions -> timed repeats of each side (moto answers ~1 ms per item read,
# so the seed side at 100k takes minutes a pass; its counts do not vary anyway).
VOLUMES = {1_000: 5, 10_000: 3, 100_000: 1}


class ReadMeter:
    """Counts what a boto3 client's Query calls read, from the responses."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.items = 0
        self.scanned = 0
        self.bytes = 0
        self.read_units = 0.0

    def attach(self, client: Any) -> None:
        client.meta.events.register("after-call.dynamodb.Query", self._after_call)

    def _after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        page_bytes = sum(item_size(item) for item in parsed.get("Items", []))
        self.requests += 1
        self.items += parsed.get("Count", 0)
        self.scanned += parsed.get("ScannedCount", 0)
        self.bytes += page_bytes
        self.read_units += read_units(page_bytes)

    def figures(self) -> dict[str, Any]:
        return {
            "queries": self.requests,
            "items_read": self.scanned,
            "bytes_read": self.bytes,
            "read_units": self.read_units,
        }


def _days() -> list[date]:
    return [FIRST_DAY + timedelta(days=i) for i in range(DAYS)]


def _submissions(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Raw submission items as the ingest function stores them (attributes and
    sizes), each marked as the aggregator marks it once counted."""
    from decimal import Decimal

    from shared.submissions import MARKER, Pick, Submission, submission_item

    days = _days()
    found = []
    for _ in range(count):
        day = rng.choice(days)
        at = f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000+00:00"
        submission_id = uuid.UUID(int=rng.getrandbits(128)).hex
        pick = Pick(submission_id, day.isoformat(), rng.randint(1, 10))
        body_hash = f"{rng.getrandbits(256):064x}"
        located = rng.random() < 0.5
        latitude = Decimal(f"{rng.uniform(-90, 90):.1f}") if located else None
        longitude = Decimal(f"{rng.uniform(-180, 180):.1f}") if located else None
        submission = Submission(
            pick,
            received_at=at,
            body_hash=body_hash,
            client_timestamp=at.replace(".000+00:00", "Z"),
            latitude=latitude,
            longitude=longitude,
        )
        found.append({**submission_item(submission), MARKER: {"S": at[:19] + "Z"}})
    return found


def _write_all(table: str, items: list[dict[str, Any]]) -> None:
    """Straight into moto's table: 100k items through its HTTP layer take minutes,
    and loading is set-up, not what is measured."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    for item in items:
        backend.put_item(table, item)


def _load(submissions: list[dict[str, Any]]) -> None:
    """The app table (raw items and rollups, as the aggregator leaves them) and
    the seed table (raw items by day)."""
    from shared.histogram import Histogram
    from shared.rollups import rollup_item
    from shared.submissions import pick_from_item

    picks = [pick_from_item(item) for item in submissions]
    by_day: dict[str, list[int]] = {}
    for pick in picks:
        by_day.setdefault(pick.date, []).append(pick.number)
    rollups = [rollup_item(day, Histogram.of(numbers)) for day, numbers in by_day.items()]
    _write_all(TABLE, submissions + rollups)
    # The seed's layout, not the app's (so spelled here): each raw item under its day,
    # its own key as the sort key.
    seed = [
        {**item, "pk": {"S": f"DATE#{pick.date}"}, "sk": item["pk"]}
        for item, pick in zip(submissions, picks, strict=True)
    ]
    _write_all(SEED_TABLE, seed)


def seed_daily_stats(client: Any, first: date, last: date) -> dict[str, Any]:
    """The seed's read: one Query per day over the raw items, counted in code."""
    from shared.histogram import Histogram
    from stats.daily_stats import DateRange, daily_stats

    days = DateRange(first, last)
    histograms = {}
    paginator = client.get_paginator("query")
    for day in days.days():
        numbers: list[int] = []
        for page in paginator.paginate(
            TableName=SEED_TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"DATE#{day.isoformat()}"}},
        ):
            numbers.extend(int(item["number"]["N"]) for item in page["Items"])
        histograms[day.isoformat()] = Histogram.of(numbers)
    return daily_stats(days, histograms)


def _create_tables(client: Any) -> None:
    from infra.topology import TABLE as TOPOLOGY_TABLE

    client.create_table(**TOPOLOGY_TABLE.create_table_request(TABLE))
    seed = TOPOLOGY_TABLE.create_table_request(SEED_TABLE)
    seed.pop("StreamSpecification")
    client.create_table(**seed)


def measure(volume: int, repeats: int, rng: random.Random) -> dict[str, Any]:
    import json

    import boto3
    from moto import mock_aws

    from infra.local.events import LambdaContext
    from tools.events import api_event

    with mock_aws(), partition_local_queries():
        client = boto3.client("dynamodb")
        _create_tables(client)
        load_seconds, _ = timed(lambda: _load(_submissions(volume, rng)))

        from shared.aws import dynamodb
        from shared.rollups import RollupStore
        from stats.api import make_handler

        # The function's own client, as at a cold start: metered apart from the seed's.
        rollup_client = dynamodb()
        daily_stats_handler = make_handler(RollupStore(rollup_client, TABLE))
        rollup_meter, seed_meter = ReadMeter(), ReadMeter()
        rollup_meter.attach(rollup_client)
        seed_meter.attach(client)
        first, last = FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1)
        event = api_event(
            "GET", "/api/daily-stats", query={"from": first.isoformat(), "to": last.isoformat()}
        )

        rollup_times, seed_times = [], []
        for _ in range(repeats):
            # Both sides alternate within one run, so a noisy neighbour hits both.
            rollup_meter.reset()
            with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF metrics
                seconds, response = timed(
                    lambda: daily_stats_handler(event, LambdaContext.timeless())
                )
            rollup_times.append(seconds)
            seed_meter.reset()
            seconds, seed_answer = timed(lambda: seed_daily_stats(client, first, last))
            seed_times.append(seconds)
        answer = json.loads(response["body"])
        assert response["statusCode"] == 200, response
        assert answer["total"]["count"] == volume, answer["total"]
        assert answer == seed_answer, "both approaches must give the same statistics"
    return {
        "submissions": volume,
        "days": DAYS,
        "repeats": repeats,
        "load_seconds": load_seconds,
        "rollups": {**rollup_meter.figures(), "wall_seconds_median": median(rollup_times)},
        "seed": {**seed_meter.figures(), "wall_seconds_median": median(seed_times)},
    }


def run(quick: bool = False) -> dict[str, Any]:
    fake_aws(TABLE)
    rng = random.Random(8)
    volumes = {v: r for v, r in VOLUMES.items() if not quick or v <= 10_000}
    results = [measure(volume, repeats, rng) for volume, repeats in volumes.items()]
    rows = []
    for r in results:
        for side in ("rollups", "seed"):
            f = r[side]
            rows.append(
                (
                    r["submissions"],
                    side,
                    f["queries"],
                    f["items_read"],
                    f["bytes_read"],
                    f["read_units"],
                    f["wall_seconds_median"] * 1000,
                )
            )
    print_table(
        f"1. daily-stats read cost, one {DAYS}-day query"
        f" (wall: median of {'/'.join(map(str, volumes.values()))} runs)",
        ("submissions", "approach", "queries", "items read", "bytes read", "read units", "ms"),
        rows,
    )
    figures = {"first_day": FIRST_DAY.isoformat(), "results": results}
    write_results("read_cost", figures)
    return figures
