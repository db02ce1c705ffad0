"""Accepting a submission: from a validated payload to a stored submission.

Idempotency: with an Idempotency-Key the submission id derives from the key, so
a replay finds the first submission by its id; the hash of the body tells a
true replay (answered as before) from a reuse of the key (IdempotencyConflict).
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from shared.errors import IdempotencyConflict, InvalidSubmission
from shared.submissions import Pick, Submission, SubmissionStore

# 0.1 degree is about 11 km: enough for "where do people pick", not who they are.
LOCATION_PRECISION = Decimal("0.1")


@dataclass(frozen=True)
class Accepted:
    submission: Submission
    created: bool


def new_submission(
    payload: dict[str, Any], idempotency_key: str | None, received_at: datetime
) -> Submission:
    """A submission from a payload that passed the schema."""
    client_timestamp = payload.get("timestamp")
    if client_timestamp is not None:
        _check_calendar(client_timestamp)
    location = payload.get("location")
    return Submission(
        Pick(
            submission_id=_submission_id(idempotency_key),
            date=received_at.astimezone(UTC).date().isoformat(),
            number=int(payload["number"]),
        ),
        received_at=received_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        body_hash=body_hash(payload),
        client_timestamp=client_timestamp,
        latitude=_coarsen(location["latitude"]) if location else None,
        longitude=_coarsen(location["longitude"]) if location else None,
    )


def accept(store: SubmissionStore, submission: Submission) -> Accepted:
    """Store a submission once; a replay gets the first answer back."""
    first = store.add(submission)
    if first is None:
        return Accepted(submission, created=True)
    if first.body_hash != submission.body_hash:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different body.",
            "Idempotency-Key",
            "reused with a different body",
        )
    return Accepted(first, created=False)


def body_hash(payload: dict[str, Any]) -> str:
    """A hash of the body's meaning: key order and whitespace do not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _submission_id(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(b"idempotency-key:" + idempotency_key.encode()).hexdigest()[:32]


def _check_calendar(timestamp: str) -> None:
    try:
        datetime.fromisoformat(timestamp)
    except ValueError:
        raise InvalidSubmission(
            f"'timestamp' {timestamp!r} is not a real date and time.",
            "timestamp",
            "not a real date and time",
        ) from None


def _coarsen(degrees: float) -> Decimal:
    return Decimal(str(degrees)).quantize(LOCATION_PRECISION, rounding=ROUND_HALF_EVEN)
