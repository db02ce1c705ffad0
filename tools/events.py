"""Events for calling a handler directly, as tests and benchmarks do: built with the
local stack's own event shapes (`infra.local.events`), so they are what the deployed
function receives."""

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from infra.local.events import (
    DEFAULT_REGION,
    LOCAL_ACCOUNT_ID,
    Event,
    Record,
    lambda_record,
    proxy_event,
)
from shared.submissions import Submission, submission_item, submission_key

# The stream a record comes from when a test or benchmark does not say.
EXAMPLE_STREAM_ARN: Final = (
    f"arn:aws:dynamodb:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:table/t/stream/2026"
)


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str | list[str]] | None = None,
    at: datetime | None = None,
    base64_body: bool = False,
    content_type: str | None = "application/json",
) -> Event:
    """A proxy event for calling a handler directly: `body` is sent as JSON,
    `raw_body` as is (bytes, or `base64_body`, base64-encoded), `content_type=None`
    sends no Content-Type header at all, and `at` is the gateway's receipt time."""
    all_headers = {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}
    if body is not None:
        raw_body = json.dumps(body)
    encoded = isinstance(raw_body, bytes) or base64_body
    if encoded:
        data = raw_body.encode() if isinstance(raw_body, str) else (raw_body or b"")
        raw_body = base64.b64encode(data).decode()
    return proxy_event(
        method,
        path,
        resource=path,
        headers=all_headers.items(),
        query=[
            (name, value)
            for name, values in (query or {}).items()
            for value in (values if isinstance(values, list) else [values])
        ],
        body=raw_body if isinstance(raw_body, str) else None,
        is_base64_encoded=encoded,
        received_at=at,
    )


def stream_record(
    event_name: str,
    keys: dict[str, Any],
    new_image: dict[str, Any] | None,
    sequence_number: str,
    *,
    stream_arn: str = EXAMPLE_STREAM_ARN,
    region: str = DEFAULT_REGION,
) -> Record:
    """One change of a NEW_IMAGE stream as Lambda delivers it (`new_image=None`: none)."""
    change: dict[str, Any] = {
        "Keys": keys,
        "SequenceNumber": sequence_number,
        "SizeBytes": 100,
        "StreamViewType": "NEW_IMAGE",
    }
    if new_image is not None:
        change["NewImage"] = new_image
    read = {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "dynamodb": change,
    }
    return lambda_record(read, stream_arn, region)


def submission_inserted(submission: Submission, sequence_number: str) -> Record:
    """The INSERT record of a raw submission, its image the item the ingest function
    stores."""
    key = submission_key(submission.pick.submission_id)
    return stream_record("INSERT", key, submission_item(submission), sequence_number)
