"""HTTP at the edge of every API function: problem+json errors, JSON responses,
and strict parsing of API Gateway REST proxy events.

One exception type (`Problem`) carries every client error the edge finds itself;
the domain raises its own (`shared.errors`), which `DOMAIN_PROBLEMS` maps to
problems in one table. `api_handler` answers both in one place, so routes never
build error responses themselves.
"""

import base64
import binascii
import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import quote

from shared.errors import DomainError, IdempotencyConflict, InvalidRange, InvalidSubmission
from shared.schemas import MAX_BODY_BYTES

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
JSON_CONTENT_TYPE: Final = "application/json"

# Responses are never cached by browsers or CloudFront unless a route says otherwise.
_BASE_HEADERS: Final = {"Cache-Control": "no-store"}

Event = Mapping[str, Any]
# What a route's handler returns: API Gateway's proxy integration result.
ProxyResult = dict[str, Any]
Handler = Callable[[Event], ProxyResult]

_log = logging.getLogger(__name__)

# DynamoDB's answers when the table is over its capacity: nothing is wrong with
# the request, and a retry (with the same Idempotency-Key) will succeed.
_CAPACITY_ERRORS: Final = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


@dataclass(frozen=True)
class FieldError:
    """One offending field: `field` as a dotted name, `pointer` as RFC 6901 (in its
    URI fragment form). `path` holds the exact keys when a key may contain '.' or '/'."""

    field: str
    detail: str
    path: tuple[str, ...] | None = dataclasses.field(default=None, compare=False)

    def as_json(self) -> dict[str, str]:
        parts = self.path if self.path is not None else tuple(filter(None, self.field.split(".")))
        pointer = "#" + "".join("/" + _pointer_token(part) for part in parts)
        return {"field": self.field, "pointer": pointer, "detail": self.detail}


def _pointer_token(key: str) -> str:
    escaped = key.replace("~", "~0").replace("/", "~1")
    return quote(escaped, safe="~!$&'()*+,;=:@-._")


@dataclass
class Problem(Exception):
    """An RFC 9457 problem: raised anywhere, answered by `api_handler`."""

    status: int
    title: str
    detail: str
    errors: tuple[FieldError, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    type: str = "about:blank"

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.title}: {self.detail}")

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [e.as_json() for e in self.errors]
        return body


def bad_request(detail: str, *errors: FieldError) -> Problem:
    return Problem(400, "Bad Request", detail, errors)


@dataclass(frozen=True)
class ProblemKind:
    """What a kind of domain error is answered with; its detail and field are its own."""

    status: int
    title: str
    type: str = "about:blank"


# The one place a domain error becomes an HTTP answer.
DOMAIN_PROBLEMS: Final[Mapping[type[DomainError], ProblemKind]] = MappingProxyType(
    {
        InvalidSubmission: ProblemKind(400, "Bad Request"),
        InvalidRange: ProblemKind(400, "Bad Request"),
        IdempotencyConflict: ProblemKind(409, "Conflict"),
    }
)


def domain_problem(error: DomainError) -> Problem | None:
    """The problem a domain error is answered with; None for a kind with no entry
    in DOMAIN_PROBLEMS (answered as unexpected)."""
    kind = next((DOMAIN_PROBLEMS[k] for k in type(error).__mro__ if k in DOMAIN_PROBLEMS), None)
    if kind is None:
        return None
    errors = (FieldError(error.field, error.reason),) if error.field is not None else ()
    return Problem(kind.status, kind.title, error.detail, errors, type=kind.type)


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> ProxyResult:
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON_CONTENT_TYPE, **_BASE_HEADERS, **(headers or {})},
        "body": json.dumps(body, separators=(",", ":"), allow_nan=False),
    }


def problem_response(problem: Problem) -> ProxyResult:
    return {
        "statusCode": problem.status,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE, **_BASE_HEADERS, **problem.headers},
        "body": json.dumps(problem.as_json(), separators=(",", ":")),
    }


_INTERNAL_ERROR: Final = Problem(
    500, "Internal Server Error", "The request could not be completed."
)


def api_handler(handler: Handler) -> Handler:
    """Answer `Problem`s and domain errors as problem+json, and anything unexpected
    as a 500 problem (logged with its traceback) so that every error has one format."""

    @wraps(handler)
    def handle(event: Event) -> ProxyResult:
        try:
            return handler(event)
        except Problem as problem:
            return problem_response(problem)
        except DomainError as error:
            answer = domain_problem(error)
            if answer is None:
                _log.exception("a domain error with no entry in DOMAIN_PROBLEMS")
            return problem_response(answer or _INTERNAL_ERROR)
        except Exception as error:
            if _error_code(error) in _CAPACITY_ERRORS or _is_timeout(error):
                _log.warning("table over capacity", exc_info=True)
                return problem_response(
                    Problem(
                        503,
                        "Service Unavailable",
                        "The service is busy; retry in a moment.",
                        headers={"Retry-After": "1"},
                    )
                )
            _log.exception("unhandled error")
            return problem_response(_INTERNAL_ERROR)

    return handle


# botocore's own exceptions when every try of a call timed out or could not connect:
# the table is slow or out of reach, and a retry later may well succeed.
_TIMEOUT_ERRORS: Final = frozenset(
    {"ReadTimeoutError", "ConnectTimeoutError", "EndpointConnectionError", "ConnectionClosedError"}
)


def _is_timeout(error: Exception) -> bool:
    """A botocore connection or timeout error, without importing botocore."""
    return any(kind.__name__ in _TIMEOUT_ERRORS for kind in type(error).__mro__)


def _error_code(error: Exception) -> str | None:
    """The AWS error code of a botocore ClientError, without importing botocore."""
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def header(event: Event, name: str) -> str | None:
    """A request header, case-insensitively; the last value if sent several times."""
    wanted = name.lower()
    found = None
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            found = value
    return found


def query_params(event: Event) -> dict[str, str]:
    """Single-valued query parameters; a parameter given twice is a client error."""
    multi = event.get("multiValueQueryStringParameters") or {}
    for name, values in multi.items():
        if values is not None and len(values) > 1:
            raise bad_request(f"'{name}' is given more than once.", FieldError(name, "repeated"))
    return dict(event.get("queryStringParameters") or {})


class _JsonFloat(float):
    """A float written with a fraction or exponent in the JSON text.

    Draft 4 (API Gateway's dialect) defines an integer as a number without a
    fraction or exponent part; fastjsonschema follows later drafts where 5.0 is
    an integer. Reporting `is_integer()` as False keeps draft 4's meaning.
    """

    def is_integer(self) -> bool:
        return False


def _parse_float(text: str) -> float:
    value = _JsonFloat(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key '{key}'")
        result[key] = value
    return result


def json_body(event: Event) -> Any:
    """The request body as JSON, or a Problem: 415 for another content type,
    413 past MAX_BODY_BYTES, 400 for anything that is not strict JSON."""
    content_type = (header(event, "content-type") or "").split(";")[0].strip().lower()
    if content_type != JSON_CONTENT_TYPE:
        raise Problem(
            415,
            "Unsupported Media Type",
            f"Send the body as {JSON_CONTENT_TYPE}.",
            (FieldError("Content-Type", f"expected {JSON_CONTENT_TYPE}"),),
        )
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("The body is not valid base64.") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise Problem(413, "Content Too Large", f"The body must be at most {MAX_BODY_BYTES} bytes.")
    if not data.strip():
        raise bad_request("The body is empty; send a JSON object.")
    try:
        text = data.decode("utf-8")
        return json.loads(
            text,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError:
        raise bad_request("The body is not UTF-8.") from None
    except RecursionError:
        raise bad_request("The body is nested too deeply.") from None
    except ValueError as error:  # JSONDecodeError is a ValueError
        raise bad_request(f"The body is not valid JSON: {error}.") from None
