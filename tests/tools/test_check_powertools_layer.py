"""`make deploy` checks AWS's public Powertools layer parameter first (issue 13, item 6).

AWS: the functions' layer ARN comes from the public SSM parameter that Powertools
publishes per version, runtime and architecture in each region it supports; a
region without it (or a release whose parameter is missing) fails the deployment
half-way, with CloudFormation's "parameter not found". The pre-check says so before
anything is deployed, naming the parameter, the region and the fix.
"""

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools.check_powertools_layer import check, layer_parameter


def client_answering(response: dict[str, Any] | None, region: str = "eu-west-1") -> Any:
    client = boto3.client("ssm", region_name=region)
    stubber = Stubber(client)
    expected = {"Name": layer_parameter()}
    if response is None:
        stubber.add_client_error(
            "get_parameter", service_error_code="ParameterNotFound", expected_params=expected
        )
    else:
        stubber.add_response("get_parameter", response, expected)
    stubber.activate()
    return client


def test_the_parameter_is_the_locked_version_for_the_functions_runtime() -> None:
    from infra.cloud.functions import locked_powertools_version

    assert layer_parameter().endswith(f"/arm64/python3.14/{locked_powertools_version()}")


def test_a_published_layer_passes(capsys: pytest.CaptureFixture[str]) -> None:
    arn = (
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:7"
    )
    client = client_answering({"Parameter": {"Name": layer_parameter(), "Value": arn}})

    assert check(client) == 0
    assert arn in capsys.readouterr().out


def test_a_missing_layer_stops_the_deployment_with_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = client_answering(None, region="ap-southeast-7")

    assert check(client) == 1
    message = capsys.readouterr().err
    assert layer_parameter() in message
    assert "ap-southeast-7" in message
    assert "docs/RUNBOOK.md" in message  # where the regions and the fix are described
