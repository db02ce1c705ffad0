"""The one way this app builds a CloudWatch alarm (SLO alarms and release alarms)."""

from typing import Final

from aws_cdk import aws_cloudwatch as cw
from constructs import Construct


def alarm(
    scope: Construct,
    id: str,
    metric: cw.IMetric,
    threshold: float,
    description: str,
    *,
    comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    periods: int = 1,
    breaching: int | None = None,
    missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING,
) -> cw.Alarm:
    """An alarm that fires on `breaching` breaching periods of the last `periods` (by
    default all of them, in a row); by default no data (a new environment, no
    traffic) is no reason to fire."""
    return cw.Alarm(
        scope,
        id,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=periods,
        datapoints_to_alarm=breaching or periods,
        treat_missing_data=missing,
        alarm_description=description,
    )


# CloudWatch's delay before an alarm acts on a minute's data: the metric arrives a
# minute or so after the minute, and the alarm evaluates once a minute after that.
ALARM_DELAY_MINUTES: Final = 3


def minutes_to_fire(found: cw.Alarm) -> float:
    """How long after a failure starts the alarm is in ALARM, at the latest."""
    cfn = found.node.default_child
    assert isinstance(cfn, cw.CfnAlarm)
    period_seconds = cfn.period or 60
    return float(period_seconds * (cfn.datapoints_to_alarm or 1) / 60 + ALARM_DELAY_MINUTES)
