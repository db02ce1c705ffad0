"""AWS WAF at the front door, for an environment whose settings turn it on.

A web ACL that protects CloudFront has the CLOUDFRONT scope, which AWS keeps in
us-east-1 whatever region the app is in: it lives in a stack of its own,
`PickANumber-<env>-edge`, pinned there, and the app stack's distribution takes its ARN
(a cross-region reference: docs/SECURITY.md, "AWS WAF"). Its logs go to a log group in
that region too (WAF logs only to its own region), and its metrics are reported there.

Rules, in the order WAF evaluates them:
0. a rate-based rule per client IP on POST /api/submit-number: first, so it counts every
   submission, whose block answers like the API's throttle (429, a problem, Retry-After);
1-3. AWS's managed groups: IP reputation, known bad inputs, the core rule set (one rule
   of it counted only: see MANAGED_RULE_GROUPS).
"""

import json
from dataclasses import dataclass
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.cloud.api import GATEWAY_PROBLEMS
from infra.environments import EnvironmentSettings, WafSettings
from infra.topology import Route
from infra.waf import rate_limited_problem, submit_route

# CloudFront's web ACLs, their logs and their metrics are all in this region.
EDGE_REGION: Final = "us-east-1"
WAF_METRICS_NAMESPACE: Final = "AWS/WAFV2"
# WAF delivers logs only to a destination whose name starts with this.
LOG_GROUP_PREFIX: Final = "aws-waf-logs-"

RATE_RULE: Final = "SubmitRatePerIp"
RATE_LIMITED_BODY_KEY: Final = "TooManySubmissions"
# The API's own throttle answer (infra/cloud/api.py), which the web app already explains.
# (jsii gives a new ResponseType object on each access: look it up by its name.)
[_THROTTLED] = [
    problem
    for kind, problem in GATEWAY_PROBLEMS.items()
    if kind.response_type == apigw.ResponseType.THROTTLED.response_type
]
# WAF declares a body's type from a fixed list (TEXT_PLAIN, TEXT_HTML, APPLICATION_JSON)
# and refuses a Content-Type response header: problem+json cannot be named, so the
# answer is `application/json` with a problem body (the web app reads any */json).
RATE_LIMITED_CONTENT_TYPE: Final = "APPLICATION_JSON"


@dataclass(frozen=True)
class ManagedGroup:
    name: str
    # Rules of the group set to COUNT (they log and count, never block), with the reason.
    counted: tuple[tuple[str, str], ...] = ()


# docs/SECURITY.md, "AWS WAF", checks every rule of these groups against the app's own
# requests; only one could refuse a request the app would answer itself.
MANAGED_RULE_GROUPS: Final = (
    ManagedGroup("AWSManagedRulesAmazonIpReputationList"),
    ManagedGroup("AWSManagedRulesKnownBadInputsRuleSet"),
    ManagedGroup(
        "AWSManagedRulesCommonRuleSet",
        counted=(
            (
                "SizeRestrictions_BODY",
                "The API refuses bodies over 4 KiB itself with 413 problem+json, tighter "
                "than this rule's 8 KB, whose bare 403 would break the API's contract.",
            ),
        ),
    ),
)


def web_acl_name(environment: str) -> str:
    """Its name is also its metric name, the WebACL dimension of its metrics."""
    return f"pick-a-number-{environment}"


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric_name,
        sampled_requests_enabled=True,
    )


def _matches(
    field: wafv2.CfnWebACL.FieldToMatchProperty,
    value: str,
    *,
    positional: str = "EXACTLY",
    transformation: str = "NONE",
) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=field,
            positional_constraint=positional,
            search_string=value,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type=transformation)
            ],
        )
    )


class WebAcl(Construct):
    """The web ACL, its log group (blocked requests only) and its logging."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
    ) -> None:
        super().__init__(scope, id)
        # What it builds is the environment's own: its WAF settings, its topology's routes.
        assert settings.waf is not None, "an edge stack only for an environment with waf on"
        waf, topology = settings.waf, settings.topology
        name = web_acl_name(settings.name)
        self.acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            description=f"Pick a Number {settings.name} - per-IP submissions and managed rules",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            custom_response_bodies={
                RATE_LIMITED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content=json.dumps(
                        rate_limited_problem(waf.window_seconds), separators=(",", ":")
                    ),
                    content_type=RATE_LIMITED_CONTENT_TYPE,
                )
            },
            rules=[
                self._rate_rule(waf, submit_route(topology)),
                *(
                    self._managed_rule(group, priority)
                    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1)
                ),
            ],
        )
        self.arn = self.acl.attr_arn
        self.log_group = self._logging(settings)

    @staticmethod
    def _rate_rule(waf: WafSettings, route: Route) -> wafv2.CfnWebACL.RuleProperty:
        """At most `rate_limit` submissions per client IP per trailing window."""
        # The path decoded and as a prefix: `/api/submit%2Dnumber` or a trailing slash
        # must not be a way around the count.
        scope_down = wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[
                    _matches(wafv2.CfnWebACL.FieldToMatchProperty(method={}), route.method),
                    _matches(
                        wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                        route.path,
                        positional="STARTS_WITH",
                        transformation="URL_DECODE",
                    ),
                ]
            )
        )
        return wafv2.CfnWebACL.RuleProperty(
            name=RATE_RULE,
            priority=0,
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=waf.rate_limit,
                    evaluation_window_sec=waf.window_seconds,
                    scope_down_statement=scope_down,
                )
            ),
            action=wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=_THROTTLED.status,
                        custom_response_body_key=RATE_LIMITED_BODY_KEY,
                        # Once a client stops, its count is clear after one window.
                        response_headers=[
                            wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                                name="Retry-After", value=str(waf.window_seconds)
                            ),
                            wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                                name="Cache-Control", value="no-store"
                            ),
                        ],
                    )
                )
            ),
            visibility_config=_visibility(RATE_RULE),
        )

    @staticmethod
    def _managed_rule(group: ManagedGroup, priority: int) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=group.name,
            priority=priority,
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name=group.name,
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                        )
                        for rule, _ in group.counted
                    ]
                    or None,
                )
            ),
            # The group's own actions (block), except the rules overridden above.
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            visibility_config=_visibility(group.name),
        )

    def _logging(self, settings: EnvironmentSettings) -> logs.LogGroup:
        """Blocked requests only (allowed ones are in CloudFront's access logs), kept as
        long as the environment's other logs."""
        group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"{LOG_GROUP_PREFIX}{web_acl_name(settings.name)}",
            retention=settings.log_retention,
            # Its name is fixed (WAF's prefix): a group left behind by a deleted stack
            # would make the stack's next creation fail.
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # WAF takes the group's ARN without the ":*" that CloudFormation's Arn ends with.
        destination = cdk.Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=group.log_group_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        wafv2.CfnLoggingConfiguration(  # after the group: the Ref in its ARN says so
            self,
            "Logging",
            resource_arn=self.acl.attr_arn,
            log_destination_configs=[destination],
            logging_filter={
                "DefaultBehavior": "DROP",
                "Filters": [
                    {
                        "Behavior": "KEEP",
                        "Requirement": "MEETS_ANY",
                        "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}],
                    }
                ],
            },
        )
        return group


class EdgeStack(cdk.Stack):
    """`PickANumber-<env>-edge`, in us-east-1: the environment's web ACL."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            id,
            description=f"Pick a Number, environment {settings.name}: AWS WAF for CloudFront",
            synthesizer=cdk.DefaultStackSynthesizer(qualifier=settings.qualifier),
            **kwargs,
        )
        self.web_acl = WebAcl(self, "Waf", settings=settings)


def web_acl_metrics(environment: str) -> list[cw.Metric]:
    """Requests blocked by each rule of the environment's web ACL, read from us-east-1."""
    acl = web_acl_name(environment)
    return [
        cw.Metric(
            namespace=WAF_METRICS_NAMESPACE,
            metric_name="BlockedRequests",
            dimensions_map={"WebACL": acl, "Rule": rule},
            region=EDGE_REGION,
            statistic="Sum",
            period=cdk.Duration.minutes(5),
            label=rule,
        )
        for rule in (RATE_RULE, *(group.name for group in MANAGED_RULE_GROUPS))
    ]
