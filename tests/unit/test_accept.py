"""Accepting a submission: what must never change across deployments, and the
race between two requests with one Idempotency-Key.

Golden vectors: a submission's id derives from its Idempotency-Key and its body
hash from the body's canonical JSON. If either changed in a deployment, a
client retrying across it would be counted twice (a new id) or answered 409
(another hash for the same body). These values are pinned, not recomputed.
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.accept import accept, body_hash, new_submission
from shared.errors import IdempotencyConflict, InvalidSubmission
from shared.http import domain_problem
from shared.submissions import Submission

RECEIVED = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "submission_id"),
    [
        (
            "client-key-0123456789",
            # pragma: allowlist nextline secret (a golden vector, not a secret)
            "011365c7a3677ba3bdf51740ef0d721c",
        ),
        (
            "é-ключ-🔑",
            # pragma: allowlist nextline secret (a golden vector, not a secret)
            "a44e95201520d98036d225558805a3fc",
        ),
    ],
)
def test_the_submission_id_of_an_idempotency_key_never_changes(
    key: str, submission_id: str
) -> None:
    assert new_submission({"number": 7}, key, RECEIVED).pick.submission_id == submission_id


def test_the_submission_id_does_not_depend_on_the_body_or_the_time() -> None:
    first = new_submission({"number": 7}, "k", RECEIVED)
    other = new_submission({"number": 2}, "k", datetime(2027, 1, 1, tzinfo=UTC))

    assert first.pick.submission_id == other.pick.submission_id


def test_without_a_key_every_submission_gets_a_new_random_id() -> None:
    ids = {new_submission({"number": 7}, None, RECEIVED).pick.submission_id for _ in range(3)}

    assert len(ids) == 3
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize(
    ("body", "digest"),
    [
        (
            {"number": 7},
            # pragma: allowlist nextline secret (a golden vector, not a secret)
            "1bd100ac70001bd61cbdc55406d9a0adc23c22bbde375761288fbe291965b1fa",
        ),
        (
            {
                "number": 7,
                "timestamp": "2026-03-01T15:30:00+01:00",
                "location": {"latitude": 48.8566, "longitude": 2.3522},
            },
            # pragma: allowlist nextline secret (a golden vector, not a secret)
            "bb90f9a558c7d4b8df730a84887c1225f9a0cdef988b8d3d3aef508d1a4d478c",
        ),
        (
            {"location": {"longitude": 3, "latitude": 1.25}, "number": 2},
            # pragma: allowlist nextline secret (a golden vector, not a secret)
            "bdc2e0a2f6050a8030a29c295b70a3716ff5910e7c7d869ec56504fb3096b3a6",
        ),
    ],
)
def test_the_body_hash_of_a_body_never_changes(body: dict[str, Any], digest: str) -> None:
    assert body_hash(body) == digest
    assert new_submission(body, "k", RECEIVED).body_hash == digest


def test_a_timestamp_that_is_no_real_date_names_the_field_and_why() -> None:
    with pytest.raises(InvalidSubmission) as raised:
        new_submission({"number": 1, "timestamp": "2026-02-30T10:00:00Z"}, None, RECEIVED)

    problem = domain_problem(raised.value)
    assert problem is not None
    assert (problem.status, problem.title) == (400, "Bad Request")
    assert problem.detail == "'timestamp' '2026-02-30T10:00:00Z' is not a real date and time."
    assert [(e.field, e.detail) for e in problem.errors] == [
        ("timestamp", "not a real date and time")
    ]


class TakenStore:
    """A store where the key's submission exists, stored from another body."""

    def __init__(self, first: Submission) -> None:
        self.first = first

    def add(self, submission: Submission) -> Submission | None:
        return self.first


def test_a_key_reused_with_another_body_is_a_409_naming_the_key() -> None:
    first = new_submission({"number": 1}, "k", RECEIVED)
    reuse = new_submission({"number": 2}, "k", RECEIVED)

    with pytest.raises(IdempotencyConflict) as raised:
        accept(TakenStore(first), reuse)  # type: ignore[arg-type]

    problem = domain_problem(raised.value)
    assert problem is not None
    assert (problem.status, problem.title) == (409, "Conflict")
    assert problem.detail == "This Idempotency-Key was already used with a different body."
    assert [(e.field, e.detail) for e in problem.errors] == [
        ("Idempotency-Key", "reused with a different body")
    ]


def test_a_replay_with_the_same_body_gets_the_first_submission() -> None:
    first = new_submission({"number": 1}, "k", RECEIVED)
    replay = new_submission({"number": 1}, "k", datetime(2026, 3, 2, tzinfo=UTC))

    accepted = accept(TakenStore(first), replay)  # type: ignore[arg-type]

    assert (accepted.submission, accepted.created) == (first, False)


@pytest.fixture
def far_east_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The function's machine set to UTC+14: its local day is never the UTC day."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_day_and_time_of_receipt_are_utc_whatever_the_machines_zone(
    far_east_clock: None,
) -> None:
    received = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)  # 2026-03-02 12:30 in UTC+14

    submission = new_submission({"number": 5}, None, received)

    assert submission.pick.date == "2026-03-01"
    assert submission.received_at == "2026-03-01T22:30:00.000+00:00"
