"""The emulated event source mapping: filter, partial failures, bisect, retries,
the on-failure destination. Driven with a fake function: no AWS, no threads."""

import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from infra.local.event_filter import matches
from infra.local.stream_poller import DeadLetters, EventSourceMapping, Record
from infra.topology import STREAM_CONSUMER


def record(n: int, event_name: str = "INSERT", pk: str | None = None) -> Record:
    key = pk or f"SUB#{n:04d}"
    return {
        "eventName": event_name,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
        "dynamodb": {"Keys": {"pk": {"S": key}, "sk": {"S": "SUB"}}, "SequenceNumber": str(n)},
    }


def sequence_numbers(records: list[Record]) -> list[int]:
    return [int(r["dynamodb"]["SequenceNumber"]) for r in records]


class Function:
    """Answers each call from a script; records the batches it was given."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.batches: list[list[int]] = []

    def __call__(self, event: dict[str, Any]) -> Any:
        self.batches.append(sequence_numbers(event["Records"]))
        answer = self.answers.pop(0) if self.answers else None
        if callable(answer):
            return answer(event)
        if isinstance(answer, Exception):
            raise answer
        return answer


def mapping(function: Function, tmp_path, **settings: Any) -> EventSourceMapping:
    consumer = replace(STREAM_CONSUMER, **settings)
    return EventSourceMapping(
        consumer, function, DeadLetters(tmp_path / "dead.jsonl"), threading.Event()
    )


def failures(*numbers: int) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": str(n)} for n in numbers]}


def dead_letters(tmp_path) -> list[dict[str, Any]]:
    path = tmp_path / "dead.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize(
    ("change", "passes"),
    [
        (record(1), True),
        (record(1, "MODIFY"), False),
        (record(1, "REMOVE"), False),
        (record(1, pk="ROLLUP#2026-01"), False),
        ({"eventName": "INSERT", "dynamodb": {}}, False),
    ],
)
def test_the_topology_filter_passes_only_inserts_of_submissions(change, passes):
    assert matches(STREAM_CONSUMER.filter_pattern, change) is passes


def test_a_partial_failure_resumes_from_the_lowest_failed_record(tmp_path):
    function = Function(failures(5, 3), None)

    mapping(function, tmp_path).deliver([record(n) for n in range(1, 6)])

    assert function.batches == [[1, 2, 3, 4, 5], [3, 4, 5]]
    assert dead_letters(tmp_path) == []


def test_an_unknown_failure_identifier_fails_the_whole_batch(tmp_path):
    function = Function(failures(99), None, None)

    mapping(function, tmp_path).deliver([record(n) for n in range(1, 5)])

    assert function.batches == [[1, 2, 3, 4], [1, 2], [3, 4]]


def test_an_error_bisects_until_the_poison_record_is_alone(tmp_path):
    def poisoned(event):
        if 3 in sequence_numbers(event["Records"]):
            raise RuntimeError("poison")

    function = Function(*[poisoned] * 20)

    mapping(function, tmp_path, max_retry_attempts=3).deliver([record(n) for n in range(1, 5)])

    assert function.batches[:3] == [[1, 2, 3, 4], [1, 2], [3, 4]]
    (letter,) = dead_letters(tmp_path)
    assert sequence_numbers(letter["records"]) == [3]
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    delivered = {n for batch in function.batches for n in batch if 3 not in batch}
    assert delivered == {1, 2, 4}


def test_without_bisect_a_failing_batch_is_retried_whole_then_dead_lettered(tmp_path):
    function = Function(*[RuntimeError("down")] * 5)

    mapping(function, tmp_path, max_retry_attempts=2, bisect_on_error=False).deliver(
        [record(1), record(2)]
    )

    assert function.batches == [[1, 2]] * 3
    (letter,) = dead_letters(tmp_path)
    assert letter["requestContext"]["approximateInvokeCount"] == 3
    assert letter["DDBStreamBatchInfo"]["batchSize"] == 2
