"""Powertools logger, tracer and metrics: one of each per function process.

The service name comes from POWERTOOLS_SERVICE_NAME, which each function sets.
"""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "PickANumber"


def environment_namespace(environment: str) -> str:
    """The metrics namespace of one deployment: CloudWatch keys a metric by namespace,
    name and dimensions, so two environments in one account and region must differ."""
    return f"{NAMESPACE}/{environment}"


logger = Logger()
# Patch only what the functions call: botocore (DynamoDB). The default patches
# every library the X-Ray SDK supports and finds installed (requests, sqlite3,
# httplib...), importing each at cold start for calls the functions never make.
tracer = Tracer(patch_modules=("botocore",))
# The deployment sets POWERTOOLS_METRICS_NAMESPACE (its environment's); the local
# stack and the tests fall back on the app's own.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE)
