"""POST /api/submit-number: validate, store the raw submission, answer.

The rollups are not touched here: the table's stream feeds the aggregator.
"""

import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingest.accept import accept, new_submission
from shared.aws import dynamodb
from shared.http import Event, FieldError, Response, api_handler, bad_request, header, json_body
from shared.http import json_response as respond
from shared.observability import logger, metrics, tracer
from shared.schemas import IDEMPOTENCY_KEY_PATTERN, SUBMISSION_SCHEMA
from shared.settings import TableSettings
from shared.submissions import SubmissionStore
from shared.validation import compile_schema

settings = TableSettings.from_env()
store = SubmissionStore(dynamodb(), settings.table_name)
validate_submission = compile_schema(SUBMISSION_SCHEMA)
_idempotency_key_format = re.compile(IDEMPOTENCY_KEY_PATTERN)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Response:
    return submit_number(event)


@api_handler
def submit_number(event: Event) -> Response:
    payload = validate_submission(json_body(event))
    submission = new_submission(payload, idempotency_key(event), received_at(event))
    accepted = accept(store, submission)
    outcome = "SubmissionAccepted" if accepted.created else "SubmissionReplayed"
    metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
    logger.info("submission stored", extra={"replay": not accepted.created, **submission.public()})
    return respond(201 if accepted.created else 200, accepted.submission.public())


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
