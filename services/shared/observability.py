"""Powertools logger, tracer and metrics: one of each per function process.

The service name comes from POWERTOOLS_SERVICE_NAME, which each function sets.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "PickANumber"

logger = Logger()
# Patch only what the functions call: botocore (DynamoDB). The default patches
# every library the X-Ray SDK supports and finds installed (requests, sqlite3,
# httplib...), importing each at cold start for calls the functions never make.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(namespace=NAMESPACE)
