"""API Gateway's REST proxy integration as data: an HTTP request becomes the proxy
event the route's function receives, and the function's result becomes HTTP again.

Pure translation: no sockets, no routing, no clock beyond the event's timestamps.
"""

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.topology import Route
from shared.http import Problem, problem_response

STAGE: Final = "local"
TEXT_TYPES: Final = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/x-www-form-urlencoded",
    }
)

Headers = list[tuple[str, str]]


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query, as on the request line
    headers: Headers
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    oversize: bool = False  # the body was longer than MAX_BODY_BYTES and was not read

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path)

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None


@dataclass
class HttpResponse:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""


class MalformedProxyResult(ValueError):
    """The function answered something that is not a proxy result (API Gateway: 502)."""


def _is_text(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media.startswith("text/") or media in TEXT_TYPES or media.endswith(("+json", "+xml"))


def proxy_event(
    request: HttpRequest, route: Route, path_parameters: Mapping[str, str]
) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends to the route's function."""
    split = urlsplit(request.target)
    path = unquote(split.path)
    now = datetime.now(UTC)
    headers = [
        *request.headers,
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"),
    ]
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    body: str | None = None
    encoded = False
    if request.body:
        try:
            if not _is_text(request.header("Content-Type")):
                raise UnicodeDecodeError("utf-8", b"", 0, 1, "not a text media type")
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": route.path,
            "httpMethod": request.method,
            "path": f"/{STAGE}{path}",
            "protocol": request.protocol,
            "stage": STAGE,
            "domainName": request.header("Host") or "localhost",
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": request.header("User-Agent"),
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
            },
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def http_response(result: Any) -> HttpResponse:
    """A proxy integration's result as HTTP; MalformedProxyResult if it is not one."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise MalformedProxyResult("Malformed Lambda proxy response")
    headers: Headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return HttpResponse(result["statusCode"], headers, data)


def problem(error: Problem) -> HttpResponse:
    """A problem+json answer, as the functions and the gateway responses give it."""
    return http_response(problem_response(error))
