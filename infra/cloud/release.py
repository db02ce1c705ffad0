"""How a new version of the functions reaches traffic.

Each deployment publishes a new version of every function behind an alias (its
`live` alias, infra/cloud/functions.py); the API routes and the stream mapping call
the alias, never the function itself. CloudFormation hands the alias's move to
CodeDeploy (the alias's UpdatePolicy), which shifts traffic as the environment's
`release` setting says: `AllAtOnce` in dev, a canary in prod (10 % for 10 minutes,
then all). While a canary shifts, CodeDeploy watches the release alarms; when one
is in ALARM it stops the deployment and points the alias back at the previous
version (DEPLOYMENT_STOP_ON_ALARM), and CloudFormation fails and rolls back.

The release alarms: for the API's functions, the API's SLO alarms themselves (5xx
rate and p95 latency over one-minute periods, infra/cloud/observability.py): every
failure of an API function is a 5xx answer. For the aggregator, its RecordsFailed:
it reports a failed group's records for retry, which Lambda counts as a successful
invocation, so its `Errors` never see a broken release (they stay on the
dashboard). Sharing the SLO alarms keeps the account's alarms within CloudWatch's
free 10 (docs/COSTS.md). A gradual release must watch the new version longer than
its alarms take to fire: synthesis stops otherwise. Each alarm treats missing data
as not breaching: a new environment (or a quiet night) has no data points, and
CodeDeploy rolls back only on ALARM, so the first deployment of an environment never
rolls back for want of traffic.

CodeDeploy's role is this environment's: an inline policy on its released functions
and the alarms its deployment groups read (not AWS's AWSCodeDeployRoleForLambdaLimited,
which may update any alias of the account), assumed only by CodeDeploy for this
stack's application's deployment groups (aws:SourceAccount, aws:SourceArn).
"""

from collections.abc import Mapping, Sequence
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.cloud.alarms import alarm, minutes_to_fire
from infra.cloud.observability import ONE_MINUTE, records_failed
from infra.environments import EnvironmentSettings, SettingsError

ALL_AT_ONCE: Final = "AllAtOnce"
# What CodeDeploy calls to shift a Lambda alias and watch its alarms (the actions of
# AWSCodeDeployRoleForLambdaLimited, less its S3 AppSpec reads and CodeDeployHook_*
# invocations: CloudFormation hands the AppSpec over, and there are no hooks).
ALIAS_ACTIONS: Final = (
    "lambda:GetAlias",
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:UpdateAlias",
)
# The Service Authorization Reference gives DescribeAlarms the `alarm` resource
# type: the role reads only the alarms its deployment groups name.
ALARM_ACTIONS: Final = ("cloudwatch:DescribeAlarms",)

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
# Minutes a new version runs beside the old one before it takes all traffic: a
# canary's wait, or a linear release's nine steps (10 % more at each).
WATCHED_MINUTES: Final[Mapping[str, int]] = {
    "AllAtOnce": 0,
    "Canary10Percent5Minutes": 5,
    "Canary10Percent10Minutes": 10,
    "Canary10Percent15Minutes": 15,
    "Canary10Percent30Minutes": 30,
    "Linear10PercentEvery1Minute": 9,
    "Linear10PercentEvery2Minutes": 18,
    "Linear10PercentEvery3Minutes": 27,
    "Linear10PercentEvery10Minutes": 90,
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
        consumer_aliases: Mapping[str, lambda_.Alias],
        api_alarms: Sequence[cw.Alarm],
    ) -> None:
        """`api_alarms`: the API's SLO alarms (Observability.api_alarms), which a
        gradual release of an API function watches; `consumer_aliases`: the stream
        consumer's, watched by its RecordsFailed."""
        super().__init__(scope, id)
        self.config = DEPLOYMENT_CONFIGS[settings.release]
        self.gradual = settings.release != ALL_AT_ONCE
        self.application = codedeploy.LambdaApplication(self, "Application")
        alarms_of: dict[str, list[cw.Alarm]] = {name: [] for name in api_aliases}
        alarms_of |= {name: [] for name in consumer_aliases}
        if self.gradual:
            for name in api_aliases:
                alarms_of[name] = list(api_alarms)
            for name in consumer_aliases:
                alarms_of[name] = [self._records_failed_alarm(settings, name)]
            self._check_alarms_fire_in_time(settings, alarms_of)
        aliases = {**api_aliases, **consumer_aliases}
        self.role = self._deployment_role(aliases, alarms_of)
        self.groups = {
            name: self._deployment_group(name, alias, alarms_of[name])
            for name, alias in aliases.items()
        }

    def _records_failed_alarm(self, settings: EnvironmentSettings, name: str) -> cw.Alarm:
        """A release-only alarm (no action: a record reported for retry is retried,
        and lag or dead letters have their SLO alarms)."""
        return alarm(
            self,
            f"{name}RecordsFailed",
            records_failed(settings.name, ONE_MINUTE),
            1,
            f"Release: the {name} function reported records for retry.",
            comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )

    @staticmethod
    def _check_alarms_fire_in_time(
        settings: EnvironmentSettings, alarms_of: Mapping[str, Sequence[cw.Alarm]]
    ) -> None:
        watched = WATCHED_MINUTES[settings.release]
        for alarms in alarms_of.values():
            for found in alarms:
                if minutes_to_fire(found) > watched:
                    raise SettingsError(
                        f"{settings.name}: release {settings.release} watches a new "
                        f"version {watched} minutes, less than {found.node.id} takes to "
                        f"fire ({minutes_to_fire(found):g}): choose a longer canary"
                    )

    def _deployment_role(
        self, aliases: Mapping[str, lambda_.Alias], alarms_of: Mapping[str, Sequence[cw.Alarm]]
    ) -> iam.Role:
        """CodeDeploy's role for this stack's deployment groups: this environment's
        released functions (each function, and its alias) and the groups' alarms."""
        stack = cdk.Stack.of(self)
        # The groups' own ARNs would be a cycle (a group names the role): all groups
        # of this stack's application.
        groups = stack.format_arn(
            service="codedeploy",
            resource="deploymentgroup",
            resource_name=f"{self.application.application_name}/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        functions = [alias.version.lambda_.function_arn for alias in aliases.values()]
        # The alias ARN as a join on the function's: a Ref to the alias would be a
        # cycle (alias -> its UpdatePolicy's deployment group -> role -> alias).
        alias_arns = [
            f"{alias.version.lambda_.function_arn}:{alias.alias_name}" for alias in aliases.values()
        ]
        statements = [
            iam.PolicyStatement(actions=list(ALIAS_ACTIONS), resources=functions + alias_arns)
        ]
        alarm_arns = sorted({found.alarm_arn for alarms in alarms_of.values() for found in alarms})
        if alarm_arns:
            statements.append(
                iam.PolicyStatement(actions=list(ALARM_ACTIONS), resources=alarm_arns)
            )
        return iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal(
                "codedeploy.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": groups},
                },
            ),
            description="CodeDeploy: shifts this environment's live aliases, reads their alarms",
            inline_policies={"ShiftLiveAliases": iam.PolicyDocument(statements=statements)},
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
            # Immutable: CDK would attach AWSCodeDeployRoleForLambdaLimited to it.
            role=self.role.without_policy_updates(),
            alarms=alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True,
                stopped_deployment=True,
                deployment_in_alarm=bool(alarms),
            ),
        )
