"""Small factories for the events Lambda receives: API Gateway REST proxy
events and DynamoDB stream records."""

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    query: Mapping[str, str | list[str]] | None = None,
    at: datetime | None = None,
    base64_body: bool = False,
    content_type: str | None = "application/json",
) -> dict[str, Any]:
    """A REST API proxy event as API Gateway sends it to the function
    (`content_type=None` sends no Content-Type header at all)."""
    all_headers = {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}
    if body is not None:
        raw_body = json.dumps(body)
    if isinstance(raw_body, bytes) or base64_body:
        data = raw_body.encode() if isinstance(raw_body, str) else (raw_body or b"")
        raw_body, encoded = base64.b64encode(data).decode(), True
    else:
        encoded = False
    multi_query = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()}
    received = at or datetime.now(UTC)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(received.timestamp() * 1000),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
        },
        "body": raw_body,
        "isBase64Encoded": encoded,
    }


def stream_record(
    event_name: str,
    keys: dict[str, Any],
    new_image: dict[str, Any] | None,
    sequence_number: str,
) -> dict[str, Any]:
    """A DynamoDB stream record in Lambda's event shape."""
    change: dict[str, Any] = {
        "Keys": keys,
        "SequenceNumber": sequence_number,
        "SizeBytes": 100,
        "StreamViewType": "NEW_IMAGE",
    }
    if new_image is not None:
        change["NewImage"] = new_image
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026",
    }


class FakeContext:
    """The parts of LambdaContext that Powertools reads."""

    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
