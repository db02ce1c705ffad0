"""Domain errors at the HTTP edge: every kind the domain raises has its problem in
the one table, and `api_handler` answers it as the API's problem+json."""

import json
from typing import Any

import pytest

from shared import errors
from shared.errors import DomainError, IdempotencyConflict, InvalidRange, InvalidSubmission
from shared.http import DOMAIN_PROBLEMS, Event, ProxyResult, api_handler

DECLARED = [
    kind
    for kind in vars(errors).values()
    if isinstance(kind, type) and issubclass(kind, DomainError) and kind is not DomainError
]


def answer_to(error: DomainError) -> ProxyResult:
    """What a route that raises `error` answers."""

    @api_handler
    def route(event: Event) -> ProxyResult:
        raise error

    return route({})


def test_the_module_declares_the_domains_refusals() -> None:
    assert set(DECLARED) == {InvalidSubmission, InvalidRange, IdempotencyConflict}


@pytest.mark.parametrize("kind", DECLARED, ids=lambda kind: kind.__name__)
def test_every_domain_error_has_its_problem(kind: type[DomainError]) -> None:
    assert kind in DOMAIN_PROBLEMS


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (
            InvalidSubmission("'timestamp' is not real.", "timestamp", "not real"),
            400,
            "Bad Request",
        ),
        (InvalidRange("'from' is after 'to'.", "from", "after 'to'"), 400, "Bad Request"),
        (
            IdempotencyConflict("Used with another body.", "Idempotency-Key", "reused"),
            409,
            "Conflict",
        ),
    ],
)
def test_a_domain_error_is_answered_as_a_problem_naming_its_field(
    error: DomainError, status: int, title: str
) -> None:
    response = answer_to(error)

    assert response["statusCode"] == status
    assert response["headers"] == {
        "Content-Type": "application/problem+json",
        "Cache-Control": "no-store",
    }
    body: dict[str, Any] = json.loads(response["body"])
    assert body == {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": error.detail,
        "errors": [{"field": error.field, "pointer": f"#/{error.field}", "detail": error.reason}],
    }


def test_a_domain_error_without_a_field_has_no_errors_list() -> None:
    response = answer_to(IdempotencyConflict("The Idempotency-Key is in use; retry the request."))

    assert json.loads(response["body"]) == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "The Idempotency-Key is in use; retry the request.",
    }


def test_a_domain_error_the_table_does_not_know_is_an_unexpected_500() -> None:
    class Unlisted(DomainError):
        """A refusal someone raised without giving it a problem."""

    response = answer_to(Unlisted("internal reasoning", "field", "why"))

    assert response["statusCode"] == 500
    assert "internal reasoning" not in response["body"]
    assert json.loads(response["body"])["title"] == "Internal Server Error"
