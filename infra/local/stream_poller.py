"""The stream consumer's event source mapping, emulated.

Like Lambda's: it reads the table's stream from the topology's starting
position, drops records the filter rejects, gathers batches up to the batch
size or the batching window, and invokes the function with Lambda's event
shape. A function error is retried (bisecting the batch first when configured)
and a reported `batchItemFailures` resumes from the lowest failed sequence
number; after `max_retry_attempts` the batch goes to the on-failure
destination, here a JSON-lines file. Shards are read one batch at a time, in
order, as with a parallelization factor of 1.
"""

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError

from infra.local.event_filter import matches
from infra.topology import StreamConsumer

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_dynamodbstreams.literals import ShardIteratorTypeType

IDLE_POLL_SECONDS: Final = 0.25  # Lambda polls a stream's shards about four times a second
MAX_BACKOFF_SECONDS: Final = 1.0

Record = dict[str, Any]
Invoke = Callable[[dict[str, Any]], Any]

_log = logging.getLogger(__name__)


def lambda_record(record: Record, stream_arn: str, region: str) -> Record:
    """A GetRecords record in the shape Lambda hands to the function."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "awsRegion": region, "dynamodb": change, "eventSourceARN": stream_arn}


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
        invocation_lock: "threading.Lock | None" = None,
    ) -> None:
        self.consumer = consumer
        self._invoke = invoke
        self._dead_letters = dead_letters
        self._stopping = stop
        # Held during each invocation: snapshots wait for a consistent table.
        self.invocation_lock = invocation_lock or threading.Lock()

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
        with self.invocation_lock:
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


class _Shard:
    """One shard's iterator; it survives expiry by resuming after the last record read."""

    def __init__(
        self, client: "DynamoDBStreamsClient", stream_arn: str, shard_id: str, start: str
    ) -> None:
        self._client = client
        self._stream_arn = stream_arn
        self.shard_id = shard_id
        self._start = start
        self._iterator: str | None = None
        self._last: str | None = None
        self.closed = False
        self.buffer: list[Record] = []
        self.window_opened: float | None = None

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
        if self._last is None:
            return self._client.get_shard_iterator(
                StreamArn=self._stream_arn,
                ShardId=self.shard_id,
                ShardIteratorType=cast("ShardIteratorTypeType", self._start),
            )["ShardIterator"]
        return self._client.get_shard_iterator(
            StreamArn=self._stream_arn,
            ShardId=self.shard_id,
            ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            SequenceNumber=self._last,
        )["ShardIterator"]


class StreamPoller(threading.Thread):
    """Reads the stream and hands filtered batches to the mapping, shard by shard."""

    def __init__(
        self,
        client: "DynamoDBStreamsClient",
        stream_arn: str,
        region: str,
        mapping: EventSourceMapping,
        batching_window_seconds: float,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="stream-poller", daemon=True)
        self._client = client
        self._stream_arn = stream_arn
        self._region = region
        self._mapping = mapping
        self._consumer = mapping.consumer
        self._window = batching_window_seconds
        self._stopping = stop
        self._shards: dict[str, _Shard] = {}
        self.records_read = 0  # every record, filtered or not: how far the table has changed

    def run(self) -> None:
        refreshed = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() - refreshed > 60 or not self._shards:
                    self._refresh_shards()
                    refreshed = time.monotonic()
                polled = [self._poll(shard) for shard in list(self._shards.values())]
                busy = any(polled)
            except Exception:
                _log.exception("stream poller error; retrying")
                busy = False
            if not busy:
                self._stopping.wait(self._idle_wait())

    def _idle_wait(self) -> float:
        opened = [s.window_opened for s in self._shards.values() if s.window_opened is not None]
        if not opened:
            return IDLE_POLL_SECONDS
        return max(0.0, min(IDLE_POLL_SECONDS, min(opened) + self._window - time.monotonic()))

    def _refresh_shards(self) -> None:
        description = self._client.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._shards:
                self._shards[shard_id] = _Shard(
                    self._client, self._stream_arn, shard_id, self._consumer.starting_position
                )

    def _poll(self, shard: _Shard) -> bool:
        """Read what the shard has and deliver a batch when it is full or its window
        has passed; True if there may be more to read right away."""
        room = self._consumer.batch_size - len(shard.buffer)
        records = shard.read(min(1000, room)) if room > 0 else []
        self.records_read += len(records)
        for record in self._filtered(records):
            shard.buffer.append(record)
            if shard.window_opened is None:
                shard.window_opened = time.monotonic()
        full = len(shard.buffer) >= self._consumer.batch_size
        waited = shard.window_opened is not None and (
            time.monotonic() - shard.window_opened >= self._window
        )
        if shard.buffer and (full or waited):
            batch = shard.buffer[: self._consumer.batch_size]
            shard.buffer = shard.buffer[self._consumer.batch_size :]
            shard.window_opened = time.monotonic() if shard.buffer else None
            self._mapping.deliver(batch)
            return True
        if shard.closed and not shard.buffer:
            del self._shards[shard.shard_id]
        return bool(records)

    def _filtered(self, records: list[Record]) -> Iterator[Record]:
        for record in records:
            event = lambda_record(record, self._stream_arn, self._region)
            if matches(self._consumer.filter_pattern, event):
                yield event
