"""The WAF's per-IP rate rule as data, free of the CDK: its defaults and the body of
its 429, shared by the web ACL (infra/cloud/edge.py) and the local edge
(infra/local/waf.py), so both answer alike."""

from typing import Any, Final

from infra.topology import SUBMIT_NUMBER, Route, Topology

# A sustained 1 submission per 3 s per address; a burst of 100 (a shared address,
# the post-deploy contract suite's ≈ 43 POSTs) passes, the API's throttle shaping it.
DEFAULT_RATE_LIMIT: Final = 100
DEFAULT_WINDOW_SECONDS: Final = 300
# The API's own throttle answer (infra/cloud/api.py, THROTTLED), which the web app
# already explains.
RATE_LIMITED_STATUS: Final = 429
RATE_LIMITED_TITLE: Final = "Too Many Requests"


def rate_limited_problem(window_seconds: int) -> dict[str, Any]:
    """The RFC 9457 body of the rate rule's 429."""
    return {
        "type": "about:blank",
        "title": RATE_LIMITED_TITLE,
        "status": RATE_LIMITED_STATUS,
        "detail": f"Too many submissions from your address; retry in {window_seconds} seconds.",
    }


def submit_route(topology: Topology) -> Route:
    """The route the rule counts: the one of the submit function."""
    [route] = [r for r in topology.routes if r.function.name == SUBMIT_NUMBER.name]
    return route
