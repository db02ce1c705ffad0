"""Every method on every path gets a problem+json answer (issue 13, the edge contract).

Python's http.server answers a method it has no `do_<METHOD>` for with its own
HTML 501 page, and malformed requests with HTML 400s; the local stack, like API
Gateway behind CloudFront, answers every one of them as problem+json: 405 with
`Allow` on a path that serves other methods, 404 where nothing is served.
"""

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from infra.topology import ROUTES
from shared.http import PROBLEM_CONTENT_TYPE
from tools.launcher import LaunchedStack

pytestmark = pytest.mark.integration

ODD_METHODS = ("TRACE", "CONNECT", "PROPFIND", "BREW")


def assert_problem(response: requests.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM_CONTENT_TYPE)
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize("method", ODD_METHODS)
def test_an_unknown_method_on_an_api_path_is_405_with_allow(
    local_stack: LaunchedStack, http: requests.Session, method: str
) -> None:
    for route in ROUTES:
        response = http.request(method, local_stack.url(route.path), timeout=10)
        assert_problem(response, 405)
        allowed = sorted(r.method for r in ROUTES if r.path == route.path)
        assert response.headers["Allow"] == ", ".join(allowed)


@pytest.mark.parametrize("method", ODD_METHODS)
def test_an_unknown_method_elsewhere_is_a_problem_too(
    local_stack: LaunchedStack, http: requests.Session, method: str
) -> None:
    assert_problem(http.request(method, local_stack.url("/api/nothing-here"), timeout=10), 404)
    assert_problem(http.request(method, local_stack.url("/index.html"), timeout=10), 405)


def test_a_malformed_request_is_a_problem_not_an_html_page(local_stack: LaunchedStack) -> None:
    address = urlsplit(local_stack.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(b"GET /api/daily-stats HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        chunks = []
        while chunk := raw.recv(65536):  # headers and body leave in two writes; then close
            chunks.append(chunk)
        answer = b"".join(chunks).decode("latin-1")
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400")
    assert f"Content-Type: {PROBLEM_CONTENT_TYPE}" in head
    assert json.loads(body)["status"] == 400
