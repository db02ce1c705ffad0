"""Before `make deploy`: is AWS's Powertools layer published in the target region?

The functions take Powertools from the AWS-managed layer whose ARN AWS publishes as
a public SSM parameter per version, runtime and architecture
(infra/cloud/functions.py). CloudFormation resolves it during the deployment; where
it is missing (a region Powertools does not publish to yet, or a release whose
parameter is gone), the deployment would fail half-way. This check fails first,
with the region, the parameter and what to do (docs/RUNBOOK.md).

Usage: python -m tools.check_powertools_layer   (region: AWS_REGION or the profile's)
"""

import sys
from typing import Any

import boto3

from infra.cloud.functions import locked_powertools_version, powertools_layer_parameter


def layer_parameter() -> str:
    return powertools_layer_parameter(locked_powertools_version())


def check(ssm: Any) -> int:
    """0 when the parameter exists in the client's region; 1, with the fix, when not."""
    name = layer_parameter()
    region = ssm.meta.region_name
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        print(
            f"The Powertools layer is not published in {region}: no SSM parameter {name}.\n"
            "Deploy to a region where it is (docs/RUNBOOK.md, 'Where it deploys'), or lock "
            "an aws-lambda-powertools version that is published there (pyproject.toml, "
            "then `.tools/bin/uv lock`).",
            file=sys.stderr,
        )
        return 1
    print(f"Powertools layer in {region}: {value}")
    return 0


def main() -> int:
    return check(boto3.client("ssm"))


if __name__ == "__main__":
    raise SystemExit(main())
