"""The local stack over HTTP: the API contract, the gateway's own answers, the site."""

import json
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
import requests

from infra import REPO_ROOT
from infra.security_headers import SECURITY_HEADERS
from shared.schemas import MAX_BODY_BYTES
from tests.support.local_stack import day_count, submit
from tools.launcher import LaunchedStack

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def idempotency_key() -> str:
    return f"test-{uuid.uuid4().hex}"


def assert_problem(response: requests.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


def test_a_submission_is_in_the_daily_stats_within_one_second(local_stack, http):
    today = datetime.now(UTC).date().isoformat()
    before = day_count(http, local_stack, today)

    response = submit(http, local_stack, {"number": 4})

    assert response.status_code == 201
    assert response.json()["date"] == today
    deadline = time.monotonic() + 1.0
    while day_count(http, local_stack, today) != before + Counter({4: 1}):
        assert time.monotonic() < deadline, "not in the daily stats within 1 s"
        time.sleep(0.05)


def test_a_replay_gets_the_first_answer_and_is_stored_once(local_stack, http):
    key = idempotency_key()

    first = submit(http, local_stack, {"number": 8}, headers={"Idempotency-Key": key})
    replay = submit(http, local_stack, {"number": 8}, headers={"Idempotency-Key": key})

    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json() == first.json()
    stored = [i for i in local_stack.items("SUB#") if i["pk"]["S"] == "SUB#" + first.json()["id"]]
    assert len(stored) == 1


def test_a_key_reused_with_another_body_is_a_conflict(local_stack, http):
    key = idempotency_key()
    submit(http, local_stack, {"number": 2}, headers={"Idempotency-Key": key})

    reused = submit(http, local_stack, {"number": 3}, headers={"Idempotency-Key": key})

    assert_problem(reused, 409)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"number": 5}', "text/plain", 415),
        (b"\xff\xfe binary", "application/octet-stream", 415),
        (b"{}", "application/json", 400),
        (b'{"number": 11}', "application/json", 400),
        (b'{"number": 5.0}', "application/json", 400),
        (b'{"number": true}', "application/json", 400),
        (b'{"number": 5, "extra": 1}', "application/json", 400),
        (b'{"number": 5, "timestamp": "2026-02-30T10:00:00Z"}', "application/json", 400),
    ],
)
def test_bad_input_is_a_problem_and_writes_nothing(local_stack, http, body, content_type, status):
    stored_before = len(local_stack.items("SUB#"))

    response = http.post(
        local_stack.url("/api/submit-number"),
        data=body,
        headers={"Content-Type": content_type},
        timeout=10,
    )

    assert_problem(response, status)
    assert len(local_stack.items("SUB#")) == stored_before


def test_a_repeated_query_parameter_reaches_the_function_as_multi_value(local_stack, http):
    response = http.get(
        local_stack.url("/api/daily-stats?from=2026-01-01&from=2026-01-02"), timeout=10
    )

    body = assert_problem(response, 400)
    assert "more than once" in str(body["detail"])


def test_an_unknown_route_is_404(local_stack, http):
    assert_problem(http.get(local_stack.url("/api/nothing-here"), timeout=10), 404)


def test_a_wrong_method_is_405_with_the_allowed_one(local_stack, http):
    response = http.get(local_stack.url("/api/submit-number"), timeout=10)

    assert_problem(response, 405)
    assert response.headers["Allow"] == "POST"


def test_an_oversize_body_is_413_and_writes_nothing(local_stack, http):
    stored_before = len(local_stack.items("SUB#"))
    padding = "x" * MAX_BODY_BYTES
    body = json.dumps({"number": 5, "timestamp": padding})

    response = http.post(
        local_stack.url("/api/submit-number"),
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert_problem(response, 413)
    assert len(local_stack.items("SUB#")) == stored_before


def test_a_body_of_megabytes_is_read_and_refused_with_413_not_a_reset(local_stack, http):
    """Up to API Gateway's 10 MB payload limit the edge reads the body and answers 413
    problem+json (a client still sending gets its answer, not a broken pipe), and the
    connection serves the next request."""
    five_megabytes = b"x" * (5 * 2**20)

    refused = http.post(local_stack.url("/api/submit-number"), data=five_megabytes, timeout=30)
    chunked = http.post(
        local_stack.url("/api/submit-number"), data=iter([five_megabytes]), timeout=30
    )
    after = http.get(local_stack.url("/api/daily-stats"), timeout=10)

    assert_problem(refused, 413)
    assert_problem(chunked, 413)
    assert "close" not in refused.headers.get("Connection", "")
    assert after.status_code == 200


def test_a_body_over_ten_megabytes_gets_api_gateways_413_and_the_connection_closes(
    local_stack,
):
    host, port = local_stack.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /api/submit-number HTTP/1.1\r\nHost: local\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10485761\r\n\r\n{"
        )
        answer = b""
        while chunk := connection.recv(65536):  # until the server closes the connection
            answer += chunk

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {"message": "Request Too Long"}


def test_the_site_is_served_with_the_cloudfront_security_headers(local_stack, http):
    response = http.get(local_stack.url("/"), timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == (REPO_ROOT / "web" / "index.html").read_bytes()
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_api_answers_carry_the_security_headers_too(local_stack, http):
    response = http.get(local_stack.url("/api/daily-stats"), timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert all(response.headers[name] == value for name, value in SECURITY_HEADERS.items())


@pytest.mark.parametrize("path", ["/missing.html", "/../pyproject.toml", "/%2e%2e/pyproject.toml"])
def test_nothing_outside_the_site_is_served(local_stack, http, path):
    response = http.get(local_stack.url(path), timeout=10)

    assert_problem(response, 404)


def test_every_request_has_a_json_access_log_line(local_stack, http):
    agent = f"access-log-test/{uuid.uuid4().hex}"

    http.get(local_stack.url("/api/daily-stats"), headers={"User-Agent": agent}, timeout=10)

    deadline = time.monotonic() + 5
    while True:
        lines = [
            json.loads(line)
            for line in local_stack.stdout.read_text().splitlines()
            if line.startswith("{") and agent in line
        ]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(lines) == 1
    assert lines[0]["status"] == 200
    assert lines[0]["resourcePath"] == "/api/daily-stats"
    assert lines[0]["httpMethod"] == "GET"
    assert lines[0]["requestId"]


def test_the_backup_runs_on_demand_against_the_local_stack(local_stack: LaunchedStack):
    result = subprocess.run(
        [sys.executable, "-m", "infra.local.backup", "--data-dir", str(local_stack.data_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    backups = local_stack.dynamodb().list_backups(TableName=local_stack.table_name)
    assert [b["BackupStatus"] for b in backups["BackupSummaries"]] == ["AVAILABLE"]


def test_requests_over_the_throttle_get_429_problem_with_retry_after(start_local_stack, http):
    stack = start_local_stack("--ephemeral", "--throttle-rate", "0.1", "--throttle-burst", "2")

    responses = [http.get(stack.url("/api/daily-stats"), timeout=10) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 429]
    throttled = responses[-1]
    assert throttled.headers["Content-Type"] == "application/problem+json"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["status"] == 429
