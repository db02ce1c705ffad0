"""POST /api/submit-number: validate, store the raw submission, answer.

The rollups are not touched here: the table's stream feeds the aggregator.
"""

import re
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from ingest.accept import accept, new_submission
from shared.aws import dynamodb
from shared.config import TableSettings
from shared.http import (
    Event,
    FieldError,
    Handler,
    ProxyResult,
    api_handler,
    bad_request,
    header,
    json_body,
)
from shared.http import json_response as respond
from shared.observability import LambdaHandler, api_function, logger, metrics
from shared.schemas import IDEMPOTENCY_KEY_PATTERN, SUBMISSION_SCHEMA
from shared.submissions import SubmissionStore
from shared.validation import compile_schema

validate_submission = compile_schema(SUBMISSION_SCHEMA)
_idempotency_key_format = re.compile(IDEMPOTENCY_KEY_PATTERN)


def make_handler(store: SubmissionStore) -> LambdaHandler:
    """The function's Lambda handler, storing submissions in `store`."""
    return api_function(make_submit_number(store))


def make_submit_number(store: SubmissionStore) -> Handler:
    """The route: a proxy event in, a response out (every error as problem+json)."""

    @api_handler
    def submit_number(event: Event) -> ProxyResult:
        payload = validate_submission(json_body(event))
        submission = new_submission(payload, idempotency_key(event), received_at(event))
        accepted = accept(store, submission)
        outcome = "SubmissionAccepted" if accepted.created else "SubmissionReplayed"
        metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
        logger.info(
            "submission stored", extra={"replay": not accepted.created, **submission.public()}
        )
        return respond(201 if accepted.created else 200, accepted.submission.public())

    return submit_number


def idempotency_key(event: Event) -> str | None:
    key = header(event, "Idempotency-Key")
    if key is None:
        return None
    if not _idempotency_key_format.fullmatch(key):
        raise bad_request(
            "The Idempotency-Key header must be 16 to 128 characters of A-Z a-z 0-9 _ . : -.",
            FieldError("Idempotency-Key", "bad format"),
        )
    return key


def received_at(event: Event) -> datetime:
    """API Gateway's receipt time: the submission's day never trusts the client clock."""
    epoch_ms = (event.get("requestContext") or {}).get("requestTimeEpoch")
    if isinstance(epoch_ms, int | float):
        return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return datetime.now(UTC)


# Built at import, as at a cold start: a client is made, no AWS call.
lambda_handler = make_handler(SubmissionStore(dynamodb(), TableSettings.from_env().table_name))
