"""The local stack's HTTP server: bytes on a socket in, an `HttpRequest` to
`respond`, its `HttpResponse` back out. Nothing here knows routes, functions or files.

It reads Content-Length and chunked bodies. A body longer than `MAX_BODY_BYTES` is
read and dropped (the request is marked oversize: the gateway answers 413) up to
API Gateway's 10 MB payload limit; past it the answer is API Gateway's own 413,
and the connection is closed unread. It answers every method and every malformed
request through `respond` or as problem+json, never as http.server's HTML pages.
"""

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from infra.local.proxy import HttpRequest, HttpResponse, problem
from shared.http import Problem
from shared.schemas import MAX_BODY_BYTES

PAYLOAD_LIMIT_BYTES: Final = 10 * 2**20  # API Gateway's, for a REST API
TOO_LONG: Final = b'{"message":"Request Too Long"}'

Respond = Callable[[HttpRequest], HttpResponse]


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
        self._write(self.server.respond(request))

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
        """http.server answers a method without `do_<METHOD>` with an HTML 501: hand
        every method to `respond` instead (the gateway answers 405 or 404)."""
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
        try:
            body, size = self._read_body()
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return None
        if size > PAYLOAD_LIMIT_BYTES:  # API Gateway's own answer; the rest is never read
            self.close_connection = True
            self._write(HttpResponse(413, [("Content-Type", "application/json")], TOO_LONG))
            return None
        return HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            oversize=size > MAX_BODY_BYTES,
        )

    def _read_body(self) -> tuple[bytes, int]:
        """The body (empty when over MAX_BODY_BYTES) and its size: read whole up to API
        Gateway's payload limit, so the client gets its 413, not a reset; past it, not."""
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        kept: list[bytes] = []
        size = 0
        while True:
            part = self._chunk_size() if chunked else int(self.headers.get("Content-Length") or 0)
            if part < 0:
                raise ValueError(f"negative length {part}")
            size += part
            if size > PAYLOAD_LIMIT_BYTES:
                return b"", size
            data = self.rfile.read(part)
            if size <= MAX_BODY_BYTES:
                kept.append(data)
            if chunked:
                self.rfile.readline()  # the chunk's CRLF, or the end of the trailers
            if not chunked or part == 0:
                return (b"".join(kept) if size <= MAX_BODY_BYTES else b""), size

    def _chunk_size(self) -> int:
        return int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)

    def log_message(self, format: str, *args: Any) -> None:
        """The gateway writes the access log; http.server's stderr lines would repeat it."""


class LocalHttpServer(ThreadingHTTPServer):
    """Answers every request with `respond`, each on its own thread."""

    daemon_threads = True
    request_queue_size = 512  # bursts of hundreds of concurrent clients

    def __init__(self, address: tuple[str, int], respond: Respond) -> None:
        self.respond = respond
        super().__init__(address, _RequestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"
