"""What a Lambda function receives, built in one place: API Gateway's REST proxy
event, DynamoDB stream records in Lambda's shape, and the context object.

The local stack builds them for real (the gateway's proxy events, the stream
poller's records, the runtime's context); tests and benchmarks build theirs with
the same functions, through the small factories of `tools.events`.
"""

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from infra.topology import Function

LOCAL_ACCOUNT_ID: Final = "123456789012"
DEFAULT_REGION: Final = "us-east-1"
STAGE: Final = "local"
EXAMPLE_SOURCE_IP: Final = "203.0.113.7"  # TEST-NET-3: no one's address

Event = dict[str, Any]
Record = dict[str, Any]


# -- API Gateway REST proxy events --------------------------------------------------------


def proxy_event(
    method: str,
    path: str,
    *,
    resource: str,
    headers: Iterable[tuple[str, str]] = (),
    query: Iterable[tuple[str, str]] = (),
    path_parameters: Mapping[str, str] | None = None,
    body: str | None = None,
    is_base64_encoded: bool = False,
    source_ip: str = EXAMPLE_SOURCE_IP,
    protocol: str = "HTTP/1.1",
    received_at: datetime | None = None,
) -> Event:
    """The REST API proxy event API Gateway sends to a route's function: every header
    and query parameter both single-valued (the last) and multi-valued."""
    received = received_at or datetime.now(UTC)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    single_headers = {name: values[-1] for name, values in multi_headers.items()}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters or {}) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "protocol": protocol,
            "stage": STAGE,
            "domainName": single_headers.get("Host", "localhost"),
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": received.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(received.timestamp() * 1000),
            "identity": _identity(source_ip, single_headers.get("User-Agent")),
        },
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }


def _identity(source_ip: str, user_agent: str | None) -> dict[str, Any]:
    unauthenticated = (
        "accessKey",
        "accountId",
        "caller",
        "user",
        "userArn",
        "cognitoIdentityId",
        "cognitoIdentityPoolId",
        "cognitoAuthenticationType",
        "cognitoAuthenticationProvider",
    )
    return {
        "sourceIp": source_ip,
        "userAgent": user_agent,
        **dict.fromkeys(unauthenticated),
    }


# -- DynamoDB stream records --------------------------------------------------------------


def lambda_record(record: Record, stream_arn: str, region: str) -> Record:
    """A stream record (as GetRecords returns it) in the shape Lambda hands to the function."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "awsRegion": region, "dynamodb": change, "eventSourceARN": stream_arn}


# -- the context object -------------------------------------------------------------------

Clock = Callable[[], float]


def _stopped_clock() -> float:
    return 0.0


class LambdaContext:
    """The attributes and method of Lambda's context object that handlers use.

    The remaining time counts down from the timeout on `clock` (monotonic seconds).
    """

    def __init__(
        self,
        function_name: str,
        *,
        memory_mb: int = 256,
        timeout_seconds: float = 10,
        region: str = DEFAULT_REGION,
        clock: Clock = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{function_name}"
        )
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._clock = clock
        self._deadline = clock() + timeout_seconds

    @classmethod
    def of(cls, function: Function, region: str) -> "LambdaContext":
        """The context of one invocation of a topology function in the local stack."""
        return cls(
            f"pick-a-number-local-{function.name}",
            memory_mb=function.memory_mb,
            timeout_seconds=function.timeout_seconds,
            region=region,
        )

    @classmethod
    def timeless(cls, function_name: str = "test-function") -> "LambdaContext":
        """A context whose clock stands still, for calling a handler directly (tests,
        benchmarks): it always has its whole timeout (10 s) left."""
        return cls(function_name, clock=_stopped_clock)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))
