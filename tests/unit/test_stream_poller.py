"""The stream poller against a scripted DynamoDB Streams client: shard lineage,
the saved position, and a parallelization factor above 1. No AWS, no engine."""

import random
import threading
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from infra.local.stream_poller import (
    DeadLetters,
    EventSourceMapping,
    StreamPoller,
    StreamPositions,
)
from infra.topology import STREAM_CONSUMER

STREAM_ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/2026-12-01T00:00:00.000"


def record(sequence: int, key: str) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": {"S": f"SUB#{key}"}, "sk": {"S": "SUB"}},
            "SequenceNumber": f"{sequence:021d}",
        },
    }


class ScriptedStreams:
    """Shards with fixed records; a shard listed as closed ends after its records."""

    def __init__(self, shards: dict[str, list[dict[str, Any]]], closed: set[str], parents=None):
        self.shards = shards
        self.closed = closed
        self.parents = parents or {}
        self.reads: list[str] = []

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        shards = [
            {"ShardId": s, **({"ParentShardId": self.parents[s]} if s in self.parents else {})}
            for s in self.shards
        ]
        return {"StreamDescription": {"Shards": shards}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        records = self.shards[ShardId]
        if ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            position = next(
                (
                    i + 1
                    for i, r in enumerate(records)
                    if r["dynamodb"]["SequenceNumber"] == SequenceNumber
                ),
                0,
            )
        else:
            position = 0
        return {"ShardIterator": f"{ShardId}|{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, position = ShardIterator.split("|")
        start = int(position)
        page = self.shards[shard][start : start + Limit]
        self.reads.append(shard)
        end = start + len(page)
        done = shard in self.closed and end >= len(self.shards[shard])
        return {"Records": page, **({} if done else {"NextShardIterator": f"{shard}|{end}"})}


class Aggregator:
    """Records every delivered record, with an optional delay; tracks concurrency."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delivered: list[str] = []
        self.by_key: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.delay = delay
        self.rng = random.Random(3)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            pause = self.rng.uniform(0, self.delay)
        time.sleep(pause)
        with self.lock:
            for r in event["Records"]:
                sequence = r["dynamodb"]["SequenceNumber"]
                self.delivered.append(sequence)
                self.by_key[r["dynamodb"]["Keys"]["pk"]["S"]].append(sequence)
            self.running -= 1
        return {"batchItemFailures": []}


def run_poller(streams, positions, function, tmp_path: Path, *, lanes: int = 1, expect: int):
    stop = threading.Event()
    consumer = replace(STREAM_CONSUMER, batch_size=10)
    mapping = EventSourceMapping(consumer, function, DeadLetters(tmp_path / "dead.jsonl"), stop)
    poller = StreamPoller(streams, positions, "us-east-1", mapping, 0.0, stop, lanes)
    poller.start()
    deadline = time.monotonic() + 20
    while len(function.delivered) < expect and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # anything more would be a double delivery
    stop.set()
    poller.join(10)


def test_a_parent_shard_is_read_to_its_end_before_its_child_and_positions_resume(tmp_path):
    parent = [record(n, f"p{n}") for n in range(1, 26)]
    child = [record(n, f"c{n}") for n in range(26, 41)]
    streams = ScriptedStreams({"child": child, "parent": parent}, {"parent"}, {"child": "parent"})
    path = tmp_path / "positions.json"
    function = Aggregator()

    run_poller(streams, StreamPositions(path, STREAM_ARN), function, tmp_path, expect=40)

    sequences = [int(s) for s in function.delivered]
    assert sequences == list(range(1, 41)), "the child's records came before the parent's end"
    saved = StreamPositions(path, STREAM_ARN)
    assert saved.finished("parent")
    assert saved.after("child") == f"{40:021d}"

    # When a new poller starts from the saved positions, nothing is delivered again
    again = Aggregator()
    streams.reads.clear()
    run_poller(streams, StreamPositions(path, STREAM_ARN), again, tmp_path, expect=0)
    assert again.delivered == []
    assert "parent" not in streams.reads


def test_positions_of_another_stream_are_ignored(tmp_path):
    path = tmp_path / "positions.json"
    StreamPositions(path, STREAM_ARN).advance("shard", "00042")
    assert StreamPositions(path, STREAM_ARN + "-new").after("shard") is None
    assert StreamPositions(path, STREAM_ARN).after("shard") == "00042"


def test_a_parallelization_factor_runs_batches_at_once_and_keeps_each_items_order(tmp_path):
    # Given one shard of 400 records over 20 items (several records per item)
    rng = random.Random(11)
    records = [record(n, f"k{rng.randrange(20)}") for n in range(1, 401)]
    streams = ScriptedStreams({"shard": records}, set())
    path = tmp_path / "positions.json"
    function = Aggregator(delay=0.03)

    # When the poller runs with a parallelization factor of 4
    run_poller(streams, StreamPositions(path, STREAM_ARN), function, tmp_path, lanes=4, expect=400)

    # Then batches overlapped, every record came once, each item's records in order
    assert function.most_at_once > 1
    assert sorted(function.delivered) == [f"{n:021d}" for n in range(1, 401)]
    for sequences in function.by_key.values():
        assert sequences == sorted(sequences)
    # And the saved position is the end of what was finished, the whole shard
    assert StreamPositions(path, STREAM_ARN).after("shard") == f"{400:021d}"
