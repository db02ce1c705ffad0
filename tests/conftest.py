"""Test settings shared by every suite: a fake AWS account, never a real one; and the
markers of what a test needs beyond Python (`make test-fast` deselects them)."""

import os
from pathlib import Path

import freezegun
import pytest

from infra.local.events import DEFAULT_REGION
from infra.local.runtime import use_aws_environment
from infra.topology import RuntimeSettings, process_environment
from tests.support.engines import DYNAMODB_LOCAL

# How the tests run the functions: several in this one process, no X-Ray daemon.
TEST_RUNTIME = RuntimeSettings(log_level="WARNING", tracing=False, shared_process=True)
TEST_TABLE_NAME = "pick-a-number-test"

# Before any handler module is imported: they read their settings at import.
use_aws_environment(None, region=DEFAULT_REGION)
os.environ.update(
    {
        # The functions' settings, from the topology (the backup function's retention
        # is every environment's default, as in the local stack).
        **process_environment(TEST_TABLE_NAME, TEST_RUNTIME),
    }
)
# The project's Node (package.json's `node`) first, as `make` puts it: jsii, which the
# CDK's Python package starts as `node`, and the CDK CLI run on it under plain pytest too.
PROJECT_NODE_BIN = Path(__file__).resolve().parents[1] / "node_modules" / ".bin"
os.environ["PATH"] = os.pathsep.join([str(PROJECT_NODE_BIN), os.environ.get("PATH", "")])
# freezegun's first freeze reads every attribute of every loaded module; once a test
# has imported the CDK (thousands of jsii modules, no clock among them) that took
# over a minute. Skipping them leaves what a frozen test sees unchanged.
freezegun.configure(extend_ignore_list=["aws_cdk", "jsii", "constructs", "cdk_nag"])


TESTS = Path(__file__).parent
# Suites that run the local stack, hence DynamoDB Local (Java), whatever the test.
ENGINE_SUITES = {"integration", "contract", "e2e"}
BROWSER_SUITES = {"e2e"}


def _needs_dynamodb_local(item: pytest.Item) -> bool:
    """A unit test on DynamoDB Local: the data-access tests' second engine."""
    callspec = getattr(item, "callspec", None)
    on_engine = callspec is not None and DYNAMODB_LOCAL in callspec.params.values()
    return on_engine or "dynamodb_local" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by suite and fixture, not test by test: `engine` for what needs DynamoDB
    Local (Java), `browser` for what drives Chromium."""
    for item in items:
        suite = item.path.relative_to(TESTS).parts[0]
        if suite in ENGINE_SUITES or _needs_dynamodb_local(item):
            item.add_marker(pytest.mark.engine)
        if suite in BROWSER_SUITES:
            item.add_marker(pytest.mark.browser)
