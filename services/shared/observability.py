"""Powertools logger, tracer and metrics: one of each per function process.

The service name comes from POWERTOOLS_SERVICE_NAME, which each function sets.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "PickANumber"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)
