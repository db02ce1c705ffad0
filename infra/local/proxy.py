"""API Gateway's REST proxy integration as data: an HTTP request becomes the proxy
event the route's function receives, and the function's result becomes HTTP again.

Pure translation: no sockets, no routing. The event's shape itself is
`infra.local.events.proxy_event`, which tests and benchmarks build theirs with.
"""

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.local.events import proxy_event
from infra.topology import Route
from shared.http import Problem, problem_response

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


def request_to_event(
    request: HttpRequest, route: Route, path_parameters: Mapping[str, str]
) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends to the route's function for `request`:
    a text body as text, any other base64-encoded; the edge's forwarding headers added."""
    split = urlsplit(request.target)
    now = datetime.now(UTC)
    body: str | None = None
    encoded = False
    if request.body:
        try:
            if not _is_text(request.header("Content-Type")):
                raise UnicodeDecodeError("utf-8", b"", 0, 1, "not a text media type")
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
    return proxy_event(
        request.method,
        unquote(split.path),
        resource=route.path,
        headers=[
            *request.headers,
            ("X-Forwarded-For", request.source_ip),
            ("X-Forwarded-Proto", "http"),
            ("X-Amzn-Trace-Id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"),
        ],
        query=parse_qsl(split.query, keep_blank_values=True),
        path_parameters=path_parameters,
        body=body,
        is_base64_encoded=encoded,
        source_ip=request.source_ip,
        protocol=request.protocol,
        received_at=now,
    )


def result_to_response(result: Any) -> HttpResponse:
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
    return result_to_response(problem_response(error))
