"""Contract fuzzing: schemathesis generates requests from the published OpenAPI
document and sends them to the local stack; no answer is a 5xx and every answer
conforms to the document (status, content type, headers, body schema).

Both operations get valid requests (positive mode) and requests that break the
document (negative mode: wrong types, missing or extra fields, bad headers, other
media types), which must be refused with a 4xx. The run is derandomized and has
a fixed number of examples, so it is repeatable and bounded.

Valid requests are not required to succeed: the document's date patterns do say
that 2026-02-30 is not a date (a schema-valid date is never refused for its
format, tests/unit/test_schemas.py), but not that `from` must not be after
`to` or the range longer than 366 days, so some generated requests that fit the
document are rightly answered 400.
"""

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.topology import ROUTES
from tools.launcher import LaunchedStack

pytestmark = pytest.mark.integration

DOCUMENT = Path(__file__).resolve().parents[2] / "web" / "openapi.json"
# 2 operations x 2 modes x 260 examples: at least 1,000 requests in all.
EXAMPLES_PER_MODE = 260
MIN_REQUESTS = 1_000
REQUEST_TIMEOUT_SECONDS = 10

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = {
    GenerationMode.POSITIVE: CONFORMANCE,
    GenerationMode.NEGATIVE: [*CONFORMANCE, negative_data_rejection],
}


def test_the_site_publishes_the_document(local_stack: LaunchedStack, http: requests.Session):
    response = http.get(local_stack.url("/openapi.json"), timeout=REQUEST_TIMEOUT_SECONDS)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))


def operations_of(schema: Any) -> list[Any]:
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations


def fuzz(
    operation: Any,
    mode: GenerationMode,
    send: Callable[[Any], Any],
    failures: list[str],
) -> None:
    """Send EXAMPLES_PER_MODE generated requests; collect failed checks, keep sending."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = send(case)
        try:
            case.validate_response(response, checks=CHECKS[mode])
        except Exception as failure:
            failures.append(f"{operation.label} ({mode.value}): {failure}")

    run()


@pytest.mark.timeout(300)
def test_generated_requests_get_no_5xx_and_answers_that_conform(
    local_stack: LaunchedStack, http: requests.Session
):
    # Given the document as the site publishes it
    schema = schemathesis.openapi.from_url(
        local_stack.url("/openapi.json"), timeout=REQUEST_TIMEOUT_SECONDS
    )
    operations = operations_of(schema)
    assert {op.label for op in operations} == {f"{r.method} {r.path}" for r in ROUTES}
    statuses: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []

    def send(case: Any) -> Any:
        response = case.call(
            base_url=local_stack.base_url, session=http, timeout=REQUEST_TIMEOUT_SECONDS
        )
        statuses[(case.operation.label, response.status_code)] += 1
        return response

    # When each operation gets its generated requests, valid and invalid
    for operation in operations:
        for mode in CHECKS:
            fuzz(operation, mode, send, failures)

    # Then nothing failed, and enough was sent to both endpoints
    assert failures == [], f"{len(failures)} failures; the first:\n" + "\n\n".join(failures[:3])
    assert not [key for key in statuses if key[1] >= 500], statuses
    per_operation = Counter({op.label: 0 for op in operations})
    for (label, _), count in statuses.items():
        per_operation[label] += count
    assert sum(per_operation.values()) >= MIN_REQUESTS, per_operation
    assert min(per_operation.values()) >= MIN_REQUESTS // 4, per_operation
    # And the accepted submissions reach the rollups: leave the shared stack drained
    local_stack.wait_until_aggregated()
