"""The DynamoDB stream as Lambda's event source mapping delivers it.

- `submission_record` builds the INSERT record of one raw submission;
- `read_stream` reads every record of a (moto) table's stream, in order;
- `deliver` feeds records to a stream handler with Lambda's retry semantics:
  batches in order; a batch whose invocation dies is retried whole; reported
  `batchItemFailures` make Lambda resume from the lowest failed sequence number.
"""

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.submissions import Pick, Submission, SubmissionStore
from tests.support.faults import InvocationTimedOut
from tools.events import submission_inserted

Record = dict[str, Any]
StreamHandler = Callable[[list[Record]], Mapping[str, Any]]

_sequence = itertools.count(10**20)


def next_sequence_number() -> str:
    return str(next(_sequence))


def example_submission(submission_id: str, day: str, number: int) -> Submission:
    """A submission received at noon (UTC) of `day`."""
    return Submission(
        Pick(submission_id, day, number),
        received_at=f"{day}T12:00:00.000+00:00",
        body_hash="0" * 64,
    )


def submission_record(
    submission_id: str, day: str, number: int, sequence_number: str | None = None
) -> Record:
    """The stream record of a raw submission's INSERT (NEW_IMAGE)."""
    submission = example_submission(submission_id, day, number)
    return submission_inserted(submission, sequence_number or next_sequence_number())


def store_submissions(store: SubmissionStore, picks: Sequence[tuple[str, int]]) -> list[Record]:
    """Raw submissions (day, number) stored as the ingest function stores them,
    returned as the INSERT records the stream carries, in order."""
    records = []
    for day, number in picks:
        submission_id = f"s{next_sequence_number()}"
        store.add(example_submission(submission_id, day, number))
        records.append(submission_record(submission_id, day, number))
    return records


def read_stream(client: Any, streams: Any, table_name: str) -> list[Record]:
    """Every record of the table's stream, oldest first, in Lambda's event shape."""
    arn = client.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    records: list[Record] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend({**r, "eventSourceARN": arn} for r in page["Records"])
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records


def deliver(
    records: Sequence[Record], handler: StreamHandler, batch_size: int, max_invocations: int = 1000
) -> int:
    """Deliver every record until the handler has acknowledged all of them, as
    the event source mapping does; returns the number of invocations."""
    position = 0
    for invocation in itertools.count(1):
        if position >= len(records):
            return invocation - 1
        if invocation > max_invocations:
            raise AssertionError(f"records still failing after {max_invocations} invocations")
        batch = list(records[position : position + batch_size])
        try:
            response = handler(batch)
        except InvocationTimedOut:
            continue  # the whole batch comes again
        failed = [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]
        if not failed:
            position += len(batch)
            continue
        checkpoint = min(failed, key=int)
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        position += sequence_numbers.index(checkpoint)
    raise AssertionError("unreachable")
