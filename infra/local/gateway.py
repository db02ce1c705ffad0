"""The local "CloudFront": `web/` at `/`, and `/api/*` through an API Gateway
REST proxy integration to the same handlers that run in AWS.

API requests become real proxy events (requestContext, headers and
multiValueHeaders, query parameters, base64 bodies for non-text) and the
handlers' responses become HTTP again. The gateway's own rejections — unknown
route, wrong method, oversize body, throttling, a failed integration — answer
problem+json, as the deployed API's gateway responses do. Every response gets
the security headers of the CloudFront response-headers policy, and every
request one JSON access-log line.
"""

import base64
import json
import mimetypes
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.local.runtime import FunctionError, LocalFunction
from infra.local.throttle import TokenBucket, retry_after
from infra.security_headers import SECURITY_HEADERS
from infra.topology import API_PREFIX, ROUTES, Route
from shared.http import Problem, problem_response
from shared.schemas import MAX_BODY_BYTES

STAGE: Final = "local"
TEXT_TYPES: Final = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/x-www-form-urlencoded",
    }
)
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

Headers = list[tuple[str, str]]
AccessLog = Callable[[dict[str, Any]], None]


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query, as on the request line
    headers: Headers
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    oversize: bool = False  # the body was longer than MAX_BODY_BYTES and was not read

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None


@dataclass
class HttpResponse:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""


class Router:
    """The topology's routes and nothing else: (method, path template) -> Route."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)

    @classmethod
    def from_topology(cls) -> "Router":
        return cls(ROUTES)

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
    """A proxy integration's result as HTTP; a malformed one is the gateway's 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise FunctionError("Malformed Lambda proxy response")
    headers: Headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return HttpResponse(result["statusCode"], headers, data)


def problem(error: Problem) -> HttpResponse:
    return http_response(problem_response(error))


class Gateway:
    def __init__(
        self,
        router: Router,
        functions: Mapping[str, LocalFunction],
        throttle: TokenBucket,
        web_root: Path,
        access_log: AccessLog,
    ) -> None:
        self.router = router
        self.functions = functions
        self.throttle = throttle
        self.web_root = web_root.resolve()
        self.access_log = access_log

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        path = unquote(urlsplit(request.target).path)
        entry: dict[str, Any] = {"resourcePath": None, "integrationLatency": None}
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            response = self._api(request, path, entry)
        else:
            response = self._static(request, path)
        response.headers = [
            *((k, v) for k, v in response.headers if k.lower() not in _SECURITY_NAMES),
            *SECURITY_HEADERS.items(),
        ]
        self.access_log(
            {
                "requestId": entry.get("requestId", str(uuid.uuid4())),
                "ip": request.source_ip,
                "requestTime": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "httpMethod": request.method,
                "path": path,
                "resourcePath": entry["resourcePath"],
                "status": response.status,
                "protocol": request.protocol,
                "responseLength": len(response.body),
                "responseLatency": round((time.monotonic() - started) * 1000),
                "integrationLatency": entry["integrationLatency"],
                "userAgent": request.header("User-Agent"),
            }
        )
        return response

    def _api(self, request: HttpRequest, path: str, entry: dict[str, Any]) -> HttpResponse:
        try:
            route, parameters = self.router.resolve(request.method, path)
            entry["resourcePath"] = route.path
            wait = self.throttle.take()
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
        except Problem as error:
            return problem(error)
        event = proxy_event(request, route, parameters)
        entry["requestId"] = event["requestContext"]["requestId"]
        started = time.monotonic()
        try:
            return http_response(self.functions[route.function.name].invoke(event))
        except FunctionError as error:
            entry["error"] = str(error)
            return problem(Problem(502, "Bad Gateway", "The function failed; see the stack's log."))
        finally:
            entry["integrationLatency"] = round((time.monotonic() - started) * 1000)

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


_SECURITY_NAMES: Final = frozenset(name.lower() for name in SECURITY_HEADERS)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms per response on a kept-alive connection).
    disable_nagle_algorithm = True
    server: "LocalHttpServer"

    def _serve(self) -> None:
        request = self._read_request()
        if request is None:
            return
        self._write(self.server.gateway.handle(request))

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        """http.server answers a method without `do_<METHOD>` with an HTML 501: route
        every method instead (405 with Allow on a path that serves others, else 404)."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own rejections (a malformed request line, headers or length)
        as problem+json, like every other answer; the connection is closed after it."""
        title = self.responses.get(code, ("Error",))[0]
        self.close_connection = True
        self._write(problem(Problem(code, title, message or explain or title)))

    def _read_request(self) -> HttpRequest | None:
        oversize = False
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body, oversize = self._read_chunked()
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.send_error(400, "Bad Content-Length")
                return None
            oversize = length > MAX_BODY_BYTES
            body = b"" if oversize else self.rfile.read(length)
        if oversize:
            self.close_connection = True  # the rest of the body is never read
        return HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            oversize=oversize,
        )

    def _read_chunked(self) -> tuple[bytes, bool]:
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return body, False
            if len(body) + size > MAX_BODY_BYTES:
                return b"", True
            body += self.rfile.read(size)
            self.rfile.readline()

    def log_message(self, format: str, *args: Any) -> None:
        """The gateway writes the access log; http.server's stderr lines would repeat it."""


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # bursts of hundreds of concurrent clients

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, _RequestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def json_lines(stream: IO[str]) -> AccessLog:
    """An access log writing one JSON line per request, as API Gateway's does."""
    lock = threading.Lock()

    def log(entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with lock:
            stream.write(line)
            stream.flush()

    return log
