"""Where a deployed environment (CloudFront + API Gateway) and the local stack
legitimately answer differently, listed once, with the reason. The contract suite
accepts either answer in exactly these places and nowhere else.

Anything not listed here must be identical: status, `Content-Type`, the problem+json
shape, `Allow`, the security headers, the published document, every body.
"""

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Difference:
    what: str
    aws: str
    local: str
    why: str


# The start of the detail of API Gateway's BAD_REQUEST_BODY gateway response
# (infra/cloud/api.py; tests/infra/test_api.py holds the two together).
MODEL_VALIDATOR_DETAIL_PREFIX: Final = "The body does not match the request schema"

MODEL_VALIDATOR = Difference(
    what="A body that breaks the shared request schema (wrong type, out of range, "
    "missing or extra field, not JSON)",
    aws="400 problem+json answered by API Gateway's request validator at the edge: the "
    f"detail starts with '{MODEL_VALIDATOR_DETAIL_PREFIX}' and carries the validator's "
    "findings in its own words; there is no `errors` list",
    local="400 problem+json answered by the function, which validates the same schema: "
    "`errors` lists each offending field with `field`, `pointer` and `detail`",
    why="The local stack does not run API Gateway's model validator (Java, closed "
    "source); the function validates the same schema, so the status and the refusal "
    "are the same and only the wording differs. The validator's wording does not always "
    "name the field (e.g. 'instance value (11) greater than maximum allowed (10)').",
)

NON_JSON_BODY = Difference(
    what="A body sent in another media type than application/json that is not JSON the "
    "request schema accepts (e.g. `number=5` as a form)",
    aws="400 problem+json from API Gateway's request validator, which holds a body of "
    "any media type to the same schema (the `$default` request model) before a function "
    "is invoked",
    local="415 problem+json from the function, which checks the media type first",
    why="The local stack does not run API Gateway's model validator (see MODEL_VALIDATOR). "
    "Both refuse it with a 4xx problem+json and store nothing; a body in another media "
    "type that the schema accepts is 415 in both.",
)

RETRY_AFTER = Difference(
    what="Retry-After of a throttled request (429)",
    aws="always 1: a fixed header of the THROTTLED gateway response",
    local="the seconds until the token bucket has a token again, rounded up",
    why="Gateway responses carry static headers only; both are integers >= 1, which is "
    "what the document promises.",
)

SITE_NOT_FOUND = Difference(
    what="A path outside /api/ that is not a file of the site",
    aws="S3 behind CloudFront's origin access control answers 403 with an XML body",
    local="404 problem+json",
    why="The site's own errors are not part of the API contract; the suite checks "
    "unknown routes under /api/ only, where both answer 404 problem+json.",
)

DIFFERENCES: Final = (MODEL_VALIDATOR, NON_JSON_BODY, RETRY_AFTER, SITE_NOT_FOUND)
