"""The CloudWatch metrics a function printed as Embedded Metric Format documents."""

import json
from typing import Any


def emitted(out: str) -> list[dict[str, Any]]:
    """The EMF documents Powertools printed."""
    return [
        doc
        for line in out.splitlines()
        if line.startswith("{") and "_aws" in (doc := json.loads(line))
    ]


def metric_values(out: str, name: str) -> list[float]:
    values: list[float] = []
    for doc in emitted(out):
        if name in doc:
            assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PickANumber"
            value = doc[name]
            values.extend(value if isinstance(value, list) else [value])
    return values


def metric_units(out: str) -> dict[str, str]:
    """The unit each emitted metric was declared with, by metric name."""
    return {
        metric["Name"]: metric["Unit"]
        for doc in emitted(out)
        for directive in doc["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
