"""`--waf`: AWS WAF's per-IP rate rule on submissions at the local edge, answering as
the web ACL does (infra/cloud/edge.py), each loopback address a client of its own."""

import http.client
import json
from urllib.parse import urlsplit

import pytest

from infra.waf import rate_limited_problem
from tools.launcher import FAST_OPTIONS, LaunchedStack, start

pytestmark = pytest.mark.integration

LIMIT = 3
WINDOW_SECONDS = 60
SUBMIT = "/api/submit-number"


def request(
    stack: LaunchedStack, client: str, method: str, path: str
) -> tuple[int, dict[str, str], bytes]:
    """One request from the loopback address `client` (WAF's key is the peer address)."""
    netloc = urlsplit(stack.base_url).netloc
    connection = http.client.HTTPConnection(netloc, timeout=10, source_address=(client, 0))
    try:
        body = json.dumps({"number": 7}) if method == "POST" else None
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def waf_stack(tmp_path_factory: pytest.TempPathFactory):
    options = ("--waf", "--waf-rate-limit", str(LIMIT), "--waf-window", str(WINDOW_SECONDS))
    stack = start(tmp_path_factory.mktemp("waf"), *FAST_OPTIONS, *options)
    yield stack
    stack.stop()


def test_one_client_is_limited_and_another_is_not(waf_stack):
    statuses = [request(waf_stack, "127.0.0.2", "POST", SUBMIT)[0] for _ in range(LIMIT + 2)]

    assert 429 not in statuses[:LIMIT]
    assert statuses[LIMIT:] == [429, 429]
    assert request(waf_stack, "127.0.0.3", "POST", SUBMIT)[0] != 429


def test_the_limit_answer_is_the_web_acls(waf_stack):
    for _ in range(LIMIT):
        request(waf_stack, "127.0.0.4", "POST", SUBMIT)

    status, headers, body = request(waf_stack, "127.0.0.4", "POST", SUBMIT + "?x=1")

    assert status == 429
    assert headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == str(WINDOW_SECONDS)
    assert headers["Cache-Control"] == "no-store"
    assert body == json.dumps(rate_limited_problem(WINDOW_SECONDS), separators=(",", ":")).encode()


def test_other_paths_and_methods_are_never_limited(waf_stack):
    for _ in range(LIMIT):
        request(waf_stack, "127.0.0.5", "POST", SUBMIT)

    assert request(waf_stack, "127.0.0.5", "POST", "/api/submit%2Dnumber")[0] == 429  # decoded
    assert request(waf_stack, "127.0.0.5", "GET", SUBMIT)[0] == 405
    assert request(waf_stack, "127.0.0.5", "GET", "/api/daily-stats")[0] == 200
    assert request(waf_stack, "127.0.0.5", "GET", "/")[0] == 200


def test_without_waf_nothing_is_limited(local_stack):
    statuses = [request(local_stack, "127.0.0.2", "POST", SUBMIT)[0] for _ in range(LIMIT + 2)]

    assert 429 not in statuses
