"""AWS WAF in front of an environment whose `waf` setting is on (infra/cloud/edge.py):
the web ACL in its us-east-1 edge stack, its rules, answer and logging, the
distribution's association; and nothing of it when the setting is off."""

import copy
import json
from typing import Any

import aws_cdk as cdk
import aws_cdk.cx_api as cxapi
import pytest
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

from infra.app import REGION_CONTEXT_KEY
from infra.cloud.edge import EDGE_REGION, LOG_GROUP_PREFIX, RATE_RULE, web_acl_name
from infra.cloud.frontend import DISTRIBUTION_LOGICAL_ID
from infra.cloud.stack import COST_TAG_KEY
from infra.environments import (
    ENVIRONMENTS_CONTEXT_KEY,
    EnvironmentSettings,
    SettingsError,
    WafSettings,
)
from tests.support.synth import IGNORED_CFN_LINT_RULES, Synth, cdk_json_context, make_app

APP_REGION = "eu-west-1"
WAF = {"rate_limit": 30, "window_seconds": 120}
MANAGED_GROUPS = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


def with_waf(env: str, waf: Any, **extra: Any) -> dict[str, Any]:
    """Context that turns `waf` on for `env` in cdk.json's environments."""
    environments = copy.deepcopy(cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY])
    environments[env]["waf"] = waf
    return {ENVIRONMENTS_CONTEXT_KEY: environments, **extra}


class Edge:
    """An environment synthesized with WAF on: its app stack and its edge stack."""

    def __init__(self, region: str) -> None:
        self.app_stack = Synth("prod", **with_waf("prod", WAF, **{REGION_CONTEXT_KEY: region}))
        edge = self.app_stack.app.node.find_child(f"{self.app_stack.stack.stack_name}-edge")
        assert isinstance(edge, cdk.Stack)
        self.stack = edge
        self.json: dict[str, Any] = dict(Template.from_stack(edge).to_json())

    def one(self, cfn_type: str) -> tuple[str, dict[str, Any]]:
        [found] = [(k, v) for k, v in self.json["Resources"].items() if v["Type"] == cfn_type]
        return found

    @property
    def acl(self) -> tuple[str, dict[str, Any]]:
        logical_id, acl = self.one("AWS::WAFv2::WebACL")
        return logical_id, acl["Properties"]

    def rule(self, name: str) -> dict[str, Any]:
        rules: list[dict[str, Any]] = self.acl[1]["Rules"]
        [rule] = [r for r in rules if r["Name"] == name]
        return rule


@pytest.fixture(scope="module")
def edge() -> Edge:
    return Edge(APP_REGION)


@pytest.fixture(scope="module")
def edge_same_region() -> Edge:
    return Edge(EDGE_REGION)


def test_the_web_acl_has_cloudfront_scope_in_us_east_1_and_allows_by_default(edge: Edge):
    _, acl = edge.acl
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["Name"] == web_acl_name("prod")
    # The environment's budget filters on its cost tag.
    assert {"Key": COST_TAG_KEY, "Value": "prod"} in acl["Tags"]
    assert edge.stack.region == EDGE_REGION
    assert edge.app_stack.stack.region == APP_REGION


def test_the_rate_rule_counts_each_client_ip_on_post_submit_number_first(edge: Edge):
    rule = edge.rule(RATE_RULE)
    # First: it counts every submission, even one another rule blocks after it.
    assert rule["Priority"] == 0
    assert min(r["Priority"] for r in edge.acl[1]["Rules"]) == 0
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"
    assert statement["Limit"] == WAF["rate_limit"]
    assert statement["EvaluationWindowSec"] == WAF["window_seconds"]
    method, path = (
        s["ByteMatchStatement"]
        for s in statement["ScopeDownStatement"]["AndStatement"]["Statements"]
    )
    assert method["FieldToMatch"] == {"Method": {}}
    assert (method["PositionalConstraint"], method["SearchString"]) == ("EXACTLY", "POST")
    assert path["FieldToMatch"] == {"UriPath": {}}
    assert (path["PositionalConstraint"], path["SearchString"]) == (
        "STARTS_WITH",
        "/api/submit-number",
    )
    assert path["TextTransformations"] == [{"Priority": 0, "Type": "URL_DECODE"}]


def test_a_rate_limited_client_gets_the_apis_429_problem_with_retry_after(edge: Edge):
    response = edge.rule(RATE_RULE)["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    headers = {h["Name"]: h["Value"] for h in response["ResponseHeaders"]}
    assert headers["Retry-After"] == str(WAF["window_seconds"])
    body = edge.acl[1]["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    # WAF can only declare JSON, not problem+json (the web app reads any */json).
    assert body["ContentType"] == "APPLICATION_JSON"
    problem = json.loads(body["Content"])
    assert problem["status"] == 429
    assert problem["type"] == "about:blank"
    assert f"{WAF['window_seconds']} seconds" in problem["detail"]
    # The same title as the API's own throttle answer, which the web app explains.
    _, throttled = edge.app_stack.one(
        "AWS::ApiGateway::GatewayResponse", lambda p: p["ResponseType"] == "THROTTLED"
    )
    api_problem = json.loads(throttled["Properties"]["ResponseTemplates"]["application/json"])
    assert problem["title"] == api_problem["title"]
    assert throttled["Properties"]["StatusCode"] == "429"


def test_the_three_managed_groups_block_except_the_body_size_rule(edge: Edge):
    groups = {
        r["Name"]: r for r in edge.acl[1]["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert set(groups) == MANAGED_GROUPS
    for name, rule in groups.items():
        statement = rule["Statement"]["ManagedRuleGroupStatement"]
        assert (statement["VendorName"], statement["Name"]) == ("AWS", name)
        assert rule["OverrideAction"] == {"None": {}}
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
        counted = {o["Name"]: o["ActionToUse"] for o in statement.get("RuleActionOverrides", [])}
        if name == "AWSManagedRulesCommonRuleSet":
            # The API's own 413 answers bodies over 4 KiB (docs/SECURITY.md).
            assert counted == {"SizeRestrictions_BODY": {"Count": {}}}
        else:
            assert counted == {}


@pytest.mark.parametrize("fixture", ["edge", "edge_same_region"])
def test_the_distribution_reads_the_acls_arn_from_the_edge_stacks_output(
    fixture: str, request: pytest.FixtureRequest
):
    """A weak reference (infra/cloud/stack.py), in us-east-1 or across regions: no export
    that would lock the ACL, no SSM parameter, custom resource or role to carry it."""
    edge: Edge = request.getfixturevalue(fixture)
    acl_id, _ = edge.acl
    web_acl = edge.app_stack.resources[DISTRIBUTION_LOGICAL_ID]["Properties"]["DistributionConfig"][
        "WebACLId"
    ]
    reference = web_acl["Fn::GetStackOutput"]
    assert reference["StackName"] == edge.stack.stack_name
    assert reference["Region"] == EDGE_REGION
    output = edge.json["Outputs"][reference["OutputName"]]
    assert output == {"Value": {"Fn::GetAtt": [acl_id, "Arn"]}}  # no Export
    for template in (edge.json, edge.app_stack.json):
        kinds = {r["Type"] for r in template["Resources"].values()}
        assert not {k for k in kinds if k.startswith("Custom::CrossRegion")}
    assert {r["Type"] for r in edge.json["Resources"].values()} == {
        "AWS::WAFv2::WebACL",
        "AWS::Logs::LogGroup",
        "AWS::WAFv2::LoggingConfiguration",
    }
    # deployed first, so that its output exists when the app stack reads it
    assert edge.stack in edge.app_stack.stack.dependencies


def test_blocked_requests_are_logged_with_the_environments_retention(edge: Edge):
    acl_id, _ = edge.acl
    group_id, group = edge.one("AWS::Logs::LogGroup")
    assert group["Properties"]["LogGroupName"].startswith(LOG_GROUP_PREFIX)
    assert group["Properties"]["RetentionInDays"] == 90  # prod's log_retention_days
    _, logging = edge.one("AWS::WAFv2::LoggingConfiguration")
    props = logging["Properties"]
    assert props["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    [destination] = props["LogDestinationConfigs"]
    parts = destination["Fn::Join"][1]
    assert {"Ref": group_id} == parts[-1]
    assert ":log-group:" in parts[-2]  # the group's ARN, without CloudFormation's ":*"
    assert props["LoggingFilter"] == {
        "DefaultBehavior": "DROP",
        "Filters": [
            {
                "Behavior": "KEEP",
                "Requirement": "MEETS_ANY",
                "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}],
            }
        ],
    }


def test_the_dashboard_shows_what_each_rule_blocks(edge: Edge):
    _, dashboard = edge.app_stack.one("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "AWS/WAFV2" in body
    assert EDGE_REGION in body
    for rule in (RATE_RULE, *MANAGED_GROUPS):
        assert rule in body


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_with_waf_off_there_is_nothing_of_it(env: str, request: pytest.FixtureRequest):
    synth: Synth = request.getfixturevalue(env)
    assert not [k for k, v in synth.resources.items() if v["Type"].startswith("AWS::WAFv2::")]
    assert (
        "WebACLId"
        not in synth.resources[DISTRIBUTION_LOGICAL_ID]["Properties"]["DistributionConfig"]
    )
    assert [s.node.id for s in synth.app.node.children if isinstance(s, cdk.Stack)] == [
        synth.stack.stack_name
    ]
    _, dashboard = synth.one("AWS::CloudWatch::Dashboard")
    assert "AWS/WAFV2" not in json.dumps(dashboard["Properties"]["DashboardBody"])


def _acknowledged(synth: Synth) -> set[str]:
    distribution = synth.stack.node.find_child("Frontend").node.find_child("Distribution")
    return {
        rule.removeprefix("Annotation::")
        for entry in distribution.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule in dict(entry.data)
    }


def test_cdk_nag_cfr2_is_resolved_with_waf_and_acknowledged_without(edge: Edge, prod: Synth):
    assert "AwsSolutions-CFR2" not in _acknowledged(edge.app_stack)
    assert "AwsSolutions-CFR2" in _acknowledged(prod)


@pytest.mark.parametrize("region", [APP_REGION, EDGE_REGION])
def test_cdk_nag_is_clean_with_waf_on(region: str):
    app, _ = make_app("prod", nag=True, **with_waf("prod", WAF, **{REGION_CONTEXT_KEY: region}))
    try:
        assembly = app.synth()
    except Exception as error:  # the report lists every finding
        pytest.fail(f"cdk-nag findings with waf on in {region}:\n{error}")
    # Nor any CDK warning (the cross-stack reference's strength is explicit).
    warnings = [
        f"{stack.stack_name}: {message.entry.data}"
        for stack in assembly.stacks
        for message in stack.messages
        if message.level != cxapi.SynthesisMessageLevel.INFO
    ]
    assert not warnings


def test_cfn_lint_is_clean_on_both_stacks(edge: Edge):
    for template, region in ((edge.json, EDGE_REGION), (edge.app_stack.json, APP_REGION)):
        config = ManualArgs(regions=[region], ignore_checks=sorted(IGNORED_CFN_LINT_RULES))
        findings = lint(json.dumps(template), config=config)
        assert not findings, "\n".join(str(m) for m in findings)


@pytest.mark.parametrize(
    ("waf", "problem"),
    [
        ({"rate_limit": 9}, "waf.rate_limit must be an integer of at least 10"),
        ({"rate_limit": "30"}, "waf.rate_limit must be an integer"),
        ({"window_seconds": 90}, r"waf.window_seconds must be one of \[60, 120, 300, 600\]"),
        ({"rate_limit": 30, "limit": 30}, r"unknown waf settings \['limit'\]"),
        ("on", "waf must be a map, true or false"),
        # prod's submit throttle is 2/s: 120 in 60 s would let one client take all of it
        (
            {"rate_limit": 120, "window_seconds": 60},
            "must stay below the submit route's rate_per_second 2/s",
        ),
    ],
)
def test_synthesis_refuses_invalid_waf_settings(waf: Any, problem: str):
    with pytest.raises(SettingsError, match=problem):
        make_app("prod", **with_waf("prod", waf, **{REGION_CONTEXT_KEY: APP_REGION}))


def test_true_turns_waf_on_with_its_defaults_and_false_or_null_leaves_it_off():
    assert EnvironmentSettings.from_mapping("dev", {"waf": True}).waf == WafSettings()
    for off in (False, None):
        app, _ = make_app("dev", **with_waf("dev", off))
        assert len([s for s in app.node.children if isinstance(s, cdk.Stack)]) == 1


def test_waf_needs_an_explicit_region(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    with pytest.raises(SettingsError, match="-c region=<region>"):
        make_app("prod", **with_waf("prod", WAF))
    monkeypatch.setenv("CDK_DEFAULT_REGION", APP_REGION)
    _, stack = make_app("prod", **with_waf("prod", WAF))
    assert stack.region == APP_REGION
