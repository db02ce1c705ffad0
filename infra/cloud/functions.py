"""The one way this app builds a Lambda function.

Runtime, architecture, tracing and log format are constants here, so no function
can drift from the others. Each function gets its own role (writing to its own
log group, X-Ray, and the table actions the topology declares for it: nothing
more until a construct grants it more), its own log group with the environment's
retention, and the environment the topology derives for it.

The package is the `services/` tree as it is: boto3 comes with the runtime and
Powertools (with fastjsonschema) from the AWS-managed layer whose version is the
one in `uv.lock`, so nothing is bundled and no Docker is needed.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from backup.drill_settings import scratch_prefix
from infra.environments import EnvironmentSettings
from infra.topology import SERVICES_DIR, Function, TablePart, runtime_environment

ROOT: Final = Path(__file__).resolve().parents[2]
LOCK_FILE: Final = ROOT / "uv.lock"

RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE: Final = lambda_.Architecture.ARM_64
LOGGING_FORMAT: Final = lambda_.LoggingFormat.JSON
TRACING: Final = lambda_.Tracing.ACTIVE
# Callers invoke this alias, never the function: a release moves it (infra/cloud/release.py).
LIVE_ALIAS: Final = "live"

# Kept out of every function package: tests, caches and anything not Python.
ASSET_EXCLUDES: Final = [
    "**/__pycache__",
    "**/*.pyc",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
    "**/tests",
    "**/test_*.py",
]


def locked_powertools_version(lock_file: Path = LOCK_FILE) -> str:
    """The aws-lambda-powertools version pinned in uv.lock: the layer must match it."""
    lock = tomllib.loads(lock_file.read_text(encoding="utf-8"))
    for package in lock.get("package", []):
        if package.get("name") == "aws-lambda-powertools":
            return str(package["version"])
    raise LookupError(f"aws-lambda-powertools is not in {lock_file}")


def powertools_layer_parameter(version: str) -> str:
    """The public SSM parameter that AWS publishes per Powertools release, runtime
    and architecture; its value is the layer version ARN in the deploying region
    (AWSLambdaPowertoolsPythonV3-python314-arm64:<n>). Resolved by CloudFormation
    at deploy time, so synthesis needs no AWS account."""
    runtime = RUNTIME.name  # "python3.14"
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{runtime}/{version}"


def leading_keys_condition(prefixes: tuple[str, ...]) -> dict[str, Any] | None:
    """The IAM condition that confines item actions to the items whose partition key
    starts with one of `prefixes` (None: no item restriction).

    `dynamodb:LeadingKeys` holds the partition key values a request touches (a Query's
    one, a PutItem's or UpdateItem's item's, and so each item's inside a transaction,
    which IAM checks as its own PutItem or UpdateItem); AWS requires ForAllValues with
    it. ForAllValues alone also holds for a request with no key at all (a Scan), so the
    Null test demands one."""
    if not prefixes:
        return None
    return {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{p}*" for p in prefixes]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }


@dataclass(frozen=True)
class FunctionFactory:
    """Builds the app's functions inside one stack, sharing the package and the layer."""

    scope: Construct
    settings: EnvironmentSettings
    table: dynamodb.ITable

    def _layer(self) -> lambda_.ILayerVersion:
        stack = cdk.Stack.of(self.scope)
        existing = stack.node.try_find_child("PowertoolsLayer")
        if existing is not None:
            return existing  # type: ignore[return-value]
        arn = ssm.StringParameter.value_for_string_parameter(
            stack, powertools_layer_parameter(locked_powertools_version())
        )
        return lambda_.LayerVersion.from_layer_version_arn(stack, "PowertoolsLayer", arn)

    def function(
        self,
        scope: Construct,
        spec: Function,
        wildcard_reason: str = "",
        tracing: lambda_.Tracing = TRACING,
    ) -> lambda_.Function:
        """One function of the topology, under `scope`, with its role and log group.

        `wildcard_reason` explains any other action of the function that can only be
        granted on Resource '*' (cdk-nag reports all of them as one finding)."""
        log_group = logs.LogGroup(
            scope,
            f"{spec.name}Logs",
            retention=self.settings.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            scope,
            f"{spec.name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{spec.name} function: only what its code calls",
        )
        fn = lambda_.Function(
            scope,
            spec.name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(ROOT / SERVICES_DIR), exclude=ASSET_EXCLUDES),
            layers=[self._layer()],
            memory_size=spec.memory_mb,
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            tracing=tracing,
            logging_format=LOGGING_FORMAT,
            log_group=log_group,
            role=role,
            environment=runtime_environment(spec, self.table.table_name, self.settings.runtime),
        )
        # Only its own log group: no AWSLambdaBasicExecutionRole with logs:* on "*".
        log_group.grant_write(role)
        for grant in spec.table_actions:
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=list(grant.actions),
                    resources=[self._arn(grant.on)],
                    conditions=leading_keys_condition(grant.leading_keys),
                )
            )
        cdk.Validations.of(role).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level "
                "permissions, so active tracing needs Resource '*'." + wildcard_reason,
            )
        )
        return fn

    def _arn(self, part: TablePart) -> str:
        match part:
            case TablePart.TABLE:
                return self.table.table_arn
            case TablePart.BACKUPS:
                return f"{self.table.table_arn}/backup/*"
            case TablePart.ANY:
                return "*"
            case TablePart.SCRATCH_TABLES:
                return scratch_prefix(self.table.table_arn) + "*"

    def live_alias(self, fn: lambda_.Function) -> lambda_.Alias:
        """The function's `live` alias on the version this deployment publishes.

        `current_version` is a new AWS::Lambda::Version whenever the code or the
        configuration changes; moving the alias to it is what a release shifts."""
        return lambda_.Alias(fn, "Live", alias_name=LIVE_ALIAS, version=fn.current_version)
