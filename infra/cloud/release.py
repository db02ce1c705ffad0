"""How a new version of the functions reaches traffic.

Each deployment publishes a new version of every function behind an alias (its
`live` alias, infra/cloud/functions.py); the API routes and the stream mapping call
the alias, never the function itself. CloudFormation hands the alias's move to
CodeDeploy (the alias's UpdatePolicy), which shifts traffic as the environment's
`release` setting says: `AllAtOnce` in dev, a canary in prod (10 % for 5 minutes,
then all). While a canary shifts, CodeDeploy watches the release alarms; when one
is in ALARM it stops the deployment and points the alias back at the previous
version (DEPLOYMENT_STOP_ON_ALARM), and CloudFormation fails and rolls back.

The release alarms are short, one- or two-minute alarms (the SLO alarms of
Observability look at 15 minutes, longer than a canary): for the API's functions,
the stage's 5xx rate and p95 latency (every failure of an API function is a 5xx
answer); for the aggregator, its errors through the alias. Three alarms, so the
account's alarms stay within CloudWatch's free 10 (docs/COSTS.md). Each treats
missing data as not breaching: a new environment (or a quiet night) has no data
points, and CodeDeploy rolls back only on ALARM, so the first deployment of an
environment never rolls back for want of traffic.
"""

from collections.abc import Mapping
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.cloud.alarms import alarm
from infra.cloud.observability import API_5XX_RATE_THRESHOLD, API_P95_LATENCY_MS
from infra.environments import EnvironmentSettings

ONE_MINUTE: Final = cdk.Duration.minutes(1)
ALL_AT_ONCE: Final = "AllAtOnce"
CODEDEPLOY_POLICY: Final = (
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited"
)

# The `release` settings (infra/environments.py) -> CodeDeploy's predefined Lambda configs.
_CONFIG: Final = codedeploy.LambdaDeploymentConfig
DEPLOYMENT_CONFIGS: Final[Mapping[str, codedeploy.ILambdaDeploymentConfig]] = {
    "AllAtOnce": _CONFIG.ALL_AT_ONCE,
    "Canary10Percent5Minutes": _CONFIG.CANARY_10_PERCENT_5_MINUTES,
    "Canary10Percent10Minutes": _CONFIG.CANARY_10_PERCENT_10_MINUTES,
    "Canary10Percent15Minutes": _CONFIG.CANARY_10_PERCENT_15_MINUTES,
    "Canary10Percent30Minutes": _CONFIG.CANARY_10_PERCENT_30_MINUTES,
    "Linear10PercentEvery1Minute": _CONFIG.LINEAR_10_PERCENT_EVERY_1_MINUTE,
    "Linear10PercentEvery2Minutes": _CONFIG.LINEAR_10_PERCENT_EVERY_2_MINUTES,
    "Linear10PercentEvery3Minutes": _CONFIG.LINEAR_10_PERCENT_EVERY_3_MINUTES,
    "Linear10PercentEvery10Minutes": _CONFIG.LINEAR_10_PERCENT_EVERY_10_MINUTES,
}


class Release(Construct):
    """One CodeDeploy application; per released alias a deployment group.

    An all-at-once release has no alarms: CodeDeploy moves all traffic in one step and
    the deployment is over before an alarm could act (the SLO alarms still watch).
    A gradual one (canary, linear) gets the release alarms."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        api_aliases: Mapping[str, lambda_.Alias],
        other_aliases: Mapping[str, lambda_.Alias],
        rest_api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, id)
        self.config = DEPLOYMENT_CONFIGS[settings.release]
        self.gradual = settings.release != ALL_AT_ONCE
        self.application = codedeploy.LambdaApplication(self, "Application")
        self.role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description="CodeDeploy: shifts the functions' live aliases, reads the alarms",
        )
        api_alarms = self._api_alarms(settings, rest_api) if self.gradual else []
        self.groups: dict[str, codedeploy.LambdaDeploymentGroup] = {}
        for name, alias in {**api_aliases, **other_aliases}.items():
            alarms: list[cw.Alarm] = []
            if name in api_aliases:
                # An API function's failure is an answer: a 5xx (502 when it crashes or
                # times out, 500 for an unhandled error), so the stage's rate catches it.
                alarms = api_alarms
            elif self.gradual:
                alarms = [
                    alarm(
                        self,
                        f"{name}Errors",
                        alias.metric_errors(period=ONE_MINUTE, statistic="Sum"),
                        1,
                        f"Release: the {name} function failed through its alias.",
                        comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    )
                ]
            self.groups[name] = self._deployment_group(name, alias, alarms)
        cdk.Validations.of(self.role).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM4[Policy::{CODEDEPLOY_POLICY}]",
                reason="AWS's policy for CodeDeploy's Lambda deployments, scoped by AWS to "
                "updating aliases, reading alarms and invoking CodeDeployHook_* functions.",
            )
        )

    def _deployment_group(
        self, name: str, alias: lambda_.Alias, alarms: list[cw.Alarm]
    ) -> codedeploy.LambdaDeploymentGroup:
        """Shifts `alias` as the release says; rolls back on a failure or an alarm."""
        return codedeploy.LambdaDeploymentGroup(
            self,
            f"{name}Deployment",
            application=self.application,
            alias=alias,
            deployment_config=self.config,
            role=self.role,
            alarms=alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True,
                stopped_deployment=True,
                deployment_in_alarm=bool(alarms),
            ),
        )

    def _api_alarms(self, settings: EnvironmentSettings, rest_api: apigw.RestApi) -> list[cw.Alarm]:
        """The stage's 5xx rate and p95 latency. The stage is named after the environment
        (infra/cloud/api.py); a literal, since a Ref to the stage would be a cycle (stage ->
        deployment -> method -> alias -> deployment group -> alarm -> stage)."""
        dimensions = {"ApiName": rest_api.rest_api_name, "Stage": settings.name}

        def metric(name: str, statistic: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/ApiGateway",
                metric_name=name,
                dimensions_map=dimensions,
                period=ONE_MINUTE,
                statistic=statistic,
            )

        return [
            alarm(
                self,
                "Api5xx",
                metric("5XXError", "Average"),
                API_5XX_RATE_THRESHOLD,
                "Release: more than 1% of the API's requests failed with a 5xx in a minute.",
            ),
            alarm(
                self,
                "ApiLatencyP95",
                metric("Latency", "p95"),
                API_P95_LATENCY_MS,
                f"Release: API p95 latency above {API_P95_LATENCY_MS} ms two minutes running.",
                # Two minutes: one minute of a quiet API can be a single cold start.
                periods=2,
            ),
        ]
