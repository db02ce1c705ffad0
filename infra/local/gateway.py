"""The local "CloudFront" and "API Gateway": `web/` at `/`, and `/api/*` through
a REST proxy integration to the same handlers that run in AWS.

The gateway routes a request to the topology's route (or a static file),
throttles the API, hands the request to the function as a proxy event
(`infra.local.proxy`) and writes one JSON access-log line per request. Its own
rejections — unknown route, wrong method, oversize body, throttling, a failed
integration — answer problem+json, as the deployed API's gateway responses do,
and every response gets the security headers of the CloudFront
response-headers policy. The socket side is `infra.local.http_server`.
"""

import json
import mimetypes
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol

from infra.local.proxy import (
    HttpRequest,
    HttpResponse,
    MalformedProxyResult,
    problem,
    request_to_event,
    result_to_response,
)
from infra.local.runtime import FunctionError
from infra.local.throttle import ApiThrottle, WafRateRule, retry_after
from infra.security_headers import SECURITY_HEADERS
from infra.topology import API_PREFIX, Route
from shared.http import Problem
from shared.schemas import MAX_BODY_BYTES

CONTENT_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
}
_SECURITY_NAMES: Final = frozenset(name.lower() for name in SECURITY_HEADERS)

AccessLog = Callable[[dict[str, Any]], None]


class Invocable(Protocol):
    """What the gateway needs of a function: `LocalFunction` in the stack."""

    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Answer:
    """A response, and what the access log says about how the gateway made it."""

    response: HttpResponse
    resource_path: str | None = None  # the route's, when one matched
    request_id: str | None = None  # the proxy event's, when a function was invoked
    integration_latency: int | None = None  # ms in the function
    integration_error: str | None = None  # why the function failed (the 502's cause)


class Router:
    """The topology's routes and nothing else: (method, path template) -> Route."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)

    def served(self) -> set[tuple[str, str]]:
        return {(route.method, route.path) for route in self.routes}

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and its path parameters; a 404 or 405 Problem otherwise."""
        allowed = []
        for route in self.routes:
            parameters = _match(route.path, path)
            if parameters is None:
                continue
            if route.method == method:
                return route, parameters
            allowed.append(route.method)
        if not allowed:
            raise Problem(404, "Not Found", f"There is no resource at {path}.")
        raise Problem(
            405,
            "Method Not Allowed",
            f"{path} does not support {method}.",
            headers={"Allow": ", ".join(sorted(allowed))},
        )


def _match(template: str, path: str) -> dict[str, str] | None:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    found = re.fullmatch(pattern, path)
    return found.groupdict() if found else None


class Gateway:
    """One request in, one response out, one access-log line written."""

    def __init__(
        self,
        router: Router,
        functions: Mapping[str, Invocable],
        throttle: ApiThrottle,
        web_root: Path,
        access_log: AccessLog,
        waf: WafRateRule | None = None,
    ) -> None:
        self.waf = waf
        self.router = router
        self.functions = functions
        self.throttle = throttle
        self.web_root = web_root.resolve()
        self.access_log = access_log

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        path = request.path
        if self.waf and self.waf.blocks(request.method, path, request.source_ip):
            answer = Answer(self.waf.answer())  # at CloudFront, before any route
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            answer = self._api(request, path)
        else:
            answer = Answer(self._static(request, path))
        response = answer.response
        response.headers = [
            *((k, v) for k, v in response.headers if k.lower() not in _SECURITY_NAMES),
            *SECURITY_HEADERS.items(),
        ]
        self.access_log(
            {
                "requestId": answer.request_id or str(uuid.uuid4()),
                "ip": request.source_ip,
                "requestTime": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "httpMethod": request.method,
                "path": path,
                "resourcePath": answer.resource_path,
                "status": response.status,
                "protocol": request.protocol,
                "responseLength": len(response.body),
                "responseLatency": round((time.monotonic() - started) * 1000),
                "integrationLatency": answer.integration_latency,
                "integrationErrorMessage": answer.integration_error,
                "userAgent": request.header("User-Agent"),
            }
        )
        return response

    def _api(self, request: HttpRequest, path: str) -> Answer:
        try:
            route, parameters = self.router.resolve(request.method, path)
        except Problem as error:
            return Answer(problem(error))
        try:
            self._admit(request, route)
        except Problem as error:
            return Answer(problem(error), route.path)
        return self._invoke(request, route, parameters)

    def _admit(self, request: HttpRequest, route: Route) -> None:
        """The stage's checks before the integration: throttle, then body size."""
        wait = self.throttle.take(route)
        if wait:
            raise Problem(
                429,
                "Too Many Requests",
                "The API's rate limit is exceeded; retry later.",
                headers={"Retry-After": retry_after(wait)},
            )
        if request.oversize:
            raise Problem(
                413, "Content Too Large", f"The body must be at most {MAX_BODY_BYTES} bytes."
            )

    def _invoke(self, request: HttpRequest, route: Route, parameters: dict[str, str]) -> Answer:
        event = request_to_event(request, route, parameters)
        request_id = event["requestContext"]["requestId"]
        started = time.monotonic()
        error: str | None = None
        try:
            response = result_to_response(self.functions[route.function.name].invoke(event))
        except (FunctionError, MalformedProxyResult) as failure:
            error = str(failure)
            response = problem(
                Problem(502, "Bad Gateway", "The function failed; see the stack's access log.")
            )
        latency = round((time.monotonic() - started) * 1000)
        return Answer(response, route.path, request_id, latency, error)

    def _static(self, request: HttpRequest, path: str) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            allow = {"Allow": "GET, HEAD"}
            return problem(Problem(405, "Method Not Allowed", f"{path} is static.", headers=allow))
        file = (self.web_root / (path.lstrip("/") or "index.html")).resolve()
        if not file.is_relative_to(self.web_root) or not file.is_file():
            return problem(Problem(404, "Not Found", f"There is no resource at {path}."))
        content_type = CONTENT_TYPES.get(file.suffix) or (
            mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        )
        headers = [("Content-Type", content_type), ("Cache-Control", "no-cache")]
        return HttpResponse(200, headers, file.read_bytes())


def json_lines(stream: IO[str]) -> AccessLog:
    """An access log writing one JSON line per request, as API Gateway's does."""
    lock = threading.Lock()

    def log(entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with lock:
            stream.write(line)
            stream.flush()

    return log
