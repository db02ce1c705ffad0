"""The HTTP API: a regional REST API built from the topology's routes.

Only CloudFront may call it: every method requires an API key, and CloudFront
sends the key as a custom origin header. API Gateway generates the key's value
(an ApiKey without a Value), a custom resource reads it at deploy time
(apigateway:GET with includeValue, response not logged) and hands it to
CloudFront: it is in no template, output or repository, and no paid service (WAF,
Secrets Manager) holds it. It is an origin lock, not user authentication: anyone
who can read the API key or the distribution's config in the account can read it.
Rotate it by raising `origin_key_generation` (docs/DEPLOY.md).
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.cloud.functions import FunctionFactory
from infra.environments import EnvironmentSettings
from infra.topology import Route
from shared.http import JSON_CONTENT_TYPE, PROBLEM_CONTENT_TYPE
from shared.schemas import JsonSchema

API_KEY_HEADER: Final = "x-api-key"
# The stage's execution logging and metrics, for every method alike. Detailed
# (method-level) metrics stay off: API Gateway bills them, and the alarms and the
# dashboard read the free ApiName + Stage metrics, sent without them.
STAGE_DETAILED_METRICS: Final = False
STAGE_LOGGING_LEVEL: Final = apigw.MethodLoggingLevel.ERROR
STAGE_DATA_TRACE: Final = False  # request and response bodies would carry the picks
# The method API Gateway falls back on when a resource has no method of the request's
# verb: a MOCK integration there answers 405 (no Lambda runs).
FALLBACK_METHOD: Final = "ANY"


@dataclass(frozen=True)
class GatewayProblem:
    """A rejection API Gateway answers itself, in the functions' problem+json shape."""

    status: int
    title: str
    detail: str  # a JSON value: a quoted string or an API Gateway variable
    headers: tuple[tuple[str, str], ...] = ()

    def template(self) -> str:
        return (
            '{"type":"about:blank",'
            f'"title":{json.dumps(self.title)},'
            f'"status":{self.status},'
            f'"detail":{self.detail}}}'
        )


def _text(detail: str) -> str:
    return json.dumps(detail)


# $context.error.messageString is API Gateway's own message, already JSON-quoted.
_MESSAGE: Final = "$context.error.messageString"
# $context.error.validationErrorString is the model validator's findings as one unquoted
# list whose inner quotes arrive backslash-escaped, e.g.
#   [object has missing required properties ([\"number\"]), instance value (11) greater
#   than maximum allowed (10)]
# so it belongs inside a JSON string. Gateway response templates are plain substitution
# (no VTL, no $util.escapeJavaScript), so nothing else can escape it.
VALIDATION_ERRORS: Final = "$context.error.validationErrorString"
_BODY_DETAIL: Final = f'"The body does not match the request schema: {VALIDATION_ERRORS}"'

GATEWAY_PROBLEMS: Final[dict[apigw.ResponseType, GatewayProblem]] = {
    # Names the offending fields in the validator's words (the function's own, more
    # detailed errors are never reached for a body the model rejects).
    apigw.ResponseType.BAD_REQUEST_BODY: GatewayProblem(400, "Bad Request", _BODY_DETAIL),
    apigw.ResponseType.BAD_REQUEST_PARAMETERS: GatewayProblem(400, "Bad Request", _MESSAGE),
    # An unknown route: API Gateway says 403 "Missing Authentication Token".
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: GatewayProblem(
        404, "Not Found", _text("There is no such resource or method.")
    ),
    apigw.ResponseType.RESOURCE_NOT_FOUND: GatewayProblem(404, "Not Found", _MESSAGE),
    apigw.ResponseType.THROTTLED: GatewayProblem(
        429, "Too Many Requests", _text("Too many requests; retry later."), (("Retry-After", "1"),)
    ),
    apigw.ResponseType.QUOTA_EXCEEDED: GatewayProblem(
        429, "Too Many Requests", _MESSAGE, (("Retry-After", "60"),)
    ),
    apigw.ResponseType.REQUEST_TOO_LARGE: GatewayProblem(413, "Content Too Large", _MESSAGE),
    apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE: GatewayProblem(
        415, "Unsupported Media Type", _MESSAGE
    ),
    # Without CloudFront's key: a direct call to execute-api.
    apigw.ResponseType.INVALID_API_KEY: GatewayProblem(403, "Forbidden", _MESSAGE),
    apigw.ResponseType.ACCESS_DENIED: GatewayProblem(403, "Forbidden", _MESSAGE),
    apigw.ResponseType.INTEGRATION_FAILURE: GatewayProblem(504, "Gateway Timeout", _MESSAGE),
    apigw.ResponseType.INTEGRATION_TIMEOUT: GatewayProblem(504, "Gateway Timeout", _MESSAGE),
    apigw.ResponseType.API_CONFIGURATION_ERROR: GatewayProblem(
        500, "Internal Server Error", _MESSAGE
    ),
    # Every other 4xx / 5xx type: one status, so that body and status line agree.
    # 400, as its body says: this overrides the status of every 4XX type not listed above.
    apigw.ResponseType.DEFAULT_4_XX: GatewayProblem(400, "Bad Request", _MESSAGE),
    apigw.ResponseType.DEFAULT_5_XX: GatewayProblem(502, "Bad Gateway", _MESSAGE),
}

ACCESS_LOG_FIELDS: Final = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    # Why the integration failed (a 502's cause); the local gateway's line names it alike.
    "integrationErrorMessage": "$context.integration.error",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
    "sourceIp": "$context.identity.sourceIp",  # CloudFront's edge: client IPs are in its logs
    "userAgent": "$context.identity.userAgent",
}


def api_gateway_model(schema: JsonSchema) -> JsonSchema:
    """A shared request schema as an API Gateway model (draft 4, the same constraints)."""
    model = dict(schema)
    model.setdefault("$schema", "http://json-schema.org/draft-04/schema#")
    return model


def query_parameters(route: Route) -> dict[str, bool]:
    """Method request parameters: the query schema's properties and the route's headers."""
    params: dict[str, bool] = {}
    if route.query_schema:
        required = set(route.query_schema.get("required", []))
        for name in route.query_schema.get("properties", {}):
            params[f"method.request.querystring.{name}"] = name in required
    for header in route.headers:
        params[f"method.request.header.{header.name}"] = False
    return params


# API Gateway validates a body against the method's model for its media type, and none
# for a type without one, unless a model is declared for this key: every other type.
DEFAULT_MODEL_CONTENT_TYPE: Final = "$default"
METHOD_NOT_ALLOWED: Final = 405
# A MOCK integration answers the status its request template renders, and API Gateway
# picks the template by the request's Content-Type: a type without one is refused with
# 415 (passthrough NEVER) or handed to the mock as it is (WHEN_NO_MATCH), which then
# finds no statusCode in it and fails (500). So every media type a client sends a body
# in gets the 405 template: JSON, the three a browser form or fetch sends without a
# preflight, XML and raw bytes. Only a rarer type is still refused with 415.
MOCK_REQUEST_MEDIA_TYPES: Final = (
    JSON_CONTENT_TYPE,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "text/xml",
    "application/octet-stream",
)


def api_name(environment: str) -> str:
    """The REST API's name: one per environment, so no two share CloudWatch metrics."""
    return f"pick-a-number-{environment}"


def allowed_methods(routes: Sequence[Route]) -> dict[str, list[str]]:
    """Each route path -> its methods, sorted (the `Allow` header)."""
    found: dict[str, list[str]] = defaultdict(list)
    for route in routes:
        found[route.path].append(route.method)
    return {path: sorted(methods) for path, methods in found.items()}


def method_not_allowed_body(path: str) -> str:
    """The 405 problem in shared.http's shape; a VTL template ($context.httpMethod)."""
    return (
        '{"type":"about:blank","title":"Method Not Allowed",'
        f'"status":{METHOD_NOT_ALLOWED},'
        f'"detail":{json.dumps(f"{path} does not support $context.httpMethod.")}}}'
    )


def _acknowledge(construct: Construct, *findings: tuple[str, str]) -> None:
    """Acknowledge cdk-nag findings (rule id, why it does not apply) on `construct`."""
    for finding_id, reason in findings:
        cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


class Api(Construct):
    """The REST API, its stage, usage plan, validators, models and gateway responses."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        functions: FunctionFactory,
    ) -> None:
        super().__init__(scope, id)
        self.settings = settings
        self.routes = settings.topology.routes
        self.rest_api = self._rest_api(settings)
        self.stage = self.rest_api.deployment_stage
        self.execution_logs = self._execution_log_group(settings)
        self._add_gateway_responses()
        self.functions: dict[str, lambda_.Function] = {}
        # What the routes call: each function's `live` alias (infra/cloud/release.py).
        self.aliases: dict[str, lambda_.Alias] = {}
        self._add_routes(functions)
        self._add_origin_key()
        self._acknowledge_public_api()

    def _rest_api(self, settings: EnvironmentSettings) -> apigw.RestApi:
        """The API and its stage: named per environment, access logs, throttles."""
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=settings.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # Each route's own throttle, within the table's capacity (infra/environments.py
        # checks it). A method setting replaces the stage's `/*/*` one for its method:
        # what it leaves out (logging) is off, so it repeats the stage's.
        method_options = {
            f"{route.path}/{route.method}": apigw.MethodDeploymentOptions(
                metrics_enabled=STAGE_DETAILED_METRICS,
                logging_level=STAGE_LOGGING_LEVEL,
                data_trace_enabled=STAGE_DATA_TRACE,
                throttling_rate_limit=settings.throttle(route).rate_per_second,
                throttling_burst_limit=settings.throttle(route).burst,
            )
            for route in self.routes
        }
        return apigw.RestApi(
            self,
            "RestApi",
            # API Gateway's metrics are keyed by this name (ApiName) and the stage.
            rest_api_name=api_name(settings.name),
            description=f"Pick a Number API ({settings.name}); reached through CloudFront only",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The account-level CloudWatch role belongs to the one-time account stack.
            cloud_watch_role=False,
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            deploy_options=apigw.StageOptions(
                stage_name=settings.name,
                tracing_enabled=True,
                metrics_enabled=STAGE_DETAILED_METRICS,
                logging_level=STAGE_LOGGING_LEVEL,
                data_trace_enabled=STAGE_DATA_TRACE,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                throttling_rate_limit=settings.api_throttle.rate_per_second,
                throttling_burst_limit=settings.api_throttle.burst,
                method_options=method_options,
            ),
        )

    def _execution_log_group(self, settings: EnvironmentSettings) -> logs.LogGroup:
        """The stage's execution log group, which API Gateway would otherwise create on
        its first log line, outside the stack and never expiring. Its name is API
        Gateway's own (the API's id and the stage's name); made before the stage, so
        API Gateway finds it, and deleted with the stack."""
        group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=(
                f"API-Gateway-Execution-Logs_{self.rest_api.rest_api_id}/{settings.name}"
            ),
            retention=settings.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.stage.node.add_dependency(group)
        return group

    def _acknowledge_public_api(self) -> None:
        _acknowledge(
            self.rest_api,
            (
                "AwsSolutions-APIG3",
                "WAF is not in the free tier; stage, method and usage-plan throttling and "
                "CloudFront's shield standard protect the API instead.",
            ),
            (
                "AwsSolutions-APIG4",
                "The API is public and anonymous by design (anyone may pick a number); the "
                "required API key only proves that the call came through CloudFront.",
            ),
            (
                "AwsSolutions-COG4",
                "No user accounts exist in this app, so there is no Cognito user pool to "
                "authorize against.",
            ),
        )

    def _add_gateway_responses(self) -> None:
        for response_type, problem in GATEWAY_PROBLEMS.items():
            headers = {
                "Content-Type": f"'{PROBLEM_CONTENT_TYPE}'",
                "Cache-Control": "'no-store'",
                **{name: f"'{value}'" for name, value in problem.headers},
            }
            self.rest_api.add_gateway_response(
                f"Problem{response_type.response_type}",
                type=response_type,
                status_code=str(problem.status),
                response_headers=headers,
                templates={JSON_CONTENT_TYPE: problem.template()},
            )
            self._redeploy_on_change(
                {
                    "gatewayResponse": response_type.response_type,
                    "status": problem.status,
                    "headers": headers,
                    "template": problem.template(),
                }
            )

    def _redeploy_on_change(self, what: dict[str, Any], resource: Construct | None = None) -> None:
        """A stage serves the snapshot of its Deployment, and CloudFormation only makes a
        new one when the Deployment's logical ID changes: every part of the API that CDK
        does not already hash into that ID (raw CfnModels, gateway responses) is added."""
        deployment = self.rest_api.latest_deployment
        assert deployment is not None
        deployment.add_to_logical_id(what)
        if resource is not None:
            deployment.node.add_dependency(resource)

    def _add_routes(self, functions: FunctionFactory) -> None:
        body_validator = self.rest_api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        params_validator = self.rest_api.add_request_validator(
            "ParametersValidator", validate_request_parameters=True
        )
        for route in self.routes:
            fn = self.functions.get(route.function.name)
            if fn is None:
                fn = functions.function(self, route.function)
                self.functions[route.function.name] = fn
                self.aliases[route.function.name] = functions.live_alias(fn)
            resource = self.rest_api.root.resource_for_path(route.path)
            options: dict[str, Any] = {
                "api_key_required": True,
                "request_parameters": query_parameters(route) or None,
                "request_validator": body_validator if route.body_schema else params_validator,
            }
            if route.body_schema:
                # The same model for every other media type too, so that no body the
                # schema rejects reaches a function, whatever type it claims. A body
                # in another type that passes reaches the function, which answers 415.
                model = self._model(route)
                options["request_models"] = {
                    JSON_CONTENT_TYPE: model,
                    DEFAULT_MODEL_CONTENT_TYPE: model,
                }
            integration = apigw.LambdaIntegration(self.aliases[route.function.name])
            resource.add_method(route.method, integration, **options)
        for path, methods in allowed_methods(self.routes).items():
            self._add_method_not_allowed(path, methods)

    def _add_method_not_allowed(self, path: str, methods: list[str]) -> None:
        """`ANY` on a route's resource: API Gateway prefers the resource's own methods,
        so only another verb lands here, and a MOCK integration (no Lambda) answers
        405 problem+json with `Allow`, as the local stack does. Without it API Gateway
        answers an unknown verb as MISSING_AUTHENTICATION_TOKEN (our 404).

        It requires CloudFront's key like every other method, so a direct call still
        gets 403. OPTIONS lands here too (405): the site calls its own origin, so there
        is no CORS preflight to answer."""
        allow = ", ".join(methods)
        headers = {
            "method.response.header.Allow": f"'{allow}'",
            "method.response.header.Content-Type": f"'{PROBLEM_CONTENT_TYPE}'",
            "method.response.header.Cache-Control": "'no-store'",
        }
        integration = apigw.MockIntegration(
            request_templates=dict.fromkeys(
                MOCK_REQUEST_MEDIA_TYPES, f'{{"statusCode": {METHOD_NOT_ALLOWED}}}'
            ),
            # Any other type: 415 problem+json, rather than an unmapped body the mock
            # cannot read a status from (API Gateway's 500).
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code=str(METHOD_NOT_ALLOWED),
                    response_parameters=headers,
                    response_templates={JSON_CONTENT_TYPE: method_not_allowed_body(path)},
                )
            ],
        )
        self.rest_api.root.resource_for_path(path).add_method(
            FALLBACK_METHOD,
            integration,
            api_key_required=True,
            method_responses=[
                apigw.MethodResponse(
                    status_code=str(METHOD_NOT_ALLOWED),
                    response_parameters=dict.fromkeys(headers, True),
                )
            ],
        )

    def _model(self, route: Route) -> apigw.IModel:
        assert route.body_schema is not None
        title = str(route.body_schema.get("title", route.function.name))
        model = apigw.CfnModel(
            self,
            f"{title}Model",
            rest_api_id=self.rest_api.rest_api_id,
            content_type=JSON_CONTENT_TYPE,
            description=str(route.body_schema.get("description", title)),
            schema=api_gateway_model(route.body_schema),
        )
        self._redeploy_on_change(
            {"model": title, "contentType": JSON_CONTENT_TYPE, "schema": model.schema}, model
        )
        return apigw.Model.from_model_name(self, f"{title}ModelRef", model.ref)

    def _add_origin_key(self) -> None:
        # A new generation is a new key (new logical IDs): CloudFormation creates it and
        # its usage-plan binding, points CloudFront at it, then deletes the old one.
        generation = self.settings.origin_key_generation
        key = apigw.ApiKey(
            self,
            f"CloudFrontKey{generation}",
            description="Sent by CloudFront only; calls without it never reach a function",
        )
        reader = cr.AwsCustomResource(
            self,
            f"OriginKey{generation}",
            resource_type="Custom::OriginKey",
            on_create=self._read_key(key),
            on_update=self._read_key(key),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["apigateway:GET"],
                        resources=[
                            cdk.Stack.of(self).format_arn(
                                service="apigateway",
                                account="",
                                resource="/apikeys",
                                resource_name=key.key_id,
                                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                            )
                        ],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )
        self.origin_key_value = reader.get_response_field("value")
        provider_role = reader.grant_principal
        assert isinstance(provider_role, Construct)
        _acknowledge(
            provider_role,
            (
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                "CDK's AwsCustomResource provider role comes with the basic execution "
                "policy (its own logs); its one other grant is apigateway:GET on this key.",
            ),
        )
        plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            description="Every request comes through CloudFront with its key",
            throttle=apigw.ThrottleSettings(
                rate_limit=self.settings.api_throttle.rate_per_second,
                burst_limit=self.settings.api_throttle.burst,
            ),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.stage)],
        )
        plan.add_api_key(key)

    @staticmethod
    def _read_key(key: apigw.ApiKey) -> cr.AwsSdkCall:
        return cr.AwsSdkCall(
            service="APIGateway",
            action="getApiKey",
            parameters={"apiKey": key.key_id, "includeValue": True},
            physical_resource_id=cr.PhysicalResourceId.of(key.key_id),
            output_paths=["value"],
            # The response is the key: never written to the provider's logs.
            logging=cr.Logging.with_data_hidden(),
        )
