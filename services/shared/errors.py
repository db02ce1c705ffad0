"""What the domain refuses, in its own terms.

Domain code (accepting a submission, reading a date range) raises these and
knows nothing of HTTP; the HTTP edge, `shared.http`, answers each kind with its
problem from one table (`DOMAIN_PROBLEMS`).
"""


class DomainError(Exception):
    """A request the domain cannot honour: `detail` says why in a sentence for the
    client; `field` names the input at fault (if one is) and `reason` says, briefly,
    what is wrong with it."""

    def __init__(self, detail: str, field: str | None = None, reason: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.reason = reason


class InvalidSubmission(DomainError):
    """A submission of the right shape that cannot be taken, e.g. a timestamp that
    is no real date and time."""


class InvalidRange(DomainError):
    """A date range that cannot be read: a day that is no real date, a start after
    the end, or more days than the API serves."""


class IdempotencyConflict(DomainError):
    """An Idempotency-Key whose first submission disagrees with this one (another
    body), or is not there to compare with."""
