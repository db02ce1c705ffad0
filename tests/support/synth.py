"""The CDK app synthesized in a test: an environment's stack, template and helpers.

No Docker, no AWS account: bundling is skipped and the stacks are environment-agnostic
(tests/infra/conftest.py clears the CLI's default account and region).
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.app import build
from infra.cloud.account import STACK_NAME as ACCOUNT_STACK_NAME
from infra.cloud.account import AccountSettings, AccountStack
from infra.cloud.functions import LIVE_ALIAS
from infra.cloud.stack import PickANumberStack
from infra.topology import TOPOLOGY, Topology

ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = ROOT / "cdk.json"
ALARM_EMAIL = "alarms@example.com"
# The load docs/COSTS.md prices, a month: 1M picks and 3M page views.
DESIGN_PICKS = 1_000_000
DESIGN_PAGE_VIEWS = 3_000_000

# W3005 "DependsOn already enforced by a GetAtt": CDK adds an explicit DependsOn
# from each function to its role's default policy on purpose (the policy must
# exist before the function runs); the duplicate edge is harmless.
IGNORED_CFN_LINT_RULES: Final = {"W3005"}


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def make_app(
    env: str, *, nag: bool = False, topology: Topology = TOPOLOGY, **extra: Any
) -> tuple[cdk.App, PickANumberStack]:
    context = {
        **cdk_json_context(),
        "aws:cdk:bundling-stacks": [],
        "env": env,
        **extra,
    }
    app = cdk.App(context=context)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, build(app, topology)


class Synth:
    """One synthesized environment: its stack, template and assertions helper."""

    def __init__(self, env: str, topology: Topology = TOPOLOGY, /, **extra: Any) -> None:
        self.app, self.stack = make_app(env, topology=topology, email=ALARM_EMAIL, **extra)
        self.template = Template.from_stack(self.stack)
        self.json: dict[str, Any] = dict(self.template.to_json())

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.json["Resources"]
        return resources

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def one(self, cfn_type: str, where: Callable[[dict[str, Any]], bool] = lambda _: True) -> Any:
        found = [
            (k, v) for k, v in self.of_type(cfn_type).items() if where(v.get("Properties", {}))
        ]
        assert len(found) == 1, f"expected one {cfn_type}, found {[k for k, _ in found]}"
        return found[0]

    def logical_id(self, construct: Any) -> str:
        cfn = construct.node.default_child
        return str(self.stack.resolve(cfn.logical_id))

    def method_throttles(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The stage's per-method settings, keyed by (HTTP method, resource path)."""
        _, stage = self.one("AWS::ApiGateway::Stage")
        return {
            # API Gateway escapes '/' as '~1' in a method setting's path: "/~1api~1…"
            (s["HttpMethod"], s["ResourcePath"][1:].replace("~1", "/")): s
            for s in stage["Properties"]["MethodSettings"]
            if s["ResourcePath"] != "/*"
        }

    def live_alias_function(self, reference: Any) -> str:
        """The function behind a `live` alias that `reference` names (an alias ARN Ref, or
        the `<function>:live` join CDK writes for an event source mapping)."""
        text = json.dumps(reference)
        [alias_id] = [
            logical_id
            for logical_id in self.of_type("AWS::Lambda::Alias")
            if f'{{"Ref": "{logical_id}"}}' in text
        ]
        alias = self.resources[alias_id]["Properties"]
        assert alias["Name"] == LIVE_ALIAS
        if "Fn::Select" in text:  # <function name>:live, the name taken from the alias ARN
            assert reference["Fn::Join"][1][-1] == f":{LIVE_ALIAS}"
        function_id: str = alias["FunctionName"]["Ref"]
        return function_id

    def alarm_metrics(self) -> int:
        """CloudWatch bills an alarm per metric it evaluates (a metric-math alarm counts
        every metric of its expression); composite alarms are billed apart (none here)."""
        count = 0
        for alarm in self.of_type("AWS::CloudWatch::Alarm").values():
            props = alarm["Properties"]
            assert props.get("Period", 60) >= 60, "high-resolution alarms are never free"
            if "MetricName" in props:
                count += 1
            count += sum(1 for query in props.get("Metrics", []) if "MetricStat" in query)
        return count


def statements_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """An IAM policy document's statements (one may stand alone)."""
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def as_list(value: Any) -> list[Any]:
    """An IAM field that holds one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def synth_with(env: str, **settings: Any) -> Synth:
    """The environment synthesized with some of its cdk.json settings changed."""
    environments: dict[str, Any] = json.loads(
        json.dumps(cdk_json_context()["pick-a-number:environments"])
    )
    environments[env] |= settings
    return Synth(env, **{"pick-a-number:environments": environments})


def account_assembly() -> tuple[dict[str, Any], dict[str, Any]]:
    """(the cloud assembly's artifacts, the account stack's template), from cdk.json."""
    app = cdk.App(
        context={
            **cdk_json_context(),
            "aws:cdk:bundling-stacks": [],
            "pick-a-number:github": {"owner": "example-org", "repo": "pick-a-number"},
        }
    )
    AccountStack(app, settings=AccountSettings.from_context(app.node))
    assembly = app.synth()
    manifest = json.loads(Path(assembly.directory, "manifest.json").read_text())
    artifacts: dict[str, Any] = manifest["artifacts"]
    template: dict[str, Any] = assembly.get_stack_by_name(ACCOUNT_STACK_NAME).template
    return artifacts, template
