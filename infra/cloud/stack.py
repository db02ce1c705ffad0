"""One environment of the app: a thin stack that composes the capabilities."""

from typing import Any, Final

import aws_cdk as cdk
from constructs import Construct

from infra.cloud.api import Api
from infra.cloud.backup import Backup, RestoreDrill
from infra.cloud.data import Aggregation, Data
from infra.cloud.edge import web_acl_metrics
from infra.cloud.frontend import Frontend
from infra.cloud.functions import FunctionFactory
from infra.cloud.observability import Observability
from infra.cloud.provider_logs import give_helper_functions_log_groups
from infra.cloud.release import Release
from infra.environments import EnvironmentSettings
from infra.topology import BACKUP, RESTORE_DRILL

STACK_NAME_PREFIX: Final = "PickANumber"
PROJECT_TAG: Final = ("Project", "pick-a-number")
# Activate it once as a cost-allocation tag (Billing console): the budget filters on it.
COST_TAG_KEY: Final = "PickANumberEnv"


def stack_name(env_name: str) -> str:
    return f"{STACK_NAME_PREFIX}-{env_name}"


class PickANumberStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        *,
        settings: EnvironmentSettings,
        web_acl_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        """`web_acl_arn`: the environment's AWS WAF web ACL (infra/cloud/edge.py), if on."""
        super().__init__(
            scope,
            stack_name(settings.name),
            description=f"Pick a Number, environment {settings.name}",
            # Its own bootstrap (`make bootstrap ENV=<env>`): roles no other environment's
            # deploy role may assume (infra/cloud/account.py).
            synthesizer=cdk.DefaultStackSynthesizer(qualifier=settings.qualifier),
            **kwargs,
        )
        # Its one reference to another stack, the web ACL's ARN (WAF on), is weak
        # (`Fn::GetStackOutput`, read when this stack deploys, after the edge stack): no
        # SSM parameter, custom resource or role across regions, and no lock: the edge
        # stack may replace its ACL, or (WAF off) be deleted once this stack no longer
        # names it.
        cdk.CrossStackReferences.of(self).consume(cdk.ReferenceStrength.WEAK)
        cost_tag = (COST_TAG_KEY, settings.name)
        cdk.Tags.of(self).add(*PROJECT_TAG)
        cdk.Tags.of(self).add(*cost_tag)

        self.data = Data(self, "Data", settings=settings)
        table = self.data.table
        functions = FunctionFactory(self, settings, table)
        consumer = self.data.add_aggregator(functions, settings)
        self.api = Api(self, "Api", settings=settings, functions=functions)
        [backup_schedule] = [s for s in settings.schedules if s.function == BACKUP]
        self.backup = Backup(self, "Backup", functions=functions, schedule=backup_schedule)
        drill_schedules = [s for s in settings.schedules if s.function == RESTORE_DRILL]
        self.restore_drill = (
            RestoreDrill(self, "RestoreDrill", functions=functions, schedules=drill_schedules)
            if drill_schedules
            else None
        )
        self.frontend = Frontend(
            self, "Frontend", settings=settings, api=self.api, web_acl_arn=web_acl_arn
        )
        self.observability = self._observability(settings, cost_tag, consumer)

        self.release = Release(
            self,
            "Release",
            settings=settings,
            api_aliases=self.api.aliases,
            consumer_aliases={consumer.function.node.id: consumer.alias},
            api_alarms=self.observability.api_alarms,
        )

        # Last: the functions CDK added inside the constructs above (custom resources).
        give_helper_functions_log_groups(self, settings.log_retention)

        self._outputs()

    def _observability(
        self, settings: EnvironmentSettings, cost_tag: tuple[str, str], consumer: Aggregation
    ) -> Observability:
        observability = Observability(
            self,
            "Observability",
            settings=settings,
            cost_tag=cost_tag,
            stage=self.api.stage,
            functions=[
                *self.api.functions.values(),
                consumer.function,
                self.backup.function,
                *([self.restore_drill.function] if self.restore_drill else []),
            ],
            waf_metrics=web_acl_metrics(settings.name) if settings.waf else (),
            aggregator=consumer.function,
            table=self.data.table,
            # By the prefix of their depth alarms: stream records, then backups.
            dead_letter_queues={
                "Data": consumer.dead_letters,
                "Backup": self.backup.dead_letters,
            },
        )
        if observability.backup_alarm is not None:
            # Created once the first backup exists: no alarm for a new environment.
            observability.backup_alarm.node.add_dependency(self.backup.first_backup)
        return observability

    def _outputs(self) -> None:
        cdk.CfnOutput(self, "SiteUrl", value=f"https://{self.frontend.distribution.domain_name}")
        cdk.CfnOutput(self, "TableName", value=self.data.table.table_name)
        cdk.CfnOutput(self, "DashboardName", value=self.observability.dashboard.dashboard_name)
        cdk.CfnOutput(self, "ReleaseApplication", value=self.release.application.application_name)
