"""What an independent review of the templates against AWS's documented behaviour
found (issue 13, after the third review's fixes).

Each test names the AWS behaviour it encodes; each failed before its fix.
"""

import json
from collections.abc import Iterator
from typing import Any

from tests.support.synth import Synth

API_NAMESPACE = "AWS/ApiGateway"
# The dimension sets API Gateway sends for a REST API without detailed metrics.
FREE_API_DIMENSIONS = ({"ApiName"}, {"ApiName", "Stage"})

# ---- 1. No billed method-level API metrics ------------------------------------------


def dashboard_metrics(synth: Synth) -> Iterator[list[Any]]:
    """Every metric line of the environment's dashboards, e.g.
    ["AWS/ApiGateway", "Count", "ApiName", "pick-a-number-dev", "Stage", "<ref>", {...}].
    The body is a Fn::Join of text and references: each reference becomes a placeholder."""
    for dashboard in synth.of_type("AWS::CloudWatch::Dashboard").values():
        body = dashboard["Properties"]["DashboardBody"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        text = "".join(part if isinstance(part, str) else "REF" for part in parts)
        for widget in json.loads(text)["widgets"]:
            yield from widget.get("properties", {}).get("metrics", [])


def api_dimension_sets(synth: Synth) -> list[set[str]]:
    """The dimension names of every API Gateway metric an alarm or a dashboard reads."""
    found: list[set[str]] = []
    for line in dashboard_metrics(synth):
        if line[0] == API_NAMESPACE:
            names = [item for item in line[2:] if isinstance(item, str)]
            found.append(set(names[0::2]))
    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        metrics = [props] + [
            q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q
        ]
        found += [
            {d["Name"] for d in metric.get("Dimensions", [])}
            for metric in metrics
            if metric.get("Namespace") == API_NAMESPACE
        ]
    return found


def test_no_method_level_api_metrics_are_billed(dev: Synth, prod: Synth) -> None:
    """AWS API Gateway (developer guide, "Set up a stage" and "Amazon API Gateway
    dimensions and metrics"): the ApiName and ApiName+Stage metrics are sent and free
    whatever the settings; the ApiName+Method+Resource+Stage ones are sent only with
    detailed CloudWatch metrics (a method setting's MetricsEnabled, on `/*/*` or on
    one method), and "your account is charged for accessing method-level CloudWatch
    metrics". Every alarm and the dashboard read ApiName(+Stage) only, so no method
    setting turns detailed metrics on; each still repeats the stage's logging."""
    for synth in (dev, prod):
        _, stage = synth.one("AWS::ApiGateway::Stage")
        settings = stage["Properties"]["MethodSettings"]
        assert len(settings) == 1 + len(synth.method_throttles())
        for setting in settings:
            assert setting.get("MetricsEnabled", False) is False, setting
            assert setting["LoggingLevel"] == "ERROR", setting
        dimension_sets = api_dimension_sets(synth)
        assert len(dimension_sets) >= 4  # the dashboard's and the alarms' are read
        for names in dimension_sets:
            assert names in FREE_API_DIMENSIONS, names
