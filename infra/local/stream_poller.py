"""The stream consumer's event source mapping, emulated.

Like Lambda's: it reads the table's stream from the topology's starting
position, drops records the filter rejects, gathers batches up to the batch
size or the batching window, and invokes the function with Lambda's event
shape. A function error is retried (bisecting the batch first when configured)
and a reported `batchItemFailures` resumes from the lowest failed sequence
number; after `max_retry_attempts` the batch goes to the on-failure
destination, here a JSON-lines file.

The poller keeps its position in each shard (`StreamPositions`), so a restart
resumes where it stopped; parents are read before their children; and with a
parallelization factor above 1, that many batches of a shard run at once, the
records of one item always in the same lane, in order.
"""

import json
import logging
import os
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError

from infra.local.event_filter import matches
from infra.local.events import lambda_record
from infra.topology import StreamConsumer

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_dynamodbstreams.literals import ShardIteratorTypeType

IDLE_POLL_SECONDS: Final = 0.25  # Lambda polls a stream's shards about four times a second
MAX_BACKOFF_SECONDS: Final = 1.0

Record = dict[str, Any]
Invoke = Callable[[dict[str, Any]], Any]

_log = logging.getLogger(__name__)


def sequence_number(record: Record) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class DeadLetters:
    """The on-failure destination: one JSON line per abandoned batch.

    Lambda sends only the batch's coordinates; the records are added here
    because a local stream is gone after a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, records: Sequence[Record], condition: str, attempts: int, error: str) -> None:
        first, last = records[0], records[-1]
        entry = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "requestContext": {"condition": condition, "approximateInvokeCount": attempts},
            "responseContext": {"functionError": error},
            "DDBStreamBatchInfo": {
                "streamArn": first.get("eventSourceARN"),
                "startSequenceNumber": sequence_number(first),
                "endSequenceNumber": sequence_number(last),
                "batchSize": len(records),
            },
            "records": list(records),
        }
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, default=str) + "\n")
        _log.error(
            "stream batch abandoned after %d attempts (%s): %d records -> %s",
            attempts,
            condition,
            len(records),
            self.path,
        )


@dataclass
class _Attempt:
    records: list[Record]
    retries: int = 0


class EventSourceMapping:
    """Delivery of one batch with Lambda's retry, bisect and partial-failure rules."""

    def __init__(
        self,
        consumer: StreamConsumer,
        invoke: Invoke,
        dead_letters: DeadLetters,
        stop: threading.Event,
    ) -> None:
        self.consumer = consumer
        self._invoke = invoke
        self._dead_letters = dead_letters
        self._stopping = stop

    def deliver(self, records: list[Record]) -> None:
        queue = deque([_Attempt(self._fresh(records))])
        while queue and not self._stopping.is_set():
            attempt = queue.popleft()
            if not attempt.records:
                continue
            failed_from, error = self._call(attempt.records)
            if failed_from is None:
                continue
            if attempt.retries >= self.consumer.max_retry_attempts:
                self._dead_letters.send(
                    attempt.records[failed_from:],
                    "RetryAttemptsExhausted",
                    attempt.retries + 1,
                    error,
                )
                continue
            retries = attempt.retries + 1
            if failed_from == 0 and error and self._bisects(attempt.records):
                middle = len(attempt.records) // 2
                halves = attempt.records[:middle], attempt.records[middle:]
                queue.extendleft(_Attempt(half, retries) for half in reversed(halves))
            else:
                queue.appendleft(_Attempt(attempt.records[failed_from:], retries))
            self._stopping.wait(min(MAX_BACKOFF_SECONDS, 0.02 * 2**retries))

    def _bisects(self, records: list[Record]) -> bool:
        return self.consumer.bisect_on_error and len(records) > 1

    def _call(self, records: list[Record]) -> tuple[int | None, str]:
        """(None, "") on success; else the index to resume from and the function error
        ("" for a well-formed partial failure)."""
        try:
            result = self._invoke({"Records": records})
        except Exception as error:
            _log.warning("stream batch of %d failed: %s", len(records), error)
            return 0, str(error) or type(error).__name__
        failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
        if not failures:
            return None, ""
        positions = {sequence_number(r): i for i, r in enumerate(records)}
        identifiers = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
        if any(i not in positions for i in identifiers):
            # Lambda treats an unknown or empty identifier as a failure of the whole batch.
            return 0, "invalid batchItemFailures"
        return min(positions[str(i)] for i in identifiers), ""

    def _fresh(self, records: list[Record]) -> list[Record]:
        """Records younger than the maximum record age; the others go to the destination."""
        oldest = time.time() - self.consumer.max_record_age_seconds
        expired = [r for r in records if _created(r, default=oldest) < oldest]
        if expired:
            self._dead_letters.send(expired, "RecordAgeExceeded", 0, "")
        return [r for r in records if r not in expired]


def _created(record: Record, default: float) -> float:
    return float(record["dynamodb"].get("ApproximateCreationDateTime", default))


class StreamPositions:
    """Where the mapping is in each shard of a stream, kept like Lambda keeps it:
    the last sequence number it finished, saved atomically after every completed
    batch, so a restart or a crash resumes there instead of replaying the stream.
    `path=None` keeps the positions in memory (an ephemeral stack)."""

    def __init__(self, path: Path | None, stream_arn: str) -> None:
        self.path = path
        self.stream_arn = stream_arn
        self._lock = threading.Lock()
        self._shards: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            saved = json.loads(path.read_text())
            if saved.get("stream_arn") == stream_arn:  # else: a new table, a new stream
                self._shards = saved.get("shards", {})

    def after(self, shard_id: str) -> str | None:
        with self._lock:
            position: str | None = self._shards.get(shard_id, {}).get("after")
            return position

    def finished(self, shard_id: str) -> bool:
        with self._lock:
            return bool(self._shards.get(shard_id, {}).get("closed"))

    def advance(self, shard_id: str, after: str | None, *, closed: bool = False) -> None:
        with self._lock:
            shard = self._shards.setdefault(shard_id, {})
            if after is not None:
                shard["after"] = after
            shard["closed"] = closed or shard.get("closed", False)
            document = {"stream_arn": self.stream_arn, "shards": dict(self._shards)}
            if self.path is None:
                return
            temporary = self.path.with_suffix(".tmp")
            with temporary.open("w", encoding="utf-8") as out:
                json.dump(document, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)


class _Checkpoint:
    """The records of one shard read so far and not yet finished, in stream order.
    The shard's position moves to the end of the finished prefix: with several
    batches in flight, a later batch that ends first does not move it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: deque[str] = deque()
        self._finished: set[str] = set()

    def read(self, sequence: str) -> None:
        with self._lock:
            self._pending.append(sequence)

    def finish(self, sequences: list[str]) -> str | None:
        """Mark records finished; the new position if it moved."""
        with self._lock:
            self._finished.update(sequences)
            moved = None
            while self._pending and self._pending[0] in self._finished:
                moved = self._pending.popleft()
                self._finished.discard(moved)
            return moved

    @property
    def empty(self) -> bool:
        with self._lock:
            return not self._pending


@dataclass
class _Lane:
    """The records of one shard that share a key hash: delivered in order, one batch
    at a time, as Lambda does with a parallelization factor above 1."""

    buffer: list[Record]
    window_opened: float | None = None
    in_flight: bool = False


class _Shard:
    """One shard: its iterator, its lanes and its checkpoint."""

    def __init__(
        self,
        client: "DynamoDBStreamsClient",
        stream_arn: str,
        shard_id: str,
        start: str,
        after: str | None,
        lanes: int,
    ) -> None:
        self._client = client
        self._stream_arn = stream_arn
        self.shard_id = shard_id
        self._start = start
        self._iterator: str | None = None
        self._last = after  # the last sequence number read
        self.closed = False
        self.lanes = [_Lane([]) for _ in range(lanes)]
        self.checkpoint = _Checkpoint()

    @property
    def buffered(self) -> int:
        return sum(len(lane.buffer) for lane in self.lanes)

    def read(self, limit: int) -> list[Record]:
        if self.closed:
            return []
        try:
            if self._iterator is None:
                self._iterator = self._new_iterator()
            page = self._client.get_records(ShardIterator=self._iterator, Limit=limit)
        except ClientError as error:
            _log.info("renewing the iterator of %s: %s", self.shard_id, error)
            self._iterator = None
            return []
        records: list[Record] = list(page.get("Records", []))  # type: ignore[arg-type]
        if records:
            self._last = sequence_number(records[-1])
        next_iterator = page.get("NextShardIterator")
        self._iterator = next_iterator
        self.closed = next_iterator is None
        return records

    def _new_iterator(self) -> str:
        if self._last is not None:
            _log.info("%s: resuming after %s", self.shard_id, self._last)
            try:
                return self._client.get_shard_iterator(
                    StreamArn=self._stream_arn,
                    ShardId=self.shard_id,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=self._last,
                )["ShardIterator"]
            except ClientError as error:
                if error.response["Error"]["Code"] != "TrimmedDataAccessException":
                    raise
                _log.warning("%s: records after the saved position have expired", self.shard_id)
        _log.info("%s: reading from %s", self.shard_id, self._start)
        return self._client.get_shard_iterator(
            StreamArn=self._stream_arn,
            ShardId=self.shard_id,
            ShardIteratorType=cast("ShardIteratorTypeType", self._start),
        )["ShardIterator"]


def _lane_of(record: Record, lanes: int) -> int:
    """Records of one item always share a lane: Lambda keeps order per partition key."""
    if lanes == 1:
        return 0
    key = json.dumps(record["dynamodb"]["Keys"], sort_keys=True)
    return zlib.crc32(key.encode()) % lanes


class StreamPoller(threading.Thread):
    """Reads the stream shard by shard, parents before children, and hands filtered
    batches to the mapping: up to `parallelization_factor` batches of a shard at
    once, one per lane of keys."""

    def __init__(
        self,
        client: "DynamoDBStreamsClient",
        positions: StreamPositions,
        region: str,
        mapping: EventSourceMapping,
        batching_window_seconds: float,
        stop: threading.Event,
        parallelization_factor: int | None = None,
    ) -> None:
        super().__init__(name="stream-poller", daemon=True)
        self._client = client
        self._positions = positions
        self._stream_arn = positions.stream_arn
        self._region = region
        self._mapping = mapping
        self._consumer = mapping.consumer
        self._window = batching_window_seconds
        self._stopping = stop
        self._lanes = parallelization_factor or self._consumer.parallelization_factor
        self._shards: dict[str, _Shard] = {}
        self._parents: dict[str, str | None] = {}
        self._workers = ThreadPoolExecutor(self._lanes * 4, thread_name_prefix="stream-batch")
        self._wake = threading.Event()

    def run(self) -> None:
        refreshed = 0.0
        try:
            while not self._stopping.is_set():
                try:
                    if time.monotonic() - refreshed > 60 or not self._shards:
                        self._refresh_shards()
                        refreshed = time.monotonic()
                    polled = [self._poll(shard) for shard in self._ready_shards()]
                    busy = any(polled)
                except Exception:
                    _log.exception("stream poller error; retrying")
                    busy = False
                if not busy:
                    self._wake.wait(self._idle_wait())
                    self._wake.clear()
        finally:
            self._workers.shutdown(wait=True, cancel_futures=True)

    def _ready_shards(self) -> list[_Shard]:
        """Shards whose parent is finished: a child is read only after its parent."""
        return [s for s in list(self._shards.values()) if self._parents.get(s.shard_id) is None]

    def _idle_wait(self) -> float:
        opened = [
            lane.window_opened
            for shard in self._shards.values()
            for lane in shard.lanes
            if lane.window_opened is not None and not lane.in_flight
        ]
        if not opened:
            return IDLE_POLL_SECONDS
        return max(0.0, min(IDLE_POLL_SECONDS, min(opened) + self._window - time.monotonic()))

    def _refresh_shards(self) -> None:
        description = self._client.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
        known = {shard["ShardId"] for shard in description.get("Shards", [])}
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._shards or self._positions.finished(shard_id):
                continue
            parent = shard.get("ParentShardId")
            unfinished = parent in known and not self._positions.finished(parent)
            waiting_for = parent if unfinished else None
            self._parents[shard_id] = waiting_for
            self._shards[shard_id] = _Shard(
                self._client,
                self._stream_arn,
                shard_id,
                self._consumer.starting_position,
                self._positions.after(shard_id),
                self._lanes,
            )

    def _poll(self, shard: _Shard) -> bool:
        """Read what the shard has and start each lane's batch when it is full or its
        window has passed; True if there may be more to read right away."""
        room = self._lanes * self._consumer.batch_size * 2 - shard.buffered
        records = shard.read(min(1000, room)) if room > 0 else []
        for record in records:
            sequence = sequence_number(record)
            shard.checkpoint.read(sequence)
            event = lambda_record(record, self._stream_arn, self._region)
            if not matches(self._consumer.filter_pattern, event):
                self._finished(shard, [sequence])
                continue
            lane = shard.lanes[_lane_of(event, self._lanes)]
            lane.buffer.append(event)
            if lane.window_opened is None:
                lane.window_opened = time.monotonic()
        started = [self._start_batch(shard, lane) for lane in shard.lanes]
        idle = not shard.buffered and not any(lane.in_flight for lane in shard.lanes)
        if shard.closed and idle and shard.checkpoint.empty:
            self._retire(shard)
        return bool(records) or any(started)

    def _retire(self, shard: _Shard) -> None:
        """A closed shard read to its end: done for good; its children may start."""
        self._positions.advance(shard.shard_id, None, closed=True)
        del self._shards[shard.shard_id]
        for child, parent in self._parents.items():
            if parent == shard.shard_id:
                self._parents[child] = None

    def _start_batch(self, shard: _Shard, lane: _Lane) -> bool:
        if lane.in_flight or not lane.buffer:
            return False
        full = len(lane.buffer) >= self._consumer.batch_size
        waited = lane.window_opened is not None and (
            time.monotonic() - lane.window_opened >= self._window
        )
        if not (full or waited):
            return False
        batch = lane.buffer[: self._consumer.batch_size]
        lane.buffer = lane.buffer[self._consumer.batch_size :]
        lane.window_opened = time.monotonic() if lane.buffer else None
        lane.in_flight = True
        self._workers.submit(self._deliver, shard, lane, batch)
        return True

    def _deliver(self, shard: _Shard, lane: _Lane, batch: list[Record]) -> None:
        try:
            self._mapping.deliver(batch)
        except Exception:
            _log.exception("stream batch delivery failed")
        finally:
            if not self._stopping.is_set():
                # Finished: counted, or sent to the on-failure destination.
                self._finished(shard, [sequence_number(r) for r in batch])
            lane.in_flight = False
            self._wake.set()

    def _finished(self, shard: _Shard, sequences: list[str]) -> None:
        position = shard.checkpoint.finish(sequences)
        if position is not None:
            self._positions.advance(shard.shard_id, position)
