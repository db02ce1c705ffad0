"""The one way this app builds a CloudWatch alarm (SLO alarms and release alarms)."""

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
    missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING,
) -> cw.Alarm:
    """An alarm that fires after `periods` breaching periods in a row; by default no
    data (a new environment, no traffic) is no reason to fire."""
    return cw.Alarm(
        scope,
        id,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        treat_missing_data=missing,
        alarm_description=description,
    )
