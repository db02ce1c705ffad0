"""Lambda event filtering: the subset of EventBridge-style patterns the
topology uses — exact values and `prefix` — with EventBridge's semantics:
every key of the pattern must match, a list matches if any element does."""

from collections.abc import Mapping
from typing import Any


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    for key, expected in pattern.items():
        if key not in event:
            return False
        actual = event[key]
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if not any(_matches_value(rule, actual) for rule in expected):
                return False
        else:
            raise ValueError(f"pattern values must be objects or lists, not {expected!r}")
    return True


def _matches_value(rule: Any, actual: Any) -> bool:
    if isinstance(rule, Mapping):
        if set(rule) != {"prefix"}:
            raise ValueError(f"unsupported filter rule {rule!r}: only exact values and prefix")
        return isinstance(actual, str) and actual.startswith(rule["prefix"])
    return bool(rule == actual)
